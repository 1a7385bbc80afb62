#pragma once
// matmul(A [M, K], B [K, N]) -> [M, N], and transpose of a matrix. Both read their operands as
// dense memory and run through the GEMM kernel.

#include <cstddef>

#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/kernels/gemm.hpp>

namespace spore::expr {

template <class LeftShape, class RightShape>
struct check_matmul {
    static constexpr bool ok = LeftShape::rank == 2 && RightShape::rank == 2 &&
                               LeftShape::extents[LeftShape::rank - 1] == RightShape::extents[0];
    static_assert(LeftShape::rank == 2 && RightShape::rank == 2,
                  "spore: matmul takes two matrices (see check_matmul<left shape, right shape> above)");
    static_assert(ok, "spore: matmul needs the columns of the left operand to equal the rows of the right "
                      "(see check_matmul<left shape, right shape> above)");
};

template <class A>
struct transpose_node;

// A transpose of a tensor (a Dense layer's weight, say) that a matmul reads in place, as a
// transposed GEMM operand, rather than copying it transposed on every run.
template <class E>
inline constexpr bool transposed_leaf_v = false;
template <class A>
inline constexpr bool transposed_leaf_v<transpose_node<A>> = A::kind == node_kind::leaf;

template <class A, class B>
struct matmul_node : node_base<typename A::value_type,
                               shape<A::shape_type::extents[0], B::shape_type::extents[B::shape_type::rank - 1]>,
                               node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr std::size_t m = A::shape_type::extents[0];
    static constexpr std::size_t k = B::shape_type::extents[0];
    static constexpr std::size_t n = B::shape_type::extents[1];
    A a;
    B b;
    bool operator==(const matmul_node&) const = default;

    // How the GEMM reads each operand: a transposed leaf in place (stored [k, m] or [n, k]).
    static constexpr auto trans_a = transposed_leaf_v<A> ? kernels::transpose::yes : kernels::transpose::no;
    static constexpr auto trans_b = transposed_leaf_v<B> ? kernels::transpose::yes : kernels::transpose::no;
    static constexpr std::size_t lda = transposed_leaf_v<A> ? m : k;
    static constexpr std::size_t ldb = transposed_leaf_v<B> ? k : n;

    template <class S>
    void forward(S& state) const {
        if constexpr (transposed_leaf_v<A>) state.a_values = a.a.data;
        else state.a_values = operand_values(a, state.a, state.a_buffer);
        if constexpr (transposed_leaf_v<B>) state.b_values = b.a.data;
        else state.b_values = operand_values(b, state.b, state.b_buffer);
        kernels::gemm(trans_a, trans_b, m, n, k, T(1), state.a_values, lda, state.b_values, ldb, T(0),
                      state.mutable_value(), n);
    }
};

template <class A, class B>
struct state_of<matmul_node<A, B>> {
    struct type : heavy_state_base<typename A::value_type, typename matmul_node<A, B>::shape_type> {
        using T = typename A::value_type;
        state_t<A> a;
        state_t<B> b;
        operand_buffer<A> a_buffer, a_gradient;  // gradients go straight to dense operands
        operand_buffer<B> b_buffer, b_gradient;
        const T* a_values = nullptr;
        const T* b_values = nullptr;
        // after the operands are planned: a transposed leaf need not be materialised
        template <class P>
        void configure(P&) {
            if constexpr (transposed_leaf_v<A>) a.read_through = !a.alias && !a.aliased;
            if constexpr (transposed_leaf_v<B>) b.read_through = !b.alias && !b.aliased;
        }
        void allocate_buffers() {
            a_buffer.allocate();
            b_buffer.allocate();
            if (this->needs_grad) {
                a_gradient.allocate();
                b_gradient.allocate();
            }
        }
    };
};

template <class A>
struct transpose_node : node_base<typename A::value_type,
                                  shape<A::shape_type::extents[1], A::shape_type::extents[0]>, node_kind::heavy> {
    static_assert(A::shape_type::rank == 2, "spore: transpose takes a matrix");
    static constexpr std::size_t rows = A::shape_type::extents[0];
    static constexpr std::size_t cols = A::shape_type::extents[1];
    A a;
    bool operator==(const transpose_node&) const = default;

    template <class S>
    void forward(S& state) const {
        if (state.read_through) return;  // its only reader takes the operand in place
        kernels::count(kernels::counters.transpose);
        const auto* in = operand_values(a, state.a, state.a_buffer);
        auto* out = state.mutable_value();
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) out[j * rows + i] = in[i * cols + j];
    }
};

template <class A>
struct state_of<transpose_node<A>> {
    struct type : heavy_state_base<typename A::value_type, typename transpose_node<A>::shape_type> {
        state_t<A> a;
        operand_buffer<A> a_buffer;
        aligned_buffer<typename A::value_type> a_gradient;
        // Set by a matmul parent that reads the operand in place; cleared when another
        // occurrence aliases this one (its reader may need the values).
        bool read_through = false, aliased = false;
        void allocate_buffers() {
            a_buffer.allocate();
            if (this->needs_grad) a_gradient = aligned_buffer<typename A::value_type>(A::shape_type::size);
        }
    };
};

}  // namespace spore::expr

namespace spore {

template <expr::non_scalar_operand L, expr::non_scalar_operand R>
constexpr auto matmul(L&& l, R&& r) {
    auto a = expr::operand_expression<L, L>(std::forward<L>(l));
    auto b = expr::operand_expression<R, R>(std::forward<R>(r));
    using A = decltype(a);
    using B = decltype(b);
    static_assert(std::is_same_v<typename A::value_type, typename B::value_type>,
                  "spore: matmul operands must have the same element type");
    if constexpr (expr::check_matmul<typename A::shape_type, typename B::shape_type>::ok)
        return expr::matmul_node<A, B>{{}, a, b};
}

template <expr::non_scalar_operand X>
constexpr auto transpose(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    return expr::transpose_node<decltype(a)>{{}, a};
}

}  // namespace spore
