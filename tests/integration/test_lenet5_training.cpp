#include <cmath>
#include <filesystem>
#include <numeric>

#include "../support/check.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

template <class T>
struct LeNet5 {
    nn::Conv2d<1, 6, 5, 1, 0, T> conv1;
    nn::Conv2d<6, 16, 5, 1, 0, T> conv2;
    nn::Dense<16 * 5 * 5, 120, T> fc1;
    nn::Dense<120, 84, T> fc2;
    nn::Dense<84, 10, T> fc3;

    auto construct(auto x) const {
        auto h1 = nn::max_pool2d<2, 2>(nn::relu(conv1(x)));
        auto h2 = nn::max_pool2d<2, 2>(nn::relu(conv2(h1)));
        auto h3 = nn::relu(fc1(nn::flatten(h2)));
        return fc3(nn::relu(fc2(h3)));
    }
};

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

TEST_CASE("LeNet-5: whole-network gradient against finite differences in double", "[nn][autodiff]") {
    LeNet5<double> net;
    spore::init(net, 3);
    tensor<double, shape<2, 1, 32, 32>> images;
    images.fill_uniform(4, -1, 1);
    tensor<double, shape<2, 10>> onehot;
    onehot(0, 3) = 1;
    onehot(1, 8) = 1;
    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(spore::input(images)), onehot);
    auto params = nn::parameters(net);
    auto program = std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, params);
    const double value = program.run();
    CHECK(value == Approx(spore_test::scalar_value(loss)).epsilon(1e-12));
    // central differences on a sample of every parameter tensor
    spore::random_engine pick(5);
    std::size_t checked = 0;
    auto check_tensor = [&](auto& p, const auto& g) {
        for (int s = 0; s < 6; ++s) {
            const std::size_t i = pick.below(p.size());
            const double saved = p[i], h = 1e-6;
            p[i] = saved + h;
            const double up = spore_test::scalar_value(loss);
            p[i] = saved - h;
            const double down = spore_test::scalar_value(loss);
            p[i] = saved;
            INFO("parameter " << checked << " element " << i);
            CHECK(g[i] == Approx((up - down) / (2 * h)).epsilon(1e-5).margin(1e-8));
        }
        ++checked;
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (check_tensor(std::get<I>(params), std::get<I>(program.gradients())), ...);
    }(std::make_index_sequence<10>{});
    CHECK(checked == 10);
}

TEST_CASE("LeNet-5: a short training run on Fashion-MNIST lowers the loss", "[nn][train]") {
    const std::string dir = "/usr/share/datasets/fashion-mnist/";
    if (!std::filesystem::exists(dir + "train-images-idx3-ubyte.gz")) {
        WARN("dataset-fashion-mnist is not installed; skipping the training run");
        return;
    }
    const auto set = spore::data::read_idx_images(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz");
    constexpr std::size_t batch = 32, images = 1280;
    constexpr float mean = 0.2860f, stddev = 0.3530f;  // normalised as in examples/lenet
    LeNet5<float> net;
    spore::init(net, 1);
    tensor<float, shape<batch, 1, 32, 32>> x;
    tensor<float, shape<batch, 10>> y;
    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(spore::input(x)), y);
    auto params = nn::parameters(net);
    auto program = std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, params);
    spore::optim::optimizer optimizer(spore::optim::Momentum{.lr = 0.01f, .momentum = 0.9f}, params);
    auto epoch = [&] {
        double total = 0;
        for (std::size_t b = 0; b < images / batch; ++b) {
            x.fill(-mean / stddev);
            y.fill(0.0f);
            for (std::size_t i = 0; i < batch; ++i) {
                const std::size_t item = b * batch + i;
                for (std::size_t r = 0; r < 28; ++r)
                    for (std::size_t c = 0; c < 28; ++c) x(i, 0, r + 2, c + 2) = (set.pixels[(item * 28 + r) * 28 + c] / 255.0f - mean) / stddev;
                y(i, set.labels[item]) = 1.0f;
            }
            total += program.run();
            optimizer.step(program.gradients());
        }
        return total / (images / batch);
    };
    const double first = epoch();
    double last = first;
    for (int e = 0; e < 4; ++e) last = epoch();
    INFO("mean loss of the first epoch " << first << ", of the fifth " << last);
    CHECK(first < 2.31);  // below chance (ln 10 = 2.303) already during the first epoch
    CHECK(last < 0.9);
}
