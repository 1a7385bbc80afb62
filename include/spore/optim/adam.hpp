#pragma once
// Adam and AdamW in PyTorch's formulation (torch.optim.Adam / AdamW, amsgrad off). At step t:
//   g = gradient (+ weight_decay * p for Adam: coupled L2)
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// AdamW decays the weights apart from the gradient (decoupled), before the update:
//   p *= 1 - lr * weight_decay.

#include <cmath>
#include <cstddef>
#include <tuple>
#include <type_traits>

#include <spore/core/tensor.hpp>
#include <spore/optim/update.hpp>

namespace spore::optim {

struct Adam {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;  // coupled L2: added to the gradient
};

struct AdamW {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 1e-2f;  // decoupled: p *= 1 - lr * weight_decay each step
};

// The state for a tuple of parameter references: both moments per parameter and the step.
template <class Settings, class ParameterTuple>
class adam_state;

template <class Settings, class... P>
class adam_state<Settings, std::tuple<P&...>> {
    static_assert(std::is_same_v<Settings, Adam> || std::is_same_v<Settings, AdamW>);
    static constexpr bool decoupled = std::is_same_v<Settings, AdamW>;

public:
    adam_state(Settings settings, std::tuple<P&...> parameters) : settings_(settings), parameters_(parameters) {}

    template <class Gradients>
    void step(const Gradients& gradients) {
        ++steps_;
        // The bias corrections in double, as PyTorch computes them in Python floats.
        const double t = double(steps_);
        const double correction1 = 1.0 - std::pow(double(settings_.beta1), t);
        const double correction2 = 1.0 - std::pow(double(settings_.beta2), t);
        const double step_size = double(settings_.lr) / correction1;
        const double root_correction2 = std::sqrt(correction2);
        for_each_parameter_gradient(parameters_, gradients, [&](auto& p, const auto& g, auto index) {
            if constexpr (gradient_matches_v<decltype(p), decltype(g)>)
                update(p, g, std::get<decltype(index)::value>(first_moments_),
                       std::get<decltype(index)::value>(second_moments_), step_size, root_correction2);
        });
    }
    float lr() const { return settings_.lr; }
    void set_lr(float lr) { settings_.lr = lr; }
    Settings& settings() { return settings_; }
    long long steps() const { return steps_; }

private:
    template <class Tensor, class Gradient>
    void update(Tensor& p, const Gradient& g, Tensor& m, Tensor& v, double step_size, double root_correction2) {
        using T = typename Tensor::value_type;
        const T b1 = T(settings_.beta1), b2 = T(settings_.beta2), eps = T(settings_.eps);
        const T coupled_decay = decoupled ? T(0) : T(settings_.weight_decay);
        const T keep = decoupled ? T(1) - T(settings_.lr) * T(settings_.weight_decay) : T(1);
        const T size = T(step_size), root2 = T(root_correction2);
        T* pd = p.data();
        T* md = m.data();
        T* vd = v.data();
        const T* gd = g.data();
        for_each_lane<T>(p.size(), [&]<class V>(std::size_t i) {
            const V w = simd::load<V>(pd + i);
            const V grad = simd::load<V>(gd + i) + simd::splat<V>(coupled_decay) * w;
            const V first = simd::splat<V>(b1) * simd::load<V>(md + i) + simd::splat<V>(T(1) - b1) * grad;
            const V second = simd::splat<V>(b2) * simd::load<V>(vd + i) + simd::splat<V>(T(1) - b2) * grad * grad;
            simd::store(md + i, first);
            simd::store(vd + i, second);
            const V denominator = simd::sqrt(second) / simd::splat<V>(root2) + simd::splat<V>(eps);
            simd::store(pd + i, w * simd::splat<V>(keep) - simd::splat<V>(size) * first / denominator);
        });
    }

    Settings settings_;
    std::tuple<P&...> parameters_;
    std::tuple<std::remove_const_t<P>...> first_moments_;
    std::tuple<std::remove_const_t<P>...> second_moments_;
    long long steps_ = 0;
};

template <class... P>
adam_state(Adam, std::tuple<P&...>) -> adam_state<Adam, std::tuple<P&...>>;
template <class... P>
adam_state(AdamW, std::tuple<P&...>) -> adam_state<AdamW, std::tuple<P&...>>;

template <class... P>
adam_state<Adam, std::tuple<P&...>> make_state(Adam settings, std::tuple<P&...> parameters) {
    return {settings, parameters};
}
template <class... P>
adam_state<AdamW, std::tuple<P&...>> make_state(AdamW settings, std::tuple<P&...> parameters) {
    return {settings, parameters};
}

}  // namespace spore::optim
