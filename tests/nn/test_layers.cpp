// The layers (nn/layers.hpp): Conv2d with padding::same, explicit padding, stride and no bias,
// and Dense without bias, against naive loops and finite differences; LayerNorm's fields; the cells without
// parameters (ReLU, pooling, Flatten, ...) against the functions, skipped by the parameter walk.
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "../support/check.hpp"
#include "../support/nets.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;
using spore_test::check_gradients;
using spore_test::SmallNet;

namespace {

// y[n, f, oh, ow] = b[f] + sum over c, kh, kw of w[f, c, kh, kw] x[n, c, oh*S + kh - P, ow*S + kw - P]
template <std::size_t S, std::size_t P, class X, class W, class Y>
void naive_conv(const X& x, const W& w, const double* bias, Y& y) {
    using xs = typename X::shape_type;
    using ws = typename W::shape_type;
    using ys = typename Y::shape_type;
    for (std::size_t n = 0; n < ys::extents[0]; ++n)
        for (std::size_t f = 0; f < ys::extents[1]; ++f)
            for (std::size_t oh = 0; oh < ys::extents[2]; ++oh)
                for (std::size_t ow = 0; ow < ys::extents[3]; ++ow) {
                    double total = bias ? bias[f] : 0.0;
                    for (std::size_t c = 0; c < xs::extents[1]; ++c)
                        for (std::size_t kh = 0; kh < ws::extents[2]; ++kh)
                            for (std::size_t kw = 0; kw < ws::extents[3]; ++kw) {
                                const long ih = long(oh * S + kh) - long(P), iw = long(ow * S + kw) - long(P);
                                if (ih < 0 || iw < 0 || ih >= long(xs::extents[2]) || iw >= long(xs::extents[3])) continue;
                                total += w(f, c, kh, kw) * x(n, c, std::size_t(ih), std::size_t(iw));
                            }
                    y(n, f, oh, ow) = total;
                }
}

}  // namespace

TEST_CASE("Conv2d: padding::same keeps the size, against a naive loop and finite differences", "[nn][layers]") {
    nn::Conv2d<2, 3, 3, 1, nn::padding::same, double> conv;
    spore::init(conv, 1);
    tensor<double, shape<2, 2, 5, 6>> x;
    x.fill_uniform(2, -1, 1);
    auto y = spore::eval(conv(spore::input(x)));
    static_assert(std::is_same_v<decltype(y)::shape_type, shape<2, 3, 5, 6>>);
    tensor<double, shape<2, 3, 5, 6>> expected;
    naive_conv<1, 1>(x, conv.weight, conv.bias.data(), expected);
    CHECK(spore::max_abs_diff(y, expected) < 1e-13);
    check_gradients(spore::sum(spore::tanh(conv(spore::input(x)))), conv.weight, conv.bias, x);

    nn::Conv2d<2, 3, 5, 1, nn::padding::same, double> wide;
    spore::init(wide, 3);
    auto z = spore::eval(wide(spore::input(x)));
    static_assert(std::is_same_v<decltype(z)::shape_type, shape<2, 3, 5, 6>>);
    naive_conv<1, 2>(x, wide.weight, wide.bias.data(), expected);
    CHECK(spore::max_abs_diff(z, expected) < 1e-13);
}

TEST_CASE("Conv2d: stride with explicit padding, and without bias", "[nn][layers]") {
    nn::Conv2d<2, 3, 3, 2, 1, double, false> conv;
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(conv))> == 1);
    CHECK(nn::parameter_count(conv) == 3 * 2 * 3 * 3);
    spore::init(conv, 4);
    tensor<double, shape<1, 2, 7, 6>> x;
    x.fill_uniform(5, -1, 1);
    auto y = spore::eval(conv(spore::input(x)));
    static_assert(std::is_same_v<decltype(y)::shape_type, shape<1, 3, 4, 3>>);  // (7 + 2 - 3) / 2 + 1, (6 + 2 - 3) / 2 + 1
    tensor<double, shape<1, 3, 4, 3>> expected;
    naive_conv<2, 1>(x, conv.weight, nullptr, expected);
    CHECK(spore::max_abs_diff(y, expected) < 1e-13);
    check_gradients(spore::sum(spore::square(conv(spore::input(x)))), conv.weight, x);
    nn::Conv2d<2, 3, 3, 2, nn::padding::valid, double> valid;
    static_assert(std::is_same_v<decltype(valid(spore::input(x)))::shape_type, shape<1, 3, 3, 2>>);
}

TEST_CASE("Dense without bias is x W^T", "[nn][layers]") {
    nn::Dense<4, 3, double, false> fc;
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(fc))> == 1);
    spore::init(fc, 6);
    tensor<double, shape<2, 4>> x;
    x.fill_uniform(7, -1, 1);
    auto y = spore::eval(fc(spore::input(x)));
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t o = 0; o < 3; ++o) {
            double total = 0;
            for (std::size_t i = 0; i < 4; ++i) total += fc.weight(o, i) * x(n, i);
            CHECK(y(n, o) == Approx(total).epsilon(1e-14));
        }
}

