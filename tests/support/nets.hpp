#pragma once
// Small networks used by several tests.

#include <spore/nn.hpp>

namespace spore_test {

// LeNet-5 for 1x32x32 images in any element type (examples/lenet/lenet5.hpp is the float one).
template <class T>
struct LeNet5 {
    spore::nn::Conv2d<1, 6, 5, 1, 0, T> conv1;
    spore::nn::Conv2d<6, 16, 5, 1, 0, T> conv2;
    spore::nn::Dense<16 * 5 * 5, 120, T> fc1;
    spore::nn::Dense<120, 84, T> fc2;
    spore::nn::Dense<84, 10, T> fc3;

    auto construct(auto x) const {
        namespace nn = spore::nn;
        auto h1 = nn::max_pool2d<2, 2>(nn::relu(conv1(x)));
        auto h2 = nn::max_pool2d<2, 2>(nn::relu(conv2(h1)));
        auto h3 = nn::relu(fc1(nn::flatten(h2)));
        return fc3(nn::relu(fc2(h3)));
    }
};

struct SmallNet {  // parameter-free cells as fields, like torch.nn modules
    spore::nn::Conv2d<1, 4, 3, 1, spore::nn::padding::same, double> conv;
    spore::nn::ReLU relu;
    spore::nn::MaxPool2d<2> pool;
    spore::nn::Flatten flatten;
    spore::nn::Dense<4 * 3 * 3, 5, double, false> head;
    spore::nn::Tanh tanh;

    auto construct(auto x) const { return tanh(head(flatten(pool(relu(conv(x)))))); }
};

}  // namespace spore_test
