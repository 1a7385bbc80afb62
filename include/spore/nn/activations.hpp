#pragma once
// Activation cells with PyTorch's names and hyper-parameters (run-time fields, so a cell stays
// an aggregate the field walk passes over): SiLU, GELU, LeakyReLU, ELU, Softplus. ReLU,
// Sigmoid and Tanh are in nn/layers.hpp.

#include <utility>

#include <spore/expr/elementwise_ops.hpp>

namespace spore::nn {

struct SiLU {
    template <class X>
    auto operator()(X&& x) const { return spore::silu(std::forward<X>(x)); }
};

// torch.nn.GELU(approximate='none' | 'tanh').
enum class approximate { none, tanh };
template <approximate A = approximate::none>
struct GELU {
    template <class X>
    auto operator()(X&& x) const {
        if constexpr (A == approximate::tanh) return spore::gelu_tanh(std::forward<X>(x));
        else return spore::gelu(std::forward<X>(x));
    }
};

struct LeakyReLU {
    double negative_slope = 0.01;
    template <class X>
    auto operator()(X&& x) const { return spore::leaky_relu(std::forward<X>(x), negative_slope); }
};

struct ELU {
    double alpha = 1.0;
    template <class X>
    auto operator()(X&& x) const { return spore::elu(std::forward<X>(x), alpha); }
};

// torch.nn.Softplus() with its defaults (beta 1; the threshold only rounds).
struct Softplus {
    template <class X>
    auto operator()(X&& x) const { return spore::softplus(std::forward<X>(x)); }
};

using spore::elu;
using spore::gelu;
using spore::gelu_tanh;
using spore::leaky_relu;
using spore::silu;
using spore::softplus;

}  // namespace spore::nn
