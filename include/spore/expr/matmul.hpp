#pragma once
// matmul(A, B) and transpose of a matrix. matmul takes matrices, A [M, K] x B [K, N] -> [M, N],
// or batches of them as torch.matmul: A [Bt, M, K] x B [Bt, K, N] -> [Bt, M, N], one product
// per batch item, and A [Bt, M, K] x B [K, N] -> [Bt, M, N], one B for every item, which is a
// single product of A's Bt * M rows. Both read their operands as dense memory and run through
// the GEMM kernel. Their rules: autodiff/rules/matmul.hpp.

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/kernels/counters.hpp>
#include <spore/kernels/gemm.hpp>

namespace spore::expr {

template <class LeftShape, class RightShape>
struct check_matmul {
    static constexpr bool ranks_ok = (LeftShape::rank == 2 && RightShape::rank == 2) ||
                                     (LeftShape::rank == 3 && (RightShape::rank == 2 || RightShape::rank == 3));
    static constexpr bool inner_ok = [] {
        if constexpr (ranks_ok) return LeftShape::extents[LeftShape::rank - 1] == RightShape::extents[RightShape::rank - 2];
        else return true;
    }();
    static constexpr bool batch_ok = [] {
        if constexpr (ranks_ok && RightShape::rank == 3) return LeftShape::extents[0] == RightShape::extents[0];
        else return true;
    }();
    static constexpr bool ok = ranks_ok && inner_ok && batch_ok;
    static_assert(ranks_ok, "spore: matmul takes two matrices [M, K] x [K, N], or a batch [B, M, K] times a batch "
                            "[B, K, N] or a matrix [K, N] (see check_matmul<left shape, right shape> above)");
    static_assert(inner_ok, "spore: matmul needs the columns of the left operand to equal the rows of the right "
                            "(see check_matmul<left shape, right shape> above)");
    static_assert(batch_ok, "spore: batched matmul needs both operands to have the same batch extent "
                            "(see check_matmul<left shape, right shape> above)");
};

template <class A>
struct transpose_node;

template <class E>
inline constexpr bool is_transpose_v = false;
template <class A>
inline constexpr bool is_transpose_v<transpose_node<A>> = true;

// A transpose of a tensor (a Dense layer's weight, say) that a matmul reads in place, as a
// transposed GEMM operand, rather than copying it transposed on every run.
template <class E>
inline constexpr bool transposed_leaf_v = false;
template <class A>
inline constexpr bool transposed_leaf_v<transpose_node<A>> = A::kind == node_kind::leaf;

template <class SA, class SB>
using matmul_shape = std::conditional_t<SA::rank == 3, shape<SA::extents[0], SA::extents[1], SB::extents[SB::rank - 1]>,
                                        shape<SA::extents[0], SB::extents[SB::rank - 1]>>;

template <class A, class B>
struct matmul_node
    : node_base<typename A::value_type, matmul_shape<typename A::shape_type, typename B::shape_type>, node_kind::heavy> {
    using T = typename A::value_type;
    using SA = typename A::shape_type;
    using SB = typename B::shape_type;
    // `batches` products of op(A) [m, k] and op(B) [k, n]; a batch A [Bt, M, K] times a matrix
    // is one product with m = Bt * M.
    static constexpr bool batched = SB::rank == 3;
    static constexpr std::size_t batches = batched ? SA::extents[0] : 1;
    static constexpr std::size_t k = SA::extents[SA::rank - 1];
    static constexpr std::size_t m = SA::size / k / batches;
    static constexpr std::size_t n = SB::extents[SB::rank - 1];
    static constexpr std::size_t stride_a = m * k, stride_b = k * n, stride_c = m * n;  // between batch items
    A a;
    B b;
    bool operator==(const matmul_node&) const = default;

    // How the GEMM reads each operand: a transposed leaf in place (stored [k, m] or [n, k]).
    template <class Child>
    static constexpr bool reads_in_place = transposed_leaf_v<Child>;
    static constexpr auto trans_a = transposed_leaf_v<A> ? kernels::transpose::yes : kernels::transpose::no;
    static constexpr auto trans_b = transposed_leaf_v<B> ? kernels::transpose::yes : kernels::transpose::no;
    static constexpr std::size_t lda = transposed_leaf_v<A> ? m : k;
    static constexpr std::size_t ldb = transposed_leaf_v<B> ? k : n;

    template <class S>
    void forward(S& state) const {
        if constexpr (transposed_leaf_v<A>) state.a.values = a.a.data;
        else read_operand(a, state.a);
        if constexpr (transposed_leaf_v<B>) state.b.values = b.a.data;
        else read_operand(b, state.b);
        T* c = state.mutable_value();
        for (std::size_t i = 0; i < batches; ++i)
            kernels::gemm(trans_a, trans_b, m, n, k, T(1), state.a.values + i * stride_a, lda, state.b.values + i * stride_b,
                          ldb, T(0), c + i * stride_c, n);
    }

    // MatMul, or Gemm when an operand is transposed; a bias added to the product is Gemm's C.
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        return product(graph, static_cast<const constant<T>*>(nullptr));
    }
    template <class Graph, class C>
    auto to_onnx_plus(Graph& graph, const C& bias) const -> typename Graph::value {
        return product(graph, &bias);
    }

private:
    template <class Graph, class C>
    auto product(Graph& graph, const C* bias) const -> typename Graph::value {
        if constexpr (SA::rank == 3) return batched_product(graph, bias);
        else return matrix_product(graph, bias);
    }

