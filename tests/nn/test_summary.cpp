#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <spore/nn.hpp>
#include <spore/nn/summary.hpp>

#include "../../examples/lenet/lenet5.hpp"

namespace nn = spore::nn;
using spore::shape;

namespace {

struct Block {
    nn::Dense<8, 6> inner;
    nn::Dense<6, 4> outer;
    auto operator()(auto x) const { return nn::tanh(outer(nn::relu(inner(x)))); }
};
struct Marker {};  // a field without parameters
struct Nested {
    nn::Dense<3, 8> first;
    Block block;
    Marker marker;
    nn::Dense<4, 2> last;
    auto construct(auto x) const { return last(block(first(x))); }
};

// Every kind of row: parameter-free layers (activations, pooling, Dropout, Flatten), a user's cell
// applied with spore::call, a Sequential holding a Sequential that holds a user's cell called
// like a layer.
struct Features {
    nn::Conv2d<1, 4, 3, 1, nn::padding::same> conv;
    nn::ReLU relu;
    nn::MaxPool2d<2> pool;
    auto construct(auto x) const { return pool(relu(conv(x))); }
};
struct Head {
    nn::Dense<16, 8> fc;
    nn::Tanh tanh;
    auto operator()(auto x) const { return tanh(fc(x)); }
};
struct Zoo {
    Features features;
    nn::AvgPool2d<2> avg;
    nn::Dropout drop;
    nn::Flatten flatten;
    nn::Sequential<nn::Dense<16, 16>, nn::Sigmoid, nn::Sequential<Head, nn::Dense<8, 3>>> classifier;
    auto construct(auto x) const { return classifier(flatten(drop(avg(spore::call(features, x))))); }
};

const char* const names[] = {"conv1", "conv2", "fc1", "fc2", "fc3", "first", "block", "block.inner", "block.outer", "marker", "last"};

// The row of `path`, without trailing spaces.
std::string row(const std::string& table, const std::string& path) {
    const std::string start = "\n" + path + " (";
    const auto at = table.find(start);
    if (at == std::string::npos) return "(no row " + path + ")";
    std::string line = table.substr(at + 1, table.find('\n', at + 1) - at - 1);
    std::string squeezed;  // runs of spaces as one
    for (char c : line)
        if (!(c == ' ' && !squeezed.empty() && squeezed.back() == ' ')) squeezed += c;
    return squeezed;
}

}  // namespace

TEST_CASE("summary: LeNet-5 layer by layer, with torchinfo's shapes and counts", "[nn][summary]") {
    LeNet5 net;
    const std::string table = nn::summary(net, shape<32, 1, 32, 32>{});
    INFO(table);
    CHECK(row(table, names[0]) == std::string(names[0]) + " (Conv2d) [32, 6, 28, 28] 156");
    CHECK(row(table, names[1]) == std::string(names[1]) + " (Conv2d) [32, 16, 10, 10] 2,416");
    CHECK(row(table, names[2]) == std::string(names[2]) + " (Dense) [32, 120] 48,120");
    CHECK(row(table, names[3]) == std::string(names[3]) + " (Dense) [32, 84] 10,164");
    CHECK(row(table, names[4]) == std::string(names[4]) + " (Dense) [32, 10] 850");
    CHECK(table.find("\nLeNet5 ") != std::string::npos);
    CHECK(table.find("Total params: 61,706\n") != std::string::npos);
    CHECK(table.find("Input shape: [32, 1, 32, 32]\n") != std::string::npos);
    CHECK(table.find("Parameter size: 0.25 MB\n") != std::string::npos);
}

