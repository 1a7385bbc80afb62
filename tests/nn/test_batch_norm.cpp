#include <cmath>
#include <vector>

#include "../support/training.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

constexpr std::size_t N = 4, C = 3, H = 3, W = 5;
using images = tensor<double, shape<N, C, H, W>>;

struct statistics {
    std::vector<double> mean, biased, unbiased;
};
statistics batch_statistics(const images& x) {
    statistics s{std::vector<double>(C), std::vector<double>(C), std::vector<double>(C)};
    const double n = N * H * W;
    for (std::size_t c = 0; c < C; ++c) {
        double total = 0, squares = 0;
        for (std::size_t i = 0; i < N; ++i)
            for (std::size_t h = 0; h < H; ++h)
                for (std::size_t w = 0; w < W; ++w) total += x(i, c, h, w);
        s.mean[c] = total / n;
        for (std::size_t i = 0; i < N; ++i)
            for (std::size_t h = 0; h < H; ++h)
                for (std::size_t w = 0; w < W; ++w) squares += (x(i, c, h, w) - s.mean[c]) * (x(i, c, h, w) - s.mean[c]);
        s.biased[c] = squares / n;
        s.unbiased[c] = squares / (n - 1);
    }
    return s;
}

template <class Bn>
images naive_batch_norm(const images& x, const Bn& bn, const std::vector<double>& mean, const std::vector<double>& var) {
    images y;
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t h = 0; h < H; ++h)
                for (std::size_t w = 0; w < W; ++w)
                    y(i, c, h, w) = (x(i, c, h, w) - mean[c]) / std::sqrt(var[c] + 1e-5) * bn.weight[c] + bn.bias[c];
    return y;
}

struct Block {  // a cell with a buffer inside, one level down
    nn::Conv2d<C, 2, 3, 1, nn::padding::same, double> conv;
    nn::BatchNorm2d<2, double> norm;
};

}  // namespace

TEST_CASE("BatchNorm2d: parameters are weight and bias, the running statistics are buffers", "[nn][batchnorm]") {
    nn::BatchNorm2d<C, double> bn;
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(bn))> == 2);
    CHECK(&std::get<0>(nn::parameters(bn)) == &bn.weight);
    CHECK(&std::get<1>(nn::parameters(bn)) == &bn.bias);
    CHECK(nn::parameter_count(bn) == 2 * C);
    for (std::size_t c = 0; c < C; ++c) {  // PyTorch's initial values, before and after init
        CHECK(bn.weight[c] == 1.0);
        CHECK(bn.bias[c] == 0.0);
        CHECK(bn.running_mean[c] == 0.0);
        CHECK(bn.running_var[c] == 1.0);
    }
    Block block;
    spore::init(block, 1);
    CHECK(block.norm.weight[1] == 1.0);
    CHECK(block.norm.running_var[1] == 1.0);
    std::vector<const void*> found;
    nn::for_each_buffer(block, [&](auto& b) { found.push_back(&b); });
    REQUIRE(found.size() == 2);
    CHECK(found[0] == &block.norm.running_mean);
    CHECK(found[1] == &block.norm.running_var);
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(block))> == 4);
}

TEST_CASE("BatchNorm2d: training normalises by batch statistics and updates the running ones", "[nn][batchnorm]") {
    nn::BatchNorm2d<C, double> bn;
    bn.weight = tensor<double, shape<C>>{1.5, -0.5, 2.0};
    bn.bias = tensor<double, shape<C>>{0.25, 0.0, -1.0};
    images x;
    x.fill_uniform(1, -2, 3);
    const auto s = batch_statistics(x);
    auto y = bn(spore::input(x));
    tensor<double, shape<N, C, H, W>> weights;
    weights.fill_uniform(2, -1, 1);
    auto program = spore::compile_grad(spore::sum(y * weights), bn.weight);  // a training program
    const images expected = naive_batch_norm(x, bn, s.mean, s.biased);
    const double value = program.run();
    double expected_value = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) expected_value += expected[i] * weights[i];
    CHECK(value == Approx(expected_value).epsilon(1e-12));
    for (std::size_t c = 0; c < C; ++c) {  // momentum 0.1 from mean 0, variance 1; unbiased
        CHECK(bn.running_mean[c] == Approx(0.1 * s.mean[c]).epsilon(1e-12));
        CHECK(bn.running_var[c] == Approx(0.9 + 0.1 * s.unbiased[c]).epsilon(1e-12));
    }
    program.run();  // every training step updates them again
    for (std::size_t c = 0; c < C; ++c) {
        CHECK(bn.running_mean[c] == Approx(0.19 * s.mean[c]).epsilon(1e-12));
        CHECK(bn.running_var[c] == Approx(0.9 * (0.9 + 0.1 * s.unbiased[c]) + 0.1 * s.unbiased[c]).epsilon(1e-12));
    }
}

