// Compile-time field names and the named walks of cells (include/spore/nn/field_names.hpp).
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/nn/field_names.hpp>
#include <spore/nn/layers.hpp>

#include "../examples/lenet/lenet5.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

struct Odd_Names2 {  // digits, underscores, a leading underscore, one-letter and long names
    float _x;
    int x2_y3;
    double a;
    char snake_case_name_with_many_parts_0123456789;
    tensor<float, shape<2>> W;
};

struct Block {
    nn::Conv2d<1, 2, 3> conv;
    nn::Dense<4, 3> dense;
};

struct Deep {  // cells in cells in cells, with a tensor and a plain setting between them
    nn::Dense<3, 4> stem;
    Block block;
    struct {
        Block inner;
        tensor<float, shape<3>> scale;
    } outer;
    float momentum;
    nn::Dense<3, 1, double> head;
};

struct Wide {
    int f0;
    int f1;
    int f2;
    int f3;
    int f4;
    int f5;
    int f6;
    int f7;
    int f8;
    int f9;
    int f10;
    int f11;
    int f12;
    int f13;
    int f14;
    int f15;
    int f16;
    int f17;
    int f18;
    int f19;
    int f20;
    int f21;
    int f22;
    int f23;
    int f24;
    int f25;
    int f26;
    int f27;
    int f28;
    int f29;
    int f30;
    int f31;
    int f32;
    int f33;
    int f34;
    int f35;
    int f36;
    int f37;
    int f38;
    int f39;
    int f40;
    int f41;
    int f42;
    int f43;
    int f44;
    int f45;
    int f46;
    int f47;
    int f48;
    int f49;
    int f50;
    int f51;
    int f52;
    int f53;
    int f54;
    int f55;
    int f56;
    int f57;
    int f58;
    int f59;
    int f60;
    int f61;
    int f62;
    int f63;
};

template <class C>
std::vector<std::string> named_parameters(C& cell) {
    std::vector<std::string> names;
    nn::for_each_named_parameter(cell, [&](const std::string& path, auto& t) {
        static_assert(spore::is_tensor_v<std::remove_cvref_t<decltype(t)>>);
        names.push_back(path);
    });
    return names;
}

}  // namespace

// Checked when this file compiles: the names are constant expressions.
static_assert(nn::field_name<LeNet5, 0>() == "conv1");
static_assert(nn::field_name<LeNet5, 4>() == "fc3");
static_assert(nn::field_name<const LeNet5, 2>() == "fc1");
static_assert(nn::field_name<nn::Dense<400, 120>, 0>() == "weight");
static_assert(nn::field_name<nn::Dense<400, 120>, 1>() == "bias");
static_assert(nn::field_name<nn::Conv2d<1, 6, 5, 1, 0, double>, 1>() == "bias");

TEST_CASE("field names: names with digits and underscores", "[nn][field_names]") {
    CHECK(nn::field_name<Odd_Names2, 0>() == "_x");
    CHECK(nn::field_name<Odd_Names2, 1>() == "x2_y3");
    CHECK(nn::field_name<Odd_Names2, 2>() == "a");
    CHECK(nn::field_name<Odd_Names2, 3>() == "snake_case_name_with_many_parts_0123456789");
    CHECK(nn::field_name<Odd_Names2, 4>() == "W");
    CHECK(nn::field_name<Odd_Names2, 4>().size() == 1);  // only the name, no terminator counted
}

TEST_CASE("field names: a struct with 64 fields", "[nn][field_names]") {
    static_assert(nn::field_name<Wide, 0>() == "f0");
    static_assert(nn::field_name<Wide, 1>() == "f1");
    static_assert(nn::field_name<Wide, 9>() == "f9");
    static_assert(nn::field_name<Wide, 10>() == "f10");
    static_assert(nn::field_name<Wide, 31>() == "f31");
    static_assert(nn::field_name<Wide, 62>() == "f62");
    static_assert(nn::field_name<Wide, 63>() == "f63");
    const auto names = []<std::size_t... I>(std::index_sequence<I...>) {
        return std::vector<std::string_view>{nn::field_name<Wide, I>()...};
    }(std::make_index_sequence<64>{});
    REQUIRE(names.size() == 64);
    for (std::size_t i = 0; i < names.size(); ++i) {
        std::string expected = std::to_string(i);
        expected.insert(expected.begin(), 'f');  // not "f" + ...: GCC 12 warns falsely (-Wrestrict)
        CHECK(names[i] == expected);
    }
}

TEST_CASE("field names: LeNet-5 parameters are conv1.weight ... fc3.bias", "[nn][field_names]") {
    LeNet5 net;
    const std::vector<std::string> expected{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                            "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias",
                                            "fc3.weight",   "fc3.bias"};
    CHECK(named_parameters(net) == expected);
    const LeNet5& view = net;
    CHECK(named_parameters(view) == expected);

    // the same tensors, in the same order, as nn::parameters (which the optimisers use)
    std::vector<const void*> by_name, by_walk;
    nn::for_each_named_parameter(net, [&](const std::string&, auto& t) { by_name.push_back(t.data()); });
    nn::for_each_parameter(net, [&](auto& t) { by_walk.push_back(t.data()); });
    CHECK(by_name == by_walk);
}

TEST_CASE("field names: nested cells are joined with dots, depth first in field order", "[nn][field_names]") {
    Deep net;
    CHECK(named_parameters(net) ==
          std::vector<std::string>{"stem.weight", "stem.bias", "block.conv.weight", "block.conv.bias",
                                   "block.dense.weight", "block.dense.bias", "outer.inner.conv.weight",
                                   "outer.inner.conv.bias", "outer.inner.dense.weight", "outer.inner.dense.bias",
                                   "outer.scale", "head.weight", "head.bias"});

    std::vector<std::string> fields;
    nn::for_each_named_field(net, [&](const std::string& path, auto&) { fields.push_back(path); });
    CHECK(fields == std::vector<std::string>{"stem", "stem.weight", "stem.bias", "block", "block.conv",
                                             "block.conv.weight", "block.conv.bias", "block.dense",
                                             "block.dense.weight", "block.dense.bias", "outer", "outer.inner",
                                             "outer.inner.conv", "outer.inner.conv.weight", "outer.inner.conv.bias",
                                             "outer.inner.dense", "outer.inner.dense.weight",
                                             "outer.inner.dense.bias", "outer.scale", "momentum", "head",
                                             "head.weight", "head.bias"});
}

TEST_CASE("field names: the walks hand out the fields themselves, writable through a non-const cell",
          "[nn][field_names]") {
    Deep net{};
    nn::for_each_named_field(net, [&](const std::string& path, auto& field) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(field)>, float>)
            if (path == "momentum") field = 0.5f;
    });
    CHECK(net.momentum == 0.5f);
    nn::for_each_named_parameter(net, [&](const std::string& path, auto& t) {
        if (path == "outer.scale") t.fill(2.0f);
    });
    CHECK(net.outer.scale[0] == 2.0f);
    CHECK(net.outer.scale[2] == 2.0f);
}
