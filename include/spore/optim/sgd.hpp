#pragma once
// Plain stochastic gradient descent, as torch.optim.SGD without momentum:
//   g = gradient + weight_decay * p;  p -= lr * g.

#include <cstddef>
#include <tuple>

#include <spore/optim/update.hpp>

namespace spore::optim {

struct SGD {
    float lr = 0.01f;
    float weight_decay = 0.0f;  // coupled L2: added to the gradient
};

template <class ParameterTuple>
class sgd_state;

template <class... P>
class sgd_state<std::tuple<P&...>> {
public:
    sgd_state(SGD settings, std::tuple<P&...> parameters) : settings_(settings), parameters_(parameters) {}

    // One step with gradients in the parameters' order (a tuple of tensors).
    template <class Gradients>
    void step(const Gradients& gradients) {
        for_each_parameter_gradient(parameters_, gradients, [&](auto& p, const auto& g, auto) {
            if constexpr (gradient_matches_v<decltype(p), decltype(g)>) update(p, g);
        });
    }
    float lr() const { return settings_.lr; }
    void set_lr(float lr) { settings_.lr = lr; }
    SGD& settings() { return settings_; }

private:
    template <class Tensor, class Gradient>
    void update(Tensor& p, const Gradient& g) {
        using T = typename Tensor::value_type;
        const T lr = T(settings_.lr), wd = T(settings_.weight_decay);
        T* pd = p.data();
        const T* gd = g.data();
        for_each_lane<T>(p.size(), [&]<class V>(std::size_t i) {
            const V w = simd::load<V>(pd + i);
            const V grad = simd::load<V>(gd + i) + simd::splat<V>(wd) * w;
            simd::store(pd + i, w - simd::splat<V>(lr) * grad);
        });
    }

    SGD settings_;
    std::tuple<P&...> parameters_;
};

template <class... P>
sgd_state(SGD, std::tuple<P&...>) -> sgd_state<std::tuple<P&...>>;

template <class... P>
sgd_state<std::tuple<P&...>> make_state(SGD settings, std::tuple<P&...> parameters) {
    return {settings, parameters};
}

}  // namespace spore::optim
