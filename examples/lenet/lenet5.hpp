#pragma once
// LeNet-5 for 1x32x32 images (Fashion-MNIST padded by 2): shared by examples/lenet (training),
// examples/classify (inference) and the PyTorch parity test. Field names are the checkpoint
// keys (conv1.weight, conv1.bias, ...), as in the PyTorch model of
// tests/fixtures/make_lenet_fixture.py.
#include <spore/nn.hpp>

struct LeNet5 {
    spore::nn::Conv2d<1, 6, 5> conv1;  // in, out, kernel; "valid" padding
    spore::nn::Conv2d<6, 16, 5> conv2;
    spore::nn::Dense<16 * 5 * 5, 120> fc1;
    spore::nn::Dense<120, 84> fc2;
    spore::nn::Dense<84, 10> fc3;

    auto construct(auto x) const {  // the forward pass; x is an expression, not data
        namespace nn = spore::nn;
        auto h1 = nn::max_pool2d<2, 2>(nn::relu(conv1(x)));
        auto h2 = nn::max_pool2d<2, 2>(nn::relu(conv2(h1)));
        auto h3 = nn::relu(fc1(nn::flatten(h2)));
        return fc3(nn::relu(fc2(h3)));
    }
};
