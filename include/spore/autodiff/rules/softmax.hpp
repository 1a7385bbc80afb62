#pragma once
// Rule of softmax and log_softmax, per row: softmax dx = y * (g - sum(g * y));
// log_softmax dx = g - exp(y) * sum(g).

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/softmax.hpp>

namespace spore::autodiff {

template <bool Log, class A>
struct heavy_rule<expr::softmax_node<Log, A>> {
    using N = expr::softmax_node<Log, A>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        const T* y = state.value;
        const T* g = state.adjoint->data;
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            for (std::size_t base = 0; base < A::shape_type::size; base += N::row_length) {
                T dot = 0;
                expr::for_each_batch<T>(N::row_length, [&]<class V>(std::size_t j) {
                    V gj = simd::load<V>(g + base + j);
                    dot += simd::hsum(Log ? gj : gj * simd::load<V>(y + base + j));
                });
                store_or_add(dx + base, N::row_length, accumulate, [&]<class V>(std::size_t j) {
                    V gj = simd::load<V>(g + base + j), yj = simd::load<V>(y + base + j);
                    return Log ? gj - simd::exp(yj) * simd::splat<V>(dot) : yj * (gj - simd::splat<V>(dot));
                });
            }
        });
    }
};

}  // namespace spore::autodiff
