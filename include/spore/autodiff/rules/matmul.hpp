#pragma once
// Rules of matmul and transpose. C = op(A) op(B), op(A) [m, k], op(B) [k, n]:
//   d op(A) = dC op(B)^T [m, k],   d op(B) = op(A)^T dC [k, n],
// by GEMM, straight into the sink of a dense operand; one pair per batch item of a batched
// product (a batch times one matrix is a single product of all rows, so the matrix's gradient
// sums over the batch inside the GEMM). A transposed tensor that the matmul read
// in place (stored [k, m] or [n, k]) gets its gradient in its own layout:
//   dL = op(B) dC^T [k, m] for A = L^T,   dL = dC^T op(A) [n, k] for B = L^T.
// (When that transpose is a repeat of another occurrence, its leaf has no sink of its own:
// d op(X) then goes into the transpose's adjoint, and the transpose's rule adds it into L.)

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/matmul.hpp>

namespace spore::autodiff {

template <class A, class B>
struct heavy_rule<expr::matmul_node<A, B>> {
    using N = expr::matmul_node<A, B>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        using kernels::transpose;
        constexpr bool ta = expr::transposed_leaf_v<A>, tb = expr::transposed_leaf_v<B>;
        const T* dc = state.adjoint->data;
        const T* a = state.a.values;
        const T* b = state.b.values;
        // per batch item (a batch times a matrix is one product, batches == 1)
        const auto d_op_a = [&](T* out, bool accumulate) {
            for (std::size_t i = 0; i < N::batches; ++i)
                kernels::gemm(transpose::no, tb ? transpose::no : transpose::yes, N::m, N::k, N::n, T(1), dc + i * N::stride_c,
                              N::n, b + i * N::stride_b, N::ldb, accumulate ? T(1) : T(0), out + i * N::stride_a, N::k);
        };
        const auto d_op_b = [&](T* out, bool accumulate) {
            for (std::size_t i = 0; i < N::batches; ++i)
                kernels::gemm(ta ? transpose::no : transpose::yes, transpose::no, N::k, N::n, N::m, T(1), a + i * N::stride_a,
                              N::lda, dc + i * N::stride_c, N::n, accumulate ? T(1) : T(0), out + i * N::stride_b, N::n);
        };
        if constexpr (ta) {
            if (!state.a.alias)
                push_gradient(node.a.a, state.a.a, [&](T* out, bool accumulate) {
                    kernels::gemm(N::trans_b, transpose::yes, N::k, N::m, N::n, T(1), b, N::ldb, dc, N::n,
                                  accumulate ? T(1) : T(0), out, N::m);
                });
            else
                push_gradient(node.a, state.a, d_op_a);
        } else {
            push_gradient(node.a, state.a, d_op_a);
        }
        if constexpr (tb) {
            if (!state.b.alias)
                push_gradient(node.b.a, state.b.a, [&](T* out, bool accumulate) {
                    kernels::gemm(transpose::yes, N::trans_a, N::n, N::k, N::m, T(1), dc, N::n, a, N::lda,
                                  accumulate ? T(1) : T(0), out, N::k);
                });
            else
                push_gradient(node.b, state.b, d_op_b);
        } else {
            push_gradient(node.b, state.b, d_op_b);
        }
    }
};

template <class A>
struct heavy_rule<expr::transpose_node<A>> {
    using N = expr::transpose_node<A>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const N& node, S& state) {
        const T* dc = state.adjoint->data;
        push_gradient(node.a, state.a, [&](T* da, bool accumulate) {
            for (std::size_t i = 0; i < N::rows; ++i)
                for (std::size_t j = 0; j < N::cols; ++j)
                    da[i * N::cols + j] = accumulate ? da[i * N::cols + j] + dc[j * N::rows + i] : dc[j * N::rows + i];
        });
    }
};

}  // namespace spore::autodiff
