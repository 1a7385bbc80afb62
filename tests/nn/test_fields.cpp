// Compile-time field names, the field walk (include/spore/nn/fields.hpp), cells that list their
// children themselves, and the walks made of it: the named walks of
// include/spore/nn/field_names.hpp, nn::parameters, nn::init_cell.
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/nn/buffer.hpp>
#include <spore/nn/cell.hpp>
#include <spore/nn/field_names.hpp>
#include <spore/nn/fields.hpp>
#include <spore/nn/layers.hpp>

#include "../../examples/lenet/lenet5.hpp"

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

struct Wider {  // 326 fields in all: more than a fold expression may have operands in Clang
    Wide a, b, c, d, e;
};

struct Stateful {  // parameters, buffers and a plain setting, at two depths
    nn::Dense<2, 2> dense;
    nn::buffer<float, shape<3>> running;
    std::uint64_t seed;
    struct {
        nn::buffer<double, shape<1>> count;
        tensor<float, shape<2>> scale;
    } tail;
};

// Records the order of its reset among all resets.
int reset_clock = 0;
struct Leaf {  // a layer: initialises itself from the scheme
    int order = 0;
    template <class Scheme>
    void reset_parameters(spore::random_engine&, const Scheme&) {
        order = ++reset_clock;
    }
};
struct Wrapper {  // a cell with its own reset(rng): init_cell does not descend into it
    Leaf inner;
    int order = 0;
    void reset_parameters(spore::random_engine&) { order = ++reset_clock; }
};
struct Resettable {
    Leaf first;
    Wrapper wrapper;
    struct {
        Leaf deep;
        tensor<float, shape<2>> t;
    } group;
    Leaf last;
};

// Lists its children itself (the protocol of nn/fields.hpp): not an aggregate, private members
// that Boost.PFR could not reach, names of its own, and a member that is not a child.
class Listed {
public:
    explicit Listed(float scale) : extra_(scale) {}

    static constexpr std::size_t child_count = 3;
    template <std::size_t I>
    auto& child() noexcept {
        if constexpr (I == 0) return dense_;
        else if constexpr (I == 1) return running_;
        else return gain_;
    }
    template <std::size_t I>
    const auto& child() const noexcept {
        return const_cast<Listed&>(*this).child<I>();
    }
    template <std::size_t I>
    static constexpr std::string_view child_name() noexcept {
        constexpr std::string_view names[] = {"proj", "stats", "g"};
        return names[I];
    }

private:
    nn::Dense<2, 3> dense_;
    nn::buffer<float, shape<3>> running_;
    tensor<float, shape<3>> gain_;
    float extra_;  // not listed: not walked
};

struct HoldsListed {
    nn::Dense<3, 2> first;
    Listed listed{1.0f};
};

struct stop_at_listed {
    template <class F>
    static constexpr bool test = std::is_same_v<F, Listed>;
};

struct stop_at_block {
    template <class F>
    static constexpr bool test = std::is_same_v<F, Block>;
};

// The dotted paths of walk_fields<Select, Stop>, with their depths as "path@depth".
template <class Select = nn::fields::all, class Stop = nn::fields::none, class C>
std::vector<std::string> walked(C& cell) {
    std::vector<std::string> out;
    nn::walk_fields<Select, Stop>(cell, [&](auto&, auto path) {
        std::string entry = path.str();
        entry += '@';
        entry += std::to_string(decltype(path)::depth);
        out.push_back(entry);
    });
    return out;
}

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

