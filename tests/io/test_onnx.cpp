// ONNX export: the graph the exporter writes, decoded with an independent protobuf reader
// (tests/support/onnx_reader.hpp): operators, attributes, initializer names and bytes, the
// symbolic batch axis, file handling and every refused input. OpenCV runs the exported models
// in tests/onnx/; onnx.checker checks them there too.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <spore/io/onnx.hpp>
#include <spore/spore.hpp>

#include "../support/onnx_models.hpp"
#include "../support/onnx_reader.hpp"

namespace {

namespace nn = spore::nn;
namespace models = spore_test::onnx_models;
namespace reader = spore_test::onnx_reader;
using spore::shape;
using spore::tensor;
using strings = std::vector<std::string>;

template <class Shape, class Cell>
reader::model exported(const Cell& net, const spore::io::onnx_options& options = {}) {
    return reader::decode(spore::io::onnx_model_bytes<Shape>(net, options));
}

template <class T, class S>
std::string little_endian_bytes(const tensor<T, S>& t) {
    std::string out(t.size() * sizeof(T), '\0');
    std::memcpy(out.data(), t.data(), out.size());  // the test machines are little-endian
    return out;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh directory per test, removed afterwards.
struct scratch_dir {
    std::filesystem::path path;
    explicit scratch_dir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("spore_test_onnx_" + name)) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~scratch_dir() { std::filesystem::remove_all(path); }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(path)) names.push_back(e.path().filename().string());
        return names;
    }
};

struct Block {
    nn::Conv2d<2, 3, 3> conv;
};
struct Nested {
    Block block;
    nn::Dense<3 * 4 * 4, 2> fc;
    auto construct(auto x) const { return fc(nn::flatten(nn::relu(block.conv(x)))); }
};

struct SequentialHolder {
    models::SequentialNet body;
    auto construct(auto x) const { return body(x); }
};

struct Identity {
    auto construct(auto x) const { return x; }
};

// A weight read twice, and the same subexpression used twice.
struct Shared {
    nn::Dense<4, 4> fc;
    auto construct(auto x) const {
        auto h = nn::relu(fc(x));
        return fc(h) + nn::relu(fc(x)) * h;
    }
};

// Parameters of fixed extent where the batch is: exportable only with a fixed batch.
struct FixedBatchBias {
    tensor<float, shape<4, 3>> per_row;
    auto construct(auto x) const { return x + per_row; }
};
struct BatchReshape {
    auto construct(auto x) const { return spore::reshape<shape<2, 6>>(x); }
};
struct BatchContraction {
    tensor<float, shape<4, 2>> w;
    auto construct(auto x) const { return spore::matmul(spore::transpose(x), w); }
};
struct BatchAsChannels {
    tensor<float, shape<3, 4, 1, 1>> w;
    auto construct(auto x) const { return spore::conv2d(spore::reshape<shape<1, 4, 3, 1>>(spore::transpose(x)), w); }
};

struct Callable {  // a layer used as a cell: operator() instead of construct
    nn::Dense<3, 2> fc;
    template <class X>
    auto operator()(X&& x) const {
        return fc(std::forward<X>(x));
    }
};

}  // namespace

