#pragma once
// SGD with momentum in PyTorch's formulation (torch.optim.SGD, dampening 0):
//   g = gradient + weight_decay * p;  v = momentum * v + g;
//   p -= lr * v                      (or, with nesterov, p -= lr * (g + momentum * v)).
// The velocity starts at zero, so the first step sets v = g, as PyTorch does.

#include <array>
#include <string_view>

#include <spore/core/config.hpp>
#include <spore/kernels/simd.hpp>
#include <spore/optim/optimizer.hpp>

namespace spore::optim {

struct Momentum {
    float lr = 0.01f;
    float momentum = 0.9f;
    float weight_decay = 0.0f;  // coupled L2: added to the gradient
    bool nesterov = false;

    static constexpr std::array<std::string_view, 1> state_names{"velocity"};
    template <class V>
    SPORE_ALWAYS_INLINE void update(V& w, const V& g, V& velocity) const {
        using T = simd::element_of_t<V>;
        const V grad = g + simd::splat<V>(T(weight_decay)) * w;
        velocity = simd::splat<V>(T(momentum)) * velocity + grad;
        const V direction = nesterov ? grad + simd::splat<V>(T(momentum)) * velocity : velocity;
        w = w - simd::splat<V>(T(lr)) * direction;
    }
};

template <class ParameterTuple>
using momentum_state = optimizer<Momentum, ParameterTuple>;

}  // namespace spore::optim
