#pragma once
// Vector-Jacobian rules of the heavy nodes. Each reads its own adjoint buffer (complete by the
// time it runs) and its forward value, and pushes adjoints into its operands: through a
// region loop, or, for matmul into a dense operand, straight from the GEMM.

#include <cstddef>

#include <spore/autodiff/region.hpp>
#include <spore/expr/matmul.hpp>
#include <spore/expr/reduce.hpp>
#include <spore/expr/reshape.hpp>
#include <spore/expr/softmax.hpp>

namespace spore::autodiff {

// Max passes its adjoint to the elements equal to the maximum.
template <class T, bool Splat>
struct max_seed {
    const T* maximum;
    const T* adjoint;
    template <class V>
    SPORE_ALWAYS_INLINE V at(std::size_t j, const V& out) const {
        const std::size_t at = Splat ? 0 : j;
        V m = Splat ? simd::splat<V>(*maximum) : simd::load<V>(maximum + at);
        V g = Splat ? simd::splat<V>(*adjoint) : simd::load<V>(adjoint + at);
        return simd::select_equal(out, m, g, simd::splat<V>(0));
    }
};
template <class T>
struct scaled_buffer_seed {
    const T* adjoint;
    T scale;
    template <class V>
    SPORE_ALWAYS_INLINE V at(std::size_t j, const V&) const {
        return simd::load<V>(adjoint + j) * simd::splat<V>(scale);
    }
};

template <class R, class A, class S>
void vjp(const expr::reduce_all<R, A>& node, S& state) {
    using T = typename A::value_type;
    const T g = state.adjoint->data[0];
    if constexpr (R::is_max) {
        backprop_region(node.a, state.a, [&](std::size_t) { return max_seed<T, true>{state.value, state.adjoint->data}; });
    } else {
        const T seed = std::is_same_v<R, expr::reductions::mean> ? g / T(A::shape_type::size) : g;
        backprop_region(node.a, state.a, [&](std::size_t) { return constant_seed<T>{seed}; });
    }
}

template <class R, std::size_t Axis, class A, class S>
void vjp(const expr::reduce_axis<R, Axis, A>& node, S& state) {
    using T = typename A::value_type;
    using N = expr::reduce_axis<R, Axis, A>;
    const T* adjoint = state.adjoint->data;
    const T scale = std::is_same_v<R, expr::reductions::mean> ? T(1) / T(A::shape_type::extents[Axis]) : T(1);
    backprop_region<true>(node.a, state.a, [&](std::size_t base) {
        const std::size_t at = N::last_axis ? base / A::shape_type::last() : N::output_offset(base);
        if constexpr (R::is_max) return max_seed<T, N::last_axis>{state.value + at, adjoint + at};
        else if constexpr (N::last_axis) return constant_seed<T>{adjoint[at] * scale};
        else return scaled_buffer_seed<T>{adjoint + at, scale};
    });
}

template <class E, class S>
expr::sink<typename E::value_type>* sink_of(const E&, S& state) {
    if constexpr (E::kind == node_kind::leaf) return state.grad;
    else return state.adjoint;
}

// Delivers an operand's gradient that compute(out, accumulate) writes (or adds) in full:
// straight into the sink of a dense operand, else into `scratch`, which then seeds the
// operand's region.
template <class E, class S, class Compute>
void push_gradient(const E& node, S& state, typename E::value_type* scratch, Compute&& compute) {
    using T = typename E::value_type;
    if (!expr::needs_grad(node, state)) return;
    if constexpr (expr::is_dense_v<E>) {
        auto* target = sink_of(node, state);
        compute(target->data, !target->begin_write(true));
    } else {
        compute(scratch, false);
        backprop_region(node, state, [&](std::size_t base) { return buffer_seed<T>{scratch + base}; });
    }
}

template <class A, class B, class S>
void vjp(const expr::matmul_node<A, B>& node, S& state) {
    using N = expr::matmul_node<A, B>;
    using T = typename A::value_type;
    using kernels::transpose;
    constexpr bool ta = expr::transposed_leaf_v<A>, tb = expr::transposed_leaf_v<B>;
    const T* dc = state.adjoint->data;
    // C = op(A) op(B), op(A) [m, k], op(B) [k, n]. A transposed leaf (stored [k, m] or [n, k])
    // gets its gradient directly, in its own layout:
    //   d op(A) = dC op(B)^T [m, k]   or, for A = L^T, dL = op(B) dC^T [k, m];
    //   d op(B) = op(A)^T dC [k, n]   or, for B = L^T, dL = dC^T op(A) [n, k].
    // (When the transpose is an alias of another occurrence, or aliased by one, it is
    // materialised and takes d op(X) like any operand, so its own rule adds it into L.)
    const auto d_op_a = [&](T* out, bool accumulate) {
        kernels::gemm(transpose::no, tb ? transpose::no : transpose::yes, N::m, N::k, N::n, T(1), dc, N::n,
                      state.b_values, N::ldb, accumulate ? T(1) : T(0), out, N::k);
    };
    const auto d_op_b = [&](T* out, bool accumulate) {
        kernels::gemm(ta ? transpose::no : transpose::yes, transpose::no, N::k, N::n, N::m, T(1), state.a_values,
                      N::lda, dc, N::n, accumulate ? T(1) : T(0), out, N::n);
    };
    if constexpr (ta) {
        if (state.a.read_through)
            push_gradient(node.a.a, state.a.a, nullptr, [&](T* out, bool accumulate) {
                kernels::gemm(N::trans_b, transpose::yes, N::k, N::m, N::n, T(1), state.b_values, N::ldb, dc, N::n,
                              accumulate ? T(1) : T(0), out, N::m);
            });
        else
            push_gradient(node.a, state.a, state.a_gradient.values.data(), d_op_a);
    } else {
        push_gradient(node.a, state.a, state.a_gradient.values.data(), d_op_a);
    }
    if constexpr (tb) {
        if (state.b.read_through)
            push_gradient(node.b.a, state.b.a, nullptr, [&](T* out, bool accumulate) {
                kernels::gemm(transpose::yes, N::trans_a, N::n, N::k, N::m, T(1), dc, N::n, state.a_values, N::lda,
                              accumulate ? T(1) : T(0), out, N::k);
            });
        else
            push_gradient(node.b, state.b, state.b_gradient.values.data(), d_op_b);
    } else {
        push_gradient(node.b, state.b, state.b_gradient.values.data(), d_op_b);
    }
}

template <class A, class S>
void vjp(const expr::transpose_node<A>& node, S& state) {
    using N = expr::transpose_node<A>;
    using T = typename A::value_type;
    if (state.read_through || !expr::needs_grad(node.a, state.a)) return;  // read in place: done by the matmul
    const T* dc = state.adjoint->data;
    T* da = state.a_gradient.data();
    for (std::size_t i = 0; i < N::rows; ++i)
        for (std::size_t j = 0; j < N::cols; ++j) da[i * N::cols + j] = dc[j * N::rows + i];
    backprop_region(node.a, state.a, [&](std::size_t base) { return buffer_seed<T>{da + base}; });
}

template <class Shape, class A, class S>
void vjp(const expr::reshape_node<Shape, A>& node, S& state) {  // only the materialised kind is heavy
    using T = typename A::value_type;
    backprop_region(node.a, state.a, [&](std::size_t base) { return buffer_seed<T>{state.adjoint->data + base}; });
}

// softmax: dx = y * (g - sum(g * y));  log_softmax: dx = g - exp(y) * sum(g), per row.
template <bool Log, class A, class S>
void vjp(const expr::softmax_node<Log, A>& node, S& state) {
    using N = expr::softmax_node<Log, A>;
    using T = typename A::value_type;
    if (!expr::needs_grad(node.a, state.a)) return;
    const T* y = state.value;
    const T* g = state.adjoint->data;
    T* dx = state.a_gradient.data();
    for (std::size_t base = 0; base < A::shape_type::size; base += N::row_length) {
        T dot = 0;
        expr::for_each_batch<T>(N::row_length, [&]<class V>(std::size_t j) {
            V gj = simd::load<V>(g + base + j);
            dot += simd::hsum(Log ? gj : gj * simd::load<V>(y + base + j));
        });
        expr::for_each_batch<T>(N::row_length, [&]<class V>(std::size_t j) {
            V gj = simd::load<V>(g + base + j), yj = simd::load<V>(y + base + j);
            V d = Log ? gj - simd::exp(yj) * simd::splat<V>(dot) : yj * (gj - simd::splat<V>(dot));
            simd::store(dx + base + j, d);
        });
    }
    backprop_region(node.a, state.a, [&](std::size_t base) { return buffer_seed<T>{dx + base}; });
}

}  // namespace spore::autodiff