TEST_CASE("onnx: LeNet-5 becomes Conv, Relu, MaxPool, Flatten and one Gemm per Dense layer") {
    models::LeNet5 net;
    spore::init(net, 3);
    const reader::model m = exported<shape<1, 1, 32, 32>>(net);

    CHECK(m.ir_version == 6);
    CHECK(m.producer_name == "spore");
    REQUIRE(m.opsets.size() == 1);
    CHECK(m.opsets[0] == std::pair<std::string, std::int64_t>("", 11));
    CHECK(m.graph_name == "spore");
    CHECK(m.op_types() == strings{"Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu",
                                  "Gemm", "Relu", "Gemm"});

    REQUIRE(m.inputs.size() == 1);
    CHECK(m.inputs[0].name == "input");
    CHECK(m.inputs[0].elem_type == 1);
    CHECK(m.inputs[0].dims == strings{"N", "1", "32", "32"});
    REQUIRE(m.outputs.size() == 1);
    CHECK(m.outputs[0].name == "output");
    CHECK(m.outputs[0].dims == strings{"N", "10"});
    CHECK(m.nodes.back().outputs == strings{"output"});

    // initializers: every parameter, named by its field path, with its exact bytes
    strings names;
    for (const auto& t : m.initializers) names.push_back(t.name);
    CHECK(names == strings{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
                           "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"});
    const auto* w = m.initializer("conv2.weight");
    REQUIRE(w);
    CHECK(w->dims == std::vector<std::int64_t>{16, 6, 5, 5});
    CHECK(w->data_type == 1);
    CHECK(w->raw_data == little_endian_bytes(net.conv2.weight));
    CHECK(m.initializer("fc1.weight")->dims == std::vector<std::int64_t>{120, 400});
    CHECK(m.initializer("fc3.bias")->raw_data == little_endian_bytes(net.fc3.bias));

    const reader::node& conv = m.nodes[0];
    CHECK(conv.name == "conv1/Conv");
    CHECK(conv.inputs == strings{"input", "conv1.weight", "conv1.bias"});
    CHECK(conv.attributes.at("kernel_shape").ints == std::vector<std::int64_t>{5, 5});
    CHECK(conv.attributes.at("strides").ints == std::vector<std::int64_t>{1, 1});
    CHECK(conv.attributes.at("pads").ints == std::vector<std::int64_t>{0, 0, 0, 0});
    CHECK(conv.attributes.at("group").i == 1);
    const reader::node& pool = m.nodes[2];
    CHECK(pool.inputs == strings{m.nodes[1].outputs[0]});
    CHECK(pool.attributes.at("kernel_shape").ints == std::vector<std::int64_t>{2, 2});
    CHECK(pool.attributes.at("strides").ints == std::vector<std::int64_t>{2, 2});
    CHECK(m.nodes[6].attributes.at("axis").i == 1);
    const reader::node& fc1 = m.nodes[7];
    CHECK(fc1.name == "fc1/Gemm");
    CHECK(fc1.inputs == strings{m.nodes[6].outputs[0], "fc1.weight", "fc1.bias"});
    CHECK(fc1.attributes.at("transB").i == 1);
    CHECK(fc1.attributes.count("transA") == 0);

    // every value is produced once, before it is read
    std::vector<std::string> known{"input"};
    for (const auto& t : m.initializers) known.push_back(t.name);
    for (const auto& n : m.nodes) {
        for (const auto& in : n.inputs) CHECK(std::find(known.begin(), known.end(), in) != known.end());
        for (const auto& out : n.outputs) {
            CHECK(std::find(known.begin(), known.end(), out) == known.end());
            known.push_back(out);
        }
    }
}

TEST_CASE("onnx: a fixed batch on request, and the example-input form writes the same file") {
    models::LeNet5 net;
    spore::init(net, 4);
    const reader::model m = exported<shape<8, 1, 32, 32>>(net, {.symbolic_batch = false});
    CHECK(m.inputs[0].dims == strings{"8", "1", "32", "32"});
    CHECK(m.outputs[0].dims == strings{"8", "10"});

    scratch_dir dir("example_input");
    const auto a = dir.path / "a.onnx", b = dir.path / "b.onnx", c = dir.path / "c.onnx";
    spore::io::export_onnx<shape<2, 1, 32, 32>>(net, a.string());
    tensor<float, shape<2, 1, 32, 32>> example;
    spore::io::export_onnx(net, spore::input(example), b.string());
    spore::export_onnx(net, spore::expr::placeholder<struct any_tag, float, shape<2, 1, 32, 32>>(), c.string());
    CHECK(read_file(a) == spore::io::onnx_model_bytes<shape<2, 1, 32, 32>>(net));
    CHECK(read_file(a) == read_file(b));
    CHECK(read_file(a) == read_file(c));
}

TEST_CASE("onnx: names of nested cells join field names with dots, in field order") {
    Nested net;
    spore::init(net, 5);
    strings expected;
    spore::nn::for_each_named_parameter(net, [&](const std::string& path, const auto&) { expected.push_back(path); });
    CHECK(expected == strings{"block.conv.weight", "block.conv.bias", "fc.weight", "fc.bias"});

    const reader::model m = exported<shape<1, 2, 6, 6>>(net);
    CHECK(m.op_types() == strings{"Conv", "Relu", "Flatten", "Gemm"});
    CHECK(m.nodes[0].name == "block.conv/Conv");
    CHECK(m.nodes[0].inputs == strings{"input", "block.conv.weight", "block.conv.bias"});
    CHECK(m.nodes[3].name == "fc/Gemm");
    CHECK(m.initializer("block.conv.bias")->raw_data == little_endian_bytes(net.block.conv.bias));
    strings names;
    for (const auto& t : m.initializers) names.push_back(t.name);
    CHECK(names == expected);
}

