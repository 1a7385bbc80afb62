#pragma once
// Rule of concatenation: each operand's adjoint is its blocks of the result's adjoint.

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/concat.hpp>

namespace spore::autodiff {

template <std::size_t Axis, class A, class B>
struct heavy_rule<expr::concat_node<Axis, A, B>> {
    using N = expr::concat_node<Axis, A, B>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        const T* dy = state.adjoint->data;
        const auto part = [&](std::size_t block, std::size_t start) {
            return [=](T* dx, bool accumulate) {
                for (std::size_t o = 0; o < N::outer; ++o) {
                    const T* from = dy + o * N::block + start;
                    store_or_add(dx + o * block, block, accumulate,
                                 [&]<class V>(std::size_t j) { return simd::load<V>(from + j); });
                }
            };
        };
        push_gradient(node.a, state.a, part(N::block_a, 0));
        push_gradient(node.b, state.b, part(N::block_b, N::block_a));
    }
};

}  // namespace spore::autodiff
