#pragma once
// SGD with momentum in PyTorch's formulation: v = momentum * v + g (+ weight_decay * p);
// p -= lr * v. With momentum 0 it is plain SGD.

#include <cstddef>
#include <tuple>
#include <type_traits>

#include <spore/core/tensor.hpp>

namespace spore::optim {

struct Momentum {
    float lr = 0.01f;
    float momentum = 0.9f;
    float weight_decay = 0.0f;
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
        step_each(gradients, std::index_sequence_for<P...>{});
    }
    Momentum& settings() { return settings_; }

private:
    template <class Gradients, std::size_t... I>
    void step_each(const Gradients& gradients, std::index_sequence<I...>) {
        (update(std::get<I>(parameters_), std::get<I>(gradients), std::get<I>(velocities_)), ...);
    }
    template <class Tensor, class Gradient>
    void update(Tensor& p, const Gradient& g, Tensor& v) {
        using T = typename Tensor::value_type;
        const T lr = T(settings_.lr), m = T(settings_.momentum), wd = T(settings_.weight_decay);
        T* pd = p.data();
        T* vd = v.data();
        const T* gd = g.data();
        for (std::size_t i = 0; i < p.size(); ++i) {
            const T grad = gd[i] + wd * pd[i];
            vd[i] = m * vd[i] + grad;
            pd[i] -= lr * vd[i];
        }
    }

    Momentum settings_;
    std::tuple<P&...> parameters_;
    std::tuple<std::remove_const_t<P>...> velocities_;
};

template <class... P>
momentum_state(Momentum, std::tuple<P&...>) -> momentum_state<std::tuple<P&...>>;

}  // namespace spore::optim