TEST_CASE("onnx: a Sequential's initializers are named as PyTorch's state_dict, its nodes after its children") {
    models::SequentialNet net;
    spore::init(net, 6);
    const reader::model m = exported<shape<1, 2, 6, 6>>(net);
    CHECK(m.op_types() == strings{"Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Tanh", "Gemm", "Sigmoid", "Gemm"});
    strings names;
    for (const auto& t : m.initializers) names.push_back(t.name);
    CHECK(names == strings{"0.weight", "0.bias", "4.0.weight", "4.0.bias", "5.fc.weight", "5.fc.bias", "6.weight", "6.bias"});
    CHECK(m.initializer("4.0.weight")->dims == std::vector<std::int64_t>{8, 27});
    CHECK(m.initializer("5.fc.bias")->raw_data == little_endian_bytes(net.child<5>().fc.bias));
    CHECK(m.nodes[0].name == "0/Conv");
    CHECK(m.nodes[0].inputs == strings{"input", "0.weight", "0.bias"});
    CHECK(m.nodes[4].name == "4.0/Gemm");
    CHECK(m.nodes[6].name == "5.fc/Gemm");
    CHECK(m.nodes[8].name == "6/Gemm");
    CHECK(m.outputs[0].dims == strings{"N", "3"});

    // inside a cell, under the cell's field name
    SequentialHolder holder;
    spore::init(holder, 6);
    const reader::model held = exported<shape<1, 2, 6, 6>>(holder);
    CHECK(held.initializers.front().name == "body.0.weight");
    CHECK(held.nodes[6].name == "body.5.fc/Gemm");
}

