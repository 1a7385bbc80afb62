#pragma once
// Reverse mode, derived from the expression's type. A gradient program runs:
//   1. the forward pass: heavy nodes in post-order, each into its planned buffer;
//   2. the backward pass: heavy nodes in reverse post-order, each pushing its complete
//      adjoint into its operands through its rule, heavy_rule<Node> (heavy_rule.hpp, found by
//      type), and fused region loops (region.hpp).
// When the root's rule has forward_backward (a sum or mean: its seed is known before the
// forward pass), the root's region runs forward and backward in the same loop.

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include <spore/autodiff/backward_steps.hpp>
#include <spore/autodiff/heavy_rule.hpp>
#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/program.hpp>

namespace spore::autodiff {

struct no_step_hook {
    void operator()() const noexcept {}
};

// after_step() runs after each heavy node's step (see backward_steps below).
template <class E, class S, class AfterStep = no_step_hook>
void backward_pass(const E& node, S& state, AfterStep&& after_step = {}) {
    if constexpr (E::kind == node_kind::heavy) {
        if (state.alias) return;  // its first occurrence carries the summed adjoint
        if (state.adjoint && state.adjoint->written) heavy_rule<E>::vjp(node, state);
        after_step();
    }
    expr::for_each_child_reversed(node, state, [&](const auto& child, auto& child_state) {
        backward_pass(child, child_state, after_step);
    });
}

template <class E>
inline constexpr bool fuses_root_v = false;
template <class E>
    requires(E::kind == node_kind::heavy)
inline constexpr bool fuses_root_v<E> =
    requires(const E& node, expr::state_t<E>& state) { heavy_rule<E>::forward_backward(node, state); };

template <class Shape>
struct check_scalar_output {
    static_assert(Shape::size == 1, "spore: grad needs a scalar-valued expression; reduce it first, e.g. with "
                                    "sum() (see check_scalar_output<expression shape> above)");
    static constexpr bool ok = Shape::size == 1;
};

// Value and gradients of a scalar expression with respect to some of its tensors. Built once
// (planning and all allocation happen here); each call then allocates nothing.
template <expr::expression E, class... Wrt>
class gradient_program {
public:
    using value_type = typename E::value_type;
    using T = value_type;
    static_assert(check_scalar_output<typename E::shape_type>::ok);
    static_assert((std::is_same_v<typename Wrt::value_type, T> && ...),
                  "spore: grad: every tensor differentiated must have the expression's element type");

    explicit gradient_program(const E& e, const Wrt&... wrt)
        : expression_(e), storage_(std::make_unique<storage>()) {
        expr::planner<T> p;
        p.with_gradients = true;
        p.training = true;
        std::array<const T*, sizeof...(Wrt)> addresses{wrt.data()...};
        std::apply([&](auto&... g) {
            std::size_t i = 0;
            ((storage_->grad_sinks[i] = {g.data(), g.size(), false}, ++i), ...);
        }, gradients_);
        for (std::size_t i = 0; i < addresses.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j)
                if (addresses[i] == addresses[j])
                    throw error(spore::detail::concat({"spore::grad: the same tensor is listed twice (arguments ", j + 1,
                                                       " and ", i + 1, ")"}));
            p.gradient_targets.push_back({addresses[i], &storage_->grad_sinks[i]});
        }
        expr::plan(expression_, storage_->state, p);
        sinks_ = std::move(p.sinks);
        for (auto& s : storage_->grad_sinks) sinks_.push_back(&s);
    }

    // Runs forward and backward; returns the value. Gradients: gradient<I>() or gradients().
    T run() {
        for (auto* s : sinks_) s->written = false;
        const T value = evaluate_and_backpropagate(expression_, storage_->state, no_step_hook{});
        for (auto& s : storage_->grad_sinks)
            if (!s.written) std::fill_n(s.data, s.size, T(0));
        return value;
    }
    // The same, calling observer.gradient_ready(i) once for each gradient i as soon as it is
    // final, while the rest of the backward pass still runs (so its communication can start),
    // and observer.step_finished() after every step of the pass if it has one (a moment to let
    // that communication progress).
    template <class Observer>
    T run(Observer& observer) {
        const auto& ready = readiness();
        for (auto* s : sinks_) s->written = false;
        std::size_t step = 0, next = 0;
        auto announce_through = [&](std::size_t last_step) {
            for (; next < ready.size() && ready[next].step <= last_step; ++next) {
                auto& sink = storage_->grad_sinks[ready[next].index];
                if (!sink.written) {  // its writer had nothing to deliver this time
                    std::fill_n(sink.data, sink.size, T(0));
                    sink.written = true;
                }
                observer.gradient_ready(ready[next].index);
            }
        };
        const T value = evaluate_and_backpropagate(expression_, storage_->state, [&] {
            announce_through(step++);
            if constexpr (requires { observer.step_finished(); }) observer.step_finished();
        });
        announce_through(never_written);
        return value;
    }
    // Gradient indices in the order run(observer) announces them.
    std::array<std::size_t, sizeof...(Wrt)> gradient_ready_order() {
        std::array<std::size_t, sizeof...(Wrt)> order{};
        const auto& ready = readiness();
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = ready[i].index;
        return order;
    }
    // (value, gradient references...), for structured bindings. Not on a temporary program:
    // the references would outlive it.
    auto operator()() && = delete;
    auto operator()() & {
        const T value = run();
        return std::apply([&](const auto&... g) { return std::tuple<T, const std::remove_cvref_t<decltype(g)>&...>(value, g...); },
                          gradients_);
    }
    template <std::size_t I>
    const auto& gradient() const {
        return std::get<I>(gradients_);
    }
    const auto& gradients() const { return gradients_; }
    // Writable, for a hook between the backward pass and the optimiser (an allreduce, clipping).
    auto& gradients() { return gradients_; }
    // Moves the gradients out; the program is spent (its sinks point at them).
    auto take_gradients() && { return std::move(gradients_); }
    template <class Tag, class U, class S>
    void feed(const tensor<U, S>& input) {
        expr::bind_placeholder<Tag, S>(expression_, input.data());
    }

private:
    // after_step() runs after step 0 (the root's region, empty for a heavy root) and after
    // each heavy step; backward_steps.hpp numbers the steps the same way.
    template <class AfterStep>
    static T evaluate_and_backpropagate(const E& root, expr::state_t<E>& state, AfterStep&& after_step) {
        if constexpr (fuses_root_v<E>) {
            expr::run_forward(root.a, state.a);
            const T value = heavy_rule<E>::forward_backward(root, state);
            state.mutable_value()[0] = value;
            after_step();
            backward_pass(root.a, state.a, after_step);
            return value;
        } else if constexpr (E::kind == node_kind::heavy) {
            expr::run_forward(root, state);
            if (state.adjoint) {
                state.adjoint->data[0] = T(1);
                state.adjoint->written = true;
            }
            after_step();
            backward_pass(root, state, after_step);
            return state.value[0];
        } else if constexpr (E::kind == node_kind::leaf) {
            if (state.grad) {
                state.grad->data[0] = T(1);
                state.grad->written = true;
            }
            after_step();
            return root.data[0];
        } else {
            expr::run_forward(root, state);
            T value;
            expr::evaluate_region(root, state, &value);
            backprop_region(root, state, [](std::size_t) { return constant_seed<T>{T(1)}; });
            after_step();
            backward_pass(root, state, after_step);
            return value;
        }
    }

