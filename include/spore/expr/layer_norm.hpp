#pragma once
// Layer normalisation over the last K axes, as torch.nn.LayerNorm with elementwise_affine:
// each "row" (the last K axes, D values) is normalised by its own mean and biased variance,
//   y = (x - mean) / sqrt(var + eps) * weight + bias,   weight and bias of the row's shape.
// The same in training and evaluation (no running statistics). Rule:
// autodiff/rules/layer_norm.hpp. ONNX opset 11 has no LayerNormalization (opset 17 has): the
// export is its composition ReduceMean, Sub, Mul, ReduceMean, Add, Sqrt, Div, Mul, Add.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/expr/reduce.hpp>

namespace spore::expr {

template <class NormalizedShape, class InputShape>
struct check_layer_norm {
    static constexpr std::size_t k = NormalizedShape::rank;
    static constexpr bool ok = k >= 1 && InputShape::rank >= k && [] {
        for (std::size_t i = 0; i < k && i < InputShape::rank; ++i)
            if (InputShape::extents[InputShape::rank - k + i] != NormalizedShape::extents[i]) return false;
        return true;
    }();
    static_assert(ok, "spore: nn::LayerNorm (layer_norm): the input's last axes must be the normalised shape, "
                      "the shape of weight and bias (see check_layer_norm<normalised shape, input shape> above)");
};

// a: input [..., D1, ..., DK]; b: weight [D1, ..., DK]; c: bias [D1, ..., DK].
template <class A, class W, class B>
struct layer_norm_node : node_base<typename A::value_type, typename A::shape_type, node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr std::size_t axes = W::shape_type::rank;       // K, the normalised axes
    static constexpr std::size_t width = W::shape_type::size;      // D, values per row
    static constexpr std::size_t rows = A::shape_type::size / width;
    A a;
    W b;
    B c;
    T eps = T(1e-5);
    bool operator==(const layer_norm_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* x = read_operand(a, state.a);
        const T* w = read_operand(b, state.b);
        const T* bias = read_operand(c, state.c);
        T* y = state.mutable_value();
        T* mean = state.mean.data();
        T* inv_std = state.inv_std.data();
        for (std::size_t r = 0; r < rows; ++r) {
            const T* row = x + r * width;
            // two passes (mean, then squared deviations) stay accurate for rows far from zero
            accumulator<reductions::sum, T> total;
            for_each_batch<T>(width, [&]<class V>(std::size_t j) { total.add(simd::load<V>(row + j)); });
            const T mu = total.result() / T(width);
            accumulator<reductions::sum, T> squares;
            for_each_batch<T>(width, [&]<class V>(std::size_t j) {
                const V d = simd::load<V>(row + j) - simd::splat<V>(mu);
                squares.add(d * d);
            });
            const T s = T(1) / std::sqrt(squares.result() / T(width) + eps);
            mean[r] = mu;
            inv_std[r] = s;
            T* out = y + r * width;
            for_each_batch<T>(width, [&]<class V>(std::size_t j) {
                const V xhat = (simd::load<V>(row + j) - simd::splat<V>(mu)) * simd::splat<V>(s);
                simd::store(out + j, xhat * simd::load<V>(w + j) + simd::load<V>(bias + j));
            });
        }
    }

    struct scratch {
        aligned_buffer<T> mean, inv_std;  // per row, for the backward pass
        template <class Planner>
        void prepare(const Planner&, bool) {
            mean = aligned_buffer<T>(rows);
            inv_std = aligned_buffer<T>(rows);
        }
    };

    // ReduceMean over the last K axes (keepdims), Sub, Mul (the square), ReduceMean, Add eps,
    // Sqrt, Div, then Mul by weight and Add bias (numpy broadcasting on the right). The batch
    // axis stays where it is; it may not be one of the normalised axes.
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        constexpr std::size_t rank = A::shape_type::rank;
        const auto x = graph.emit(a);
        const auto scale = graph.emit(b);
        const auto shift = graph.emit(c);
        graph.require_unbatched("LayerNorm", "weight", scale);
        graph.require_unbatched("LayerNorm", "bias", shift);
        if (x.batch_axis >= static_cast<int>(rank - axes))
            graph.batch_error("LayerNorm normalises over the batch axis");
        std::vector<std::int64_t> reduced;
        for (std::size_t i = rank - axes; i < rank; ++i) reduced.push_back(static_cast<std::int64_t>(i));
        const std::string mean = graph.node("ReduceMean", {x.name}, {graph.integers("axes", reduced), graph.integer("keepdims", 1)});
        const std::string centred = graph.node("Sub", {x.name, mean});
        const std::string squared = graph.node("Mul", {centred, centred});
        const std::string variance =
            graph.node("ReduceMean", {squared}, {graph.integers("axes", reduced), graph.integer("keepdims", 1)});
        const auto epsilon = graph.emit(constant<T>{{}, eps});
        const std::string deviation = graph.node("Sqrt", {graph.node("Add", {variance, epsilon.name})});
        const std::string normalised = graph.node("Div", {centred, deviation});
        return {graph.node("Add", {graph.node("Mul", {normalised, scale.name}), shift.name}), x.batch_axis};
    }
};

}  // namespace spore::expr

namespace spore {

// layer_norm(x, weight, bias, eps): normalises x over its last K axes, K the rank of weight and
// bias (which have the shape of those axes). See nn::LayerNorm, which owns weight and bias.
template <expr::non_scalar_operand X, expr::non_scalar_operand W, expr::non_scalar_operand B, class T>
constexpr auto layer_norm(X&& x, W&& weight, B&& bias, T eps) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    auto w = expr::operand_expression<W, W>(std::forward<W>(weight));
    auto b = expr::operand_expression<B, B>(std::forward<B>(bias));
    using EA = decltype(a);
    using EW = decltype(w);
    using EB = decltype(b);
    static_assert(std::is_same_v<typename EA::value_type, T> && std::is_same_v<typename EW::value_type, T> &&
                      std::is_same_v<typename EB::value_type, T>,
                  "spore: layer_norm: operands and eps must have the same element type");
    static_assert(same_shape_v<typename EW::shape_type, typename EB::shape_type>,
                  "spore: layer_norm: weight and bias must have the same shape, the normalised one");
    if constexpr (expr::check_layer_norm<typename EW::shape_type, typename EA::shape_type>::ok)
        return expr::layer_norm_node<EA, EW, EB>{{}, a, w, b, eps};
}

}  // namespace spore
