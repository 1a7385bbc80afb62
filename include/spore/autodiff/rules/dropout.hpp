#pragma once
// Vector-Jacobian rule of dropout: dx = dy * mask in training (the mask already holds
// 1 / (1 - p) for kept elements), dx = dy in evaluation.

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/dropout.hpp>

namespace spore::autodiff {

template <class A>
struct heavy_rule<expr::dropout_node<A>> {
    template <class S>
    static void vjp(const expr::dropout_node<A>& node, S& state) {
        using T = typename A::value_type;
        constexpr std::size_t size = A::shape_type::size;
        const T* dy = state.adjoint->data;
        const T* mask = state.mask.data();
        const bool masked = state.training && node.probability != 0.0;
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            store_or_add(dx, size, accumulate, [&]<class V>(std::size_t j) {
                const V d = simd::load<V>(dy + j);
                return masked ? d * simd::load<V>(mask + j) : d;
            });
        });
    }
};

}  // namespace spore::autodiff
