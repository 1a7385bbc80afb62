// Initialisation (nn/init.hpp): PyTorch's default scheme, reproducible from the seed and drawn in
// a fixed order, the Xavier, Kaiming, normal, uniform and constant schemes, and init per cell.
#include <algorithm>
#include <cmath>
#include <utility>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

#include "../support/nets.hpp"

namespace nn = spore::nn;
using spore_test::LeNet5;
using spore_test::SmallNet;

TEST_CASE("init: PyTorch's default bounds, reproducible from the seed", "[nn][init]") {
    LeNet5<float> a, b, c;
    spore::init(a, 7);
    spore::init(b, 7);
    spore::init(c, 8);
    CHECK(spore::max_abs_diff(a.fc1.weight, b.fc1.weight) == 0.0);
    CHECK(spore::max_abs_diff(a.fc1.weight, c.fc1.weight) > 0.0);
    auto within = [](const auto& t, double bound) {
        double top = 0;
        for (float x : t) top = std::max(top, double(std::abs(x)));
        return top <= bound && top > 0.9 * bound;
    };
    CHECK(within(a.conv1.weight, 1 / std::sqrt(25.0)));
    CHECK(within(a.conv2.weight, 1 / std::sqrt(150.0)));
    CHECK(within(a.fc1.weight, 1 / std::sqrt(400.0)));
    CHECK(within(a.fc3.bias, 1 / std::sqrt(84.0)) == (a.fc3.bias.size() > 0));
}

TEST_CASE("init: the default call is PyTorch's scheme, drawn in the same order as before", "[nn][init]") {
    nn::Dense<30, 20> a, b;
    spore::init(a, 11);
    spore::init(b, 11, nn::init::pytorch_default{});
    CHECK(spore::max_abs_diff(a.weight, b.weight) == 0.0);
    CHECK(spore::max_abs_diff(a.bias, b.bias) == 0.0);
    spore::random_engine rng(11);  // weight first, then bias, both U(-1/sqrt(30), 1/sqrt(30))
    const float bound = 1.0f / std::sqrt(30.0f);
    for (float w : a.weight) CHECK(w == float(rng.uniform(-bound, bound)));
    for (float v : a.bias) CHECK(v == float(rng.uniform(-bound, bound)));
}

namespace {
template <class Tensor>
std::pair<double, double> mean_and_stddev(const Tensor& t) {
    double sum = 0, squares = 0;
    for (auto v : t) sum += v;
    const double mean = sum / double(t.size());
    for (auto v : t) squares += (v - mean) * (v - mean);
    return {mean, std::sqrt(squares / double(t.size()))};
}
template <class Tensor>
double largest_magnitude(const Tensor& t) {
    double top = 0;
    for (auto v : t) top = std::max(top, std::abs(double(v)));
    return top;
}
template <class Tensor>
bool all_zero(const Tensor& t) {
    for (auto v : t)
        if (v != 0) return false;
    return true;
}
}  // namespace

TEST_CASE("init schemes: Xavier and Kaiming bounds and spreads, normal, uniform, biases zero", "[nn][init]") {
    nn::Dense<400, 120> fc;  // 48,000 weights: sample spreads within 2%
    nn::Conv2d<16, 32, 3> conv;  // fan_in 144, fan_out 288
    namespace init = nn::init;

    spore::init(fc, 1, init::xavier_uniform{});
    const double xavier = std::sqrt(6.0 / 520);
    CHECK(largest_magnitude(fc.weight) <= xavier);
    CHECK(largest_magnitude(fc.weight) > 0.999 * xavier);
    CHECK(mean_and_stddev(fc.weight).second == Approx(xavier / std::sqrt(3.0)).epsilon(0.02));
    CHECK(all_zero(fc.bias));

    spore::init(fc, 2, init::xavier_normal{.gain = 2.0});
    CHECK(mean_and_stddev(fc.weight).second == Approx(2.0 * std::sqrt(2.0 / 520)).epsilon(0.02));
    CHECK(mean_and_stddev(fc.weight).first == Approx(0).margin(0.002));

    spore::init(fc, 3, init::kaiming_normal{.nonlinearity = init::nonlinearity::relu});
    CHECK(mean_and_stddev(fc.weight).second == Approx(std::sqrt(2.0 / 400)).epsilon(0.02));
    spore::init(fc, 4, init::kaiming_normal{.mode = init::mode::fan_out});  // leaky_relu with a = 0
    CHECK(mean_and_stddev(fc.weight).second == Approx(std::sqrt(2.0 / 120)).epsilon(0.02));

    spore::init(conv, 5, init::kaiming_uniform{.a = std::sqrt(5.0)});  // PyTorch's default weight range
    CHECK(largest_magnitude(conv.weight) <= 1 / std::sqrt(144.0));
    CHECK(largest_magnitude(conv.weight) > 0.99 / std::sqrt(144.0));
    CHECK(all_zero(conv.bias));
    spore::init(conv, 6, init::kaiming_uniform{.mode = init::mode::fan_out, .nonlinearity = init::nonlinearity::tanh});
    CHECK(largest_magnitude(conv.weight) <= 5.0 / 3 * std::sqrt(3.0 / 288));
    CHECK(largest_magnitude(conv.weight) > 0.99 * 5.0 / 3 * std::sqrt(3.0 / 288));

    spore::init(fc, 7, init::normal{.mean = 0.5, .stddev = 0.01});
    CHECK(mean_and_stddev(fc.weight).first == Approx(0.5).epsilon(0.001));
    CHECK(mean_and_stddev(fc.weight).second == Approx(0.01).epsilon(0.02));
    spore::init(fc, 8, init::uniform{.low = 1.0, .high = 3.0});
    for (float w : fc.weight) CHECK((w >= 1.0f && w <= 3.0f));
    spore::init(fc, 9, init::constant{.value = 0.25});
    for (float w : fc.bias) CHECK(w == 0.25f);

    CHECK(init::gain(init::nonlinearity::leaky_relu, 0.2) == Approx(std::sqrt(2.0 / 1.04)));
    CHECK(init::gain(init::nonlinearity::sigmoid) == 1.0);
}

TEST_CASE("init: per cell, reproducible from the seed", "[nn][init]") {
    SmallNet a, b;
    spore::init(a, 1);
    spore::init(b, 1);
    spore::init(b.head, 2, nn::init::xavier_uniform{});  // only the head changes
    CHECK(spore::max_abs_diff(a.conv.weight, b.conv.weight) == 0.0);
    CHECK(spore::max_abs_diff(a.head.weight, b.head.weight) > 0.0);
    SmallNet c;
    spore::init(c, 1);
    spore::init(c.head, 2, nn::init::xavier_uniform{});
    CHECK(spore::max_abs_diff(c.head.weight, b.head.weight) == 0.0);
}
