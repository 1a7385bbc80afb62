#pragma once
// reshape<Shape>(x) and flatten(x). Row-major order is kept, so reshaping a flat subtree is free:
// the node only renames the shape. A subtree that broadcasts is materialised first (the
// heavy kind; its rule: autodiff/rules/reshape.hpp).

#include <cstddef>

#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>

namespace spore::expr {

template <class From, class To>
struct check_reshape {
    static_assert(From::size == To::size,
                  "spore: reshape must keep the number of elements (see check_reshape<from shape, to shape> above)");
    static constexpr bool ok = From::size == To::size;
};

template <class Shape, class A>
struct reshape_node
    : node_base<typename A::value_type, Shape, is_flat_v<A> ? node_kind::elementwise : node_kind::heavy> {
    static constexpr bool fuses_operands = true;
    A a;
    bool operator==(const reshape_node&) const = default;

    template <bool Splat, class S>
    SPORE_ALWAYS_INLINE auto cursor(S& state, std::size_t base) const {
        return make_cursor<Splat>(a, state.a, base);
    }
    template <class S>
    void forward(S& state) const {
        evaluate_region(a, state.a, state.mutable_value());
    }

    // Flatten when it keeps the leading axis and makes a matrix; else Reshape, with 0 (the
    // input's own extent) on a symbolic batch axis.
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        using in = typename A::shape_type;
        const auto x = graph.emit(a);
        const bool keeps_leading = Shape::rank >= 1 && in::rank >= 1 && Shape::extents[0] == in::extents[0];
        if (x.batch_axis >= 0 && !(x.batch_axis == 0 && keeps_leading))
            graph.batch_error(spore::detail::concat({"Reshape from ", in::to_string(), " to ", Shape::to_string(), " moves the batch axis"}));
        if (Shape::rank == 2 && in::rank >= 2 && keeps_leading)
            return {graph.node("Flatten", {x.name}, {graph.integer("axis", 1)}), x.batch_axis};
        auto target = Graph::template dims_of<Shape>();
        if (x.batch_axis == 0) target[0] = 0;
        return {graph.node("Reshape", {x.name, graph.int64_initializer("shape", std::move(target))}), x.batch_axis};
    }
};

template <class Shape, class A>
struct is_flat<reshape_node<Shape, A>> : std::true_type {};

}  // namespace spore::expr

namespace spore {

template <class Shape, expr::non_scalar_operand X>
constexpr auto reshape(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    using A = decltype(a);
    if constexpr (expr::check_reshape<typename A::shape_type, Shape>::ok) return expr::reshape_node<Shape, A>{{}, a};
}

// Keeps the leading (batch) axis and flattens the rest: [N, C, H, W] -> [N, C*H*W].
template <expr::non_scalar_operand X>
constexpr auto flatten(X&& x) {
    using S = typename expr::expression_of<X>::shape_type;
    static_assert(S::rank >= 1, "spore: flatten needs at least one axis");
    if constexpr (S::rank == 1) return reshape<S>(std::forward<X>(x));
    else return reshape<shape<S::extents[0], S::size / S::extents[0]>>(std::forward<X>(x));
}

}  // namespace spore
