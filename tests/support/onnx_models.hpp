#pragma once
// Cells exported to ONNX by the tests: LeNet-5 (the struct of examples/lenet) and small models
// that each exercise a few operators.

#include <cstddef>

#include <spore/spore.hpp>

#include "../../examples/lenet/lenet5.hpp"

namespace spore_test::onnx_models {

namespace nn = spore::nn;

using LeNet5 = ::LeNet5;  // the struct of examples/lenet

// Input [N, 3, 9, 9]: a convolution with stride 2 and padding 1.
struct ConvStridePad {
    nn::Conv2d<3, 4, 3, 2, 1> conv;
    auto construct(auto x) const { return conv(x); }
};

// Input [N, 2, 6, 6]: average pooling, with and without overlapping windows.
struct AvgPool {
    auto construct(auto x) const { return nn::avg_pool2d<2, 1>(nn::avg_pool2d<2, 2>(x)); }
};

// Input [N, 7]: sigmoid and tanh around a Dense layer.
struct SigmoidTanh {
    nn::Dense<7, 5> fc;
    auto construct(auto x) const { return nn::tanh(fc(nn::sigmoid(x))); }
};

// Input [N, 7]: every activation cell between Dense layers.
struct Activations {
    nn::Dense<7, 6> fc1;
    nn::Dense<6, 5> fc2;
    auto construct(auto x) const {
        auto h = nn::GELU<nn::approximate::tanh>{}(nn::LeakyReLU{0.2}(fc1(nn::SiLU{}(x))));
        return nn::Softplus{}(nn::ELU{0.7}(fc2(nn::GELU{}(h))));
    }
};

// Input: int32 token indices [N, 5]; the mean of their embeddings, classified. Checked by
// onnx.checker only: OpenCV 4.6 builds Gather only with constant indices.
struct TokenClassifier {
    nn::Embedding<12, 4> embed;
    nn::Dense<4, 3> head;
    auto construct(auto tokens) const { return head(spore::mean<1>(embed(tokens))); }
};

// Input [N, 20]: a chain of Dense layers ending in a softmax.
struct DenseChain {
    nn::Dense<20, 16> fc1;
    nn::Dense<16, 12> fc2;
    nn::Dense<12, 5> fc3;
    auto construct(auto x) const { return spore::softmax(fc3(nn::tanh(fc2(nn::relu(fc1(x)))))); }
};

// Input [N, 4, 6, 6]: convolution without bias, stride 1, padding 2, then a pooled classifier
// ending in log-softmax.
struct SmallCnn {
    spore::tensor<float, spore::shape<3, 4, 3, 3>> kernel;
    nn::Dense<3 * 4 * 4, 6> head;
    auto construct(auto x) const {
        auto h = nn::max_pool2d<2, 2>(nn::relu(spore::conv2d<1, 2>(x, kernel)));
        return spore::log_softmax(head(nn::flatten(h)));
    }
    void reset_parameters(spore::random_engine& rng) {
        kernel.fill_uniform(rng, -0.5f, 0.5f);
        head.reset_parameters(rng);
    }
};

// Input [N, 2, 6, 6]: "same" convolution, batch normalisation and dropout (evaluation mode:
// the running statistics, and no dropout), Dense without bias.
struct ConvBatchNormDropout {
    nn::Conv2d<2, 4, 3, 1, nn::padding::same> conv;
    nn::BatchNorm2d<4> bn;
    nn::Dropout drop{.p = 0.5};
    nn::Dense<4 * 3 * 3, 3, float, false> head;
    auto construct(auto x) const {
        auto h = nn::max_pool2d<2, 2>(nn::relu(bn(conv(x))));
        return head(drop(nn::flatten(h)));
    }
    // Statistics as after some training, so evaluation mode visibly differs from the identity.
    void reset_parameters(spore::random_engine& rng) {
        conv.reset_parameters(rng);
        bn.weight.fill_uniform(rng, 0.5f, 1.5f);
        bn.bias.fill_uniform(rng, -0.5f, 0.5f);
        bn.running_mean.value().fill_uniform(rng, -0.3f, 0.3f);
        bn.running_var.value().fill_uniform(rng, 0.5f, 2.0f);
        drop.reset_parameters(rng);
        head.reset_parameters(rng);
    }
};

// Input [N, 6]: the remaining elementwise operations, constants, reductions, a plain matmul,
// a transpose and a reshape.
struct Elementwise {
    spore::tensor<float, spore::shape<6, 4>> w;
    spore::tensor<float, spore::shape<4>> scale;
    auto construct(auto x) const {
        auto a = spore::matmul(x, w);                                         // MatMul
        auto b = spore::sqrt(spore::square(a) + 1.0f) - spore::abs(a) * 0.5f;  // Mul, Add, Sqrt, Abs, Sub
        auto c = spore::log(spore::exp(-b) + 2.0f) / scale;                     // Neg, Exp, Log, Div
        auto d = spore::maximum(c, 0.1f) + spore::minimum(c, 0.2f);             // Max, Min
        auto e = spore::pow(spore::abs(d) + 1.0f, 1.5f);                         // Pow
        auto t = spore::transpose(spore::transpose(e));                         // Transpose
        constexpr std::size_t batch = decltype(t)::shape_type::extents[0];
        return spore::reshape<spore::shape<batch, 2, 2>>(t) * 1.0f;             // Reshape
    }
    void reset_parameters(spore::random_engine& rng) {
        w.fill_uniform(rng, -1.0f, 1.0f);
        scale.fill_uniform(rng, 0.5f, 1.5f);
    }
};

// Input [N, 3, 5]: reductions over an axis and over everything.
struct Reductions {
    auto construct(auto x) const {
        return spore::sum<2>(x) + spore::mean<2>(x) * spore::max<2>(x) + spore::mean(x) - spore::max(x) + spore::sum(x);
    }
};

}  // namespace spore_test::onnx_models
