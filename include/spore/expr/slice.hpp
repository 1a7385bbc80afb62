#pragma once
// slice<Axis, Begin, End>(x): the elements of x with index Begin <= i < End along Axis
// (x[..., Begin:End, ...] in numpy and PyTorch), every other axis whole. Rule:
// autodiff/rules/slice.hpp.
//
// In row-major order x is outer_size_v blocks of extents[Axis] * inner elements; the result
// takes (End - Begin) * inner elements from each block, starting at Begin * inner.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <spore/core/shape.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>

namespace spore::expr {

template <std::size_t Axis, std::size_t Begin, std::size_t End, class Shape>
struct check_slice {
    static constexpr bool axis_ok = Axis < Shape::rank;
    static constexpr bool ok = axis_ok && Begin < End && End <= Shape::extents[axis_ok ? Axis : 0];
    static_assert(axis_ok, "spore: slice axis out of range (see check_slice<axis, begin, end, shape> above)");
    static_assert(!axis_ok || ok, "spore: slice needs begin < end <= the extent of the axis "
                                  "(see check_slice<axis, begin, end, shape> above)");
};

template <std::size_t Axis, std::size_t Begin, std::size_t End, class A>
struct slice_node : node_base<typename A::value_type, typename shape_with_extent<typename A::shape_type, Axis, End - Begin>::type,
                              node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr std::size_t outer = outer_size_v<typename A::shape_type, Axis>;
    static constexpr std::size_t inner = inner_size_v<typename A::shape_type, Axis>;
    static constexpr std::size_t block_in = A::shape_type::extents[Axis] * inner;  // per block of x
    static constexpr std::size_t block_out = (End - Begin) * inner;                // of the result
    static constexpr std::size_t offset = Begin * inner;                          // where it starts
    A a;
    bool operator==(const slice_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* x = read_operand(a, state.a);
        T* out = state.mutable_value();
        for (std::size_t o = 0; o < outer; ++o) std::copy_n(x + o * block_in + offset, block_out, out + o * block_out);
    }

    // Slice of operator set 10 and later: starts, ends and axes are inputs (int64 tensors).
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        const auto x = graph.emit(a);
        if (x.batch_axis == static_cast<int>(Axis)) graph.batch_error("Slice cuts the batch axis to a fixed extent");
        return {graph.node("Slice", {x.name, graph.int64_initializer("starts", {static_cast<std::int64_t>(Begin)}),
                                     graph.int64_initializer("ends", {static_cast<std::int64_t>(End)}),
                                     graph.int64_initializer("axes", {static_cast<std::int64_t>(Axis)})}),
                x.batch_axis};
    }
};

}  // namespace spore::expr

namespace spore {

template <std::size_t Axis, std::size_t Begin, std::size_t End, expr::non_scalar_operand X>
constexpr auto slice(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    using A = decltype(a);
    if constexpr (expr::check_slice<Axis, Begin, End, typename A::shape_type>::ok)
        return expr::slice_node<Axis, Begin, End, A>{{}, a};
}

}  // namespace spore
