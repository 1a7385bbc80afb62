#pragma once
// Rule of the negative log-likelihood: the adjoint of x[n, label n] is -g / counted rows (mean),
// -g (sum) or -g[n] (none); every other element's is 0.

#include <algorithm>
#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/nll.hpp>

namespace spore::autodiff {

template <expr::loss_reduction R, class A, class Y>
struct heavy_rule<expr::nll_node<R, A, Y>> {
    using N = expr::nll_node<R, A, Y>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        if constexpr (R == expr::loss_reduction::mean)
            if (state.counted_rows == 0) return;  // nothing depends on the inputs
        const T* g = state.adjoint->data;
        const auto* y = state.b.values;
        push_gradient(node.a, state.a, [&](T* dx, bool accumulate) {
            if (!accumulate) std::fill_n(dx, A::shape_type::size, T(0));
            for (std::size_t r = 0; r < N::rows; ++r) {
                if (y[r] == -1) continue;
                dx[r * N::classes + std::size_t(y[r])] -= expr::row_loss_seed<R>(g, state.counted_rows, r);
            }
        });
    }
};

}  // namespace spore::autodiff
