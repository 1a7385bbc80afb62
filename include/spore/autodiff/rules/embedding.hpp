#pragma once
// Rule of the embedding: each looked-up row's adjoint is added into its table row (a row picked
// twice receives both); the padding row receives nothing.

#include <algorithm>
#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/embedding.hpp>

namespace spore::autodiff {

template <class A, class Y>
struct heavy_rule<expr::embedding_node<A, Y>> {
    using N = expr::embedding_node<A, Y>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        const T* dy = state.adjoint->data;
        const auto* indices = state.b.values;
        push_gradient(node.a, state.a, [&](T* dtable, bool accumulate) {
            if (!accumulate) std::fill_n(dtable, A::shape_type::size, T(0));
            for (std::size_t i = 0; i < N::lookups; ++i) {
                const std::size_t row = std::size_t(indices[i]);
                if (row == node.padding_index) continue;
                T* target = dtable + row * N::dimension;
                const T* g = dy + i * N::dimension;
                simd::for_each_batch<T>(N::dimension, [&]<class V>(std::size_t j) {
                    simd::store(target + j, simd::load<V>(target + j) + simd::load<V>(g + j));
                });
            }
        });
    }
};

}  // namespace spore::autodiff
