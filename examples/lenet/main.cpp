// LeNet-5 on Fashion-MNIST in plain C++: the network is a struct, its graph a type, its
// gradient derived at compile time. Flags: --data DIR --epochs N --lr X --momentum X
// --threads N --seed N --lr-step N (multiply lr by --lr-gamma, default 0.1, every N epochs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include <spore/spore.hpp>

#include "lenet5.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

constexpr std::size_t batch = 32, classes = 10, side = 32;
struct images_tag;
struct labels_tag;

struct options {
    std::string data = "/usr/share/datasets/fashion-mnist";
    int epochs = 5;
    float lr = 0.01f, momentum = 0.9f, lr_gamma = 0.1f;
    int lr_step = 0;
    std::size_t threads = 0;
    std::uint64_t seed = 1;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw spore::error("missing value after " + flag);
            return argv[++i];
        };
        if (flag == "--data") o.data = value();
        else if (flag == "--epochs") o.epochs = std::stoi(value());
        else if (flag == "--lr") o.lr = std::stof(value());
        else if (flag == "--momentum") o.momentum = std::stof(value());
        else if (flag == "--threads") o.threads = std::stoul(value());
        else if (flag == "--seed") o.seed = std::stoull(value());
        else if (flag == "--lr-step") o.lr_step = std::stoi(value());
        else if (flag == "--lr-gamma") o.lr_gamma = std::stof(value());
        else throw spore::error("unknown flag " + flag + " (flags: --data --epochs --lr --momentum --threads --seed --lr-step --lr-gamma)");
    }
    return o;
}

// Batch b of `order`: images padded from 28x28 to 32x32 and normalised like torchvision's
// Fashion-MNIST recipe, labels one-hot. Items past the end are zero; returns how many are real.
std::size_t fill_batch(const spore::data::labelled_images& set, const std::vector<std::size_t>& order, std::size_t b,
                       tensor<float, shape<batch, 1, side, side>>& x, tensor<float, shape<batch, classes>>& y) {
    constexpr float mean = 0.2860f, stddev = 0.3530f;
    const std::size_t pad = (side - set.rows) / 2;
    x.fill(-mean / stddev);
    y.fill(0.0f);
    const std::size_t first = b * batch, count = std::min(batch, order.size() - first);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t item = order[first + i];
        const std::uint8_t* pixels = set.pixels.data() + item * set.rows * set.cols;
        for (std::size_t r = 0; r < set.rows; ++r)
            for (std::size_t c = 0; c < set.cols; ++c)
                x(i, 0, r + pad, c + pad) = (pixels[r * set.cols + c] / 255.0f - mean) / stddev;
        y(i, set.labels[item]) = 1.0f;
    }
    return count;
}

}  // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    if (opt.threads) spore::set_num_threads(opt.threads);
    const std::string dir = opt.data + "/";
    const auto train = spore::data::read_idx_images(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz");
    const auto test = spore::data::read_idx_images(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
    std::printf("Fashion-MNIST: %zu training and %zu test images of %zux%zu, padded to 32x32\n", train.count,
                test.count, train.rows, train.cols);

    LeNet5 net;
    spore::init(net, opt.seed);
    std::printf("LeNet-5: %zu parameters; batch %zu, SGD lr %g momentum %g, %zu threads\n",
                nn::parameter_count(net), batch, opt.lr, opt.momentum, spore::num_threads());

    auto x = spore::expr::placeholder<images_tag, float, shape<batch, 1, side, side>>();
    auto y = spore::expr::placeholder<labels_tag, float, shape<batch, classes>>();
    auto logits = net.construct(x);
    auto loss = nn::SoftmaxCrossEntropy{}(logits, y);
    auto params = nn::parameters(net);
    auto step = std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, params);
    auto predict = spore::compile(logits);
    spore::optim::momentum_state optimizer({.lr = opt.lr, .momentum = opt.momentum}, params);

    tensor<float, shape<batch, 1, side, side>> bx;
    tensor<float, shape<batch, classes>> by;
    step.feed<images_tag>(bx);
    step.feed<labels_tag>(by);
    predict.feed<images_tag>(bx);

    std::vector<std::size_t> order(train.count), test_order(test.count);
    std::iota(order.begin(), order.end(), 0);
    std::iota(test_order.begin(), test_order.end(), 0);
    spore::random_engine shuffle(opt.seed);
    for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
        if (opt.lr_step > 0 && epoch > 1 && (epoch - 1) % opt.lr_step == 0) optimizer.settings().lr *= opt.lr_gamma;
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
        const auto start = std::chrono::steady_clock::now();
        double total = 0;
        const std::size_t steps = train.count / batch;  // the last partial batch is dropped
        for (std::size_t b = 0; b < steps; ++b) {
            fill_batch(train, order, b, bx, by);
            const float l = step.run();
            if (!std::isfinite(l)) throw spore::error("the loss became " + std::to_string(l) + " at step " + std::to_string(b));
            total += l;
            optimizer.step(step.gradients());
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        std::size_t correct = 0;
        for (std::size_t b = 0; b * batch < test.count; ++b) {
            const std::size_t count = fill_batch(test, test_order, b, bx, by);
            const auto& out = predict();
            for (std::size_t i = 0; i < count; ++i) {
                const float* row = out.data() + i * classes;
                const std::size_t guess = std::max_element(row, row + classes) - row;
                correct += guess == test.labels[test_order[b * batch + i]];
            }
        }
        std::printf("epoch %d: train loss %.4f, %.0f images/s; test accuracy %.4f\n", epoch, total / steps,
                    steps * batch / seconds, double(correct) / test.count);
        std::fflush(stdout);  // progress shows live through a pipe too
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "lenet: %s\n", e.what());
    return 1;
}
