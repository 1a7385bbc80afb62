#pragma once
// Elementwise nodes: unary and binary operations and the broadcast that binary inserts, with
// numpy's broadcasting resolved at compile time. They are never stored: a fused loop computes
// them on the fly from a cursor tree. The operations themselves are in elementwise_ops.hpp.

#include <cstddef>
#include <type_traits>
#include <utility>

#include <spore/core/config.hpp>
#include <spore/expr/cursor.hpp>
#include <spore/expr/node.hpp>
#include <spore/expr/state.hpp>

namespace spore::expr {

template <class V, class VA>
struct unary_values {
    VA a;
    V out;
};
template <class V, class VA, class VB>
struct binary_values {
    VA a;
    VB b;
    V out;
};

// Two operations are the same when their types are and, for an operation with parameters (a
// slope, a threshold), their parameters are.
template <class Op>
constexpr bool same_operation(const Op& x, const Op& y) {
    if constexpr (std::is_empty_v<Op>) return true;
    else return x == y;
}

template <class Op, class CA>
struct unary_cursor {
    using op = Op;
    CA a;
    [[no_unique_address]] Op operation;
    template <class V>
    SPORE_ALWAYS_INLINE auto forward(std::size_t j) const {
        auto va = a.template forward<V>(j);
        V out = operation.apply(va.out);
        return unary_values<V, decltype(va)>{va, out};
    }
};

template <class Op, class CA, class CB>
struct binary_cursor {
    using op = Op;
    CA a;
    CB b;
    [[no_unique_address]] Op operation;
    template <class V>
    SPORE_ALWAYS_INLINE auto forward(std::size_t j) const {
        auto va = a.template forward<V>(j);
        auto vb = b.template forward<V>(j);
        V out = operation.apply(va.out, vb.out);
        return binary_values<V, decltype(va), decltype(vb)>{va, vb, out};
    }
};

template <class Op, class A>
struct unary : node_base<typename A::value_type, typename A::shape_type, node_kind::elementwise> {
    using op = Op;
    A a;
    [[no_unique_address]] Op operation{};
    bool operator==(const unary& other) const { return a == other.a && same_operation(operation, other.operation); }

    template <bool Splat, class S>
    SPORE_ALWAYS_INLINE auto cursor(S& state, std::size_t base) const {
        auto ca = make_cursor<Splat>(a, state.a, base);
        return unary_cursor<Op, decltype(ca)>{ca, operation};
    }
};

template <class Op, class A, class B>
struct binary : node_base<typename A::value_type, typename A::shape_type, node_kind::elementwise> {
    static_assert(same_shape_v<typename A::shape_type, typename B::shape_type>);
    using op = Op;
    A a;
    B b;
    [[no_unique_address]] Op operation{};
    bool operator==(const binary& other) const {
        return a == other.a && b == other.b && same_operation(operation, other.operation);
    }

    template <bool Splat, class S>
    SPORE_ALWAYS_INLINE auto cursor(S& state, std::size_t base) const {
        auto ca = make_cursor<Splat>(a, state.a, base);
        auto cb = make_cursor<Splat>(b, state.b, base);
        return binary_cursor<Op, decltype(ca), decltype(cb)>{ca, cb, operation};
    }
};

// Passes a row-start offset in Out's layout to A's layout. Reads through broadcast_to repeat
// A's values; gradients through it are summed back (autodiff/ accumulates instead of storing).
template <class Out, class A>
struct broadcast_to : node_base<typename A::value_type, Out, node_kind::elementwise> {
    using in_shape = typename A::shape_type;
    static constexpr bool single_value = in_shape::size == 1;
    static constexpr bool splats_last_axis = single_value || (in_shape::last() == 1 && Out::last() != 1);
    A a;
    bool operator==(const broadcast_to&) const = default;

