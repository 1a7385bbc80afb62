#pragma once
// Vector-Jacobian rules of convolution and pooling.

#include <spore/autodiff/heavy_rules.hpp>
#include <spore/expr/conv.hpp>

namespace spore::autodiff {

// dx = conv_transpose(dy, w); dw = sum_n dy[n] col(x[n])^T; db = sum of dy.
template <std::size_t Stride, std::size_t Padding, class X, class W, class C, class S>
void vjp(const expr::conv2d_node<Stride, Padding, X, W, C>& node, S& state) {
    using N = expr::conv2d_node<Stride, Padding, X, W, C>;
    using T = typename X::value_type;
    const T* dy = state.adjoint->data;
    push_gradient(node.a, state.a, state.x_gradient.data(), [&](T* out, bool accumulate) {
        kernels::conv2d_backward_input(N::geometry, N::batch, dy, state.w_values, out, accumulate);
    });
    const bool want_w = expr::needs_grad(node.b, state.b), want_b = expr::needs_grad(node.c, state.c);
    if (!want_w && !want_b) return;
    expr::sink<T>* w_sink = nullptr;
    expr::sink<T>* b_sink = nullptr;
    if constexpr (expr::is_dense_v<W>)
        if (want_w) w_sink = sink_of(node.b, state.b);
    if constexpr (expr::is_dense_v<C>)
        if (want_b) b_sink = sink_of(node.c, state.c);
    const bool add_w = w_sink && !w_sink->begin_write(true);
    const bool add_b = b_sink && !b_sink->begin_write(true);
    T* dw = w_sink ? w_sink->data : state.w_gradient.data();
    T* db = b_sink ? b_sink->data : (N::has_bias ? state.bias_gradient.data() : nullptr);
    if (want_w)
        kernels::conv2d_backward_weight(N::geometry, N::batch, state.x_values, dy, dw, add_w,
                                        state.weight_scratch.data());
    if (want_b) kernels::conv2d_backward_bias(N::geometry, N::batch, dy, db, add_b);
    if constexpr (!expr::is_dense_v<W>)
        if (want_w)
            backprop_region(node.b, state.b, [&](std::size_t base) { return buffer_seed<T>{dw + base}; });
    if constexpr (!expr::is_dense_v<C> && N::has_bias)
        if (want_b)
            backprop_region(node.c, state.c, [&](std::size_t base) { return buffer_seed<T>{db + base}; });
}

template <expr::pooling Kind, std::size_t Kernel, std::size_t Stride, class A, class S>
void vjp(const expr::pool2d_node<Kind, Kernel, Stride, A>& node, S& state) {
    using N = expr::pool2d_node<Kind, Kernel, Stride, A>;
    using T = typename A::value_type;
    const T* dy = state.adjoint->data;
    push_gradient(node.a, state.a, state.a_gradient.data(), [&](T* out, bool accumulate) {
        if constexpr (Kind == expr::pooling::max)
            kernels::max_pool2d_backward(N::geometry, dy, state.where.data(), out, accumulate);
        else
            kernels::avg_pool2d_backward(N::geometry, dy, out, accumulate);
    });
}

}  // namespace spore::autodiff
