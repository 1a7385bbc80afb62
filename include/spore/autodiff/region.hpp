#pragma once
// Backward through an elementwise region. The adjoint of a region is never stored: one loop
// recomputes the region's values in registers, runs its vector-Jacobian rules from the seed
// (the adjoint flowing in from above) down to the region's boundary, and writes there: into a
// leaf's gradient or a heavy node's adjoint buffer. The rules are the operations' own
// (vjp, vjp_a, vjp_b in expr/elementwise_ops.hpp).

#include <cstddef>

#include <spore/expr/cursor.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/expr/plan.hpp>

namespace spore::autodiff {

using expr::node_kind;
using expr::write_mode;

// Declared first: the overloads call each other, and argument-dependent lookup would not find
// them from spore::expr's cursor types.
template <class Op, class CA, class V, class Values>
void backprop(const expr::unary_cursor<Op, CA>& c, std::size_t j, const Values& v, const V& g);
template <class Op, class CA, class CB, class V, class Values>
void backprop(const expr::binary_cursor<Op, CA, CB>& c, std::size_t j, const Values& v, const V& g);

template <class T, bool Splat, class V>
SPORE_ALWAYS_INLINE void backprop(const expr::buffer_cursor<T, Splat>& c, std::size_t j, const expr::leaf_values<V>&,
                                  const V& g) {
    if (c.mode == write_mode::skip) return;
    if constexpr (Splat) {
        *c.grad += simd::hsum(g);  // a broadcast value: its adjoint is the sum over its copies
    } else if (c.mode == write_mode::assign) {
        simd::store(c.grad + j, g);
    } else {
        simd::store(c.grad + j, simd::load<V>(c.grad + j) + g);
    }
}

template <class T, class V>
SPORE_ALWAYS_INLINE void backprop(const expr::constant_cursor<T>&, std::size_t, const expr::leaf_values<V>&, const V&) {}

template <class Op, class CA, class V, class Values>
SPORE_ALWAYS_INLINE void backprop(const expr::unary_cursor<Op, CA>& c, std::size_t j, const Values& v, const V& g) {
    backprop(c.a, j, v.a, c.operation.vjp(v.a.out, v.out, g));
}

template <class Op, class CA, class CB, class V, class Values>
SPORE_ALWAYS_INLINE void backprop(const expr::binary_cursor<Op, CA, CB>& c, std::size_t j, const Values& v,
                                  const V& g) {
    // Both adjoints are formed before either is written, so no store can disturb a read.
    const V ga = c.operation.vjp_a(v.a.out, v.b.out, v.out, g);
    const V gb = c.operation.vjp_b(v.a.out, v.b.out, v.out, g);
    backprop(c.a, j, v.a, ga);
    backprop(c.b, j, v.b, gb);
}

// Decides, before a region's loop, how each boundary site writes: a site reached without a
// broadcast covers its target once per element and may store when it is the first writer.
template <class E, class S>
void begin_region(const E& node, S& state, bool covers_each_element_once) {
    if constexpr (E::kind == node_kind::leaf) {
        state.mode = expr::begin_write(state.grad, covers_each_element_once);
    } else if constexpr (E::kind == node_kind::heavy) {
        state.mode = expr::begin_write(state.adjoint, covers_each_element_once);
    } else if constexpr (E::kind == node_kind::elementwise) {
        const bool once = covers_each_element_once && !expr::is_broadcast_v<E>;
        expr::for_each_child(node, state, [&](const auto& child, auto& child_state) { begin_region(child, child_state, once); });
    }
}

// Seeds: the adjoint of the region's output at offset j of a row; `out` is the region's value
// there, which some rules need (max).
template <class T>
struct constant_seed {
    T value;
    template <class V>
    SPORE_ALWAYS_INLINE V at(std::size_t, const V&) const {
        return simd::splat<V>(value);
    }
};
template <class T>
struct buffer_seed {
    const T* adjoint;
    template <class V>
    SPORE_ALWAYS_INLINE V at(std::size_t j, const V&) const {
        return simd::load<V>(adjoint + j);
    }
};

// Runs the backward loop of the region rooted at `node`; seed_at(row_base) gives the seed of
// a row. With ForceRows the loop goes row by row even through a flat region.
template <bool ForceRows = false, class E, class S, class SeedAt>
void backprop_region(const E& node, S& state, SeedAt&& seed_at) {
    using T = typename E::value_type;
    if (!expr::needs_grad(node, state)) return;
    begin_region(node, state, true);
    expr::for_each_row<ForceRows>(node, state, [&](const auto& cursor, std::size_t base, std::size_t length) {
        const auto seed = seed_at(base);
        expr::for_each_batch<T>(length, [&]<class V>(std::size_t j) {
            const auto values = cursor.template forward<V>(j);
            backprop(cursor, j, values, seed.template at<V>(j, values.out));
        });
    });
}

}  // namespace spore::autodiff
