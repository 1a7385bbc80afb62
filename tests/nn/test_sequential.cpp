// spore::call (nn/call.hpp) and nn::Sequential (nn/sequential.hpp): a cell applied through
// construct(x) or operator(), layers in order with PyTorch's names "0", "1", ..., their
// gradients, initialisation, checkpoints, and a state_dict written by PyTorch for a
// torch.nn.Sequential (tests/fixtures/make_sequential_fixture.py).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

#include "../support/check.hpp"

namespace fs = std::filesystem;
namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

const fs::path fixtures = fs::path(__FILE__).parent_path().parent_path() / "fixtures";  // tests/fixtures

std::string fixture(const char* name) { return (fixtures / name).string(); }

// ---- cells applied through spore::call --------------------------------------------------------

struct WithConstruct {
    nn::Dense<3, 2> fc;
    auto construct(auto x) const { return fc(x); }
};
struct WithCall {  // called like a layer: block(h)
    nn::Dense<3, 2> fc;
    auto operator()(auto x) const { return nn::relu(fc(x)); }
};
struct WithBoth {  // construct is preferred
    WithCall inner;
    auto construct(auto x) const { return inner(x) * 2.0f; }
    auto operator()(auto x) const { return inner(x); }
};
struct Outer {  // a user's cell called like a layer inside another cell
    WithCall block;
    nn::Dense<2, 4> head;
    auto construct(auto x) const { return head(block(x)); }
};

// ---- the network of tests/fixtures/make_sequential_fixture.py -----------------------------------

template <class T = float>
struct Block {  // a cell of one's own inside a Sequential: "6.fc.weight"
    nn::Dense<12, 12, T> fc;
    auto operator()(auto x) const { return nn::tanh(fc(x)); }
};

using TorchSequential = nn::Sequential<nn::Conv2d<1, 3, 3, 1, 1>, nn::ReLU, nn::MaxPool2d<2>, nn::Flatten, nn::Dropout,
                                       nn::Sequential<nn::Dense<48, 12>, nn::Sigmoid>, Block<>, nn::Dense<12, 5>>;

// The same layers as fields of an aggregate, in the same order.
struct Unrolled {
    nn::Conv2d<1, 3, 3, 1, 1> conv;
    nn::ReLU relu;
    nn::MaxPool2d<2> pool;
    nn::Flatten flatten;
    nn::Dropout drop;
    struct {
        nn::Dense<48, 12> fc;
        nn::Sigmoid sigmoid;
    } inner;
    Block<> block;
    nn::Dense<12, 5> head;
};

struct Scaled {  // a cell with construct, inside a Sequential
    nn::Dense<4, 4, double> fc;
    auto construct(auto x) const { return nn::sigmoid(fc(x)) * 1.5; }
};
using DoubleMlp = nn::Sequential<nn::Dense<3, 5, double>, nn::Tanh, nn::Sequential<nn::Dense<5, 4, double>, nn::Sigmoid>,
                                 Scaled, nn::Dense<4, 2, double>>;

template <class C>
std::vector<std::string> state_names(const C& cell) {
    std::vector<std::string> names;
    nn::for_each_named_state(cell, [&](const std::string& name, const auto&) { names.push_back(name); });
    return names;
}

template <class C>
std::vector<std::vector<unsigned char>> parameter_bytes(const C& cell) {
    std::vector<std::vector<unsigned char>> out;
    nn::for_each_parameter(cell, [&](const auto& t) {
        const auto* p = reinterpret_cast<const unsigned char*>(t.data());
        out.emplace_back(p, p + t.size() * sizeof(*t.data()));
    });
    return out;
}

const std::vector<std::string> torch_keys{"0.weight",    "0.bias",      "5.0.weight", "5.0.bias",
                                          "6.fc.weight", "6.fc.bias",   "7.weight",   "7.bias"};

struct scratch_file {
    fs::path path;
    explicit scratch_file(const std::string& name) : path(fs::temp_directory_path() / ("spore_test_sequential_" + name)) {}
    ~scratch_file() { fs::remove(path); }
};

}  // namespace

