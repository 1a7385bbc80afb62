#pragma once
// Rule of conv2d: dx = conv_transpose(dy, w); dw = sum_n dy[n] col(x[n])^T; db = sum of dy.
// Each is computed only when wanted.

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
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            kernels::conv2d_backward_input(N::geometry, N::batch, dy, state.b.values, dx, accumulate);
        });
        push_gradient(node.b, state.b, [&](T* dw, bool accumulate) {
            kernels::conv2d_backward_weight(N::geometry, N::batch, state.a.values, dy, dw, accumulate,
                                            state.weight_partials.data());
        });
        if constexpr (N::has_bias)
            push_gradient(node.c, state.c, [&](T* db, bool accumulate) {
                kernels::conv2d_backward_bias(N::geometry, N::batch, dy, db, accumulate);
            });
    }
};

}  // namespace spore::autodiff
