// LeNet-5 learns: a short training run on Fashion-MNIST (when the Debian package is installed)
// with the cells, the gradient program and the Momentum optimiser lowers the loss.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

#include "../support/nets.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;
using spore_test::LeNet5;

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