TEST_CASE("fields: a path is its depth, its name, and its dotted names on request", "[nn][fields]") {
    Deep net{};
    std::vector<std::string> names;
    nn::walk_fields(net, [&](auto&, const auto& path) {
        using path_type = std::remove_cvref_t<decltype(path)>;
        static_assert(std::is_same_v<path_type, nn::field_path<path_type::depth>>);
        if constexpr (path_type::depth == 0) CHECK(path.name().empty());
        else CHECK(path.str().ends_with(path.name()));
        if (path.str() == "outer.inner.dense") names.push_back(std::string(path.name()));
    });
    CHECK(names == std::vector<std::string>{"dense"});

    const nn::field_path<0> root;
    const nn::field_path<1> outer(root, "outer");
    const nn::field_path<2> inner(outer, "inner");
    CHECK(root.str().empty());
    CHECK(outer.str() == "outer");
    CHECK(inner.str() == "outer.inner");
    std::string appended = "net:";
    inner.append_to(appended);
    CHECK(appended == "net:outer.inner");
}

TEST_CASE("fields: the walk visits the cell and then every field, in pre-order, with its path", "[nn][fields]") {
    Deep net{};
    CHECK(walked(net) == std::vector<std::string>{"@0",
                                                  "stem@1",
                                                  "stem.weight@2",
                                                  "stem.bias@2",
                                                  "block@1",
                                                  "block.conv@2",
                                                  "block.conv.weight@3",
                                                  "block.conv.bias@3",
                                                  "block.dense@2",
                                                  "block.dense.weight@3",
                                                  "block.dense.bias@3",
                                                  "outer@1",
                                                  "outer.inner@2",
                                                  "outer.inner.conv@3",
                                                  "outer.inner.conv.weight@4",
                                                  "outer.inner.conv.bias@4",
                                                  "outer.inner.dense@3",
                                                  "outer.inner.dense.weight@4",
                                                  "outer.inner.dense.bias@4",
                                                  "outer.scale@2",
                                                  "momentum@1",
                                                  "head@1",
                                                  "head.weight@2",
                                                  "head.bias@2"});
    // and hands out the fields themselves
    std::vector<const void*> addresses;
    nn::walk_fields<nn::fields::cells>(net, [&](auto& cell, auto) { addresses.push_back(&cell); });
    CHECK(addresses == std::vector<const void*>{&net, &net.stem, &net.block, &net.block.conv, &net.block.dense,
                                                &net.outer, &net.outer.inner, &net.outer.inner.conv,
                                                &net.outer.inner.dense, &net.head});
}

TEST_CASE("fields: a cell that Stop accepts is visited but not descended into", "[nn][fields]") {
    Deep net{};
    CHECK(walked<nn::fields::all, stop_at_block>(net) ==
          std::vector<std::string>{"@0", "stem@1", "stem.weight@2", "stem.bias@2", "block@1", "outer@1",
                                   "outer.inner@2", "outer.scale@2", "momentum@1", "head@1", "head.weight@2",
                                   "head.bias@2"});
    CHECK(walked<nn::fields::parameters, stop_at_block>(net) ==
          std::vector<std::string>{"stem.weight@2", "stem.bias@2", "outer.scale@2", "head.weight@2", "head.bias@2"});
    Block block{};
    CHECK(walked<nn::fields::all, stop_at_block>(block) == std::vector<std::string>{"@0"});
}

TEST_CASE("fields: a tensor, a buffer or a plain value is a walk of one", "[nn][fields]") {
    tensor<float, shape<2>> t;
    nn::buffer<float, shape<2>> b;
    int n = 0;
    CHECK(walked(t) == std::vector<std::string>{"@0"});
    CHECK(walked(b) == std::vector<std::string>{"@0"});
    CHECK(walked(n) == std::vector<std::string>{"@0"});
    CHECK(walked<nn::fields::parameters>(b).empty());
    STATIC_REQUIRE(std::is_same_v<decltype(nn::parameters(t)), std::tuple<tensor<float, shape<2>>&>>);
    STATIC_REQUIRE(std::is_same_v<decltype(nn::parameters(b)), std::tuple<>>);
    STATIC_REQUIRE(std::is_same_v<decltype(nn::parameters(n)), std::tuple<>>);
    CHECK(&std::get<0>(nn::parameters(t)) == &t);
    std::vector<const void*> found;
    nn::for_each_buffer(b, [&](auto& buffer) { found.push_back(&buffer); });
    CHECK(found == std::vector<const void*>{&b});
    std::vector<std::string> names;
    nn::for_each_named_parameter(t, [&](const std::string& path, auto& p) {
        CHECK(&p == &t);
        names.push_back(path);
    });
    CHECK(names == std::vector<std::string>{""});
}

