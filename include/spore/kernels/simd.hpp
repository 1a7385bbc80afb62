#pragma once
// One spelling for scalar and vector arithmetic. Every elementwise operation is written once
// as a template over V, where V is either the element type T (loop tails) or xsimd::batch<T>.

#include <cmath>
#include <cstddef>
#include <type_traits>

// GCC 12 reports -Wmaybe-uninitialized and -Wuninitialized from inside its own avxintrin.h and
// avx512fintrin.h wherever xsimd's AVX or AVX-512 code is inlined into a function of a non-system
// header or source file: `_mm512_undefined_pd()` and its kin are a deliberate self-initialisation,
// `__m512d __Y = __Y;`. These pragmas cover only the text of xsimd and of the intrinsics headers it
// includes here: GCC checks a diagnostic's location, and each location of its inlining chain
// innermost first, against the pragma regions, so a warning located in the user's code (or
// spore's) is still reported. Compile options could not do that, and would not reach a program
// built from the single header. Clang does not warn there.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <spore/core/config.hpp>

namespace spore::simd {

template <class T>
using batch = xsimd::batch<T>;

template <class T>
inline constexpr std::size_t width = batch<T>::size;

template <class V>
struct element_of {
    using type = V;
};
template <class T, class A>
struct element_of<xsimd::batch<T, A>> {
    using type = T;
};
template <class V>
using element_of_t = typename element_of<V>::type;

template <class V>
inline constexpr bool is_batch_v = !std::is_same_v<V, element_of_t<V>>;

template <class V, class T>
inline V splat(T value) {
    if constexpr (is_batch_v<V>) return V(static_cast<element_of_t<V>>(value));
    else return static_cast<V>(value);
}
template <class V, class T>
inline V load(const T* p) {
    if constexpr (is_batch_v<V>) return V::load_unaligned(p);
    else return *p;
}
template <class V, class T>
inline void store(T* p, const V& v) {
    if constexpr (is_batch_v<V>) v.store_unaligned(p);
    else *p = v;
}
template <class V>
inline element_of_t<V> hsum(const V& v) {
    if constexpr (is_batch_v<V>) return xsimd::hadd(v);
    else return v;
}

#define SPORE_SIMD_UNARY(name, scalar_expr, batch_expr)        \
    template <class V>                                          \
    inline V name(const V& x) {                                 \
        if constexpr (is_batch_v<V>) return batch_expr;         \
        else return scalar_expr;                                \
    }
SPORE_SIMD_UNARY(exp, std::exp(x), xsimd::exp(x))
SPORE_SIMD_UNARY(log, std::log(x), xsimd::log(x))
SPORE_SIMD_UNARY(tanh, std::tanh(x), xsimd::tanh(x))
SPORE_SIMD_UNARY(sqrt, std::sqrt(x), xsimd::sqrt(x))
SPORE_SIMD_UNARY(abs, std::abs(x), xsimd::abs(x))
SPORE_SIMD_UNARY(log1p, std::log1p(x), xsimd::log1p(x))
SPORE_SIMD_UNARY(erf, std::erf(x), xsimd::erf(x))
#undef SPORE_SIMD_UNARY

template <class V>
inline V pow(const V& x, const V& y) {
    if constexpr (is_batch_v<V>) return xsimd::pow(x, y);
    else return std::pow(x, y);
}
template <class V>
inline V max(const V& x, const V& y) {
    if constexpr (is_batch_v<V>) return xsimd::max(x, y);
    else return x < y ? y : x;
}
template <class V>
inline V min(const V& x, const V& y) {
    if constexpr (is_batch_v<V>) return xsimd::min(x, y);
    else return y < x ? y : x;
}
// x > y ? a : b, lane by lane.
template <class V>
inline V select_greater(const V& x, const V& y, const V& a, const V& b) {
    if constexpr (is_batch_v<V>) return xsimd::select(x > y, a, b);
    else return x > y ? a : b;
}
// x >= y ? a : b, lane by lane.
template <class V>
inline V select_greater_equal(const V& x, const V& y, const V& a, const V& b) {
    if constexpr (is_batch_v<V>) return xsimd::select(x >= y, a, b);
    else return x >= y ? a : b;
}
// x == y ? a : b, lane by lane.
template <class V>
inline V select_equal(const V& x, const V& y, const V& a, const V& b) {
    if constexpr (is_batch_v<V>) return xsimd::select(x == y, a, b);
    else return x == y ? a : b;
}

// Calls f.template operator()<V>(j) over [0, length): V = batch<T> over whole batches, then
// V = T over the tail. The loop of every elementwise kernel, fused expression and optimiser.
template <class T, class F>
SPORE_ALWAYS_INLINE void for_each_batch(std::size_t length, F&& f) {
    constexpr std::size_t w = width<T>;
    const std::size_t whole = length - length % w;
    for (std::size_t j = 0; j < whole; j += w) f.template operator()<batch<T>>(j);
    for (std::size_t j = whole; j < length; ++j) f.template operator()<T>(j);
}

}  // namespace spore::simd
