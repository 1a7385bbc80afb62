#pragma once
// Layers: small aggregates of parameter tensors with an operator() that builds the expression.
// Layouts follow PyTorch (Dense weight [out, in], Conv2d weight [out, in, kh, kw]) so weights
// move between the two unchanged. reset_parameters uses PyTorch's defaults: Kaiming-uniform
// weights with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same for biases.

#include <cmath>
#include <cstddef>

#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/expr/conv.hpp>
#include <spore/expr/matmul.hpp>
#include <spore/expr/reduce.hpp>
#include <spore/expr/reshape.hpp>
#include <spore/expr/softmax.hpp>

namespace spore::nn {

template <std::size_t In, std::size_t Out, class T = float>
struct Dense {
    tensor<T, shape<Out, In>> weight;
    tensor<T, shape<Out>> bias;

    template <class X>
    auto operator()(X&& x) const {
        return spore::matmul(std::forward<X>(x), spore::transpose(weight)) + bias;
    }
    void reset_parameters(random_engine& rng) {
        const T bound = T(1) / std::sqrt(T(In));
        weight.fill_uniform(rng, -bound, bound);
        bias.fill_uniform(rng, -bound, bound);
    }
};

// Padding 0 is "valid".
template <std::size_t In, std::size_t Out, std::size_t Kernel, std::size_t Stride = 1, std::size_t Padding = 0,
          class T = float>
struct Conv2d {
    tensor<T, shape<Out, In, Kernel, Kernel>> weight;
    tensor<T, shape<Out>> bias;

    template <class X>
    auto operator()(X&& x) const {
        return spore::conv2d<Stride, Padding>(std::forward<X>(x), weight, bias);
    }
    void reset_parameters(random_engine& rng) {
        const T bound = T(1) / std::sqrt(T(In * Kernel * Kernel));
        weight.fill_uniform(rng, -bound, bound);
        bias.fill_uniform(rng, -bound, bound);
    }
};

using spore::flatten;
using spore::max_pool2d;
using spore::avg_pool2d;
using spore::relu;
using spore::sigmoid;
using spore::tanh;

}  // namespace spore::nn
