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
    REQUIRE(found.size() == 3);
    CHECK(found[0] == &block.norm.running_mean);
    CHECK(found[1] == &block.norm.running_var);
    CHECK(found[2] == &block.norm.num_batches_tracked);
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

// ---- BatchNorm1d: [N, C] and [N, C, L], the same node with a plane of 1 or L -----------------

namespace {

// The naive reference for any input [N, C, L] (L = 1 for [N, C]): training statistics when
// `training`, else the given running ones. Returns y, and the batch mean and unbiased variance.
template <class X, class Bn>
X naive_batch_norm1d(const X& x, const Bn& bn, bool training, std::vector<double>& mean, std::vector<double>& var) {
    constexpr std::size_t n = X::shape_type::extents[0], c = X::shape_type::extents[1], l = X::shape_type::size / (n * c);
    X y;
    mean.assign(c, 0.0);
    var.assign(c, 0.0);
    for (std::size_t ch = 0; ch < c; ++ch) {
        double total = 0, squares = 0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < l; ++k) total += x[(i * c + ch) * l + k];
        const double mu = total / double(n * l);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < l; ++k) squares += (x[(i * c + ch) * l + k] - mu) * (x[(i * c + ch) * l + k] - mu);
        mean[ch] = mu;
        var[ch] = squares / double(n * l - 1);
        const double m = training ? mu : double(bn.running_mean[ch]);
        const double v = training ? squares / double(n * l) : double(bn.running_var[ch]);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < l; ++k) {
                const std::size_t at = (i * c + ch) * l + k;
                y[at] = (x[at] - m) / std::sqrt(v + bn.eps) * bn.weight[ch] + bn.bias[ch];
            }
    }
    return y;
}

struct Mlp {  // BatchNorm1d after a Dense layer, as in PyTorch's MLPs
    nn::Dense<5, 4, double> fc;
    nn::BatchNorm1d<4, double> norm;
    auto construct(auto x) const { return spore::relu(norm(fc(x))); }
};

}  // namespace

TEMPLATE_TEST_CASE("BatchNorm1d: training and evaluation against a naive loop", "[nn][batchnorm]",
                   (tensor<double, shape<6, 3>>), (tensor<double, shape<4, 3, 7>>), (tensor<double, shape<2, 3, 1>>)) {
    nn::BatchNorm1d<3, double> bn{.eps = 1e-3, .momentum = 0.2};
    bn.weight = tensor<double, shape<3>>{1.5, -0.5, 2.0};
    bn.bias = tensor<double, shape<3>>{0.25, 0.0, -1.0};
    TestType x, weights;
    x.fill_uniform(21, -2, 3);
    weights.fill_uniform(22, -1, 1);
    std::vector<double> mean, var;
    const TestType expected = naive_batch_norm1d(x, bn, true, mean, var);
    auto program = spore::compile_grad(spore::sum(bn(spore::input(x)) * weights), bn.weight);
    const double value = program.run();
    double expected_value = 0;
    for (std::size_t i = 0; i < x.size(); ++i) expected_value += expected[i] * weights[i];
    CHECK(value == Approx(expected_value).epsilon(1e-12));
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(bn.running_mean[c] == Approx(0.2 * mean[c]).epsilon(1e-12));
        CHECK(bn.running_var[c] == Approx(0.8 + 0.2 * var[c]).epsilon(1e-12));
    }
    const TestType expected_eval = naive_batch_norm1d(x, bn, false, mean, var);
    CHECK(spore::max_abs_diff(spore::eval(bn(spore::input(x))), expected_eval) < 1e-13);
}

TEST_CASE("BatchNorm1d: training gradients against finite differences", "[nn][batchnorm][autodiff]") {
    nn::BatchNorm1d<3, double> bn;
    bn.weight = tensor<double, shape<3>>{1.5, -0.5, 2.0};
    bn.bias = tensor<double, shape<3>>{0.25, 0.1, -1.0};
    SECTION("[N, C]") {
        tensor<double, shape<5, 3>> x, r;
        x.fill_uniform(23, -2, 2);
        r.fill_uniform(24, -1, 1);
        spore_test::check_training_gradients(spore::sum(spore::tanh(bn(spore::input(x))) * r), x, bn.weight, bn.bias);
    }
    SECTION("[N, C, L], input from an expression, output used twice") {
        tensor<double, shape<3, 3, 5>> x, r;
        x.fill_uniform(25, -2, 2);
        r.fill_uniform(26, -1, 1);
        auto y = bn(spore::input(x) * 2.0 + 1.0);
        spore_test::check_training_gradients(spore::sum(spore::square(y) * r + y), x, bn.weight, bn.bias);
    }
    SECTION("after a Dense layer, in a cell") {
        Mlp mlp;
        spore::init(mlp, 27);
        tensor<double, shape<6, 5>> x;
        tensor<double, shape<6, 4>> r;
        x.fill_uniform(28, -1, 1);
        r.fill_uniform(29, -1, 1);
        spore_test::check_training_gradients(spore::sum(mlp.construct(spore::input(x)) * r), mlp.fc.weight, mlp.fc.bias,
                                             mlp.norm.weight, mlp.norm.bias, x);
    }
}