TEST_CASE("call: spore::call applies construct(x), else operator()(x)", "[nn][call]") {
    tensor<float, shape<4, 3>> x;
    x.fill_uniform(1, -1.0f, 1.0f);
    const auto in = spore::input(x);

    WithConstruct a;
    spore::init(a, 1);
    STATIC_REQUIRE(std::is_same_v<decltype(spore::call(a, in)), decltype(a.construct(in))>);
    CHECK(spore::allclose(spore::eval(spore::call(a, in)), spore::eval(a.construct(in)), 0, 0));

    WithCall b;
    spore::init(b, 2);
    STATIC_REQUIRE(std::is_same_v<spore::call_result_t<WithCall, decltype(in)>, decltype(b(in))>);
    CHECK(spore::allclose(spore::eval(spore::call(b, in)), spore::eval(b(in)), 0, 0));

    WithBoth both;
    spore::init(both, 3);
    CHECK(spore::allclose(spore::eval(spore::call(both, in)), spore::eval(both.construct(in)), 0, 0));

    // a cell called like a layer inside another
    Outer outer;
    spore::init(outer, 4);
    CHECK(spore::allclose(spore::eval(spore::call(outer, in)), spore::eval(outer.head(outer.block(in))), 0, 0));
}

TEST_CASE("call: a cell with only operator() is a whole net for predict, summary and ONNX", "[nn][call]") {
    WithCall net;
    spore::init(net, 5);
    tensor<float, shape<4, 3>> x;
    x.fill_uniform(2, -1.0f, 1.0f);
    const tensor<float, shape<4, 2>> expected = net(spore::input(x));
    CHECK(spore::allclose(spore::predict(net, x), expected, 0, 0));
    spore::predictor<WithCall, shape<4, 3>> predictor(net);
    CHECK(spore::allclose(predictor(x), expected, 0, 0));
    CHECK(nn::summary(net, shape<4, 3>{}).find("\nfc (Dense)           [4, 2]           8\n") != std::string::npos);
    CHECK(!spore::io::onnx_model_bytes<shape<1, 3>>(net).empty());
}

TEST_CASE("Sequential: the forward pass is the chained layers, as one expression type", "[nn][sequential]") {
    TorchSequential seq;
    spore::init(seq, 7);
    tensor<float, shape<4, 1, 8, 8>> x;
    x.fill_uniform(3, -1.0f, 1.0f);
    const auto in = spore::input(x);

    const auto& [conv, relu, pool, flatten, drop, inner, block, head] = seq.layers;
    const auto chained = head(block(inner.child<1>()(inner.child<0>()(drop(flatten(pool(relu(conv(in)))))))));
    STATIC_REQUIRE(std::is_same_v<decltype(seq(in)), std::remove_const_t<decltype(chained)>>);
    STATIC_REQUIRE(std::is_same_v<decltype(seq(in))::shape_type, shape<4, 5>>);
    const tensor<float, shape<4, 5>> y = seq(in);
    CHECK(spore::allclose(y, spore::eval(chained), 0, 0));
    CHECK(spore::allclose(spore::eval(spore::call(seq, in)), y, 0, 0));

    // a Sequential is a layer: inside another, and as one child
    nn::Sequential<nn::Sequential<nn::Dense<3, 4>, nn::Tanh>, nn::Dense<4, 2>> nested;
    spore::init(nested, 8);
    tensor<float, shape<5, 3>> z;
    z.fill_uniform(4, -1.0f, 1.0f);
    const auto& first = nested.child<0>();
    CHECK(spore::allclose(spore::eval(nested(spore::input(z))),
                          spore::eval(nested.child<1>()(nn::tanh(first.child<0>()(spore::input(z))))), 0, 0));

    // an empty Sequential is the identity; one built from layer values holds copies of them
    nn::Sequential<> empty;
    CHECK(spore::allclose(spore::eval(empty(spore::input(z))), z, 0, 0));
    nn::Dense<3, 4> dense;
    spore::init(dense, 9);
    nn::Sequential from_values{dense, nn::ReLU{}};
    STATIC_REQUIRE(std::is_same_v<decltype(from_values), nn::Sequential<nn::Dense<3, 4>, nn::ReLU>>);
    CHECK(parameter_bytes(from_values.child<0>()) == parameter_bytes(dense));
    CHECK(spore::allclose(spore::eval(from_values(spore::input(z))), spore::eval(nn::relu(dense(spore::input(z)))), 0, 0));
}

TEST_CASE("Sequential: gradients by central differences in double", "[nn][sequential]") {
    DoubleMlp seq;
    spore::init(seq, 11);
    tensor<double, shape<6, 3>> x;
    tensor<double, shape<6, 2>> r;
    x.fill_uniform(5, -1.0, 1.0);
    r.fill_uniform(6, -1.0, 1.0);
    const auto loss = spore::sum(seq(spore::input(x)) * r);
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(seq))> == 8);
    std::apply([&](auto&... p) { spore_test::check_gradients(loss, p...); }, nn::parameters(seq));
    spore_test::check_gradients(loss, x);
}

