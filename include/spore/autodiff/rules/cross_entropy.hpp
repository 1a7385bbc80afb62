#pragma once
// Vector-Jacobian rule of the fused softmax cross-entropy, written once. With the smoothed
// target q = (1 - e) t + e sum(t) / C (t one-hot for integer labels; zero for an ignored row):
//   d logits = s * (softmax * sum(q) - q),    sum(q) = sum(t)
//   d targets = s * ((1 - e) (logsumexp - logits) + e (logsumexp - mean(logits)))
// with s the adjoint of the row's term (expr::row_loss_seed: g / counted rows for the mean).

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/cross_entropy.hpp>

namespace spore::autodiff {

template <expr::loss_reduction R, class A, class Y>
struct heavy_rule<expr::cross_entropy_node<R, A, Y>> {
    using N = expr::cross_entropy_node<R, A, Y>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        constexpr std::size_t rows = N::rows, classes = N::classes;
        if (state.counted_rows == 0) return;  // nothing was counted, so nothing depends on the inputs
        const T* g = state.adjoint->data;
        const T* p = state.probabilities.data();
        const auto* y = state.b.values;
        const T keep = T(1) - node.label_smoothing, spread = node.label_smoothing / T(classes);
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            for (std::size_t r = 0; r < rows; ++r) {
                T* out = dx + r * classes;
                const T* pr = p + r * classes;
                const T scale = expr::row_loss_seed<R>(g, state.counted_rows, r);
                if constexpr (N::integer_labels) {
                    if (y[r] == -1) {
                        if (!accumulate) std::fill_n(out, classes, T(0));
                        continue;
                    }
                    store_or_add(out, classes, accumulate, [&]<class V>(std::size_t j) {
                        return (simd::load<V>(pr + j) - simd::splat<V>(spread)) * simd::splat<V>(scale);
                    });
                    out[y[r]] -= scale * keep;
                } else {
                    const auto* t = y + r * classes;
                    expr::accumulator<expr::reductions::sum, T> sum;
                    expr::for_each_batch<T>(classes, [&]<class V>(std::size_t j) { sum.add(simd::load<V>(t + j)); });
                    const T weight = sum.result();
                    store_or_add(out, classes, accumulate, [&]<class V>(std::size_t j) {
                        return simd::splat<V>(scale) * ((simd::load<V>(pr + j) - simd::splat<V>(spread)) * simd::splat<V>(weight) -
                                                        simd::splat<V>(keep) * simd::load<V>(t + j));
                    });
                }
            }
        });
        if constexpr (!N::integer_labels) {
            push_gradient(node.b, state.b, [&](T* dt, bool accumulate) {
                for (std::size_t r = 0; r < rows; ++r) {
                    const T scale = expr::row_loss_seed<R>(g, state.counted_rows, r);
                    const T lse = state.log_sum_exp.data()[r];
                    const T* x = state.a.values + r * classes;
                    const T mean = node.label_smoothing != T(0) ? state.row_mean.data()[r] : T(0);
                    store_or_add(dt + r * classes, classes, accumulate, [&]<class V>(std::size_t j) {
                        return simd::splat<V>(scale) * (simd::splat<V>(keep) * (simd::splat<V>(lse) - simd::load<V>(x + j)) +
                                                        simd::splat<V>(node.label_smoothing * (lse - mean)));
                    });
                }
            });
        }
    }
};

}  // namespace spore::autodiff