TEST_CASE("summary: nested cells get the shape at the end of their block", "[nn][summary]") {
    Nested net;
    const std::string table = nn::summary(net, shape<5, 3>{});
    INFO(table);
    CHECK(row(table, names[5]) == std::string(names[5]) + " (Dense) [5, 8] 32");
    CHECK(row(table, names[6]) == std::string(names[6]) + " (Block) [5, 4] 82");
    CHECK(row(table, names[7]) == std::string(names[7]) + " (Dense) [5, 6] 54");
    CHECK(row(table, names[8]) == std::string(names[8]) + " (Dense) [5, 4] 28");
    CHECK(row(table, names[9]) == std::string(names[9]) + " (Marker) -- 0");
    CHECK(row(table, names[10]) == std::string(names[10]) + " (Dense) [5, 2] 10");
    CHECK(table.find("Total params: 124\n") != std::string::npos);
}

TEST_CASE("summary: every layer has its output shape, parameters or not, in Sequentials and user cells",
          "[nn][summary]") {
    Zoo net;
    const std::string table = nn::summary(net, shape<2, 1, 8, 8>{});
    const std::string expected =
        "========================================================\n"
        "Layer (type)               Output shape     Param #\n"
        "========================================================\n"
        "Zoo                        [2, 3]           --\n"
        "features (Features)        [2, 4, 4, 4]     40\n"
        "features.conv (Conv2d)     [2, 4, 8, 8]     40\n"
        "features.relu (ReLU)       [2, 4, 8, 8]     0\n"
        "features.pool (MaxPool2d)  [2, 4, 4, 4]     0\n"
        "avg (AvgPool2d)            [2, 4, 2, 2]     0\n"
        "drop (Dropout)             [2, 4, 2, 2]     0\n"
        "flatten (Flatten)          [2, 16]          0\n"
        "classifier (Sequential)    [2, 3]           435\n"
        "classifier.0 (Dense)       [2, 16]          272\n"
        "classifier.1 (Sigmoid)     [2, 16]          0\n"
        "classifier.2 (Sequential)  [2, 3]           163\n"
        "classifier.2.0 (Head)      [2, 8]           136\n"
        "classifier.2.0.fc (Dense)  [2, 8]           136\n"
        "classifier.2.0.tanh (Tanh) [2, 8]           0\n"
        "classifier.2.1 (Dense)     [2, 3]           27\n"
        "========================================================\n"
        "Total params: 475\n"
        "Trainable params: 475\n"
        "Input shape: [2, 1, 8, 8]\n"
        "Parameter size: 0.00 MB\n"
        "========================================================\n";
    CHECK(table == expected);
}

TEST_CASE("summary: the record of outputs is on only while a recorder lives, on its thread", "[nn][summary]") {
    nn::Sequential<nn::Dense<3, 4>, nn::ReLU> seq;
    const auto x = spore::expr::placeholder<struct summary_input, float, shape<2, 3>>();
    {
        nn::output_recorder outer;
        {
            nn::output_recorder inner;
            (void)spore::call(seq, x);
            // in the order the calls returned: the children, then the Sequential
            // (a layer records itself; spore::call applying it does not record it a second time)
            REQUIRE(inner.records().size() == 3);
            CHECK(inner.records().front().cell == &seq.child<0>());
            CHECK(inner.records().back().cell == &seq);
            const nn::output_record* relu = inner.find(seq.child<1>());
            REQUIRE(relu);
            CHECK(relu->rank == 2);
            CHECK(relu->extents[1] == 4);
            // a cell may share its address with a child: the type tells them apart
            REQUIRE(inner.find(seq) != nullptr);
            CHECK(inner.find(seq)->type == nn::type_key_of<decltype(seq)>());
            CHECK(inner.find(seq)->extents[1] == 4);
            // another thread records nothing here
            std::thread([&] { (void)seq(x); }).join();
            CHECK(inner.records().size() == 3);
        }
        CHECK(outer.records().empty());  // the inner recorder had them
        (void)seq(x);
        CHECK(outer.records().size() == 3);
    }
    nn::output_recorder later;
    CHECK(later.records().empty());  // nothing recorded while no recorder lived
}
