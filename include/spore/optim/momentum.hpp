#pragma once
// SGD with momentum in PyTorch's formulation (torch.optim.SGD, dampening 0):
//   g = gradient + weight_decay * p;  v = momentum * v + g;
//   p -= lr * v                      (or, with nesterov, p -= lr * (g + momentum * v)).
// The velocity starts at zero, so the first step sets v = g, as PyTorch does.

#include <cstddef>
#include <tuple>
#include <type_traits>

#include <spore/core/tensor.hpp>
#include <spore/optim/update.hpp>

namespace spore::optim {

struct Momentum {
    float lr = 0.01f;
    float momentum = 0.9f;
    float weight_decay = 0.0f;  // coupled L2: added to the gradient
    bool nesterov = false;
};

// The optimiser's state for a tuple of parameter references: one velocity per parameter.
template <class ParameterTuple>
class momentum_state;

template <class... P>
class momentum_state<std::tuple<P&...>> {
public:
    momentum_state(Momentum settings, std::tuple<P&...> parameters) : settings_(settings), parameters_(parameters) {}

    // One step with gradients given in the parameters' order (a tuple of tensors).
    template <class Gradients>
    void step(const Gradients& gradients) {
        for_each_parameter_gradient(parameters_, gradients, [&](auto& p, const auto& g, auto index) {
            if constexpr (gradient_matches_v<decltype(p), decltype(g)>) update(p, g, std::get<decltype(index)::value>(velocities_));
        });
    }
    float lr() const { return settings_.lr; }
    void set_lr(float lr) { settings_.lr = lr; }
    Momentum& settings() { return settings_; }
    const auto& velocities() const { return velocities_; }

private:
    template <class Tensor, class Gradient>
    void update(Tensor& p, const Gradient& g, Tensor& v) {
        using T = typename Tensor::value_type;
        const T lr = T(settings_.lr), m = T(settings_.momentum), wd = T(settings_.weight_decay);
        const bool nesterov = settings_.nesterov;
        T* pd = p.data();
        T* vd = v.data();
        const T* gd = g.data();
        for_each_lane<T>(p.size(), [&]<class V>(std::size_t i) {
            const V w = simd::load<V>(pd + i);
            const V grad = simd::load<V>(gd + i) + simd::splat<V>(wd) * w;
            const V velocity = simd::splat<V>(m) * simd::load<V>(vd + i) + grad;
            simd::store(vd + i, velocity);
            const V direction = nesterov ? grad + simd::splat<V>(m) * velocity : velocity;
            simd::store(pd + i, w - simd::splat<V>(lr) * direction);
        });
    }

    Momentum settings_;
    std::tuple<P&...> parameters_;
    std::tuple<std::remove_const_t<P>...> velocities_;
};

template <class... P>
momentum_state(Momentum, std::tuple<P&...>) -> momentum_state<std::tuple<P&...>>;

template <class... P>
momentum_state<std::tuple<P&...>> make_state(Momentum settings, std::tuple<P&...> parameters) {
    return {settings, parameters};
}

}  // namespace spore::optim
