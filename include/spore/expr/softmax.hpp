#pragma once
// softmax and log_softmax over the last axis, stabilised by subtracting each row's maximum.
// Rule: autodiff/rules/softmax.hpp.

#include <cstddef>
#include <cstdint>

#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/kernels/counters.hpp>

namespace spore::expr {

template <bool Log, class A>
struct softmax_node : node_base<typename A::value_type, typename A::shape_type, node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr bool is_log = Log;
    static constexpr std::size_t row_length = A::shape_type::last();
    A a;
    bool operator==(const softmax_node&) const = default;

    template <class S>
    void forward(S& state) const {
        kernels::count(kernels::counters.softmax);
        const T* in = read_operand(a, state.a);
        T* out = state.mutable_value();
        for (std::size_t base = 0; base < A::shape_type::size; base += row_length) {
            const T* x = in + base;
            T* y = out + base;
            T top = x[0];
            for (std::size_t j = 1; j < row_length; ++j) top = x[j] > top ? x[j] : top;
            T total = 0;
            for_each_batch<T>(row_length, [&]<class V>(std::size_t j) {
                V e = simd::exp(simd::load<V>(x + j) - simd::splat<V>(top));
                simd::store(y + j, e);
                total += simd::hsum(e);
            });
            if constexpr (Log) {
                const T shift = top + std::log(total);
                for_each_batch<T>(row_length, [&]<class V>(std::size_t j) {
                    simd::store(y + j, simd::load<V>(x + j) - simd::splat<V>(shift));
                });
            } else {
                const T scale = T(1) / total;
                for_each_batch<T>(row_length, [&]<class V>(std::size_t j) {
                    simd::store(y + j, simd::load<V>(y + j) * simd::splat<V>(scale));
                });
            }
        }
    }

    // opset 11's Softmax flattens to [rows before axis, the rest]: with the last axis, that is
    // spore's softmax over each row
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        static_assert(A::shape_type::rank >= 1, "spore::io::export_onnx: softmax of a scalar has no ONNX operator");
        const auto x = graph.emit(a);
        return {graph.node(Log ? "LogSoftmax" : "Softmax", {x.name},
                           {graph.integer("axis", static_cast<std::int64_t>(A::shape_type::rank) - 1)}),
                x.batch_axis};
    }
};

}  // namespace spore::expr

namespace spore {

template <expr::non_scalar_operand X>
constexpr auto softmax(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    return expr::softmax_node<false, decltype(a)>{{}, a};
}
template <expr::non_scalar_operand X>
constexpr auto log_softmax(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    return expr::softmax_node<true, decltype(a)>{{}, a};
}

}  // namespace spore
