#pragma once
// Vector-Jacobian rule of batch normalisation (BatchNorm1d and BatchNorm2d: any input
// [N, C, ...]). With x_hat = (x - mean) * inv_std, per channel over its n values (the batch
// and the axes after 1):
//   d bias = sum(dy);   d weight = sum(dy * x_hat)
//   dx = weight * inv_std * (dy - (sum(dy) + x_hat * sum(dy * x_hat)) / n)   in training mode,
//        where the batch statistics depend on x;
//   dx = weight * inv_std * dy                                               in evaluation mode.

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/batch_norm.hpp>

namespace spore::autodiff {

template <class A, class W, class B>
struct heavy_rule<expr::batch_norm_node<A, W, B>> {
    using N = expr::batch_norm_node<A, W, B>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        constexpr std::size_t channels = N::channels;
        const T* dy = state.adjoint->data;
        const T* x = state.a.values;
        const T* mean = state.mean.data();
        const T* inv_std = state.inv_std.data();
        T* sum_dy = state.sum_dy.data();
        T* sum_dy_xhat = state.sum_dy_xhat.data();
        for (std::size_t ch = 0; ch < channels; ++ch) {
            expr::accumulator<expr::reductions::sum, T> g, gx;
            const T mu = mean[ch];
            for (std::size_t n = 0; n < N::batch; ++n) {
                const std::size_t offset = (n * channels + ch) * N::plane;
                expr::for_each_batch<T>(N::plane, [&]<class V>(std::size_t j) {
                    const V d = simd::load<V>(dy + offset + j);
                    g.add(d);
                    gx.add(d * (simd::load<V>(x + offset + j) - simd::splat<V>(mu)));
                });
            }
            sum_dy[ch] = g.result();
            sum_dy_xhat[ch] = gx.result() * inv_std[ch];
        }
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            const T* w = state.b.values;
            const T batch_terms = state.training ? T(1) / T(N::count) : T(0);
            for (std::size_t ch = 0; ch < channels; ++ch) {
                const T scale = w[ch] * inv_std[ch], s = inv_std[ch], mu = mean[ch];
                const T shift = sum_dy[ch] * batch_terms, slope = sum_dy_xhat[ch] * batch_terms;
                for (std::size_t n = 0; n < N::batch; ++n) {
                    const std::size_t offset = (n * channels + ch) * N::plane;
                    store_or_add(dx + offset, N::plane, accumulate, [&]<class V>(std::size_t j) {
                        const V xhat = (simd::load<V>(x + offset + j) - simd::splat<V>(mu)) * simd::splat<V>(s);
                        return simd::splat<V>(scale) *
                               (simd::load<V>(dy + offset + j) - simd::splat<V>(shift) - xhat * simd::splat<V>(slope));
                    });
                }
            }
        });
        push_gradient(node.b, state.b, [&](T* dw, bool accumulate) {
            for (std::size_t ch = 0; ch < channels; ++ch) dw[ch] = (accumulate ? dw[ch] : T(0)) + sum_dy_xhat[ch];
        });
        push_gradient(node.c, state.c, [&](T* db, bool accumulate) {
            for (std::size_t ch = 0; ch < channels; ++ch) db[ch] = (accumulate ? db[ch] : T(0)) + sum_dy[ch];
        });
    }
};

}  // namespace spore::autodiff