TEST_CASE("BatchNorm1d: evaluation gradients are the affine map's", "[nn][batchnorm][autodiff]") {
    nn::BatchNorm1d<3, double> bn;
    bn.weight = tensor<double, shape<3>>{1.5, -0.5, 2.0};
    bn.running_mean.value() = tensor<double, shape<3>>{0.3, -0.1, 2.0};
    bn.running_var.value() = tensor<double, shape<3>>{0.8, 1.7, 0.05};
    tensor<double, shape<4, 3, 2>> x, r;
    x.fill_uniform(30, -2, 2);
    r.fill_uniform(31, -1, 1);
    // a forward program evaluates; its finite differences are those of the evaluation-mode map
    auto f = spore::sum(bn(spore::input(x)) * r);
    const auto numeric = spore_test::numeric_gradient(f, x);
    tensor<double, shape<4, 3, 2>> expected;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const std::size_t c = (i / 2) % 3;
        expected[i] = r[i] * bn.weight[c] / std::sqrt(bn.running_var[c] + 1e-5);
    }
    CHECK(spore::max_abs_diff(numeric, expected) < 1e-8);
}

TEST_CASE("BatchNorm1d: one value per channel cannot train, and the message names the layer and the input",
          "[nn][batchnorm][error]") {
    nn::BatchNorm1d<2, double> bn;
    tensor<double, shape<1, 2>> x{1.0, 2.0};
    auto program = spore::compile_grad(spore::sum(bn(spore::input(x))), bn.weight);
    CHECK_THROWS_WITH(program.run(), Catch::Contains("BatchNorm1d: training needs more than one value per channel, found 1 (input [1, 2])"));
    CHECK_NOTHROW(spore::eval(bn(spore::input(x))));
    tensor<double, shape<1, 2, 2>> x3;  // [1, C, 2]: two values per channel train
    auto program3 = spore::compile_grad(spore::sum(bn(spore::input(x3))), bn.weight);
    CHECK_NOTHROW(program3.run());
    nn::BatchNorm1d<2, double> bad{.momentum = 2.0};
    CHECK_THROWS_WITH(bad(spore::input(x)), Catch::Contains("spore::nn::BatchNorm1d: momentum must lie in [0, 1], found 2"));
}

TEST_CASE("BatchNorm1d: float kernels agree with double on rows of odd width", "[nn][batchnorm]") {
    nn::BatchNorm1d<37> bn;
    nn::BatchNorm1d<37, double> bnd;
    tensor<float, shape<9, 37>> x;
    x.fill_uniform(32, -3, 3);
    tensor<double, shape<9, 37>> xd;
    for (std::size_t i = 0; i < x.size(); ++i) xd[i] = x[i];
    auto program = spore::compile_grad(spore::sum(spore::square(bn(spore::input(x)))), x);
    auto programd = spore::compile_grad(spore::sum(spore::square(bnd(spore::input(xd)))), xd);
    CHECK(program.run() == Approx(programd.run()).epsilon(1e-5));
    const auto& g = std::get<0>(program.gradients());
    const auto& gd = std::get<0>(programd.gradients());
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(gd[i]).margin(1e-4));
    for (std::size_t c = 0; c < 37; ++c) CHECK(bn.running_var[c] == Approx(bnd.running_var[c]).epsilon(1e-5));
}

TEST_CASE("BatchNorm: num_batches_tracked counts training forward passes, as PyTorch does", "[nn][batchnorm]") {
    nn::BatchNorm2d<C, double> bn2;
    nn::BatchNorm1d<C, double> bn1;
    STATIC_REQUIRE(std::is_same_v<decltype(bn2.num_batches_tracked), nn::buffer<std::int64_t, shape<>>>);
    CHECK(bn2.num_batches_tracked[0] == 0);
    std::size_t buffers = 0;
    nn::for_each_buffer(bn1, [&](auto&) { ++buffers; });
    CHECK(buffers == 3);
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(bn1))> == 2);  // never trained

    images x;
    tensor<double, shape<N, C>> rows;
    x.fill_uniform(12, -1, 1);
    rows.fill_uniform(13, -1, 1);
    auto train2 = spore::compile_grad(spore::sum(spore::square(bn2(spore::input(x)))), bn2.weight);
    auto train1 = spore::compile_grad(spore::sum(spore::square(bn1(spore::input(rows)))), bn1.bias);
    for (int i = 0; i < 3; ++i) train2.run();
    train1.run();
    CHECK(bn2.num_batches_tracked[0] == 3);
    CHECK(bn1.num_batches_tracked[0] == 1);
    (void)spore::eval(bn2(spore::input(x)));  // evaluation counts nothing
    CHECK(bn2.num_batches_tracked[0] == 3);
    spore::init(bn2, 1);  // PyTorch's reset_running_stats zeroes it
    CHECK(bn2.num_batches_tracked[0] == 0);
}
