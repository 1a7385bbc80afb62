#pragma once
// Every elementwise operation, each in one place: a struct with
//   apply(x) or apply(x, y)          the forward formula, for scalars and SIMD batches alike;
//   vjp(x, out, g)                   the adjoint of x given the output's adjoint g (unary), or
//   vjp_a / vjp_b(x, y, out, g)      the adjoints of x and y (binary);
//   onnx                             the ONNX operator it exports as, or to_onnx(graph, node)
//                                    when it takes more than one operator (or none here);
// and its function below (spore::name). The fused loops (cursor.hpp), the backward pass
// (autodiff/region.hpp) and the ONNX writer (io/onnx.hpp) read these members; nothing else
// lists the operations.

#include <cmath>
#include <numbers>
#include <string>
#include <string_view>
#include <utility>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/kernels/simd.hpp>

namespace spore::expr::ops {

using simd::splat;

struct neg {
    static constexpr std::string_view onnx = "Neg";
    template <class V> static V apply(const V& x) { return -x; }
    template <class V> static V vjp(const V&, const V&, const V& g) { return -g; }
};
struct exp {
    static constexpr std::string_view onnx = "Exp";
    template <class V> static V apply(const V& x) { return simd::exp(x); }
    template <class V> static V vjp(const V&, const V& out, const V& g) { return g * out; }
};
struct log {
    static constexpr std::string_view onnx = "Log";
    template <class V> static V apply(const V& x) { return simd::log(x); }
    template <class V> static V vjp(const V& x, const V&, const V& g) { return g / x; }
};
struct tanh {
    static constexpr std::string_view onnx = "Tanh";
    template <class V> static V apply(const V& x) { return simd::tanh(x); }
    template <class V> static V vjp(const V&, const V& out, const V& g) { return g * (splat<V>(1) - out * out); }
};
struct sigmoid {
    static constexpr std::string_view onnx = "Sigmoid";
    template <class V> static V apply(const V& x) { return splat<V>(1) / (splat<V>(1) + simd::exp(-x)); }
    template <class V> static V vjp(const V&, const V& out, const V& g) { return g * out * (splat<V>(1) - out); }
};
struct relu {
    static constexpr std::string_view onnx = "Relu";
    template <class V> static V apply(const V& x) { return simd::max(x, splat<V>(0)); }
    template <class V> static V vjp(const V& x, const V&, const V& g) {
        return simd::select_greater(x, splat<V>(0), g, splat<V>(0));
    }
};
struct sqrt {
    static constexpr std::string_view onnx = "Sqrt";
    template <class V> static V apply(const V& x) { return simd::sqrt(x); }
    template <class V> static V vjp(const V&, const V& out, const V& g) { return g * splat<V>(0.5) / out; }
};
struct abs {
    static constexpr std::string_view onnx = "Abs";
    template <class V> static V apply(const V& x) { return simd::abs(x); }
    template <class V> static V vjp(const V& x, const V&, const V& g) {
        return simd::select_greater(x, splat<V>(0), g, simd::select_greater(splat<V>(0), x, -g, splat<V>(0)));
    }
};
// log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): no overflow, and exact for large |x|
// (PyTorch's threshold at 20 returns x there, which this rounds to as well).
struct softplus {
    static constexpr std::string_view onnx = "Softplus";
    template <class V> static V apply(const V& x) {
        return simd::max(x, splat<V>(0)) + simd::log1p(simd::exp(-simd::abs(x)));
    }
    template <class V> static V vjp(const V& x, const V&, const V& g) { return g / (splat<V>(1) + simd::exp(-x)); }
};
// x * sigmoid(x), as torch.nn.SiLU.
struct silu {
    template <class V> static V apply(const V& x) { return x / (splat<V>(1) + simd::exp(-x)); }
    template <class V> static V vjp(const V& x, const V&, const V& g) {
        const V s = splat<V>(1) / (splat<V>(1) + simd::exp(-x));
        return g * s * (splat<V>(1) + x * (splat<V>(1) - s));
    }
    template <class Graph, class Node>
    static auto to_onnx(Graph& graph, const Node& node) {  // x * Sigmoid(x): opset 11 has no SiLU
        const auto x = graph.emit(node.a);
        return decltype(x){graph.node("Mul", {x.name, graph.node("Sigmoid", {x.name})}), x.batch_axis};
    }
};
// x * Phi(x) with the normal distribution's Phi, as torch.nn.GELU() (approximate='none').
struct gelu {
    template <class V> static V apply(const V& x) {
        return splat<V>(0.5) * x * (splat<V>(1) + simd::erf(x * splat<V>(std::numbers::sqrt2 / 2)));
    }
    template <class V> static V vjp(const V& x, const V&, const V& g) {
        const V phi = splat<V>(0.5) * (splat<V>(1) + simd::erf(x * splat<V>(std::numbers::sqrt2 / 2)));
        const V density = simd::exp(splat<V>(-0.5) * x * x) * splat<V>(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
        return g * (phi + x * density);
    }
    template <class Graph, class Node>
    static auto to_onnx(Graph& graph, const Node& node) {  // 0.5 x (1 + Erf(x / sqrt 2)): opset 11 has no Gelu
        using T = typename Node::value_type;
        const auto x = graph.emit(node.a);
        const auto scalar = [&](double v) { return graph.emit(constant<T>{{}, T(v)}).name; };
        const std::string erf = graph.node("Erf", {graph.node("Mul", {x.name, scalar(std::numbers::sqrt2 / 2)})});
        const std::string half_x = graph.node("Mul", {x.name, scalar(0.5)});
        return decltype(x){graph.node("Mul", {half_x, graph.node("Add", {erf, scalar(1)})}), x.batch_axis};
    }
};
// GELU with tanh: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), as torch.nn.GELU('tanh').
struct gelu_tanh {
    static constexpr double k = std::numbers::sqrt2 * std::numbers::inv_sqrtpi, c = 0.044715;
    template <class V> static V apply(const V& x) {
        return splat<V>(0.5) * x * (splat<V>(1) + simd::tanh(splat<V>(k) * (x + splat<V>(c) * x * x * x)));
    }
    template <class V> static V vjp(const V& x, const V&, const V& g) {
        const V t = simd::tanh(splat<V>(k) * (x + splat<V>(c) * x * x * x));
        const V slope = splat<V>(k) * (splat<V>(1) + splat<V>(3 * c) * x * x);
        return g * splat<V>(0.5) * (splat<V>(1) + t + x * (splat<V>(1) - t * t) * slope);
    }
    template <class Graph, class Node>
    static auto to_onnx(Graph& graph, const Node& node) {
        using T = typename Node::value_type;
        const auto x = graph.emit(node.a);
        const auto scalar = [&](double v) { return graph.emit(constant<T>{{}, T(v)}).name; };
        const std::string cube = graph.node("Mul", {graph.node("Mul", {x.name, x.name}), x.name});
        const std::string inner = graph.node("Add", {x.name, graph.node("Mul", {cube, scalar(c)})});
        const std::string t = graph.node("Tanh", {graph.node("Mul", {inner, scalar(k)})});
        const std::string half_x = graph.node("Mul", {x.name, scalar(0.5)});
        return decltype(x){graph.node("Mul", {half_x, graph.node("Add", {t, scalar(1)})}), x.batch_axis};
    }
};
// x > 0 ? x : slope * x, as torch.nn.LeakyReLU(negative_slope).
struct leaky_relu {
    double negative_slope = 0.01;
    bool operator==(const leaky_relu&) const = default;
    template <class V> V apply(const V& x) const {
        return simd::select_greater(x, splat<V>(0), x, splat<V>(negative_slope) * x);
    }
    template <class V> V vjp(const V& x, const V&, const V& g) const {
        return simd::select_greater(x, splat<V>(0), g, splat<V>(negative_slope) * g);
    }
    template <class Graph, class Node>
    static auto to_onnx(Graph& graph, const Node& node) {
        const auto x = graph.emit(node.a);
        return decltype(x){graph.node("LeakyRelu", {x.name}, {graph.real("alpha", float(node.operation.negative_slope))}),
                           x.batch_axis};
    }
};
// x > 0 ? x : alpha (exp(x) - 1), as torch.nn.ELU(alpha).
struct elu {
    double alpha = 1.0;
    bool operator==(const elu&) const = default;
    template <class V> V apply(const V& x) const {
        return simd::select_greater(x, splat<V>(0), x, splat<V>(alpha) * (simd::exp(x) - splat<V>(1)));
    }
    template <class V> V vjp(const V& x, const V& out, const V& g) const {
        return simd::select_greater(x, splat<V>(0), g, g * (out + splat<V>(alpha)));
    }
    template <class Graph, class Node>
    static auto to_onnx(Graph& graph, const Node& node) {
        const auto x = graph.emit(node.a);
        return decltype(x){graph.node("Elu", {x.name}, {graph.real("alpha", float(node.operation.alpha))}), x.batch_axis};
    }
};
// The smooth L1 function of a difference d: |d| < beta ? d^2 / (2 beta) : |d| - beta / 2, the
// elementwise loss of torch.nn.SmoothL1Loss(beta) (beta = 0: |d|); HuberLoss(delta) is delta
// times it at beta = delta.
struct smooth_l1 {
    double beta = 1.0;
    bool operator==(const smooth_l1&) const = default;
    template <class V> V apply(const V& d) const {
        const V a = simd::abs(d), b = splat<V>(beta);
        return simd::select_greater(b, a, splat<V>(0.5) * d * d / b, a - splat<V>(0.5) * b);
    }
    template <class V> V vjp(const V& d, const V&, const V& g) const {
        const V sign = simd::select_greater(d, splat<V>(0), splat<V>(1), simd::select_greater(splat<V>(0), d, splat<V>(-1), splat<V>(0)));
        return g * simd::select_greater(splat<V>(beta), simd::abs(d), d / splat<V>(beta), sign);
    }
};
struct square {
    template <class V> static V apply(const V& x) { return x * x; }
    template <class V> static V vjp(const V& x, const V&, const V& g) { return splat<V>(2) * x * g; }
    template <class Graph, class Node>
    static auto to_onnx(Graph& graph, const Node& node) {  // x * x: opset 11 has no Square
        const auto x = graph.emit(node.a);
        return decltype(x){graph.node("Mul", {x.name, x.name}), x.batch_axis};
    }
};

struct add {
    static constexpr std::string_view onnx = "Add";
    template <class V> static V apply(const V& x, const V& y) { return x + y; }
    template <class V> static V vjp_a(const V&, const V&, const V&, const V& g) { return g; }
    template <class V> static V vjp_b(const V&, const V&, const V&, const V& g) { return g; }
    // An operand that can take an addend in its own operator does (a matmul becomes a Gemm
    // with C: a Dense layer is one node).
    template <class Graph, class Node>
    static auto to_onnx(Graph& graph, const Node& node) {
        if constexpr (requires { node.a.to_onnx_plus(graph, graph.without_broadcast(node.b)); })
            return node.a.to_onnx_plus(graph, graph.without_broadcast(node.b));
        else if constexpr (requires { node.b.to_onnx_plus(graph, graph.without_broadcast(node.a)); })
            return node.b.to_onnx_plus(graph, graph.without_broadcast(node.a));
        else return graph.elementwise(onnx, node);
    }
};
struct sub {
    static constexpr std::string_view onnx = "Sub";
    template <class V> static V apply(const V& x, const V& y) { return x - y; }
    template <class V> static V vjp_a(const V&, const V&, const V&, const V& g) { return g; }
    template <class V> static V vjp_b(const V&, const V&, const V&, const V& g) { return -g; }
};
struct mul {
    static constexpr std::string_view onnx = "Mul";
    template <class V> static V apply(const V& x, const V& y) { return x * y; }
    template <class V> static V vjp_a(const V&, const V& y, const V&, const V& g) { return g * y; }
    template <class V> static V vjp_b(const V& x, const V&, const V&, const V& g) { return g * x; }
};
struct div {
    static constexpr std::string_view onnx = "Div";
    template <class V> static V apply(const V& x, const V& y) { return x / y; }
    template <class V> static V vjp_a(const V&, const V& y, const V&, const V& g) { return g / y; }
    template <class V> static V vjp_b(const V&, const V& y, const V& out, const V& g) { return -g * out / y; }
};
// Ties send the whole adjoint to the left operand, as PyTorch's maximum/minimum split is a
// convention too; the finite-difference tests keep operands apart.
struct maximum {
    static constexpr std::string_view onnx = "Max";
    template <class V> static V apply(const V& x, const V& y) { return simd::max(x, y); }
    template <class V> static V vjp_a(const V& x, const V& y, const V&, const V& g) {
        return simd::select_greater_equal(x, y, g, splat<V>(0));
    }
    template <class V> static V vjp_b(const V& x, const V& y, const V&, const V& g) {
        return simd::select_greater_equal(x, y, splat<V>(0), g);
    }
};
struct minimum {
    static constexpr std::string_view onnx = "Min";
    template <class V> static V apply(const V& x, const V& y) { return simd::min(x, y); }
    template <class V> static V vjp_a(const V& x, const V& y, const V&, const V& g) {
        return simd::select_greater_equal(y, x, g, splat<V>(0));
    }
    template <class V> static V vjp_b(const V& x, const V& y, const V&, const V& g) {
        return simd::select_greater_equal(y, x, splat<V>(0), g);
    }
};
struct pow {
    static constexpr std::string_view onnx = "Pow";
    template <class V> static V apply(const V& x, const V& y) { return simd::pow(x, y); }
    template <class V> static V vjp_a(const V& x, const V& y, const V&, const V& g) {
        return g * y * simd::pow(x, y - splat<V>(1));
    }
    // d(x^y)/dy = x^y log x, which tends to 0 as x -> 0+; log(0) would make it NaN
    template <class V> static V vjp_b(const V& x, const V&, const V& out, const V& g) {
        return simd::select_greater(x, splat<V>(0), g * out * simd::log(x), splat<V>(0));
    }
};

}  // namespace spore::expr::ops

namespace spore::expr {

#define SPORE_BINARY_OPERATOR(symbol, op_type)                                                    \
    template <any_operand L, any_operand R>                                                       \
        requires(non_scalar_operand<L> || non_scalar_operand<R>)                                  \
    constexpr auto operator symbol(L&& l, R&& r) {                                                \
        return make_binary<ops::op_type>(std::forward<L>(l), std::forward<R>(r));                 \
    }
SPORE_BINARY_OPERATOR(+, add)
SPORE_BINARY_OPERATOR(-, sub)
SPORE_BINARY_OPERATOR(*, mul)
SPORE_BINARY_OPERATOR(/, div)
#undef SPORE_BINARY_OPERATOR

template <non_scalar_operand X>
constexpr auto operator-(X&& x) {
    return make_unary<ops::neg>(std::forward<X>(x));
}

}  // namespace spore::expr

namespace spore {
using expr::operator+;
using expr::operator-;
using expr::operator*;
using expr::operator/;

#define SPORE_UNARY_FUNCTION(name)                                   \
    template <expr::non_scalar_operand X>                            \
    constexpr auto name(X&& x) {                                     \
        return expr::make_unary<expr::ops::name>(std::forward<X>(x)); \
    }
SPORE_UNARY_FUNCTION(neg)
SPORE_UNARY_FUNCTION(exp)
SPORE_UNARY_FUNCTION(log)
SPORE_UNARY_FUNCTION(tanh)
SPORE_UNARY_FUNCTION(sigmoid)
SPORE_UNARY_FUNCTION(relu)
SPORE_UNARY_FUNCTION(sqrt)
SPORE_UNARY_FUNCTION(abs)
SPORE_UNARY_FUNCTION(square)
SPORE_UNARY_FUNCTION(softplus)
SPORE_UNARY_FUNCTION(silu)
SPORE_UNARY_FUNCTION(gelu)
SPORE_UNARY_FUNCTION(gelu_tanh)
#undef SPORE_UNARY_FUNCTION

#define SPORE_BINARY_FUNCTION(name)                                                          \
    template <expr::any_operand L, expr::any_operand R>                                      \
        requires(expr::non_scalar_operand<L> || expr::non_scalar_operand<R>)                 \
    constexpr auto name(L&& l, R&& r) {                                                      \
        return expr::make_binary<expr::ops::name>(std::forward<L>(l), std::forward<R>(r));   \
    }
SPORE_BINARY_FUNCTION(maximum)
SPORE_BINARY_FUNCTION(minimum)
SPORE_BINARY_FUNCTION(pow)
#undef SPORE_BINARY_FUNCTION

// Operations with a parameter.
template <expr::non_scalar_operand X>
constexpr auto leaky_relu(X&& x, double negative_slope = 0.01) {
    return expr::make_unary(std::forward<X>(x), expr::ops::leaky_relu{negative_slope});
}
template <expr::non_scalar_operand X>
constexpr auto elu(X&& x, double alpha = 1.0) {
    return expr::make_unary(std::forward<X>(x), expr::ops::elu{alpha});
}
template <expr::non_scalar_operand X>
auto smooth_l1(X&& difference, double beta = 1.0) {
    if (!(beta >= 0)) throw error(spore::detail::concat({"spore::smooth_l1: beta must not be negative, found ", beta}));
    return expr::make_unary(std::forward<X>(difference), expr::ops::smooth_l1{beta});
}

}  // namespace spore
