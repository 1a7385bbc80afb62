#pragma once
// The forward formula of each elementwise operation, written once for scalars and batches.
// Their derivatives live in autodiff/elementwise_rules.hpp.

#include <spore/kernels/simd.hpp>

namespace spore::expr::ops {

struct neg {
    template <class V> static V apply(const V& x) { return -x; }
};
struct exp {
    template <class V> static V apply(const V& x) { return simd::exp(x); }
};
struct log {
    template <class V> static V apply(const V& x) { return simd::log(x); }
};
struct tanh {
    template <class V> static V apply(const V& x) { return simd::tanh(x); }
};
struct sigmoid {
    template <class V> static V apply(const V& x) { return simd::splat<V>(1) / (simd::splat<V>(1) + simd::exp(-x)); }
};
struct relu {
    template <class V> static V apply(const V& x) { return simd::max(x, simd::splat<V>(0)); }
};
struct sqrt {
    template <class V> static V apply(const V& x) { return simd::sqrt(x); }
};
struct abs {
    template <class V> static V apply(const V& x) { return simd::abs(x); }
};
struct square {
    template <class V> static V apply(const V& x) { return x * x; }
};

struct add {
    template <class V> static V apply(const V& x, const V& y) { return x + y; }
};
struct sub {
    template <class V> static V apply(const V& x, const V& y) { return x - y; }
};
struct mul {
    template <class V> static V apply(const V& x, const V& y) { return x * y; }
};
struct div {
    template <class V> static V apply(const V& x, const V& y) { return x / y; }
};
struct maximum {
    template <class V> static V apply(const V& x, const V& y) { return simd::max(x, y); }
};
struct minimum {
    template <class V> static V apply(const V& x, const V& y) { return simd::min(x, y); }
};
struct pow {
    template <class V> static V apply(const V& x, const V& y) { return simd::pow(x, y); }
};

}  // namespace spore::expr::ops
