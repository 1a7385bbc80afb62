#pragma once
// concat<Axis>(a, b, ...): the operands joined along Axis (torch.cat(dim=Axis)); every other
// extent must agree. Two operands make one node; more are joined from the left,
// concat(concat(a, b), c), and exported as one ONNX Concat. Rule: autodiff/rules/concat.hpp.
//
// In row-major order an operand of shape [..., e, inner...] is, per index of the axes before
// Axis, one contiguous block of e * inner elements: the result is these blocks interleaved.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <spore/core/shape.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>

namespace spore::expr {

template <std::size_t Axis, class LeftShape, class RightShape>
struct check_concat {
    static constexpr bool axis_ok = Axis < LeftShape::rank && Axis < RightShape::rank;
    static constexpr bool ok = axis_ok && LeftShape::rank == RightShape::rank && [] {
        if constexpr (LeftShape::rank == RightShape::rank)
            for (std::size_t i = 0; i < LeftShape::rank; ++i)
                if (i != Axis && LeftShape::extents[i] != RightShape::extents[i]) return false;
        return true;
    }();
    static_assert(axis_ok, "spore: concat axis out of range (see check_concat<axis, left shape, right shape> above)");
    static_assert(!axis_ok || ok, "spore: concat needs operands of equal rank whose extents agree on every axis but "
                                  "the concatenation axis (see check_concat<axis, left shape, right shape> above)");
};

template <std::size_t Axis, class A, class B>
struct concat_node;
template <class E, std::size_t Axis>
inline constexpr bool is_concat_along = false;
template <std::size_t Axis, class A, class B>
inline constexpr bool is_concat_along<concat_node<Axis, A, B>, Axis> = true;

template <std::size_t Axis, class A, class B>
struct concat_node
    : node_base<typename A::value_type,
                typename shape_with_extent<typename A::shape_type, Axis,
                                     A::shape_type::extents[Axis] + B::shape_type::extents[Axis]>::type,
                node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr std::size_t axis = Axis;
    static constexpr std::size_t outer = outer_size_v<typename A::shape_type, Axis>;
    static constexpr std::size_t inner = inner_size_v<typename A::shape_type, Axis>;
    static constexpr std::size_t block_a = A::shape_type::extents[Axis] * inner;  // per block, from a
    static constexpr std::size_t block_b = B::shape_type::extents[Axis] * inner;  // and from b
    static constexpr std::size_t block = block_a + block_b;
    A a;
    B b;
    bool operator==(const concat_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* x = read_operand(a, state.a);
        const T* y = read_operand(b, state.b);
        T* out = state.mutable_value();
        for (std::size_t o = 0; o < outer; ++o) {
            std::copy_n(x + o * block_a, block_a, out + o * block);
            std::copy_n(y + o * block_b, block_b, out + o * block + block_a);
        }
    }

    // One Concat over every operand of a chain of concatenations along the same axis.
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        std::vector<typename Graph::value> parts;
        collect(graph, parts);
        std::vector<std::string> inputs;
        const int batch_axis = parts.front().batch_axis;
        for (const auto& p : parts) {
            if (p.batch_axis != batch_axis)
                graph.batch_error("Concat joins an operand that depends on the batch with one of fixed extent");
            inputs.push_back(p.name);
        }
        if (batch_axis == static_cast<int>(Axis)) graph.batch_error("Concat joins along the batch axis");
        return {graph.node("Concat", std::move(inputs), {graph.integer("axis", static_cast<std::int64_t>(Axis))}),
                batch_axis};
    }
    template <class Graph>
    void collect(Graph& graph, std::vector<typename Graph::value>& parts) const {
        collect_operand(graph, a, parts);
        collect_operand(graph, b, parts);
    }

private:
    template <class Graph, class E>
    static void collect_operand(Graph& graph, const E& e, std::vector<typename Graph::value>& parts) {
        if constexpr (is_concat_along<E, Axis>) e.collect(graph, parts);
        else parts.push_back(graph.emit(e));
    }
};

}  // namespace spore::expr

namespace spore {

template <std::size_t Axis, expr::non_scalar_operand X, expr::non_scalar_operand Y, expr::non_scalar_operand... Rest>
constexpr auto concat(X&& x, Y&& y, Rest&&... rest) {
    if constexpr (sizeof...(Rest) > 0) {
        return concat<Axis>(concat<Axis>(std::forward<X>(x), std::forward<Y>(y)), std::forward<Rest>(rest)...);
    } else {
        auto a = expr::operand_expression<X, X>(std::forward<X>(x));
        auto b = expr::operand_expression<Y, Y>(std::forward<Y>(y));
        using A = decltype(a);
        using B = decltype(b);
        static_assert(std::is_same_v<typename A::value_type, typename B::value_type>,
                      "spore: concat operands must have the same element type");
        if constexpr (expr::check_concat<Axis, typename A::shape_type, typename B::shape_type>::ok)
            return expr::concat_node<Axis, A, B>{{}, a, b};
    }
}

}  // namespace spore
