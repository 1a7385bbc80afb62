#pragma once
// The optimiser skeleton: everything SGD, Momentum, Adam and AdamW share. An optimiser is its
// settings struct, which is also its update rule:
//
//   struct MyRule {
//       float lr = 0.01f;                               // what lr() and set_lr() read and write
//       ...                                             // its other settings
//       static constexpr std::array<std::string_view, N> state_names{...};
//           // the per-parameter state: N tensors of each parameter's type, zero at the start
//           // (Momentum: {"velocity"}; Adam: both moments; SGD: none)
//       step_values_type step_values(long long step) const;   // optional: computed once per
//           // step (step counts from 1), as Adam's bias corrections; given first to update()
//       template <class V>
//       void update([const step_values_type&,] V& w, const V& g, V&... state) const;
//           // one SIMD batch of a parameter (V = simd::batch<T>), or one element of its tail
//           // (V = T): the new parameter w from its gradient g, the state updated in place
//   };
//
// optim::make_state(MyRule{...}, nn::parameters(net)) (or optim::optimizer) then gives its
// optimiser: step(gradients), lr(), set_lr(), settings(), steps(), and the state for checkpoints.

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <spore/core/config.hpp>
#include <spore/core/error.hpp>
#include <spore/core/tensor.hpp>
#include <spore/core/text.hpp>
#include <spore/kernels/simd.hpp>

namespace spore::optim {

template <class ParameterShape, class GradientShape>
struct check_gradient {
    static_assert(same_shape_v<ParameterShape, GradientShape>,
                  "spore: optimiser step: a gradient's shape differs from its parameter's; pass the gradients "
                  "in the parameters' order (see check_gradient<parameter shape, gradient shape> above)");
    static constexpr bool ok = same_shape_v<ParameterShape, GradientShape>;
};

template <class P, class G>
inline constexpr bool gradient_matches_v =
    check_gradient<typename std::remove_cvref_t<P>::shape_type, typename std::remove_cvref_t<G>::shape_type>::ok;

// Calls f(parameter, gradient, I) for the I-th parameter and the I-th gradient.
template <class Parameters, class Gradients, class F>
void for_each_parameter_gradient(Parameters& parameters, const Gradients& gradients, F&& f) {
    constexpr std::size_t count = std::tuple_size_v<Parameters>;
    static_assert(std::tuple_size_v<Gradients> == count,
                  "spore: optimiser step: the number of gradients differs from the number of parameters");
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f(std::get<I>(parameters), std::get<I>(gradients), std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<count>{});
}

template <class Rule>
concept update_rule = requires(Rule& rule) {
    { rule.lr } -> std::convertible_to<float>;
    Rule::state_names.size();
};

template <class Rule, class ParameterTuple>
class optimizer;

template <class Rule, class... P>
class optimizer<Rule, std::tuple<P&...>> {
    static_assert(update_rule<Rule>, "spore::optim::optimizer: Rule needs an lr and its state_names");

public:
    using settings_type = Rule;
    // One per-parameter state (a velocity, a moment) for every parameter, in their order.
    using state_tuple = std::tuple<std::remove_const_t<P>...>;
    static constexpr std::size_t states_per_parameter = Rule::state_names.size();

    optimizer(Rule settings, std::tuple<P&...> parameters) : settings_(settings), parameters_(parameters) {}

    // One step with gradients given in the parameters' order (a tuple of tensors).
    template <class Gradients>
    void step(const Gradients& gradients) {
        ++steps_;
        const auto values = step_values(settings_, steps_);
        for_each_parameter_gradient(parameters_, gradients, [&](auto& p, const auto& g, auto index) {
            if constexpr (gradient_matches_v<decltype(p), decltype(g)>)
                update<decltype(index)::value>(settings_, values, p.data(), g.data(), p.size());
        });
    }