TEST_CASE("Sequential: children are named 0, 1, ... at any depth, and initialised in order", "[nn][sequential]") {
    TorchSequential seq;
    CHECK(state_names(seq) == torch_keys);
    STATIC_REQUIRE(nn::field_name<TorchSequential, 0>() == "0");
    STATIC_REQUIRE(nn::field_name<TorchSequential, 7>() == "7");
    STATIC_REQUIRE(nn::index_name<10>() == "10");
    STATIC_REQUIRE(nn::index_name<256>() == "256");
    CHECK(nn::parameter_count(seq) == 3 * 9 + 3 + 48 * 12 + 12 + 12 * 12 + 12 + 12 * 5 + 5);

    std::vector<std::string> cells;
    nn::walk_fields<nn::fields::cells>(seq, [&](const auto&, auto path) { cells.push_back(path.str()); });
    CHECK(cells == std::vector<std::string>{"", "0", "1", "2", "3", "4", "5", "5.0", "5.1", "6", "6.fc", "7"});

    // a Sequential inside an aggregate
    struct Net {
        nn::Dense<2, 3> stem;
        nn::Sequential<nn::Dense<3, 3>, nn::Sequential<Block<double>>> body;
    } net;
    CHECK(state_names(net) ==
          std::vector<std::string>{"stem.weight", "stem.bias", "body.0.weight", "body.0.bias", "body.1.0.fc.weight",
                                   "body.1.0.fc.bias"});
    CHECK(&std::get<4>(nn::parameters(net)) == &net.body.child<1>().child<0>().fc.weight);

    // the same draws as the aggregate of the same layers: one walk, in the same order
    spore::init(seq, 12);
    Unrolled unrolled;
    spore::init(unrolled, 12);
    CHECK(parameter_bytes(seq) == parameter_bytes(unrolled));
    CHECK(seq.child<4>().seed == unrolled.drop.seed);
    CHECK(seq.child<4>().seed != 0);
}

TEST_CASE("Sequential: a checkpoint round trip keyed 0.weight, ...", "[nn][sequential]") {
    scratch_file file("round_trip.safetensors");
    TorchSequential seq;
    spore::init(seq, 13);
    spore::save(seq, file.path.string());

    const auto written = spore::io::read_safetensors(file.path.string());
    std::vector<std::string> keys;
    for (const auto& e : written.tensors) keys.push_back(e.name);
    CHECK(keys == torch_keys);
    CHECK(written.find("5.0.weight")->shape == std::vector<std::uint64_t>{12, 48});

    TorchSequential other;
    spore::init(other, 14);
    REQUIRE(parameter_bytes(other) != parameter_bytes(seq));
    spore::load(other, file.path.string());
    CHECK(parameter_bytes(other) == parameter_bytes(seq));
}

TEST_CASE("Sequential: a state_dict PyTorch wrote for torch.nn.Sequential loads as it is", "[nn][sequential][parity]") {
    const auto weights = spore::io::read_safetensors(fixture("sequential_weights.safetensors"));
    std::vector<std::string> keys;
    for (const auto& e : weights.tensors) keys.push_back(e.name);
    CHECK(keys == torch_keys);

    TorchSequential seq;
    spore::load(seq, fixture("sequential_weights.safetensors"));  // strict: every key, dtype and shape
    const auto batch = spore::io::read_safetensors(fixture("sequential_batch.safetensors"));
    tensor<float, shape<4, 1, 8, 8>> x;
    tensor<float, shape<4, 5>> torch_output;
    spore::io::copy_tensor(batch, "input", x);
    spore::io::copy_tensor(batch, "output", torch_output);

    const tensor<float, shape<4, 5>> y = seq(spore::input(x));  // evaluation: Dropout is the identity
    double worst = 0;
    for (std::size_t i = 0; i < y.size(); ++i)
        worst = std::max(worst, std::abs(double(y[i]) - torch_output[i]) / std::max(1e-6, std::abs(double(torch_output[i]))));
    std::printf("Sequential vs PyTorch: largest relative difference %.2e\n", worst);
    CHECK(worst <= 1e-5);
    CHECK(spore::allclose(spore::predict(seq, x), y, 0, 0));
}
