#include <string>

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