TEST_CASE("fields: parameters, buffers and state of a cell holding buffers", "[nn][fields]") {
    Stateful net{};
    CHECK(walked(net) == std::vector<std::string>{"@0", "dense@1", "dense.weight@2", "dense.bias@2", "running@1",
                                                  "seed@1", "tail@1", "tail.count@2", "tail.scale@2"});

    using parameter_tuple = std::tuple<decltype(net.dense.weight)&, decltype(net.dense.bias)&, decltype(net.tail.scale)&>;
    STATIC_REQUIRE(std::is_same_v<decltype(nn::parameters(net)), parameter_tuple>);
    const auto parameters = nn::parameters(net);
    CHECK(&std::get<0>(parameters) == &net.dense.weight);
    CHECK(&std::get<1>(parameters) == &net.dense.bias);
    CHECK(&std::get<2>(parameters) == &net.tail.scale);
    CHECK(nn::parameter_count(net) == 2 * 2 + 2 + 2);

    std::vector<const void*> buffers;
    nn::for_each_buffer(net, [&](auto& b) { buffers.push_back(&b); });
    CHECK(buffers == std::vector<const void*>{&net.running, &net.tail.count});

    std::vector<std::string> state;
    std::vector<const void*> data;
    nn::for_each_named_state(net, [&](const std::string& path, auto& t) {
        static_assert(spore::is_tensor_v<std::remove_cvref_t<decltype(t)>>);
        state.push_back(path);
        data.push_back(t.data());
    });
    CHECK(state == std::vector<std::string>{"dense.weight", "dense.bias", "running", "tail.count", "tail.scale"});
    CHECK(data == std::vector<const void*>{net.dense.weight.data(), net.dense.bias.data(), net.running.data(),
                                           net.tail.count.data(), net.tail.scale.data()});

    std::vector<std::string> fields;
    nn::for_each_named_field(net, [&](const std::string& path, auto&) { fields.push_back(path); });
    CHECK(fields == std::vector<std::string>{"dense", "dense.weight", "dense.bias", "running", "seed", "tail",
                                             "tail.count", "tail.scale"});
}

TEST_CASE("fields: a const cell hands out const fields, and its parameters as const references", "[nn][fields]") {
    Stateful net{};
    const Stateful& view = net;
    std::size_t visited = 0;
    nn::walk_fields(view, [&](auto& field, auto) {
        static_assert(std::is_const_v<std::remove_reference_t<decltype(field)>>);
        ++visited;
    });
    CHECK(visited == 9);
    using parameter_tuple =
        std::tuple<const decltype(net.dense.weight)&, const decltype(net.dense.bias)&, const decltype(net.tail.scale)&>;
    STATIC_REQUIRE(std::is_same_v<decltype(nn::parameters(view)), parameter_tuple>);
    CHECK(&std::get<2>(nn::parameters(view)) == &net.tail.scale);
    CHECK(walked(view) == walked(net));
    std::vector<const void*> buffers;
    nn::for_each_buffer(view, [&](auto& b) {
        static_assert(std::is_const_v<std::remove_reference_t<decltype(b)>>);
        buffers.push_back(&b);
    });
    CHECK(buffers == std::vector<const void*>{&net.running, &net.tail.count});
}

