// Cells (nn/cell.hpp): a plain struct of layers whose parameters are found without
// registration, in field order, at any depth.
#include <tuple>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

#include "../support/nets.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;
using spore_test::LeNet5;

namespace {

struct Nested {  // cells nest: parameters are found at any depth, in field order
    nn::Dense<3, 2, double> first;
    struct {
        nn::Dense<2, 4, double> inner;
        tensor<double, shape<4>> scale;
    } block;
};

}  // namespace

TEST_CASE("cells: parameters are found by Boost.PFR, in field order, at any depth", "[nn][cell]") {
    LeNet5<float> net;
    CHECK(nn::parameter_count(net) == 61706);  // as torchinfo reports for this LeNet-5
    CHECK(std::tuple_size_v<decltype(nn::parameters(net))> == 10);
    CHECK(&std::get<0>(nn::parameters(net)) == &net.conv1.weight);
    CHECK(&std::get<9>(nn::parameters(net)) == &net.fc3.bias);
    Nested nested;
    auto params = nn::parameters(nested);
    CHECK(std::tuple_size_v<decltype(params)> == 5);
    CHECK(&std::get<4>(params) == &nested.block.scale);
    CHECK(nn::parameter_count(nested) == 3 * 2 + 2 + 2 * 4 + 4 + 4);
}
