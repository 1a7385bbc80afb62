#pragma once
// Vector-Jacobian rule of layer normalisation. Per row of D values, with
// x_hat = (x - mean) * inv_std and g = dy * weight:
//   dx = inv_std * (g - (sum(g) + x_hat * sum(g * x_hat)) / D)
// (the row's statistics depend on x); over all rows,
//   d weight = sum(dy * x_hat);   d bias = sum(dy).

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/layer_norm.hpp>

namespace spore::autodiff {

template <class A, class W, class B>
struct heavy_rule<expr::layer_norm_node<A, W, B>> {
    using N = expr::layer_norm_node<A, W, B>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        constexpr std::size_t width = N::width;
        const T* dy = state.adjoint->data;
        const T* x = state.a.values;
        const T* mean = state.mean.data();
        const T* inv_std = state.inv_std.data();
        auto xhat = [&]<class V>(std::size_t r, std::size_t j) {
            return (simd::load<V>(x + r * width + j) - simd::splat<V>(mean[r])) * simd::splat<V>(inv_std[r]);
        };
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            const T* w = state.b.values;
            for (std::size_t r = 0; r < N::rows; ++r) {
                const T* d = dy + r * width;
                expr::accumulator<expr::reductions::sum, T> g, gx;
                expr::for_each_batch<T>(width, [&]<class V>(std::size_t j) {
                    const V gj = simd::load<V>(d + j) * simd::load<V>(w + j);
                    g.add(gj);
                    gx.add(gj * xhat.template operator()<V>(r, j));
                });
                const T shift = g.result() / T(width), slope = gx.result() / T(width), s = inv_std[r];
                store_or_add(dx + r * width, width, accumulate, [&]<class V>(std::size_t j) {
                    const V gj = simd::load<V>(d + j) * simd::load<V>(w + j);
                    return simd::splat<V>(s) *
                           (gj - simd::splat<V>(shift) - xhat.template operator()<V>(r, j) * simd::splat<V>(slope));
                });
            }
        });
        push_gradient(node.b, state.b, [&](T* dw, bool accumulate) {
            for (std::size_t r = 0; r < N::rows; ++r)
                store_or_add(dw, width, accumulate || r > 0, [&]<class V>(std::size_t j) {
                    return simd::load<V>(dy + r * width + j) * xhat.template operator()<V>(r, j);
                });
        });
        push_gradient(node.c, state.c, [&](T* db, bool accumulate) {
            for (std::size_t r = 0; r < N::rows; ++r)
                store_or_add(db, width, accumulate || r > 0,
                             [&]<class V>(std::size_t j) { return simd::load<V>(dy + r * width + j); });
        });
    }
};

}  // namespace spore::autodiff
