#pragma once
// BatchNorm2d<C>: batch normalisation over NCHW as in torch.nn.BatchNorm2d (affine, tracking
// running statistics). weight and bias are parameters; running_mean and running_var are
// buffers (nn/buffer.hpp): saved with the cell, never trained. A gradient program (training
// mode) normalises by batch statistics and updates the running ones in its forward pass; a
// forward program (spore::compile, spore::eval) normalises by the running statistics.

#include <cstddef>
#include <utility>

#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/expr/batch_norm.hpp>
#include <spore/nn/buffer.hpp>

namespace spore::nn {

template <std::size_t Channels, class T = float, double Momentum = 0.1, double Eps = 1e-5>
struct BatchNorm2d {
    static_assert(Momentum >= 0.0 && Momentum <= 1.0, "spore: nn::BatchNorm2d: momentum must lie in [0, 1]");
    static_assert(Eps > 0.0, "spore: nn::BatchNorm2d: eps must be positive");
    tensor<T, shape<Channels>> weight = ones();
    tensor<T, shape<Channels>> bias;
    buffer<T, shape<Channels>> running_mean;
    buffer<T, shape<Channels>> running_var{T(1)};

    template <class X>
    auto operator()(X&& x) const {
        return spore::batch_norm2d(std::forward<X>(x), weight, bias, running_mean.mutable_data(),
                                   running_var.mutable_data(), T(Momentum), T(Eps));
    }
    // PyTorch's reset: weight 1, bias 0, running mean 0, running variance 1, whatever the scheme.
    template <class Scheme>
    void reset_parameters(random_engine&, const Scheme&) {
        weight.fill(T(1));
        bias.fill(T(0));
        running_mean.fill(T(0));
        running_var.fill(T(1));
    }
    void reset_parameters(random_engine& rng) { reset_parameters(rng, 0); }

private:
    static tensor<T, shape<Channels>> ones() {
        tensor<T, shape<Channels>> t;
        t.fill(T(1));
        return t;
    }
};

}  // namespace spore::nn
