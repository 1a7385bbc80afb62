#pragma once
// Evaluating expressions. `tensor = expression` plans, computes and writes in one go;
// `spore::compile(expression)` keeps the plan and its buffers, so calling it again allocates
// nothing.

#include <memory>

#include <spore/core/tensor.hpp>
#include <spore/expr/cursor.hpp>
#include <spore/expr/plan.hpp>

namespace spore::expr {

template <class TargetShape, class ExpressionShape>
struct check_assignment {
    static_assert(same_shape_v<TargetShape, ExpressionShape>,
                  "spore: the tensor assigned to must have the expression's shape "
                  "(see check_assignment<tensor shape, expression shape> above)");
    static constexpr bool ok = same_shape_v<TargetShape, ExpressionShape>;
};

template <class E>
void write_value(const E& node, state_t<E>& state, typename E::value_type* out) {
    using T = typename E::value_type;
    if constexpr (E::kind == node_kind::heavy) std::copy_n(state.value, E::shape_type::size, out);
    else if constexpr (E::kind == node_kind::leaf) std::copy_n(node.data, E::shape_type::size, out);
    else evaluate_region(node, state, static_cast<T*>(out));
}

template <class T, class S, expression E>
void evaluate_into(tensor<T, S>& target, const E& node) {
    static_assert(std::is_same_v<T, typename E::value_type>, "spore: tensor and expression element types differ");
    if constexpr (check_assignment<S, typename E::shape_type>::ok) {
        auto state = std::make_unique<state_t<E>>();
        planner<T> p;
        plan(node, *state, p);
        run_forward(node, *state);
        if constexpr (E::kind == node_kind::leaf) {
            if (node.data == target.data()) return;
        }
        write_value(node, *state, target.data());
    }
}

// A forward-only program: the expression, its state and the output.
template <expression E>
class program {
public:
    using value_type = typename E::value_type;
    using shape_type = typename E::shape_type;

    explicit program(const E& e) : expression_(e), state_(std::make_unique<state_t<E>>()) {
        planner<value_type> p;
        plan(expression_, *state_, p);
    }
    const tensor<value_type, shape_type>& operator()() {
        run_forward(expression_, *state_);
        write_value(expression_, *state_, output_.data());
        return output_;
    }
    // Binds the input placeholder Tag to a tensor, which must outlive the calls.
    template <class Tag, class T, class S>
    void feed(const tensor<T, S>& input) {
        bind_placeholder<Tag, S>(expression_, input.data());
    }

private:
    E expression_;
    std::unique_ptr<state_t<E>> state_;
    tensor<value_type, shape_type> output_;
};

}  // namespace spore::expr

namespace spore {

template <expr::expression E>
expr::program<E> compile(const E& e) {
    return expr::program<E>(e);
}

// Evaluates into a new tensor.
template <expr::expression E>
tensor<typename E::value_type, typename E::shape_type> eval(const E& e) {
    return tensor<typename E::value_type, typename E::shape_type>(e);
}

}  // namespace spore
