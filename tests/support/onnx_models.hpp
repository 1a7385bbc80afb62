#pragma once
// Cells exported to ONNX by the tests: LeNet-5 (the struct of examples/lenet) and small models
// that each exercise a few operators.

#include <cstddef>
#include <type_traits>

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

// Input [N, 6]: BatchNorm1d after a Dense layer ([N, C]) in evaluation mode.
struct DenseBatchNorm1d {
    nn::Dense<6, 8> fc;
    nn::BatchNorm1d<8> bn{.eps = 1e-3f};
    nn::Dense<8, 3> head;
    auto construct(auto x) const { return head(nn::relu(bn(fc(x)))); }
    void reset_parameters(spore::random_engine& rng) {
        fc.reset_parameters(rng);
        bn.weight.fill_uniform(rng, 0.5f, 1.5f);
        bn.bias.fill_uniform(rng, -0.5f, 0.5f);
        bn.running_mean.value().fill_uniform(rng, -0.3f, 0.3f);
        bn.running_var.value().fill_uniform(rng, 0.5f, 2.0f);
        head.reset_parameters(rng);
    }
};

// Input [N, 3, 5]: BatchNorm1d over [N, C, L] in evaluation mode.
struct SequenceBatchNorm1d {
    nn::BatchNorm1d<3> bn;
    auto construct(auto x) const { return bn(x); }
    void reset_parameters(spore::random_engine& rng) {
        bn.weight.fill_uniform(rng, 0.5f, 1.5f);
        bn.bias.fill_uniform(rng, -0.5f, 0.5f);
        bn.running_mean.value().fill_uniform(rng, -0.3f, 0.3f);
        bn.running_var.value().fill_uniform(rng, 0.5f, 2.0f);
    }
};

// Input [N, 6]: LayerNorm over the features after a Dense layer (the ReduceMean ... Add
// composition of opset 11), then a classifier.
struct DenseLayerNorm {
    nn::Dense<6, 8> fc;
    nn::LayerNorm<spore::shape<8>> norm{.eps = 1e-3};
    nn::Dense<8, 3> head;
    auto construct(auto x) const { return head(nn::relu(norm(fc(x)))); }
    void reset_parameters(spore::random_engine& rng) {
        fc.reset_parameters(rng);
        norm.weight.fill_uniform(rng, 0.5f, 1.5f);
        norm.bias.fill_uniform(rng, -0.5f, 0.5f);
        head.reset_parameters(rng);
    }
};

// Input [N, 3, 5]: LayerNorm over the last two axes.
struct SequenceLayerNorm {
    nn::LayerNorm<spore::shape<3, 5>> norm;
    auto construct(auto x) const { return norm(x); }
    void reset_parameters(spore::random_engine& rng) {
        norm.weight.fill_uniform(rng, 0.5f, 1.5f);
        norm.bias.fill_uniform(rng, -0.5f, 0.5f);
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

// Input [N, 2, 6, 6]: an nn::Sequential as the whole net, so its initializers are named as a
// torch.nn.Sequential's state_dict ("0.weight", "4.0.weight", "5.fc.weight"), holding a nested
// Sequential and a cell of one's own called like a layer.
struct SequentialHead {
    nn::Dense<8, 4> fc;
    auto operator()(auto x) const { return nn::sigmoid(fc(x)); }
};
using SequentialNet = nn::Sequential<nn::Conv2d<2, 3, 3, 1, 1>, nn::ReLU, nn::MaxPool2d<2>, nn::Flatten,
                                     nn::Sequential<nn::Dense<27, 8>, nn::Tanh>, SequentialHead, nn::Dense<4, 3>>;

// Input [N, 3, 6, 6]: concatenation of feature maps along the channels (three operands, one of
// them a slice of the input), slices of the spatial axes, and a concatenation of matrices.
struct ConcatSlice {
    nn::Conv2d<3, 4, 3, 1, 1> left;
    nn::Conv2d<3, 2, 3, 1, 1> right;
    nn::Dense<28, 3> fc;
    auto construct(auto x) const {
        auto maps = spore::concat<1>(nn::relu(left(x)), right(x), spore::slice<1, 2, 3>(x));       // [N, 7, 6, 6]
        auto cut = nn::max_pool2d<2>(spore::slice<3, 1, 5>(spore::slice<2, 0, 4>(maps)));          // [N, 7, 2, 2]
        auto features = nn::flatten(cut);                                                     // [N, 28]
        return spore::concat<1>(fc(features), spore::slice<1, 5, 7>(features));                    // [N, 5]
    }
};

// Input [N, 4, 6]: a Dense layer on [batch, positions, features] (a batch times a transposed
// matrix, plus a bias), then a batch times a batch of matrices made from the same input.
struct BatchedMatmul {
    nn::Dense<6, 5> fc;
    nn::Dense<24, 10> mix;
    auto construct(auto x) const {
        auto h = nn::relu(fc(x));                                                              // [N, 4, 5]
        constexpr std::size_t batch = std::remove_cvref_t<decltype(h)>::shape_type::extents[0];
        auto g = spore::reshape<spore::shape<batch, 5, 2>>(nn::tanh(mix(nn::flatten(x))));   // [N, 5, 2]
        return spore::matmul(h, g);                                                            // [N, 4, 2]
    }
};

}  // namespace spore_test::onnx_models
