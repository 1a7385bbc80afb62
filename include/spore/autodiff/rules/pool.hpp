#pragma once
// Rules of pooling: max pooling sends each window's adjoint to its argmax (kept by the forward
// pass); average pooling spreads it evenly over the window.

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/pool.hpp>

namespace spore::autodiff {

template <expr::pooling Kind, std::size_t Kernel, std::size_t Stride, class A>
struct heavy_rule<expr::pool2d_node<Kind, Kernel, Stride, A>> {
    using N = expr::pool2d_node<Kind, Kernel, Stride, A>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        const T* dy = state.adjoint->data;
        push_gradient(node.a, state.a, [&](T* out, bool accumulate) {
            if constexpr (Kind == expr::pooling::max)
                kernels::max_pool2d_backward(N::geometry, dy, state.where.data(), out, accumulate);
            else
                kernels::avg_pool2d_backward(N::geometry, dy, out, accumulate);
        });
    }
};

}  // namespace spore::autodiff
