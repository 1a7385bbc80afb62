#pragma once
// Rule of conv2d: dx = conv_transpose(dy, w); dw = sum_n dy[n] col(x[n])^T; db = sum of dy.

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/conv.hpp>

namespace spore::autodiff {

template <std::size_t Stride, std::size_t Padding, class X, class W, class C>
struct heavy_rule<expr::conv2d_node<Stride, Padding, X, W, C>> {
    using N = expr::conv2d_node<Stride, Padding, X, W, C>;
    using T = typename X::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        const T* dy = state.adjoint->data;
        push_gradient(node.a, state.a, [&](T* out, bool accumulate) {
            kernels::conv2d_backward_input(N::geometry, N::batch, dy, state.b.values, out, accumulate);
        });
        const bool want_w = expr::needs_grad(node.b, state.b), want_b = expr::needs_grad(node.c, state.c);
        if (!want_w && !want_b) return;
        // One kernel pass gives both; a gradient nobody wants goes to scratch.
        T* dw = state.unwanted.data();
        T* db = N::has_bias ? state.unwanted.data() + W::shape_type::size : nullptr;
        bool add_w = false, add_b = false;
        if (want_w) {
            if constexpr (expr::is_dense_v<W>) {
                auto* sink = sink_of(node.b, state.b);
                dw = sink->data;
                add_w = !sink->begin_write(true);
            } else {
                dw = state.b.gradient.data();
            }
        }
        if (want_b) {
            if constexpr (expr::is_dense_v<C>) {
                auto* sink = sink_of(node.c, state.c);
                db = sink->data;
                add_b = !sink->begin_write(true);
            } else {
                db = state.c.gradient.data();
            }
        }
        kernels::conv2d_backward_weight(N::geometry, N::batch, state.a.values, dy, dw, db, add_w, add_b,
                                        state.weight_partials.data());
        if constexpr (!expr::is_dense_v<W>)
            if (want_w) backprop_region(node.b, state.b, [&](std::size_t base) { return buffer_seed<T>{dw + base}; });
        if constexpr (!expr::is_dense_v<C> && N::has_bias)
            if (want_b) backprop_region(node.c, state.c, [&](std::size_t base) { return buffer_seed<T>{db + base}; });
    }
};

}  // namespace spore::autodiff
