#pragma once
// Vector-Jacobian rules of the elementwise operations: given the operand value(s) x (and y),
// the output `out` and the adjoint g of the output, the adjoint of each operand. Written once
// for scalars and SIMD batches.

#include <spore/expr/elementwise_ops.hpp>
#include <spore/kernels/simd.hpp>

namespace spore::autodiff {

namespace ops = expr::ops;
using simd::splat;

template <class Op>
struct vjp_rule;

template <>
struct vjp_rule<ops::neg> {
    template <class V> static V a(const V&, const V&, const V& g) { return -g; }
};
template <>
struct vjp_rule<ops::exp> {
    template <class V> static V a(const V&, const V& out, const V& g) { return g * out; }
};
template <>
struct vjp_rule<ops::log> {
    template <class V> static V a(const V& x, const V&, const V& g) { return g / x; }
};
template <>
struct vjp_rule<ops::tanh> {
    template <class V> static V a(const V&, const V& out, const V& g) { return g * (splat<V>(1) - out * out); }
};
template <>
struct vjp_rule<ops::sigmoid> {
    template <class V> static V a(const V&, const V& out, const V& g) { return g * out * (splat<V>(1) - out); }
};
template <>
struct vjp_rule<ops::relu> {
    template <class V> static V a(const V& x, const V&, const V& g) {
        return simd::select_greater(x, splat<V>(0), g, splat<V>(0));
    }
};
template <>
struct vjp_rule<ops::sqrt> {
    template <class V> static V a(const V&, const V& out, const V& g) { return g * splat<V>(0.5) / out; }
};
template <>
struct vjp_rule<ops::abs> {
    template <class V> static V a(const V& x, const V&, const V& g) {
        return simd::select_greater(x, splat<V>(0), g, simd::select_greater(splat<V>(0), x, -g, splat<V>(0)));
    }
};
template <>
struct vjp_rule<ops::square> {
    template <class V> static V a(const V& x, const V&, const V& g) { return splat<V>(2) * x * g; }
};

template <>
struct vjp_rule<ops::add> {
    template <class V> static V a(const V&, const V&, const V&, const V& g) { return g; }
    template <class V> static V b(const V&, const V&, const V&, const V& g) { return g; }
};
template <>
struct vjp_rule<ops::sub> {
    template <class V> static V a(const V&, const V&, const V&, const V& g) { return g; }
    template <class V> static V b(const V&, const V&, const V&, const V& g) { return -g; }
};
template <>
struct vjp_rule<ops::mul> {
    template <class V> static V a(const V&, const V& y, const V&, const V& g) { return g * y; }
    template <class V> static V b(const V& x, const V&, const V&, const V& g) { return g * x; }
};
template <>
struct vjp_rule<ops::div> {
    template <class V> static V a(const V&, const V& y, const V&, const V& g) { return g / y; }
    template <class V> static V b(const V&, const V& y, const V& out, const V& g) { return -g * out / y; }
};
// Ties send the whole adjoint to the left operand, as PyTorch's maximum/minimum split is a
// convention too; the finite-difference tests keep operands apart.
template <>
struct vjp_rule<ops::maximum> {
    template <class V> static V a(const V& x, const V& y, const V&, const V& g) {
        return simd::select_greater_equal(x, y, g, splat<V>(0));
    }
    template <class V> static V b(const V& x, const V& y, const V&, const V& g) {
        return simd::select_greater_equal(x, y, splat<V>(0), g);
    }
};
template <>
struct vjp_rule<ops::minimum> {
    template <class V> static V a(const V& x, const V& y, const V&, const V& g) {
        return simd::select_greater_equal(y, x, g, splat<V>(0));
    }
    template <class V> static V b(const V& x, const V& y, const V&, const V& g) {
        return simd::select_greater_equal(y, x, splat<V>(0), g);
    }
};
template <>
struct vjp_rule<ops::pow> {
    template <class V> static V a(const V& x, const V& y, const V&, const V& g) {
        return g * y * simd::pow(x, y - splat<V>(1));
    }
    // d(x^y)/dy = x^y log x, which tends to 0 as x -> 0+; log(0) would make it NaN
    template <class V> static V b(const V& x, const V&, const V& out, const V& g) {
        return simd::select_greater(x, splat<V>(0), g * out * simd::log(x), splat<V>(0));
    }
};

}  // namespace spore::autodiff