TEST_CASE("cells without parameters: the same expressions as the functions, skipped by the parameter walk",
          "[nn][layers]") {
    tensor<double, shape<2, 3, 4, 4>> x;
    x.fill_uniform(8, -2, 2);
    CHECK(spore::max_abs_diff(spore::eval(nn::ReLU{}(x)), spore::eval(spore::relu(x))) == 0.0);
    CHECK(spore::max_abs_diff(spore::eval(nn::Sigmoid{}(x)), spore::eval(spore::sigmoid(x))) == 0.0);
    CHECK(spore::max_abs_diff(spore::eval(nn::Tanh{}(x)), spore::eval(spore::tanh(x))) == 0.0);
    CHECK(spore::max_abs_diff(spore::eval(nn::Flatten{}(x)), x) == 0.0);
    auto pooled = spore::eval(nn::MaxPool2d<2>{}(x));
    auto averaged = spore::eval(nn::AvgPool2d<2, 2>{}(x));
    auto strided = spore::eval(nn::MaxPool2d<3, 1>{}(x));
    static_assert(std::is_same_v<decltype(strided)::shape_type, shape<2, 3, 2, 2>>);
    for (std::size_t p = 0; p < 6; ++p)
        for (std::size_t oh = 0; oh < 2; ++oh)
            for (std::size_t ow = 0; ow < 2; ++ow) {
                const double* plane = x.data() + p * 16;
                double top = -1e300, total = 0, top3 = -1e300;
                for (std::size_t kh = 0; kh < 2; ++kh)
                    for (std::size_t kw = 0; kw < 2; ++kw) {
                        const double v = plane[(oh * 2 + kh) * 4 + ow * 2 + kw];
                        top = std::max(top, v);
                        total += v;
                    }
                for (std::size_t kh = 0; kh < 3; ++kh)
                    for (std::size_t kw = 0; kw < 3; ++kw) top3 = std::max(top3, plane[(oh + kh) * 4 + ow + kw]);
                CHECK(pooled[p * 4 + oh * 2 + ow] == top);
                CHECK(averaged[p * 4 + oh * 2 + ow] == Approx(total / 4).epsilon(1e-15));
                CHECK(strided[p * 4 + oh * 2 + ow] == top3);
            }

    SmallNet net;
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(net))> == 3);
    CHECK(nn::parameter_count(net) == 4 * 9 + 4 + 36 * 5);
    spore::init(net, 9);
    tensor<double, shape<2, 1, 6, 6>> images;
    images.fill_uniform(10, -1, 1);
    check_gradients(spore::sum(net.construct(spore::input(images))), net.conv.weight, net.conv.bias, net.head.weight);
}

namespace {
struct TokenBlock {  // LayerNorm inside a cell, as in a transformer block: input [N, 3, 6]
    nn::Dense<6, 6, double> fc;
    nn::LayerNorm<shape<6>, double> norm{.eps = 1e-6};
    auto construct(auto x) const { return norm(x + spore::tanh(x)); }
};
}  // namespace

TEST_CASE("LayerNorm: PyTorch's parameters, eps field and reset, and the same as layer_norm", "[nn][layers][layernorm]") {
    nn::LayerNorm<shape<4, 6>> ln;
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(ln))> == 2);
    CHECK(&std::get<0>(nn::parameters(ln)) == &ln.weight);
    CHECK(&std::get<1>(nn::parameters(ln)) == &ln.bias);
    CHECK(nn::parameter_count(ln) == 2 * 24);
    CHECK(ln.eps == 1e-5);
    for (std::size_t i = 0; i < 24; ++i) {
        CHECK(ln.weight[i] == 1.0f);
        CHECK(ln.bias[i] == 0.0f);
    }
    std::size_t buffers = 0;
    nn::for_each_buffer(ln, [&](auto&) { ++buffers; });
    CHECK(buffers == 0);
    std::vector<std::string> names;
    TokenBlock block;
    nn::for_each_named_parameter(block, [&](const std::string& name, auto&) { names.push_back(name); });
    CHECK(names == std::vector<std::string>{"fc.weight", "fc.bias", "norm.weight", "norm.bias"});
    block.norm.weight.fill_uniform(3, 0.5, 1.5);
    block.norm.bias.fill_uniform(4, -0.5, 0.5);
    spore::init(block, 5);  // PyTorch's reset: ones and zeros
    CHECK(block.norm.weight[5] == 1.0);
    CHECK(block.norm.bias[5] == 0.0);

    tensor<double, shape<2, 3, 6>> x;
    x.fill_uniform(6, -2, 2);
    block.norm.weight.fill_uniform(7, 0.5, 1.5);
    block.norm.bias.fill_uniform(8, -0.5, 0.5);
    const auto y = spore::eval(block.construct(spore::input(x)));
    const tensor<double, shape<2, 3, 6>> expected =
        spore::layer_norm(x + spore::tanh(x), block.norm.weight, block.norm.bias, 1e-6);
    CHECK(spore::max_abs_diff(y, expected) == 0.0);
    check_gradients(spore::sum(spore::square(block.construct(spore::input(x)))), x, block.norm.weight, block.norm.bias);
}

TEST_CASE("LayerNorm: eps not positive is refused where the expression is built", "[nn][layers][layernorm][error]") {
    tensor<float, shape<2, 5>> x;
    nn::LayerNorm<shape<5>> ln{.eps = 0.0};
    CHECK_THROWS_WITH(ln(spore::input(x)), Catch::Contains("LayerNorm: eps must be positive, found 0"));
    ln.eps = std::nan("");
    CHECK_THROWS_AS(ln(spore::input(x)), spore::error);
    ln.eps = 1e-3;
    CHECK_NOTHROW(ln(spore::input(x)));
}
