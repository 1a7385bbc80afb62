#pragma once
// BatchNorm1d<C> and BatchNorm2d<C>: batch normalisation per channel (axis 1) as in
// torch.nn.BatchNorm1d (input [N, C] or [N, C, L]) and torch.nn.BatchNorm2d ([N, C, H, W]),
// affine and tracking running statistics. weight and bias are parameters; running_mean,
// running_var and num_batches_tracked (an int64 scalar, one more per training forward pass, as
// PyTorch counts and saves it) are buffers (nn/buffer.hpp): saved with the cell, never trained. A gradient
// program (training mode) normalises by batch statistics and updates the running ones in its
// forward pass; a forward program (spore::compile, spore::eval) normalises by the running statistics.
// eps and momentum are run-time fields with PyTorch's names, defaults and order, after the
// buffers, so `nn::BatchNorm2d<16> bn{.eps = 1e-3, .momentum = 0.01}` sets either or both;
// they are checked when the expression is built (momentum in [0, 1], eps > 0). Both layers
// build the same node (expr/batch_norm.hpp); they differ in the input ranks they accept.

#include <cstddef>
#include <cstdint>
#include <utility>

#include <spore/core/error.hpp>
#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/batch_norm.hpp>
#include <spore/nn/buffer.hpp>
#include <spore/nn/call.hpp>

namespace spore::nn {

namespace detail {
// Throws unless momentum lies in [0, 1] and eps is positive (NaN fails both).
inline void check_batch_norm_settings(const char* layer, double momentum, double eps) {
    if (!(momentum >= 0.0 && momentum <= 1.0))
        throw error(spore::detail::concat({"spore::nn::", layer, ": momentum must lie in [0, 1], found ", momentum}));
    if (!(eps > 0.0)) throw error(spore::detail::concat({"spore::nn::", layer, ": eps must be positive, found ", eps}));
}

template <class T, std::size_t Channels>
tensor<T, shape<Channels>> filled(T value) {
    tensor<T, shape<Channels>> t;
    t.fill(value);
    return t;
}

// PyTorch's reset: weight 1, bias 0, running mean 0, running variance 1, no batch tracked,
// whatever the scheme.
template <class Layer>
void reset_batch_norm(Layer& bn) {
    using T = typename decltype(bn.weight)::value_type;
    bn.weight.fill(T(1));
    bn.bias.fill(T(0));
    bn.running_mean.fill(T(0));
    bn.running_var.fill(T(1));
    bn.num_batches_tracked.fill(0);
}
}  // namespace detail

// Input [N, C] or [N, C, L].
template <std::size_t Channels, class T = float>
struct BatchNorm1d {
    tensor<T, shape<Channels>> weight = detail::filled<T, Channels>(T(1));
    tensor<T, shape<Channels>> bias{};  // {}: so designated initializers omit it without a warning
    buffer<T, shape<Channels>> running_mean{};
    buffer<T, shape<Channels>> running_var{T(1)};
    buffer<std::int64_t, shape<>> num_batches_tracked{};  // training forward passes run: I64 [], as PyTorch saves it
    double eps = 1e-5;      // added to the variance
    double momentum = 0.1;  // running = (1 - momentum) * running + momentum * batch statistic

    template <class X>
    auto operator()(X&& x) const {
        detail::check_batch_norm_settings("BatchNorm1d", momentum, eps);
        return record_output(*this, spore::batch_norm1d(std::forward<X>(x), weight, bias, running_mean.mutable_data(),
                                                        running_var.mutable_data(), T(momentum), T(eps),
                                                        num_batches_tracked.mutable_data()));
    }
    template <class Scheme>
    void reset_parameters(random_engine&, const Scheme&) { detail::reset_batch_norm(*this); }
    void reset_parameters(random_engine& rng) { reset_parameters(rng, 0); }
};

// Input [N, C, H, W].
template <std::size_t Channels, class T = float>
struct BatchNorm2d {
    tensor<T, shape<Channels>> weight = detail::filled<T, Channels>(T(1));
    tensor<T, shape<Channels>> bias{};  // {}: so designated initializers omit it without a warning
    buffer<T, shape<Channels>> running_mean{};
    buffer<T, shape<Channels>> running_var{T(1)};
    buffer<std::int64_t, shape<>> num_batches_tracked{};  // training forward passes run: I64 [], as PyTorch saves it
    double eps = 1e-5;      // added to the variance
    double momentum = 0.1;  // running = (1 - momentum) * running + momentum * batch statistic

    template <class X>
    auto operator()(X&& x) const {
        detail::check_batch_norm_settings("BatchNorm2d", momentum, eps);
        return record_output(*this, spore::batch_norm2d(std::forward<X>(x), weight, bias, running_mean.mutable_data(),
                                                        running_var.mutable_data(), T(momentum), T(eps),
                                                        num_batches_tracked.mutable_data()));
    }
    template <class Scheme>
    void reset_parameters(random_engine&, const Scheme&) { detail::reset_batch_norm(*this); }
    void reset_parameters(random_engine& rng) { reset_parameters(rng, 0); }
};

}  // namespace spore::nn
