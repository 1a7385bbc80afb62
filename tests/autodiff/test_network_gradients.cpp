// Gradients of whole networks against finite differences: a two-layer perceptron, a small
// LeNet of expressions, and LeNet-5 built of cells (a sample of every parameter tensor).
#include <cstddef>
#include <tuple>
#include <utility>

#include "../support/check.hpp"
#include "../support/nets.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;
using spore_test::check_gradients;
using spore_test::LeNet5;

TEST_CASE("a two-layer network: cross-entropy gradient against finite differences", "[autodiff][matmul]") {
    tensor<double, shape<4, 6>> x;
    tensor<double, shape<6, 5>> w1;
    tensor<double, shape<5>> b1;
    tensor<double, shape<5, 3>> w2;
    tensor<double, shape<3>> b2;
    tensor<double, shape<4, 3>> onehot{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0};
    x.fill_uniform(42);
    w1.fill_uniform(43);
    b1.fill_uniform(44);
    w2.fill_uniform(45);
    b2.fill_uniform(46);
    auto hidden = spore::tanh(spore::matmul(x, w1) + b1);
    auto logits = spore::matmul(hidden, w2) + b2;
    auto loss = -spore::mean(spore::sum<1>(spore::log_softmax(logits) * onehot));
    check_gradients(loss, w1, b1, w2, b2);
}

TEST_CASE("a small LeNet: conv, relu, pooling, dense layers, cross-entropy", "[autodiff][conv]") {
    tensor<double, shape<2, 1, 12, 12>> images;
    tensor<double, shape<4, 1, 5, 5>> w1;
    tensor<double, shape<4>> b1;
    tensor<double, shape<4 * 4 * 4, 3>> w2;
    tensor<double, shape<3>> b2;
    tensor<double, shape<2, 3>> onehot{0, 1, 0, 0, 0, 1};
    images.fill_uniform(16, 0, 1);
    w1.fill_uniform(17, -0.5, 0.5);
    b1.fill_uniform(18, -0.1, 0.1);
    w2.fill_uniform(19, -0.5, 0.5);
    b2.fill_uniform(20);
    auto features = spore::flatten(spore::max_pool2d<2>(spore::relu(spore::conv2d(images, w1, b1))));
    auto logits = spore::matmul(features, w2) + b2;
    auto loss = -spore::mean(spore::sum<1>(spore::log_softmax(logits) * onehot));
    check_gradients(loss, w1, b1, w2, b2);
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
