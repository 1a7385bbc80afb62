#pragma once
// max_pool2d<K, S>(x) and avg_pool2d<K, S>(x) over NCHW, windows K x K at stride S, no
// padding. The input is read dense and run through kernels/pool.hpp. Rule:
// autodiff/rules/pool.hpp.

#include <cstddef>
#include <cstdint>
#include <string>

#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/kernels/pool.hpp>

namespace spore::expr {

enum class pooling { max, average };

template <pooling Kind, std::size_t Kernel, std::size_t Stride, class Shape>
struct pool2d_shape {
    static_assert(Shape::rank == 4, "spore: pooling takes an input [N, C, H, W] (see pool2d_shape<...> above)");
    static_assert(Kernel > 0 && Stride > 0 && Kernel <= Shape::extents[2] && Kernel <= Shape::extents[3],
                  "spore: the pooling window must fit the input (see pool2d_shape<kind, kernel, stride, shape> above)");
    static constexpr kernels::pool2d_geometry geometry{Shape::extents[0] * Shape::extents[1], Shape::extents[2],
                                                       Shape::extents[3], Kernel, Stride};
    using type = shape<Shape::extents[0], Shape::extents[1], geometry.out_h(), geometry.out_w()>;
};

template <pooling Kind, std::size_t Kernel, std::size_t Stride, class A>
struct pool2d_node : node_base<typename A::value_type,
                               typename pool2d_shape<Kind, Kernel, Stride, typename A::shape_type>::type, node_kind::heavy> {
    static constexpr kernels::pool2d_geometry geometry =
        pool2d_shape<Kind, Kernel, Stride, typename A::shape_type>::geometry;
    A a;
    bool operator==(const pool2d_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const auto* x = read_operand(a, state.a);
        if constexpr (Kind == pooling::max)  // the argmax only for a backward pass
            kernels::max_pool2d_forward(geometry, x, state.mutable_value(), state.needs_grad ? state.where.data() : nullptr);
        else kernels::avg_pool2d_forward(geometry, x, state.mutable_value());
    }

    struct scratch {
        aligned_buffer<std::uint32_t> where;  // max pooling: argmax of each window, for the backward pass
        template <class Planner>
        void prepare(const Planner&, bool needs_grad) {
            if (Kind == pooling::max && needs_grad) where = aligned_buffer<std::uint32_t>(pool2d_node::shape_type::size);
        }
    };

    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        const std::string op = Kind == pooling::max ? "MaxPool" : "AveragePool";
        const auto x = graph.emit(a);
        graph.require_leading_batch(op, x);
        const auto k = static_cast<std::int64_t>(Kernel), s = static_cast<std::int64_t>(Stride);
        return {graph.node(op, {x.name}, {graph.integers("kernel_shape", {k, k}), graph.integers("strides", {s, s})}),
                x.batch_axis};
    }
};

}  // namespace spore::expr

namespace spore {

template <std::size_t Kernel, std::size_t Stride = Kernel, expr::non_scalar_operand X>
constexpr auto max_pool2d(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    return expr::pool2d_node<expr::pooling::max, Kernel, Stride, decltype(a)>{{}, a};
}
template <std::size_t Kernel, std::size_t Stride = Kernel, expr::non_scalar_operand X>
constexpr auto avg_pool2d(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    return expr::pool2d_node<expr::pooling::average, Kernel, Stride, decltype(a)>{{}, a};
}

}  // namespace spore
