#pragma once
// Layers: small aggregates of parameter tensors with an operator() that builds the expression
// and returns it through nn::record_output (nn/call.hpp), so nn::summary sees every layer's
// output shape, parameters or not.
// Hyper-parameters are template arguments, so a layer stays a plain aggregate of tensors that
// Boost.PFR can walk. Layouts follow PyTorch (Dense weight [out, in], Conv2d weight
// [out, in, kh, kw]) so weights move between the two unchanged. reset_parameters fills them
// from a scheme of nn/init.hpp; the default is PyTorch's.

#include <cstddef>
#include <limits>
#include <utility>

#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/expr/conv.hpp>
#include <spore/expr/elementwise_ops.hpp>
#include <spore/expr/matmul.hpp>
#include <spore/expr/pool.hpp>
#include <spore/expr/reduce.hpp>
#include <spore/expr/reshape.hpp>
#include <spore/expr/softmax.hpp>
#include <spore/nn/call.hpp>
#include <spore/nn/init.hpp>

namespace spore::nn {

template <class Features, class InputShape>
struct check_dense {
    static constexpr bool matrix = InputShape::rank == 2 || InputShape::rank == 3;
    static_assert(matrix, "spore: nn::Dense takes an input [batch, features] or [batch, positions, features]; "
                          "flatten it first (see check_dense<shape<in features, out features>, input shape> above)");
    static constexpr bool ok = matrix && InputShape::extents[InputShape::rank - 1] == Features::extents[0];
    static_assert(!matrix || ok, "spore: nn::Dense: the input's features differ from the layer's in-features "
                                 "(see check_dense<shape<in features, out features>, input shape> above)");
};

template <std::size_t In, std::size_t Out, class X>
inline constexpr bool dense_accepts_v = check_dense<shape<In, Out>, typename expr::expression_of<X>::shape_type>::ok;

// y = x W^T + b for x [batch, In], or [batch, positions, In] as torch.nn.Linear (a batched matmul
// by one matrix); Bias = false drops the bias field.
template <std::size_t In, std::size_t Out, class T = float, bool Bias = true>
struct Dense {
    tensor<T, shape<Out, In>> weight;
    tensor<T, shape<Out>> bias;

    template <class X>
    auto operator()(X&& x) const {
        if constexpr (dense_accepts_v<In, Out, X>)
            return record_output(*this, spore::matmul(std::forward<X>(x), spore::transpose(weight)) + bias);
    }
    template <class Scheme = init::pytorch_default>
    void reset_parameters(random_engine& rng, const Scheme& scheme = {}) {
        scheme.weight(weight, {In, Out}, rng);
        scheme.bias(bias, {In, Out}, rng);
    }
};

template <std::size_t In, std::size_t Out, class T>
struct Dense<In, Out, T, false> {
    tensor<T, shape<Out, In>> weight;

    template <class X>
    auto operator()(X&& x) const {
        if constexpr (dense_accepts_v<In, Out, X>)
            return record_output(*this, spore::matmul(std::forward<X>(x), spore::transpose(weight)));
    }
    template <class Scheme = init::pytorch_default>
    void reset_parameters(random_engine& rng, const Scheme& scheme = {}) {
        scheme.weight(weight, {In, Out}, rng);
    }
};

// Padding of a Conv2d: a number of zeros on every side, or one of these.
namespace padding {
inline constexpr std::size_t valid = 0;
// Output as large as the input: (K - 1) / 2 on every side, for an odd kernel at stride 1.
inline constexpr std::size_t same = std::numeric_limits<std::size_t>::max();
}  // namespace padding

template <std::size_t Kernel, std::size_t Stride, std::size_t Padding>
struct conv2d_padding {
    static constexpr bool is_same = Padding == padding::same;
    static_assert(!is_same || Stride == 1,
                  "spore: nn::Conv2d: padding::same needs stride 1, as in PyTorch, which refuses 'same' for "
                  "strided convolutions (see conv2d_padding<kernel, stride, padding> above)");
    static_assert(!is_same || Kernel % 2 == 1,
                  "spore: nn::Conv2d: padding::same needs an odd kernel; an even one would pad unevenly "
                  "(see conv2d_padding<kernel, stride, padding> above)");
    static constexpr std::size_t value = is_same ? (Kernel - 1) / 2 : Padding;
};

// NCHW convolution with a square kernel, stride and padding (a number, padding::valid or
// padding::same); Bias = false drops the bias field.
template <std::size_t In, std::size_t Out, std::size_t Kernel, std::size_t Stride = 1,
          std::size_t Padding = padding::valid, class T = float, bool Bias = true>
struct Conv2d {
    static constexpr std::size_t pad = conv2d_padding<Kernel, Stride, Padding>::value;
    tensor<T, shape<Out, In, Kernel, Kernel>> weight;
    tensor<T, shape<Out>> bias;

    template <class X>
    auto operator()(X&& x) const {
        return record_output(*this, spore::conv2d<Stride, pad>(std::forward<X>(x), weight, bias));
    }
    template <class Scheme = init::pytorch_default>
    void reset_parameters(random_engine& rng, const Scheme& scheme = {}) {
        scheme.weight(weight, {In * Kernel * Kernel, Out * Kernel * Kernel}, rng);
        scheme.bias(bias, {In * Kernel * Kernel, Out * Kernel * Kernel}, rng);
    }
};

template <std::size_t In, std::size_t Out, std::size_t Kernel, std::size_t Stride, std::size_t Padding, class T>
struct Conv2d<In, Out, Kernel, Stride, Padding, T, false> {
    static constexpr std::size_t pad = conv2d_padding<Kernel, Stride, Padding>::value;
    tensor<T, shape<Out, In, Kernel, Kernel>> weight;

    template <class X>
    auto operator()(X&& x) const {
        return record_output(*this, spore::conv2d<Stride, pad>(std::forward<X>(x), weight));
    }
    template <class Scheme = init::pytorch_default>
    void reset_parameters(random_engine& rng, const Scheme& scheme = {}) {
        scheme.weight(weight, {In * Kernel * Kernel, Out * Kernel * Kernel}, rng);
    }
};

// Layers without parameters, as cells too, so a net may hold them as fields (like torch.nn) or
// call the functions below.
struct ReLU {
    template <class X>
    auto operator()(X&& x) const { return record_output(*this, spore::relu(std::forward<X>(x))); }
};
struct Sigmoid {
    template <class X>
    auto operator()(X&& x) const { return record_output(*this, spore::sigmoid(std::forward<X>(x))); }
};
struct Tanh {
    template <class X>
    auto operator()(X&& x) const { return record_output(*this, spore::tanh(std::forward<X>(x))); }
};
// [N, ...] -> [N, product of the rest].
struct Flatten {
    template <class X>
    auto operator()(X&& x) const { return record_output(*this, spore::flatten(std::forward<X>(x))); }
};
template <std::size_t Kernel, std::size_t Stride = Kernel>
struct MaxPool2d {
    template <class X>
    auto operator()(X&& x) const { return record_output(*this, spore::max_pool2d<Kernel, Stride>(std::forward<X>(x))); }
};
template <std::size_t Kernel, std::size_t Stride = Kernel>
struct AvgPool2d {
    template <class X>
    auto operator()(X&& x) const { return record_output(*this, spore::avg_pool2d<Kernel, Stride>(std::forward<X>(x))); }
};

using spore::flatten;
using spore::max_pool2d;
using spore::avg_pool2d;
using spore::relu;
using spore::sigmoid;
using spore::tanh;

}  // namespace spore::nn
