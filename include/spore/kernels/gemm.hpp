#pragma once
// C = alpha * op(A) * op(B) + beta * C, row-major, with leading dimensions.
// This is the straightforward vectorised kernel the expression layer is built and tested on;
// the cube-tiled kernel (issue 3) replaces its body behind the same signature.

#include <cstddef>

#include <spore/kernels/counters.hpp>
#include <spore/kernels/simd.hpp>

namespace spore::kernels {

enum class transpose { no, yes };

template <class T>
void gemm(transpose trans_a, transpose trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
          std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    count(counters.gemm);
    using V = simd::batch<T>;
    constexpr std::size_t w = V::size;
    const bool ta = trans_a == transpose::yes, tb = trans_b == transpose::yes;
    auto a_at = [&](std::size_t i, std::size_t p) { return ta ? a[p * lda + i] : a[i * lda + p]; };

    for (std::size_t i = 0; i < m; ++i) {
        T* crow = c + i * ldc;
        if (beta == T(0))
            for (std::size_t j = 0; j < n; ++j) crow[j] = T(0);
        else if (beta != T(1))
            for (std::size_t j = 0; j < n; ++j) crow[j] *= beta;
    }
    if (k == 0 || alpha == T(0)) return;

    if (!tb) {  // rows of C accumulate scaled rows of B
        for (std::size_t i = 0; i < m; ++i) {
            T* crow = c + i * ldc;
            for (std::size_t p = 0; p < k; ++p) {
                const T scale = alpha * a_at(i, p);
                const T* brow = b + p * ldb;
                const V vs(scale);
                std::size_t j = 0;
                for (; j + w <= n; j += w) xsimd::fma(vs, V::load_unaligned(brow + j), V::load_unaligned(crow + j)).store_unaligned(crow + j);
                for (; j < n; ++j) crow[j] += scale * brow[j];
            }
        }
    } else if (!ta) {  // dot products of rows of A with rows of B
        for (std::size_t i = 0; i < m; ++i) {
            const T* arow = a + i * lda;
            for (std::size_t j = 0; j < n; ++j) {
                const T* brow = b + j * ldb;
                V acc(T(0));
                std::size_t p = 0;
                for (; p + w <= k; p += w) acc = xsimd::fma(V::load_unaligned(arow + p), V::load_unaligned(brow + p), acc);
                T sum = xsimd::hadd(acc);
                for (; p < k; ++p) sum += arow[p] * brow[p];
                c[i * ldc + j] += alpha * sum;
            }
        }
    } else {
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                T sum = 0;
                for (std::size_t p = 0; p < k; ++p) sum += a_at(i, p) * b[j * ldb + p];
                c[i * ldc + j] += alpha * sum;
            }
    }
}

}  // namespace spore::kernels
