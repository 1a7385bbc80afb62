#pragma once
// Rule of slicing: the adjoint goes back into the sliced range of each block; the rest of the
// operand's gradient is zero.

#include <algorithm>
#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/slice.hpp>

namespace spore::autodiff {

template <std::size_t Axis, std::size_t Begin, std::size_t End, class A>
struct heavy_rule<expr::slice_node<Axis, Begin, End, A>> {
    using N = expr::slice_node<Axis, Begin, End, A>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        const T* dy = state.adjoint->data;
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            if (!accumulate) std::fill_n(dx, A::shape_type::size, T(0));
            for (std::size_t o = 0; o < N::outer; ++o) {
                const T* from = dy + o * N::block_out;
                store_or_add(dx + o * N::block_in + N::offset, N::block_out, accumulate,
                             [&]<class V>(std::size_t j) { return simd::load<V>(from + j); });
            }
        });
    }
};

}  // namespace spore::autodiff
