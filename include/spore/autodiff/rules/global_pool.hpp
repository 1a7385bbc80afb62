#pragma once
// Rule of global average pooling: each plane's adjoint, divided by the plane's size, spread
// over the plane.

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/global_pool.hpp>

namespace spore::autodiff {

template <class A>
struct heavy_rule<expr::global_avg_pool_node<A>> {
    using N = expr::global_avg_pool_node<A>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        const T* dy = state.adjoint->data;
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            for (std::size_t p = 0; p < N::planes; ++p) {
                const T share = dy[p] / T(N::plane);
                store_or_add(dx + p * N::plane, N::plane, accumulate, [&]<class V>(std::size_t) { return simd::splat<V>(share); });
            }
        });
    }
};

}  // namespace spore::autodiff