    static constexpr std::size_t map_offset(std::size_t out_offset) {
        if constexpr (single_value) {
            return 0;
        } else {
            std::size_t in_offset = 0;
            constexpr std::size_t skip = Out::rank - in_shape::rank;
            for (std::size_t d = Out::rank; d-- > 0;) {
                const std::size_t coord = out_offset % Out::extents[d];
                out_offset /= Out::extents[d];
                if (d >= skip && in_shape::extents[d - skip] != 1) in_offset += coord * in_shape::strides[d - skip];
            }
            return in_offset;
        }
    }

    template <bool Splat, class S>
    SPORE_ALWAYS_INLINE auto cursor(S& state, std::size_t base) const {
        return make_cursor<Splat || splats_last_axis>(a, state.a, map_offset(base));
    }
};

template <class E>
inline constexpr bool is_broadcast_v = false;
template <class Out, class A>
inline constexpr bool is_broadcast_v<broadcast_to<Out, A>> = true;

template <class Op, class A>
struct is_flat<unary<Op, A>> : is_flat<A> {};
template <class Op, class A, class B>
struct is_flat<binary<Op, A, B>> : std::bool_constant<is_flat_v<A> && is_flat_v<B>> {};
template <class Out, class A>
struct is_flat<broadcast_to<Out, A>> : std::bool_constant<A::shape_type::size == 1> {};

// A failed check names the operation and both shapes in the instantiation context.
template <class Operation, class LeftShape, class RightShape>
struct check_broadcastable {
    static_assert(broadcast_shapes<LeftShape, RightShape>::compatible,
                  "spore: the operand shapes of this elementwise operation cannot be broadcast together "
                  "(see check_broadcastable<operation, left shape, right shape> above)");
    using type = std::conditional_t<broadcast_shapes<LeftShape, RightShape>::compatible,
                                    typename broadcast_shapes<LeftShape, RightShape>::type, LeftShape>;
};

template <class Out, class E>
constexpr auto broadcast_if_needed(const E& e) {
    if constexpr (same_shape_v<Out, typename E::shape_type>) return e;
    else return broadcast_to<Out, E>{{}, e};
}

template <class X, class Other>
constexpr auto operand_expression(X&& x) {
    using plain = std::remove_cvref_t<X>;
    if constexpr (std::is_arithmetic_v<plain>) {
        using T = typename expression_of<Other>::value_type;
        return constant<T>{{}, static_cast<T>(x)};
    } else {
        static_assert(std::is_floating_point_v<typename expression_of<X>::value_type>,
                      "spore: expressions compute in floating point; an integer tensor (labels) can only be "
                      "passed to the losses that read it, such as nn::SoftmaxCrossEntropy");
        static_assert(!(is_tensor_v<plain> && std::is_rvalue_reference_v<X&&>),
                      "spore: a temporary tensor in an expression would dangle; give it a name first");
        return as_expression(x);
    }
}

template <class X>
concept non_scalar_operand = !std::is_arithmetic_v<std::remove_cvref_t<X>> && operand<std::remove_cvref_t<X>>;
template <class X>
concept any_operand = std::is_arithmetic_v<std::remove_cvref_t<X>> || non_scalar_operand<X>;

template <class Op, class L, class R>
constexpr auto make_binary(L&& l, R&& r, Op operation = {}) {
    auto left = operand_expression<L, R>(std::forward<L>(l));
    auto right = operand_expression<R, L>(std::forward<R>(r));
    using LE = decltype(left);
    using RE = decltype(right);
    static_assert(std::is_same_v<typename LE::value_type, typename RE::value_type>,
                  "spore: both operands of an elementwise operation must have the same element type");
    using out = typename check_broadcastable<Op, typename LE::shape_type, typename RE::shape_type>::type;
    using A = decltype(broadcast_if_needed<out>(left));
    using B = decltype(broadcast_if_needed<out>(right));
    return binary<Op, A, B>{{}, broadcast_if_needed<out>(left), broadcast_if_needed<out>(right), operation};
}

template <class Op, class X>
constexpr auto make_unary(X&& x, Op operation = {}) {
    auto e = operand_expression<X, X>(std::forward<X>(x));
    return unary<Op, decltype(e)>{{}, e, operation};
}

}  // namespace spore::expr
