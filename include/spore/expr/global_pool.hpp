#pragma once
// global_avg_pool2d(x): the mean of each plane of x [N, C, H, W], as [N, C] (PyTorch's
// AdaptiveAvgPool2d(1) followed by flatten). Rule: autodiff/rules/global_pool.hpp.

#include <cstddef>

#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/expr/reduce.hpp>

namespace spore::expr {

template <class InputShape>
struct check_global_avg_pool2d {
    static constexpr bool ok = InputShape::rank == 4;
    static_assert(ok, "spore: global_avg_pool2d takes an input [N, C, H, W] "
                      "(see check_global_avg_pool2d<input shape> above)");
};

template <class A>
struct global_avg_pool_node
    : node_base<typename A::value_type, shape<A::shape_type::extents[0], A::shape_type::extents[1]>, node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr std::size_t planes = A::shape_type::extents[0] * A::shape_type::extents[1];
    static constexpr std::size_t plane = A::shape_type::extents[2] * A::shape_type::extents[3];
    A a;
    bool operator==(const global_avg_pool_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* x = read_operand(a, state.a);
        T* y = state.mutable_value();
        for (std::size_t p = 0; p < planes; ++p) {
            accumulator<reductions::sum, T> total;
            for_each_batch<T>(plane, [&]<class V>(std::size_t j) { total.add(simd::load<V>(x + p * plane + j)); });
            y[p] = total.result() / T(plane);
        }
    }

    // GlobalAveragePool keeps the spatial axes as 1 x 1; Flatten drops them.
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        const auto x = graph.emit(a);
        graph.require_leading_batch("GlobalAveragePool", x);
        const std::string pooled = graph.node("GlobalAveragePool", {x.name});
        return {graph.node("Flatten", {pooled}, {graph.integer("axis", 1)}), x.batch_axis};
    }
};

}  // namespace spore::expr

namespace spore {

template <expr::non_scalar_operand X>
constexpr auto global_avg_pool2d(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    using A = decltype(a);
    if constexpr (expr::check_global_avg_pool2d<typename A::shape_type>::ok) return expr::global_avg_pool_node<A>{{}, a};
}

}  // namespace spore