    float lr() const { return settings_.lr; }
    void set_lr(float lr) { settings_.lr = lr; }
    Rule& settings() { return settings_; }
    const Rule& settings() const { return settings_; }

    // The state, for checkpoints: the step count (Adam's bias corrections depend on it) and
    // the per-parameter tensors, which a restore writes in place.
    long long steps() const { return steps_; }
    void set_steps(long long steps) { steps_ = steps; }
    static constexpr const auto& state_names() { return Rule::state_names; }
    // State k (Rule::state_names[k]) of every parameter.
    state_tuple& state(std::size_t k) { return state_.at(k); }
    const state_tuple& state(std::size_t k) const { return state_.at(k); }
    state_tuple& state(std::string_view name) { return state_[index_of(name)]; }
    const state_tuple& state(std::string_view name) const { return state_[index_of(name)]; }
    // Calls f(name, parameter index, tensor) for each state tensor: per parameter in order,
    // each of its states in state_names' order.
    template <class F>
    void for_each_state(F&& f) {
        visit_states(*this, f);
    }
    template <class F>
    void for_each_state(F&& f) const {
        visit_states(*this, f);
    }

    // Momentum's velocities under their former name.
    const state_tuple& velocities() const
        requires(states_per_parameter == 1 && Rule::state_names[0] == std::string_view("velocity"))
    {
        return state_[0];
    }

private:
    struct no_step_values {};
    static auto step_values(const Rule& rule, long long step) {
        if constexpr (requires { rule.step_values(step); }) return rule.step_values(step);
        else return no_step_values{};
    }

    // The rule and the step's values by value: locals that the stores to w and the states
    // cannot alias, so whatever update() derives from them stays out of the loop.
    template <std::size_t I, class T, class Values>
    void update(const Rule rule, const Values values, T* w, const T* g, std::size_t n) {
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            [[maybe_unused]] const std::array<T*, sizeof...(K)> states{std::get<I>(state_[K]).data()...};
            simd::for_each_batch<T>(n, [&]<class V>(std::size_t i) {
                V weight = simd::load<V>(w + i);
                std::array<V, sizeof...(K)> state{simd::load<V>(states[K] + i)...};
                if constexpr (std::is_same_v<Values, no_step_values>)
                    rule.update(weight, simd::load<V>(g + i), state[K]...);
                else
                    rule.update(values, weight, simd::load<V>(g + i), state[K]...);
                (simd::store(states[K] + i, state[K]), ...);
                simd::store(w + i, weight);
            });
        }(std::make_index_sequence<states_per_parameter>{});
    }

    static std::size_t index_of(std::string_view name) {
        for (std::size_t k = 0; k < states_per_parameter; ++k)
            if (Rule::state_names[k] == name) return k;
        throw error(spore::detail::concat({"spore::optim::optimizer::state: no state named '", name, "' (this optimiser has ",
                                           spore::detail::joined(Rule::state_names), states_per_parameter ? "" : "none", ")"}));
    }

    template <class Self, class F>
    static void visit_states(Self& self, F& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (
                [&] {
                    for (std::size_t k = 0; k < states_per_parameter; ++k)
                        f(Rule::state_names[k], I, std::get<I>(self.state_[k]));
                }(),
                ...);
        }(std::index_sequence_for<P...>{});
    }

    Rule settings_;
    std::tuple<P&...> parameters_;
    std::array<state_tuple, states_per_parameter> state_;
    long long steps_ = 0;
};

template <class Rule, class... P>
optimizer(Rule, std::tuple<P&...>) -> optimizer<Rule, std::tuple<P&...>>;

// The optimiser for `settings` over a tuple of parameter references (nn::parameters(net)),
// found by argument-dependent lookup on the settings (as spore::Model does).
template <update_rule Rule, class... P>
optimizer<Rule, std::tuple<P&...>> make_state(Rule settings, std::tuple<P&...> parameters) {
    return {settings, parameters};
}

}  // namespace spore::optim
