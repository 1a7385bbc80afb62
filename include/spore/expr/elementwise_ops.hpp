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
#include <string_view>
#include <utility>

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
        const V e = simd::exp(-simd::abs(x));
        if constexpr (simd::is_batch_v<V>) return simd::max(x, splat<V>(0)) + xsimd::log1p(e);
        else return simd::max(x, splat<V>(0)) + std::log1p(e);
    }
    template <class V> static V vjp(const V& x, const V&, const V& g) { return g / (splat<V>(1) + simd::exp(-x)); }
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

}  // namespace spore
