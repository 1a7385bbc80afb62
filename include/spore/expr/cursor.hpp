#pragma once
// Cursors: how a fused loop reads a subtree. A loop walks its output row by row (or as one
// long row when the subtree is flat); for each row it makes a cursor tree once, and then asks
// it for values at offsets j within the row, as scalars or as SIMD batches.
// `Splat` marks a subtree read through a broadcast of the last axis: it yields the value at
// the row start for every j.

#include <cstddef>

#include <spore/core/config.hpp>
#include <spore/expr/state.hpp>
#include <spore/kernels/simd.hpp>

namespace spore::expr {

template <class V>
struct leaf_values {
    V out;
};

// Reads a dense buffer: a tensor or a heavy node's materialised value.
template <class T, bool Splat>
struct buffer_cursor {
    static constexpr bool splat = Splat;
    const T* value;
    T* grad;  // same offset in the gradient sink, or null
    write_mode mode;

    template <class V>
    SPORE_ALWAYS_INLINE leaf_values<V> forward(std::size_t j) const {
        if constexpr (Splat) return {simd::splat<V>(*value)};
        else return {simd::load<V>(value + j)};
    }
};

template <class T>
struct constant_cursor {
    T value;
    template <class V>
    SPORE_ALWAYS_INLINE leaf_values<V> forward(std::size_t) const {
        return {simd::splat<V>(value)};
    }
};

template <bool Splat, class E, class S>
SPORE_ALWAYS_INLINE auto make_cursor(const E& node, S& state, std::size_t base) {
    using T = typename E::value_type;
    if constexpr (E::kind == node_kind::leaf) {
        return buffer_cursor<T, Splat>{node.data + base, state.grad ? state.grad->data + base : nullptr, state.mode};
    } else if constexpr (E::kind == node_kind::constant) {
        return constant_cursor<T>{node.value};
    } else if constexpr (E::kind == node_kind::heavy) {
        return buffer_cursor<T, Splat>{state.value + base, state.adjoint ? state.adjoint->data + base : nullptr,
                                       state.mode};
    } else {
        return node.template cursor<Splat>(state, base);
    }
}

// Runs body(cursor, row_base, row_length) for each row of E's output. One long row when E is
// flat, unless the caller needs rows (axis reductions, softmax).
template <bool ForceRows = false, class E, class S, class Body>
SPORE_ALWAYS_INLINE void for_each_row(const E& node, S& state, Body&& body) {
    using shape_type = typename E::shape_type;
    if constexpr (is_flat_v<E> && !ForceRows) {
        body(make_cursor<false>(node, state, 0), std::size_t{0}, shape_type::size);
    } else {
        constexpr std::size_t length = shape_type::last();
        for (std::size_t base = 0; base < shape_type::size; base += length)
            body(make_cursor<false>(node, state, base), base, length);
    }
}

// SIMD batches, then a scalar tail (kernels/simd.hpp).
using simd::for_each_batch;

// Writes an expression's value into dense memory of its shape.
template <class E, class S>
void evaluate_region(const E& node, S& state, typename E::value_type* out) {
    using T = typename E::value_type;
    for_each_row(node, state, [&](const auto& cursor, std::size_t base, std::size_t length) {
        T* row = out + base;
        for_each_batch<T>(length, [&]<class V>(std::size_t j) { simd::store(row + j, cursor.template forward<V>(j).out); });
    });
}

}  // namespace spore::expr