    // For each gradient, the step after which it is final, sorted by step (computed once).
    static constexpr std::size_t never_written = std::numeric_limits<std::size_t>::max();
    struct ready_entry {
        std::size_t step;
        std::size_t index;
    };
    const std::vector<ready_entry>& readiness() {
        if (ready_.size() == sizeof...(Wrt)) return ready_;
        std::array<std::size_t, sizeof...(Wrt)> last{};
        last.fill(never_written);
        auto& sinks = storage_->grad_sinks;
        auto record = [&](std::size_t step, const auto* sink) {
            // leaves of another element type (integer labels) never take a gradient
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(*sink)>, expr::sink<T>>)
                for (std::size_t i = 0; i < sinks.size(); ++i)
                    if (sink == &sinks[i]) last[i] = last[i] == never_written ? step : std::max(last[i], step);
        };
        auto at_root = [&](const auto* sink) { record(0, sink); };
        auto& state = storage_->state;
        std::size_t step = 0;
        if constexpr (fuses_root_v<E>) {
            record_region_sinks(expression_.a, state.a, at_root);
            record_backward_steps(expression_.a, state.a, step, record);
        } else if constexpr (E::kind == node_kind::heavy) {
            record_backward_steps(expression_, state, step, record);
        } else if constexpr (E::kind == node_kind::leaf) {
            if (state.grad) at_root(state.grad);
        } else {
            record_region_sinks(expression_, state, at_root);
            record_backward_steps(expression_, state, step, record);
        }
        ready_.clear();
        for (std::size_t i = 0; i < last.size(); ++i) ready_.push_back({last[i], i});
        std::stable_sort(ready_.begin(), ready_.end(), [](const ready_entry& a, const ready_entry& b) { return a.step < b.step; });
        return ready_;
    }

    // Everything the plan points into lives on the heap, so the program can be moved.
    struct storage {
        expr::state_t<E> state;
        std::array<expr::sink<T>, sizeof...(Wrt)> grad_sinks{};
    };
    E expression_;
    std::unique_ptr<storage> storage_;
    std::tuple<tensor<T, typename Wrt::shape_type>...> gradients_;  // storage moves with the tensor
    std::vector<expr::sink<T>*> sinks_;
    std::vector<ready_entry> ready_;  // filled by the first run(observer)
};

}  // namespace spore::autodiff

namespace spore {

template <class X>
concept differentiable_tensor = is_tensor_v<X> && !X::shape_type::has_dynamic_batch;

// Builds a reusable program: `auto program = compile_grad(f, a, b); auto [v, da, db] = program();`
template <expr::expression E, differentiable_tensor... Wrt>
auto compile_grad(const E& f, const Wrt&... wrt) {
    return autodiff::gradient_program<E, Wrt...>(f, wrt...);
}

// One-shot: `auto [value, da, db] = value_and_grad(f, a, b);` (allocates; use compile_grad in loops).
template <expr::expression E, differentiable_tensor... Wrt>
auto value_and_grad(const E& f, const Wrt&... wrt) {
    autodiff::gradient_program<E, Wrt...> program(f, wrt...);
    auto value = program.run();
    return std::apply([&](auto&&... g) { return std::make_tuple(value, std::move(g)...); },
                      std::move(program).take_gradients());
}

// One-shot gradients: a tensor for one argument, a tuple for several.
template <expr::expression E, differentiable_tensor... Wrt>
auto grad(const E& f, const Wrt&... wrt) {
    autodiff::gradient_program<E, Wrt...> program(f, wrt...);
    program.run();
    if constexpr (sizeof...(Wrt) == 1) return std::get<0>(std::move(program).take_gradients());
    else return std::move(program).take_gradients();
}

}  // namespace spore
