#pragma once
// Plain stochastic gradient descent, as torch.optim.SGD without momentum:
//   g = gradient + weight_decay * p;  p -= lr * g.

#include <array>
#include <string_view>

#include <spore/core/config.hpp>
#include <spore/kernels/simd.hpp>
#include <spore/optim/optimizer.hpp>

namespace spore::optim {

struct SGD {
    float lr = 0.01f;
    float weight_decay = 0.0f;  // coupled L2: added to the gradient

    static constexpr std::array<std::string_view, 0> state_names{};
    template <class V>
    SPORE_ALWAYS_INLINE void update(V& w, const V& g) const {
        using T = simd::element_of_t<V>;
        const V grad = g + simd::splat<V>(T(weight_decay)) * w;
        w = w - simd::splat<V>(T(lr)) * grad;
    }
};

template <class ParameterTuple>
using sgd_state = optimizer<SGD, ParameterTuple>;

}  // namespace spore::optim