TEST_CASE("fields: init_cell resets a layer that resets itself and does not descend into it", "[nn][fields]") {
    Resettable net{};
    reset_clock = 0;
    spore::init(net, 7);
    CHECK(net.first.order == 1);
    CHECK(net.wrapper.order == 2);
    CHECK(net.wrapper.inner.order == 0);  // the wrapper's own reset stands for its fields
    CHECK(net.group.deep.order == 3);     // a cell without a reset is descended into
    CHECK(net.last.order == 4);

    Wrapper alone{};
    reset_clock = 0;
    spore::init(alone, 7);  // the cell itself resets
    CHECK(alone.order == 1);
    CHECK(alone.inner.order == 0);
}

TEST_CASE("fields: a walk of more than 256 fields", "[nn][fields]") {
    Wider net{};
    std::vector<std::string> fields;
    nn::for_each_named_field(net, [&](const std::string& path, auto&) { fields.push_back(path); });
    REQUIRE(fields.size() == 5 * 65);
    CHECK(fields[0] == "a");
    CHECK(fields[1] == "a.f0");
    CHECK(fields[65] == "b");
    CHECK(fields.back() == "e.f63");
    std::size_t visited = 0;
    nn::walk_fields(net, [&](auto&, auto) { ++visited; });
    CHECK(visited == 1 + 5 * 65);
}

TEST_CASE("fields: a cell that lists its children is walked through them, with their names", "[nn][fields]") {
    STATIC_REQUIRE(nn::lists_children<Listed>);
    STATIC_REQUIRE(!std::is_aggregate_v<Listed>);
    STATIC_REQUIRE(nn::walkable_v<Listed>);
    STATIC_REQUIRE(!nn::lists_children<Block>);
    STATIC_REQUIRE(nn::field_name<Listed, 0>() == "proj");
    STATIC_REQUIRE(nn::field_name<const Listed, 2>() == "g");

    HoldsListed net{};
    CHECK(walked(net) == std::vector<std::string>{"@0", "first@1", "first.weight@2", "first.bias@2", "listed@1",
                                                  "listed.proj@2", "listed.proj.weight@3", "listed.proj.bias@3",
                                                  "listed.stats@2", "listed.g@2"});
    CHECK(named_parameters(net) == std::vector<std::string>{"first.weight", "first.bias", "listed.proj.weight",
                                                            "listed.proj.bias", "listed.g"});
    std::vector<std::string> state;
    nn::for_each_named_state(net, [&](const std::string& path, auto&) { state.push_back(path); });
    CHECK(state == std::vector<std::string>{"first.weight", "first.bias", "listed.proj.weight", "listed.proj.bias",
                                            "listed.stats", "listed.g"});

    // the fields themselves, also through a const cell
    const auto parameters = nn::parameters(net);
    STATIC_REQUIRE(std::tuple_size_v<decltype(parameters)> == 5);
    CHECK(&std::get<2>(parameters) == &net.listed.child<0>().weight);
    CHECK(&std::get<4>(parameters) == &net.listed.child<2>());
    const HoldsListed& view = net;
    CHECK(&std::get<4>(nn::parameters(view)) == &net.listed.child<2>());
    std::vector<const void*> buffers;
    nn::for_each_buffer(view, [&](auto& b) {
        static_assert(std::is_const_v<std::remove_reference_t<decltype(b)>>);
        buffers.push_back(&b);
    });
    CHECK(buffers == std::vector<const void*>{&net.listed.child<1>()});
    CHECK(nn::parameter_count(net) == 3 * 2 + 2 + 2 * 3 + 3 + 3);

    // init resets the listed layers
    spore::init(net, 3);
    CHECK(net.listed.child<0>().weight[0] != 0.0f);

    // the walk of the listed cell alone, and with a Stop below it
    CHECK(walked<nn::fields::parameters>(net.listed) ==
          std::vector<std::string>{"proj.weight@2", "proj.bias@2", "g@1"});
    CHECK(walked<nn::fields::all, stop_at_listed>(net) ==
          std::vector<std::string>{"@0", "first@1", "first.weight@2", "first.bias@2", "listed@1"});
}
