#pragma once
// BatchNorm2d<C>: batch normalisation over NCHW as in torch.nn.BatchNorm2d (affine, tracking
// running statistics). weight and bias are parameters; running_mean and running_var are
// buffers (nn/buffer.hpp): saved with the cell, never trained. A gradient program (training
// mode) normalises by batch statistics and updates the running ones in its forward pass; a
// forward program (spore::compile, spore::eval) normalises by the running statistics.
// eps and momentum are run-time fields with PyTorch's names, defaults and order, after the
// tensors, so `nn::BatchNorm2d<16> bn{.eps = 1e-3, .momentum = 0.01}` sets either or both;
// they are checked when the expression is built (momentum in [0, 1], eps > 0).

#include <cstddef>
#include <utility>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>

#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/expr/batch_norm.hpp>
#include <spore/nn/buffer.hpp>

namespace spore::nn {

namespace detail {
// Throws unless momentum lies in [0, 1] and eps is positive (NaN fails both).
inline void check_batch_norm_settings(const char* layer, double momentum, double eps) {
    if (!(momentum >= 0.0 && momentum <= 1.0))
        throw error(spore::detail::concat({"spore::nn::", layer, ": momentum must lie in [0, 1], found ", momentum}));
    if (!(eps > 0.0)) throw error(spore::detail::concat({"spore::nn::", layer, ": eps must be positive, found ", eps}));
}
}  // namespace detail

template <std::size_t Channels, class T = float>
struct BatchNorm2d {
    tensor<T, shape<Channels>> weight = ones();
    tensor<T, shape<Channels>> bias{};  // {}: so designated initializers omit it without a warning
    buffer<T, shape<Channels>> running_mean{};
    buffer<T, shape<Channels>> running_var{T(1)};
    double eps = 1e-5;       // added to the variance
    double momentum = 0.1;   // running = (1 - momentum) * running + momentum * batch statistic

    template <class X>
    auto operator()(X&& x) const {
        detail::check_batch_norm_settings("BatchNorm2d", momentum, eps);
        return spore::batch_norm2d(std::forward<X>(x), weight, bias, running_mean.mutable_data(),
                                   running_var.mutable_data(), T(momentum), T(eps));
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
