#pragma once
// THE ONE FILE WITH INTRINSICS, and optional: without AVX-512 or AVX2 every function here is
// a scalar loop over a copy of the vector on the stack, so removing the #if branches loses
// speed, never correctness. xsimd 8.1 has no masked loads and stores, and the convolution
// kernels end every output row with a partial vector (LeNet's rows are 28 and 10 wide): a
// masked store there costs what a full one does, a scalar loop 10-16 times that.

#include <cstddef>
#include <type_traits>

#include <spore/core/config.hpp>
#include <spore/kernels/simd.hpp>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace spore::simd {

// p[i] = v[i] (or p[i] += v[i] with Add) for the first n lanes, n <= V::size.
template <bool Add, class V>
SPORE_ALWAYS_INLINE void store_first_lanes(element_of_t<V>* p, const V& v, std::size_t n) {
    using T = element_of_t<V>;
#if defined(__AVX512F__)
    if constexpr (sizeof(v.data) == 64 && std::is_same_v<T, float>) {
        const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1u);
        __m512 value = v.data;
        if constexpr (Add) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, p));
        _mm512_mask_storeu_ps(p, mask, value);
        return;
    } else if constexpr (sizeof(v.data) == 64 && std::is_same_v<T, double>) {
        const __mmask8 mask = static_cast<__mmask8>((1u << n) - 1u);
        __m512d value = v.data;
        if constexpr (Add) value = _mm512_add_pd(value, _mm512_maskz_loadu_pd(mask, p));
        _mm512_mask_storeu_pd(p, mask, value);
        return;
    }
#endif
#if defined(__AVX2__)
    if constexpr (sizeof(v.data) == 32 && std::is_same_v<T, float>) {
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 value = v.data;
        if constexpr (Add) value = _mm256_add_ps(value, _mm256_maskload_ps(p, mask));
        _mm256_maskstore_ps(p, mask, value);
        return;
    } else if constexpr (sizeof(v.data) == 32 && std::is_same_v<T, double>) {
        const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(n)), _mm256_setr_epi64x(0, 1, 2, 3));
        __m256d value = v.data;
        if constexpr (Add) value = _mm256_add_pd(value, _mm256_maskload_pd(p, mask));
        _mm256_maskstore_pd(p, mask, value);
        return;
    }
#endif
    alignas(64) T lanes[V::size];
    v.store_aligned(lanes);
    for (std::size_t i = 0; i < n; ++i) p[i] = Add ? p[i] + lanes[i] : lanes[i];
}

// The first n lanes from p, zeros in the others; reads nothing past p + n.
template <class V>
SPORE_ALWAYS_INLINE V load_first_lanes(const element_of_t<V>* p, std::size_t n) {
    using T = element_of_t<V>;
#if defined(__AVX512F__)
    if constexpr (V::size * sizeof(T) == 64 && std::is_same_v<T, float>)
        return V(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p));
    else if constexpr (V::size * sizeof(T) == 64 && std::is_same_v<T, double>)
        return V(_mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1u), p));
#endif
#if defined(__AVX2__)
    if constexpr (V::size * sizeof(T) == 32 && std::is_same_v<T, float>)
        return V(_mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
    else if constexpr (V::size * sizeof(T) == 32 && std::is_same_v<T, double>)
        return V(_mm256_maskload_pd(
            p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(n)), _mm256_setr_epi64x(0, 1, 2, 3))));
#endif
    alignas(64) T lanes[V::size] = {};
    for (std::size_t i = 0; i < n; ++i) lanes[i] = p[i];
    return V::load_aligned(lanes);
}

}  // namespace spore::simd