TEST_CASE("BatchNorm2d: evaluation normalises by the running statistics and leaves them alone", "[nn][batchnorm]") {
    nn::BatchNorm2d<C, double> bn;
    bn.weight = tensor<double, shape<C>>{0.5, 1.0, 3.0};
    bn.bias = tensor<double, shape<C>>{1.0, -2.0, 0.5};
    bn.running_mean.value() = tensor<double, shape<C>>{0.3, -0.1, 2.0};
    bn.running_var.value() = tensor<double, shape<C>>{0.8, 1.7, 0.05};
    images x;
    x.fill_uniform(3, -2, 2);
    const auto y = spore::eval(bn(spore::input(x)));
    const auto expected = naive_batch_norm(x, bn, {0.3, -0.1, 2.0}, {0.8, 1.7, 0.05});
    CHECK(spore::max_abs_diff(y, expected) < 1e-13);
    auto program = spore::compile(bn(spore::input(x)));
    program();
    CHECK(bn.running_mean[2] == 2.0);
    CHECK(bn.running_var[1] == 1.7);
    CHECK(spore::max_abs_diff(program(), expected) < 1e-13);
}

TEST_CASE("BatchNorm2d: training gradients against finite differences through the batch statistics",
          "[nn][batchnorm][autodiff]") {
    nn::BatchNorm2d<C, double> bn;
    bn.weight = tensor<double, shape<C>>{1.5, -0.5, 2.0};
    bn.bias = tensor<double, shape<C>>{0.25, 0.1, -1.0};
    images x, r;
    x.fill_uniform(4, -2, 2);
    r.fill_uniform(5, -1, 1);
    SECTION("dense input") {
        spore_test::check_training_gradients(spore::sum(spore::tanh(bn(spore::input(x))) * r), x, bn.weight, bn.bias);
    }
    SECTION("input from an expression, output used twice") {
        auto y = bn(spore::input(x) * 2.0 + 1.0);
        spore_test::check_training_gradients(spore::sum(spore::square(y) * r + y), x, bn.weight, bn.bias);
    }
    SECTION("after a convolution, in a cell") {
        Block block;
        spore::init(block, 6);
        tensor<double, shape<2, C, 4, 4>> images2;
        images2.fill_uniform(7, -1, 1);
        tensor<double, shape<2, 2, 4, 4>> weights;
        weights.fill_uniform(8, -1, 1);
        auto loss = spore::sum(spore::relu(block.norm(block.conv(spore::input(images2)))) * weights);
        spore_test::check_training_gradients(loss, block.conv.weight, block.norm.weight, block.norm.bias, images2);
    }
}

TEST_CASE("BatchNorm2d: in training, each channel's normalised values sum to zero whatever x is",
          "[nn][batchnorm][autodiff]") {
    nn::BatchNorm2d<C, double> bn;
    images x;
    x.fill_uniform(9, -2, 2);
    const auto g = spore::grad(spore::sum(bn(spore::input(x)) * 1.0), x);
    CHECK(spore::max_abs_diff(g, images{}) < 1e-12);
}