TEST_CASE("onnx: BatchNorm2d in evaluation mode with its running statistics, Dropout is the identity") {
    models::ConvBatchNormDropout net;
    spore::init(net, 12);
    const reader::model m = exported<shape<1, 2, 6, 6>>(net);
    CHECK(m.op_types() == strings{"Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"});
    CHECK(m.nodes[0].attributes.at("pads").ints == std::vector<std::int64_t>{1, 1, 1, 1});  // "same"
    const reader::node& bn = m.nodes[1];
    CHECK(bn.name == "bn/BatchNormalization");
    CHECK(bn.inputs == strings{"conv/Conv", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"});
    CHECK(bn.attributes.at("epsilon").f == Approx(1e-5f));
    CHECK(bn.attributes.at("momentum").f == Approx(0.9f));  // ONNX weighs the old value
    CHECK(m.initializer("bn.running_mean")->raw_data == little_endian_bytes(net.bn.running_mean.value()));
    CHECK(m.initializer("bn.running_var")->raw_data == little_endian_bytes(net.bn.running_var.value()));
    CHECK(m.initializer("bn.running_var")->dims == std::vector<std::int64_t>{4});
    const reader::node& gemm = m.nodes[5];
    CHECK(gemm.inputs == strings{"Flatten", "head.weight"});  // no bias: no C
    CHECK(gemm.attributes.at("transB").i == 1);
    CHECK(m.outputs[0].dims == strings{"N", "3"});
}

TEST_CASE("onnx: BatchNorm1d over (N, C) and (N, C, L) is BatchNormalization too") {
    models::DenseBatchNorm1d net;
    spore::init(net, 13);
    const reader::model m = exported<shape<1, 6>>(net);
    CHECK(m.op_types() == strings{"Gemm", "BatchNormalization", "Relu", "Gemm"});
    const reader::node& bn = m.nodes[1];
    CHECK(bn.name == "bn/BatchNormalization");
    CHECK(bn.inputs == strings{"fc/Gemm", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"});
    CHECK(bn.attributes.at("epsilon").f == Approx(1e-3f));
    CHECK(m.initializer("bn.running_var")->raw_data == little_endian_bytes(net.bn.running_var.value()));
    CHECK(m.outputs[0].dims == strings{"N", "3"});
    models::SequenceBatchNorm1d sequence;
    spore::init(sequence, 14);
    const reader::model s = exported<shape<1, 3, 5>>(sequence);
    CHECK(s.op_types() == strings{"BatchNormalization"});
    CHECK(s.nodes[0].inputs == strings{"input", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"});
    CHECK(s.outputs[0].dims == strings{"N", "3", "5"});
}

TEST_CASE("onnx: the other operators and their attributes") {
    SECTION("convolution with stride, padding and no bias; pooled log-softmax classifier") {
        models::SmallCnn net;
        spore::init(net, 6);
        const reader::model m = exported<shape<1, 4, 6, 6>>(net);
        CHECK(m.op_types() == strings{"Conv", "Relu", "MaxPool", "Flatten", "Gemm", "LogSoftmax"});
        CHECK(m.nodes[0].inputs == strings{"input", "kernel"});
        CHECK(m.nodes[0].attributes.at("pads").ints == std::vector<std::int64_t>{2, 2, 2, 2});
        CHECK(m.nodes[5].attributes.at("axis").i == 1);
        CHECK(m.outputs[0].dims == strings{"N", "6"});
        models::ConvStridePad strided;
        spore::init(strided, 6);
        const reader::model s = exported<shape<1, 3, 9, 9>>(strided);
        CHECK(s.nodes[0].attributes.at("strides").ints == std::vector<std::int64_t>{2, 2});
        CHECK(s.nodes[0].attributes.at("pads").ints == std::vector<std::int64_t>{1, 1, 1, 1});
        CHECK(s.outputs[0].dims == strings{"N", "4", "5", "5"});
    }
    SECTION("average pooling") {
        const reader::model m = exported<shape<1, 2, 6, 6>>(models::AvgPool{});
        CHECK(m.op_types() == strings{"AveragePool", "AveragePool"});
        CHECK(m.nodes[0].attributes.at("strides").ints == std::vector<std::int64_t>{2, 2});
        CHECK(m.nodes[1].attributes.at("kernel_shape").ints == std::vector<std::int64_t>{2, 2});
        CHECK(m.nodes[1].attributes.at("strides").ints == std::vector<std::int64_t>{1, 1});
        CHECK(m.outputs[0].dims == strings{"N", "2", "2", "2"});
    }
    SECTION("sigmoid, tanh, softmax") {
        models::SigmoidTanh st;
        spore::init(st, 7);
        CHECK(exported<shape<1, 7>>(st).op_types() == strings{"Sigmoid", "Gemm", "Tanh"});
        models::DenseChain chain;
        spore::init(chain, 7);
        const reader::model m = exported<shape<3, 20>>(chain);
        CHECK(m.op_types() == strings{"Gemm", "Relu", "Gemm", "Tanh", "Gemm", "Softmax"});
        CHECK(m.nodes.back().attributes.at("axis").i == 1);
    }
    SECTION("elementwise operations with scalar constants, matmul, transpose, reshape") {
        models::Elementwise net;
        spore::init(net, 8);
        const reader::model m = exported<shape<2, 6>>(net);
        CHECK(m.op_types() == strings{"MatMul", "Mul", "Add", "Sqrt", "Abs", "Mul", "Sub", "Neg", "Exp", "Add", "Log",
                                      "Div", "Max", "Min", "Add", "Abs", "Add", "Pow", "Transpose", "Transpose",
                                      "Reshape", "Mul"});
        CHECK(m.nodes[1].inputs == strings{"w/MatMul", "w/MatMul"});  // square(a) is a * a
        const auto* constant = m.initializer(m.nodes[2].inputs[1]);
        REQUIRE(constant);
        CHECK(constant->dims.empty());  // a scalar
        float one = 0;
        REQUIRE(constant->raw_data.size() == 4);
        std::memcpy(&one, constant->raw_data.data(), 4);
        CHECK(one == 1.0f);
        CHECK(m.nodes[18].attributes.at("perm").ints == std::vector<std::int64_t>{1, 0});
        const auto* target = m.initializer(m.nodes[20].inputs[1]);
        REQUIRE(target);
        CHECK(target->data_type == 7);
        CHECK(target->int64_data == std::vector<std::int64_t>{0, 2, 2});  // 0 keeps the batch extent
        CHECK(m.outputs[0].dims == strings{"N", "2", "2"});
    }
    SECTION("reductions over an axis and over everything") {
        const reader::model m = exported<shape<2, 3, 5>>(models::Reductions{});
        CHECK(m.op_types() == strings{"ReduceSum", "ReduceMean", "ReduceMax", "Mul", "Add", "ReduceMean", "Add",
                                      "ReduceMax", "Sub", "ReduceSum", "Add"});
        const reader::node& sum = m.nodes[0];
        CHECK(sum.inputs == strings{"input"});
        CHECK(sum.attributes.at("axes").ints == std::vector<std::int64_t>{2});
        CHECK(sum.attributes.at("keepdims").i == 0);
        CHECK(m.nodes[1].attributes.at("axes").ints == std::vector<std::int64_t>{2});
        CHECK(m.nodes[2].attributes.at("axes").ints == std::vector<std::int64_t>{2});
        CHECK(m.nodes[5].inputs.size() == 1);  // over everything: no axes
        CHECK(m.nodes[5].attributes.count("axes") == 0);
        CHECK(m.outputs[0].dims == strings{"N", "3"});
    }
    SECTION("a cell that returns its input, and a layer called as a cell") {
        const reader::model m = exported<shape<2, 3>>(Identity{});
        CHECK(m.op_types() == strings{"Identity"});
        CHECK(m.nodes[0].inputs == strings{"input"});
        CHECK(m.nodes[0].outputs == strings{"output"});
        Callable c;
        spore::init(c, 9);
        const reader::model g = exported<shape<2, 3>>(c, {.input_name = "x", .output_name = "y", .graph_name = "g"});
        CHECK(g.op_types() == strings{"Gemm"});
        CHECK(g.nodes[0].inputs == strings{"x", "fc.weight", "fc.bias"});
        CHECK(g.nodes[0].outputs == strings{"y"});
        CHECK(g.graph_name == "g");
    }
}

TEST_CASE("onnx: a tensor read twice is one initializer, a repeated subexpression is one node") {
    Shared net;
    spore::init(net, 10);
    const reader::model m = exported<shape<2, 4>>(net);
    CHECK(m.initializers.size() == 2);
    // relu(fc(x)) appears twice in the expression and once in the graph
    CHECK(m.op_types() == strings{"Gemm", "Relu", "Gemm", "Mul", "Add"});
    CHECK(m.nodes[3].inputs == strings{"Relu", "Relu"});
}

TEST_CASE("onnx: a graph whose batch cannot be symbolic is refused, and exports with a fixed batch") {
    FixedBatchBias bias;
    CHECK_THROWS_WITH((exported<shape<4, 3>>(bias)), Catch::Contains("fixed extent 4") &&
                                                      Catch::Contains("symbolic_batch = false"));
    CHECK(exported<shape<4, 3>>(bias, {.symbolic_batch = false}).op_types() == strings{"Add"});
    CHECK_THROWS_WITH((exported<shape<4, 3>>(BatchReshape{})), Catch::Contains("moves the batch axis"));
    CHECK(exported<shape<4, 3>>(BatchReshape{}, {.symbolic_batch = false}).op_types() == strings{"Reshape"});
    BatchContraction contraction;
    CHECK_THROWS_WITH((exported<shape<4, 3>>(contraction)), Catch::Contains("sums over the batch axis"));
    BatchAsChannels channels;
    CHECK_THROWS_AS((exported<shape<4, 3>>(channels)), spore::error);
    CHECK(exported<shape<4, 3>>(channels, {.symbolic_batch = false}).op_types() ==
          strings{"Transpose", "Reshape", "Conv"});
}

TEST_CASE("onnx: files are replaced whole, bad paths and names throw spore::error") {
    models::DenseChain net;
    spore::init(net, 11);
    scratch_dir dir("files");
    const auto path = dir.path / "chain.onnx";
    {
        std::ofstream old(path);
        old << "an older file";
    }
    spore::io::export_onnx<shape<1, 20>>(net, path.string());
    CHECK(read_file(path) == spore::io::onnx_model_bytes<shape<1, 20>>(net));
    CHECK(dir.entries() == strings{"chain.onnx"});  // no temporary file left behind

    const std::string missing = (dir.path / "no such dir" / "x.onnx").string();
    CHECK_THROWS_WITH((spore::io::export_onnx<shape<1, 20>>(net, missing)),
                      Catch::Contains("spore::io::export_onnx") && Catch::Contains("no such dir"));
    CHECK(dir.entries() == strings{"chain.onnx"});
    // a directory in the way of the rename
    std::filesystem::create_directories(dir.path / "taken.onnx" / "inside");
    CHECK_THROWS_AS((spore::io::export_onnx<shape<1, 20>>(net, (dir.path / "taken.onnx").string())), spore::error);
    CHECK(dir.entries().size() == 2);

    CHECK_THROWS_WITH((exported<shape<1, 20>>(net, {.input_name = "x", .output_name = "x"})),
                      Catch::Contains("must be non-empty and different"));
    CHECK_THROWS_AS((exported<shape<1, 20>>(net, {.input_name = ""})), spore::error);
}
