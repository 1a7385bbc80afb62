#pragma once
// Adam and AdamW in PyTorch's formulation (torch.optim.Adam / AdamW, amsgrad off). At step t:
//   g = gradient (+ weight_decay * p for Adam: coupled L2)
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// AdamW decays the weights apart from the gradient (decoupled), before the update:
//   p *= 1 - lr * weight_decay.

#include <array>
#include <cmath>
#include <string_view>

#include <spore/core/config.hpp>
#include <spore/kernels/simd.hpp>
#include <spore/optim/optimizer.hpp>

namespace spore::optim {

// Both rules; Decoupled for AdamW. The bias corrections are computed once per step, in double
// as PyTorch computes them in Python floats.
template <bool Decoupled>
struct adam_rule {
    struct step_values_type {
        double step_size;         // lr / (1 - beta1^t)
        double root_correction2;  // sqrt(1 - beta2^t)
    };
    static constexpr std::array<std::string_view, 2> state_names{"first_moment", "second_moment"};

    template <class Settings>
    static step_values_type step_values(const Settings& s, long long step) {
        const double t = double(step);
        const double correction1 = 1.0 - std::pow(double(s.beta1), t);
        const double correction2 = 1.0 - std::pow(double(s.beta2), t);
        return {double(s.lr) / correction1, std::sqrt(correction2)};
    }
    template <class Settings, class V>
    SPORE_ALWAYS_INLINE static void update(const Settings& s, const step_values_type& k, V& w, const V& g, V& m, V& v) {
        using T = simd::element_of_t<V>;
        const T b1 = T(s.beta1), b2 = T(s.beta2);
        const T coupled_decay = Decoupled ? T(0) : T(s.weight_decay);
        const T keep = Decoupled ? T(1) - T(s.lr) * T(s.weight_decay) : T(1);
        const V grad = g + simd::splat<V>(coupled_decay) * w;
        m = simd::splat<V>(b1) * m + simd::splat<V>(T(1) - b1) * grad;
        v = simd::splat<V>(b2) * v + simd::splat<V>(T(1) - b2) * grad * grad;
        const V denominator = simd::sqrt(v) / simd::splat<V>(T(k.root_correction2)) + simd::splat<V>(T(s.eps));
        w = w * simd::splat<V>(keep) - simd::splat<V>(T(k.step_size)) * m / denominator;
    }
};

struct Adam {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;  // coupled L2: added to the gradient

    static constexpr auto state_names = adam_rule<false>::state_names;
    auto step_values(long long step) const { return adam_rule<false>::step_values(*this, step); }
    template <class V>
    SPORE_ALWAYS_INLINE void update(const auto& k, V& w, const V& g, V& m, V& v) const {
        adam_rule<false>::update(*this, k, w, g, m, v);
    }
};

struct AdamW {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 1e-2f;  // decoupled: p *= 1 - lr * weight_decay each step

    static constexpr auto state_names = adam_rule<true>::state_names;
    auto step_values(long long step) const { return adam_rule<true>::step_values(*this, step); }
    template <class V>
    SPORE_ALWAYS_INLINE void update(const auto& k, V& w, const V& g, V& m, V& v) const {
        adam_rule<true>::update(*this, k, w, g, m, v);
    }
};

template <class Settings, class ParameterTuple>
using adam_state = optimizer<Settings, ParameterTuple>;

}  // namespace spore::optim