TEST_CASE("BatchNorm2d: one value per channel cannot train", "[nn][batchnorm][error]") {
    nn::BatchNorm2d<2, double> bn;
    tensor<double, shape<1, 2, 1, 1>> x{1.0, 2.0};
    auto program = spore::compile_grad(spore::sum(bn(spore::input(x))), bn.weight);
    CHECK_THROWS_WITH(program.run(), Catch::Contains("more than one value per channel, found 1"));
    CHECK_NOTHROW(spore::eval(bn(spore::input(x))));
}

TEST_CASE("BatchNorm2d: float kernels agree with double", "[nn][batchnorm]") {
    nn::BatchNorm2d<C> bn;
    tensor<float, shape<N, C, 8, 9>> x;  // planes of 72: vector batches and tails
    x.fill_uniform(10, -3, 3);
    auto program = spore::compile_grad(spore::sum(spore::square(bn(spore::input(x)))), bn.weight);
    const float value = program.run();
    // sum over each channel of x_hat^2 is n (the biased variance normalises), up to eps
    CHECK(value == Approx(double(N * C * 72)).epsilon(1e-4));
    CHECK(std::get<0>(program.gradients())[1] == Approx(2.0 * N * 72).epsilon(1e-4));
}

TEST_CASE("BatchNorm2d: eps and momentum are run-time fields with PyTorch's names, defaults and order",
          "[nn][batchnorm]") {
    nn::BatchNorm2d<16> defaults;
    CHECK(defaults.eps == 1e-5);
    CHECK(defaults.momentum == 0.1);
    nn::BatchNorm2d<16> slow{.momentum = 0.01f};
    CHECK(slow.momentum == Approx(0.01));
    CHECK(slow.eps == 1e-5);
    CHECK(slow.weight[15] == 1.0f);  // the tensors keep their defaults
    CHECK(slow.running_var[15] == 1.0f);
    nn::BatchNorm2d<C, double> both{.eps = 1e-3, .momentum = 0.5};  // PyTorch's argument order
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(both))> == 2);

    images x;
    x.fill_uniform(11, -2, 2);
    const auto s = batch_statistics(x);
    auto program = spore::compile_grad(spore::sum(both(spore::input(x))), both.weight);
    program.run();
    for (std::size_t c = 0; c < C; ++c) {
        CHECK(both.running_mean[c] == Approx(0.5 * s.mean[c]).epsilon(1e-12));
        CHECK(both.running_var[c] == Approx(0.5 + 0.5 * s.unbiased[c]).epsilon(1e-12));
    }
    both.running_mean.value() = tensor<double, shape<C>>{0.3, -0.1, 2.0};
    both.running_var.value() = tensor<double, shape<C>>{0.8, 1.7, 0.05};
    const auto y = spore::eval(both(spore::input(x)));
    CHECK(y(1, 2, 0, 3) == Approx((x(1, 2, 0, 3) - 2.0) / std::sqrt(0.05 + 1e-3)).epsilon(1e-12));
}

TEST_CASE("BatchNorm2d: momentum outside 0..1 or eps not positive is refused where the expression is built",
          "[nn][batchnorm][error]") {
    images x;
    nn::BatchNorm2d<C, double> bn{.momentum = 1.5};
    CHECK_THROWS_WITH(bn(spore::input(x)), Catch::Contains("BatchNorm2d: momentum must lie in [0, 1], found 1.5"));
    bn.momentum = -0.25;
    CHECK_THROWS_WITH(bn(spore::input(x)), Catch::Contains("momentum must lie in [0, 1], found -0.25"));
    bn.momentum = 1.0;  // the bounds are allowed: 1 keeps only the last batch, 0 freezes
    CHECK_NOTHROW(bn(spore::input(x)));
    bn.momentum = 0.0;
    CHECK_NOTHROW(bn(spore::input(x)));
    bn.eps = 0.0;
    CHECK_THROWS_WITH(bn(spore::input(x)), Catch::Contains("BatchNorm2d: eps must be positive, found 0"));
    bn.eps = -1e-3;
    CHECK_THROWS_WITH(bn(spore::input(x)), Catch::Contains("eps must be positive, found -0.001"));
    bn.eps = std::nan("");
    CHECK_THROWS_AS(bn(spore::input(x)), spore::error);
}