    // A batch: MatMul (numpy's batched product; a transposed weight is a Transpose node), then
    // Add for a bias. The batch axis of the result: axis 0 when it is both operands' (or the
    // left one's, times a matrix), axis 1 from the left's rows, axis 2 from the right's columns.
    template <class Graph, class C>
    auto batched_product(Graph& graph, const C* bias) const -> typename Graph::value {
        const auto x = graph.emit(a);
        const auto y = graph.emit(b);
        const int from_b = y.batch_axis < 0 ? -1 : y.batch_axis + (3 - static_cast<int>(SB::rank));  // as a result axis
        if (x.batch_axis == 2 || from_b == 1)
            graph.batch_error("MatMul sums over the batch axis of one operand against a fixed extent of the other");
        if (batched && (x.batch_axis == 0) != (from_b == 0))
            graph.batch_error("MatMul pairs the batch axis of one operand with a fixed batch extent of the other");
        if (x.batch_axis > 0 && from_b > 0) graph.batch_error("MatMul has the batch axis in both operands");
        int axis = x.batch_axis >= 0 ? x.batch_axis : from_b;
        std::string out = graph.node("MatMul", {x.name, y.name});
        if (bias) {
            using out_shape = typename matmul_node::shape_type;
            const auto c = graph.emit(*bias);
            axis = graph.elementwise_batch_axis("Add", Graph::template dims_of<out_shape>(),
                                                {{axis, Graph::template dims_of<out_shape>()},
                                                 {c.batch_axis, Graph::template dims_of<typename C::shape_type>()}});
            out = graph.node("Add", {out, c.name});
        }
        return {out, axis};
    }

    template <class Graph, class C>
    auto matrix_product(Graph& graph, const C* bias) const -> typename Graph::value {
        constexpr bool ta = is_transpose_v<A>, tb = is_transpose_v<B>;
        const auto x = [&] {
            if constexpr (ta) return graph.emit(a.a);
            else return graph.emit(a);
        }();
        const auto y = [&] {
            if constexpr (tb) return graph.emit(b.a);
            else return graph.emit(b);
        }();
        // the batch axis as an axis of op(A) [m, k] and op(B) [k, n]
        const int axis_a = x.batch_axis < 0 ? -1 : (ta ? 1 - x.batch_axis : x.batch_axis);
        const int axis_b = y.batch_axis < 0 ? -1 : (tb ? 1 - y.batch_axis : y.batch_axis);
        const std::string_view op = bias || ta || tb ? "Gemm" : "MatMul";
        if ((axis_a == 1) != (axis_b == 0))
            graph.batch_error(spore::detail::concat({op, " sums over the batch axis of one operand against a fixed extent of the other"}));
        if (axis_a == 0 && axis_b == 1) graph.batch_error(spore::detail::concat({op, " has the batch axis in both operands"}));
        int axis = axis_a == 0 ? 0 : (axis_b == 1 ? 1 : -1);
        std::vector<std::string> inputs{x.name, y.name};
        if (bias) {
            const auto c = graph.emit(*bias);
            axis = graph.elementwise_batch_axis("Gemm", Graph::template dims_of<typename matmul_node::shape_type>(),
                                                {{axis, Graph::template dims_of<typename matmul_node::shape_type>()},
                                                 {c.batch_axis, Graph::template dims_of<typename C::shape_type>()}});
            inputs.push_back(c.name);
        }
        if (op == "MatMul") return {graph.node(op, std::move(inputs)), axis};
        std::vector<typename Graph::attribute> attributes;
        if (ta) attributes.push_back(graph.integer("transA", 1));
        if (tb) attributes.push_back(graph.integer("transB", 1));
        return {graph.node(op, std::move(inputs), std::move(attributes)), axis};
    }
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
        kernels::count(kernels::counters.transpose);
        const auto* in = read_operand(a, state.a);
        auto* out = state.mutable_value();
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) out[j * rows + i] = in[i * cols + j];
    }

    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        const auto x = graph.emit(a);
        return {graph.node("Transpose", {x.name}, {graph.integers("perm", {1, 0})}),
                x.batch_axis < 0 ? -1 : 1 - x.batch_axis};
    }
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
