#pragma once
// conv2d(x, w, b) over NCHW with compile-time stride and padding.
// x [N, C, H, W], w [F, C, KH, KW], b [F] -> [N, F, OH, OW]. Operands are read dense
// (materialised once if they are expressions) and run through kernels/conv.hpp.
// Rule: autodiff/rules/conv.hpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/kernels/conv.hpp>

namespace spore::expr {

template <class Input, class Weight, class Bias, std::size_t Stride, std::size_t Padding>
struct check_conv2d {
    static constexpr bool ranks = Input::rank == 4 && Weight::rank == 4;
    static_assert(ranks, "spore: conv2d takes an input [N, C, H, W] and weights [F, C, KH, KW] "
                         "(see check_conv2d<input, weight, bias, stride, padding> above)");
    static constexpr bool channels = ranks && Input::extents[1] == Weight::extents[1];
    static_assert(!ranks || channels, "spore: conv2d: the input's channels differ from the weights' "
                                      "(see check_conv2d<input, weight, bias, stride, padding> above)");
    static constexpr bool fits = ranks && Input::extents[2] + 2 * Padding >= Weight::extents[2] &&
                                 Input::extents[3] + 2 * Padding >= Weight::extents[3];
    static_assert(!ranks || fits, "spore: conv2d: the kernel is larger than the padded input "
                                  "(see check_conv2d<input, weight, bias, stride, padding> above)");
    static constexpr bool bias = Bias::rank == 0 || (Bias::rank == 1 && ranks && Bias::extents[0] == Weight::extents[0]);
    static_assert(bias, "spore: conv2d: the bias must have one value per filter "
                        "(see check_conv2d<input, weight, bias, stride, padding> above)");
    static_assert(Stride > 0, "spore: conv2d: the stride must be positive");
    static constexpr bool ok = ranks && channels && fits && bias && Stride > 0;
};

template <std::size_t Stride, std::size_t Padding, class X, class W>
struct conv2d_shape {
    using xs = typename X::shape_type;
    using ws = typename W::shape_type;
    static constexpr kernels::conv2d_geometry geometry{xs::extents[1], xs::extents[2], xs::extents[3],
                                                       ws::extents[0], ws::extents[2], ws::extents[3], Stride, Padding};
    using type = shape<xs::extents[0], ws::extents[0], geometry.out_h(), geometry.out_w()>;
};

// Bias C is a [F] operand, or constant<T> when the convolution has none.
template <std::size_t Stride, std::size_t Padding, class X, class W, class C>
struct conv2d_node : node_base<typename X::value_type, typename conv2d_shape<Stride, Padding, X, W>::type,
                               node_kind::heavy> {
    using T = typename X::value_type;
    static constexpr kernels::conv2d_geometry geometry = conv2d_shape<Stride, Padding, X, W>::geometry;
    static constexpr std::size_t batch = X::shape_type::extents[0];
    static constexpr bool has_bias = C::kind != node_kind::constant;
    X a;
    W b;
    C c;
    bool operator==(const conv2d_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* x = read_operand(a, state.a);
        const T* w = read_operand(b, state.b);
        const T* bias = nullptr;
        if constexpr (has_bias) bias = read_operand(c, state.c);
        kernels::conv2d_forward(geometry, batch, x, w, bias, state.mutable_value());
    }

    struct scratch {
        aligned_buffer<T> weight_partials;  // the weight gradient kernel's per-chunk sums
        template <class Planner>
        void prepare(const Planner&, bool needs_grad) {
            if (needs_grad) weight_partials = aligned_buffer<T>(kernels::weight_gradient_scratch<T>(geometry, batch));
        }
    };

    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        const auto x = graph.emit(a);
        const auto w = graph.emit(b);
        graph.require_leading_batch("Conv", x);
        graph.require_unbatched("Conv", "weight", w);
        std::vector<std::string> inputs{x.name, w.name};
        std::string scalar_bias;
        if constexpr (has_bias) {
            const auto bias = graph.emit(c);
            graph.require_unbatched("Conv", "bias", bias);
            if constexpr (C::shape_type::rank == 1) inputs.push_back(bias.name);
            else scalar_bias = bias.name;  // Conv's bias is one value per filter: add a scalar after it
        }
        const auto s = static_cast<std::int64_t>(Stride), p = static_cast<std::int64_t>(Padding);
        std::string out = graph.node(
            "Conv", std::move(inputs),
            {graph.integers("kernel_shape", {std::int64_t(geometry.kernel_h), std::int64_t(geometry.kernel_w)}),
             graph.integers("strides", {s, s}), graph.integers("pads", {p, p, p, p}),
             graph.integers("dilations", {1, 1}), graph.integer("group", 1)});
        if (!scalar_bias.empty()) out = graph.node("Add", {out, scalar_bias});
        return {out, x.batch_axis};
    }
};

}  // namespace spore::expr

namespace spore {

// conv2d<Stride, Padding>(x, w, b): NCHW convolution ("valid" with Padding = 0).
template <std::size_t Stride = 1, std::size_t Padding = 0, expr::non_scalar_operand X, expr::non_scalar_operand W,
          expr::non_scalar_operand B>
constexpr auto conv2d(X&& x, W&& w, B&& b) {
    auto ex = expr::operand_expression<X, X>(std::forward<X>(x));
    auto ew = expr::operand_expression<W, W>(std::forward<W>(w));
    auto eb = expr::operand_expression<B, B>(std::forward<B>(b));
    using EX = decltype(ex);
    using EW = decltype(ew);
    using EB = decltype(eb);
    static_assert(std::is_same_v<typename EX::value_type, typename EW::value_type> &&
                      std::is_same_v<typename EX::value_type, typename EB::value_type>,
                  "spore: conv2d operands must have the same element type");
    if constexpr (expr::check_conv2d<typename EX::shape_type, typename EW::shape_type, typename EB::shape_type, Stride,
                                     Padding>::ok)
        return expr::conv2d_node<Stride, Padding, EX, EW, EB>{{}, ex, ew, eb};
}
// Without bias.
template <std::size_t Stride = 1, std::size_t Padding = 0, expr::non_scalar_operand X, expr::non_scalar_operand W>
constexpr auto conv2d(X&& x, W&& w) {
    auto ex = expr::operand_expression<X, X>(std::forward<X>(x));
    auto ew = expr::operand_expression<W, W>(std::forward<W>(w));
    using EX = decltype(ex);
    using EW = decltype(ew);
    using T = typename EX::value_type;
    using none = expr::constant<T>;
    if constexpr (expr::check_conv2d<typename EX::shape_type, typename EW::shape_type, shape<>, Stride, Padding>::ok)
        return expr::conv2d_node<Stride, Padding, EX, EW, none>{{}, ex, ew, none{{}, T(0)}};
}

}  // namespace spore
