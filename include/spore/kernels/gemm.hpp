#pragma once
// C = alpha * op(A) * op(B) + beta * C, row-major, with leading dimensions: a cube-tiled GEMM.
//
// Operands are packed into 16x16 blocks, the "fractal" layout of the cube units of AI
// accelerators (Ascend's 16x16x16 cube, AMX's 16-row tiles): A as panels of 16 rows, B as
// panels of 16 columns, each stored k-major, so a panel is a sequence of 16x16 cubes along k
// and every step of the micro-kernel is a 16x16x16 product. Edges are padded with zeros in the
// packed panels, so odd sizes run the same vector code; only the final write of an edge cube
// is masked.
//
// Blocking (GotoBLAS order): a KC x 16 panel of B stays in L1 while the 16-row panels of an
// MC x KC block of A (in L2) stream past it. KC and MC come from the cache sizes.
//
// Threads split C into column (or row) slices, whole cubes each, so every element is summed in
// the same order whatever the thread count: results are bit-identical for 1 or N threads.

#include <algorithm>
#include <cstddef>
#include <utility>

#include <spore/core/aligned_buffer.hpp>
#include <spore/core/config.hpp>
#include <spore/kernels/cache.hpp>
#include <spore/kernels/counters.hpp>
#include <spore/kernels/simd.hpp>
#include <spore/kernels/task_slots.hpp>
#include <spore/kernels/thread_pool.hpp>

namespace spore::kernels {

enum class transpose { no, yes };

inline constexpr std::size_t cube = 16;

// The register tile. A cube's 16 rows are computed in strips, each strip's rows x 16 columns
// (of one cube, or of two cubes side by side) held in accumulator registers while it runs the
// whole depth. The strips are as tall as the register file allows (accumulators + one row of B
// per cube + one broadcast of A), and cut the 16 rows as evenly as possible:
//   AVX-512 fp32: two cubes side by side (a cube row is one zmm, so each broadcast of A feeds
//                 two FMAs), in strips of 8 rows: 16 zmm accumulators (of 32). One cube alone
//                 (16 rows x 1 zmm) needs a load per FMA and is capped near 60% of peak by the
//                 load ports; 8 x 32 needs 10 loads per 16 FMAs;
//   AVX2 fp32:    one cube, 6, 5 and 5 rows: 12 or 10 ymm accumulators (of 16). A 16x16 cube would
//                 need 32 ymm; and fewer than 10 accumulators cannot cover the FMA latency (4-5
//                 cycles on 2 ports), which caps a 4-row strip at 80% of peak;
//   SSE/NEON:     2 (of 16) or 6 (of 32) rows of 4 vectors.
template <class T>
struct register_tile {
    using V = simd::batch<T>;
    static constexpr std::size_t width = V::size;
    static_assert(cube % width == 0, "spore: a SIMD vector wider than a 16-element cube row");
    static constexpr std::size_t vectors = cube / width;
#if defined(__AVX512F__) || defined(__aarch64__)
    static constexpr std::size_t registers = 32;
#else
    static constexpr std::size_t registers = 16;
#endif
    // cubes of C side by side in one strip
    static constexpr std::size_t columns = vectors == 1 && registers >= 32 ? 2 : 1;
#if defined(SPORE_GEMM_MAX_STRIP_ROWS)  // tuning knob for experiments
    static constexpr std::size_t max_rows = SPORE_GEMM_MAX_STRIP_ROWS;
#else
    static constexpr std::size_t max_rows =
        std::clamp<std::size_t>((registers - vectors * columns - 1) / (vectors * columns), 1, cube);
#endif
    static constexpr std::size_t strips = (cube + max_rows - 1) / max_rows;
    // strip s covers rows [first(s), first(s + 1))
    static constexpr std::size_t first(std::size_t s) { return s * (cube / strips) + std::min(s, cube % strips); }
    static constexpr std::size_t height(std::size_t s) { return first(s + 1) - first(s); }
};

template <class T>
struct gemm_blocking {
    std::size_t kc, mc, nc;
    static gemm_blocking compute() {
        const auto& c = caches();
        auto round16 = [](std::size_t x) { return x / cube * cube; };
        // KC 512: C is read and written once per KC of depth, and those passes cost more than
        // a B panel (pair) spilling from L1 to L2. Measured at 1024 with 1 thread: on a 32 KiB
        // L1 / 1 MiB L2 AVX2 core, 69 GFLOP/s against 46-66 for half-L1 panels; on a 48 KiB /
        // 2 MiB AVX-512 core, 146 against 138-144 for KC 256-384. The A block (MC x KC) takes
        // half of L2.
        const std::size_t kc = 512;
        const std::size_t mc = std::clamp<std::size_t>(round16(c.l2 / 2 / (kc * sizeof(T))), 32, 1024);
        return {kc, mc, 4096};
    }
    static const gemm_blocking& get() {
        static const gemm_blocking b = compute();
        return b;
    }
};

namespace detail {

// Size of a packed 16-row panel of A `depth` deep: whole cubes.
constexpr std::size_t a_panel_size(std::size_t depth) { return (depth + cube - 1) / cube * cube * cube; }

template <class T>
SPORE_ALWAYS_INLINE void copy_cube_row(const T* SPORE_RESTRICT from, T* SPORE_RESTRICT to) {
#pragma GCC unroll 16
    for (std::size_t i = 0; i < cube; ++i) to[i] = from[i];
}

// Rows [row, row + 16) of op(A), columns [col, col + depth), as a 16-row panel: a run of
// 16x16 cubes along k (the last one possibly shallower), each row-major with rows 16 apart
// whatever its depth. The micro-kernel broadcasts A(r, k) from cube + r * 16 + k: a fixed
// displacement per row, so one pointer serves a whole strip, and packing an untransposed A is
// a copy of 16-element rows.
template <class T>
void pack_a_panel(transpose trans, const T* a, std::size_t lda, std::size_t row, std::size_t rows_valid,
                  std::size_t col, std::size_t depth, T* out) {
    for (std::size_t q = 0; q * cube < depth; ++q) {
        const std::size_t k0 = q * cube, kr = std::min(cube, depth - k0);
        T* dst = out + q * cube * cube;
        if (trans == transpose::no) {
            if (kr == cube)  // a fixed-size copy the compiler turns into vector moves
                for (std::size_t r = 0; r < rows_valid; ++r) copy_cube_row(a + (row + r) * lda + col + k0, dst + r * cube);
            else
                for (std::size_t r = 0; r < rows_valid; ++r) std::copy_n(a + (row + r) * lda + col + k0, kr, dst + r * cube);
        } else {
            for (std::size_t k = 0; k < kr; ++k) {
                const T* src = a + (col + k0 + k) * lda + row;
                for (std::size_t r = 0; r < rows_valid; ++r) dst[r * cube + k] = src[r];
            }
        }
        // rows past the edge are computed (never stored): keep them finite
        for (std::size_t r = rows_valid; r < cube; ++r) std::fill_n(dst + r * cube, kr, T(0));
    }
}

// Rows [row, row + depth) of op(B), columns [col, col + 16), as a k-major 16-column panel.
template <class T>
void pack_b_panel(transpose trans, const T* b, std::size_t ldb, std::size_t row, std::size_t depth,
                  std::size_t col, std::size_t cols_valid, T* out) {
    if (cols_valid < cube) std::fill_n(out, depth * cube, T(0));
    if (trans == transpose::no) {
        if (cols_valid == cube)
            for (std::size_t k = 0; k < depth; ++k) copy_cube_row(b + (row + k) * ldb + col, out + k * cube);
        else
            for (std::size_t k = 0; k < depth; ++k) std::copy_n(b + (row + k) * ldb + col, cols_valid, out + k * cube);
    } else {
        for (std::size_t c = 0; c < cols_valid; ++c) {
            const T* src = b + (col + c) * ldb + row;
            for (std::size_t k = 0; k < depth; ++k) out[k * cube + c] = src[k];
        }
    }
}

// Rows [first, first + R) of NC cubes of C side by side, over the whole depth, in registers.
// b[c] is the 16-column panel of B for cube c, its rows stride[c] apart. Kept out of line:
// inlined into the cube loop, GCC keeps the accumulators on the stack between cubes.
template <class T, std::size_t R, std::size_t NC>
SPORE_NOINLINE void strip_kernel(std::size_t depth, std::size_t first, const T* SPORE_RESTRICT ap,
                                 const T* const* bp, const std::size_t* stride, T* c, std::size_t ldc,
                                 std::size_t rows_valid, std::size_t cols_valid, T alpha, T beta) {
    using tile = register_tile<T>;
    using V = typename tile::V;
    constexpr std::size_t NV = tile::vectors, W = tile::width;
    V acc[R][NC][NV];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 16
        for (std::size_t q = 0; q < NC; ++q)
#pragma GCC unroll 16
            for (std::size_t v = 0; v < NV; ++v) acc[r][q][v] = V(T(0));
    // C's rows are read and written once at the end, after the whole depth: ask for them now,
    // so the wait for memory hides behind the FMAs.
    if (beta != T(0))
#pragma GCC unroll 16
        for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 16
            for (std::size_t q = 0; q < NC; ++q) __builtin_prefetch(c + (first + r) * ldc + q * cube, 1);
    const T* b_row[NC];
    std::size_t b_step[NC];
    for (std::size_t q = 0; q < NC; ++q) b_row[q] = bp[q], b_step[q] = stride[q];
    for (std::size_t k0 = 0; k0 < depth; k0 += cube) {  // one 16x16x16 cube step
        const std::size_t kr = std::min(cube, depth - k0);
        const T* a = ap + k0 * cube + first * cube;
        // this strip's rows of the next cube: R lines from L2
#pragma GCC unroll 16
        for (std::size_t r = 0; r < R; ++r) __builtin_prefetch(a + cube * cube + r * cube);
#pragma GCC unroll 4
        for (std::size_t k = 0; k < kr; ++k) {
            V b[NC][NV];
#pragma GCC unroll 16
            for (std::size_t q = 0; q < NC; ++q) {
#pragma GCC unroll 16
                for (std::size_t v = 0; v < NV; ++v) {
                    b[q][v] = V::load_unaligned(b_row[q] + v * W);
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
                    // Keep the row of B in a register: GCC would otherwise fold the load into every
                    // FMA that uses it, loading it R times and running out of load slots.
#if defined(__AVX512F__)
                    asm("" : "+v"(b[q][v].data));
#else
                    asm("" : "+x"(b[q][v].data));
#endif
#endif
                }
                b_row[q] += b_step[q];
            }
#pragma GCC unroll 16
            for (std::size_t r = 0; r < R; ++r) {
                const V x(a[r * cube + k]);
#pragma GCC unroll 16
                for (std::size_t q = 0; q < NC; ++q)
#pragma GCC unroll 16
                    for (std::size_t v = 0; v < NV; ++v) acc[r][q][v] = xsimd::fma(x, b[q][v], acc[r][q][v]);
            }
        }
    }
    // Every index into acc must be a compile-time constant after unrolling, or GCC keeps the
    // accumulators in memory; so edges go through a small tile on the stack.
    const V va(alpha), vb(beta);
    if (first + R <= rows_valid && cols_valid == NC * cube) {
#pragma GCC unroll 16
        for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 16
            for (std::size_t q = 0; q < NC; ++q)
#pragma GCC unroll 16
                for (std::size_t v = 0; v < NV; ++v) {
                    T* out = c + (first + r) * ldc + q * cube + v * W;
                    V value = acc[r][q][v] * va;
                    if (beta != T(0)) value = xsimd::fma(vb, V::load_unaligned(out), value);
                    value.store_unaligned(out);
                }
        return;
    }
    alignas(64) T edge[R][NC * cube];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 16
        for (std::size_t q = 0; q < NC; ++q)
#pragma GCC unroll 16
            for (std::size_t v = 0; v < NV; ++v) (acc[r][q][v] * va).store_aligned(&edge[r][q * cube + v * W]);
    for (std::size_t r = 0; r < R && first + r < rows_valid; ++r) {
        T* row = c + (first + r) * ldc;
        for (std::size_t j = 0; j < cols_valid; ++j) row[j] = beta != T(0) ? edge[r][j] + beta * row[j] : edge[r][j];
    }
}

// NC 16x16 cubes of C side by side (NC = 1, or register_tile::columns) from a 16-row panel of
// A and `depth` rows of the 16-column panels b[0..NC) of B: C = alpha * A * B + beta * C
// (beta == 0: C is not read). Strips holding no valid row are skipped.
template <class T, std::size_t NC>
void cube_kernel(std::size_t depth, const T* ap, const T* const* bp, const std::size_t* stride, T* c,
                 std::size_t ldc, std::size_t rows_valid, std::size_t cols_valid, T alpha, T beta) {
    using tile = register_tile<T>;
    [&]<std::size_t... S>(std::index_sequence<S...>) {
        ((tile::first(S) < rows_valid
              ? strip_kernel<T, tile::height(S), NC>(depth, tile::first(S), ap, bp, stride, c, ldc, rows_valid,
                                                     cols_valid, alpha, beta)
              : void()),
         ...);
    }(std::make_index_sequence<tile::strips>{});
}

}  // namespace detail

// Packing buffers of one GEMM in flight. They only grow, so once warm a GEMM allocates nothing.
template <class T>
struct gemm_buffers {
    aligned_buffer<T> a, b;

    // Sizes for C's block of `rows` x `cols` and depth k.
    static std::pair<std::size_t, std::size_t> needed(std::size_t rows, std::size_t cols, std::size_t k) {
        const auto& blocking = gemm_blocking<T>::get();
        auto round_up = [](std::size_t x) { return (x + cube - 1) / cube * cube; };
        const std::size_t kc = std::min(blocking.kc, k);
        const std::size_t mc = std::min(blocking.mc, round_up(rows)), nc = std::min(blocking.nc, round_up(cols));
        return {detail::a_panel_size(kc) * (mc / cube), kc * nc};
    }
    void reserve(std::size_t rows, std::size_t cols, std::size_t k) {
        const auto [na, nb] = needed(rows, cols, k);
        if (a.size() < na) a = aligned_buffer<T>(na);
        if (b.size() < nb) b = aligned_buffer<T>(nb);
    }
};

namespace detail {

// The single-threaded blocked GEMM on C's block [m0, m1) x [n0, n1), with the operands given
// by packers, so that convolutions can pack im2col panels straight from the image:
//   pack_a(row, rows_valid, col, depth, out) writes a 16-row panel of op(A);
//   panel_b(row, depth, col, cols_valid, scratch) returns {pointer, row stride} of a 16-column
//   panel of op(B), packed into `scratch` (stride 16) or read in place.
template <class T, class PackA, class PanelB>
void gemm_packed(std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1, std::size_t k, T alpha,
                 PackA&& pack_a, PanelB&& panel_b, T beta, T* c, std::size_t ldc, gemm_buffers<T>& buffers) {
    const auto& blocking = gemm_blocking<T>::get();
    auto round_up = [](std::size_t x) { return (x + cube - 1) / cube * cube; };
    const std::size_t nc = std::min(blocking.nc, round_up(n1 - n0));
    const std::size_t mc = std::min(blocking.mc, round_up(m1 - m0));
    // depth blocks of equal size (whole cubes) rather than full ones and a thin remainder
    const std::size_t passes = (k + blocking.kc - 1) / blocking.kc;
    const std::size_t kc = std::min(blocking.kc, round_up((k + passes - 1) / passes));
    buffers.reserve(m1 - m0, n1 - n0, k);
    T* bpack = buffers.b.data();
    T* apack = buffers.a.data();
    // nc <= 4096; left uninitialised on purpose (hot path)
    const T* panels[4096 / cube];
    std::size_t strides[4096 / cube];
    constexpr std::size_t NC = register_tile<T>::columns;
    for (std::size_t jc = n0; jc < n1; jc += nc) {
        const std::size_t nb = std::min(nc, n1 - jc);
        for (std::size_t pc = 0; pc < k; pc += kc) {
            const std::size_t kb = std::min(kc, k - pc);
            const T beta_here = pc == 0 ? beta : T(1);
            for (std::size_t j = 0; j < nb; j += cube) {
                const auto [data, stride] = panel_b(pc, kb, jc + j, std::min(cube, nb - j), bpack + j * kb);
                panels[j / cube] = data;
                strides[j / cube] = stride;
            }
            for (std::size_t ic = m0; ic < m1; ic += mc) {
                const std::size_t mb = std::min(mc, m1 - ic);
                for (std::size_t i = 0; i < mb; i += cube)
                    pack_a(ic + i, std::min(cube, mb - i), pc, kb, apack + i / cube * a_panel_size(kb));
                for (std::size_t j = 0; j < nb; j += NC * cube) {
                    const bool whole = j + (NC - 1) * cube < nb;  // all NC panels exist
                    for (std::size_t i = 0; i < mb; i += cube) {
                        const T* ap = apack + i / cube * a_panel_size(kb);
                        T* cc = c + (ic + i) * ldc + jc + j;
                        const std::size_t rows = std::min(cube, mb - i), cols = std::min(NC * cube, nb - j);
                        if (whole)
                            cube_kernel<T, NC>(kb, ap, panels + j / cube, strides + j / cube, cc, ldc, rows, cols,
                                               alpha, beta_here);
                        else
                            cube_kernel<T, 1>(kb, ap, panels + j / cube, strides + j / cube, cc, ldc, rows, cols,
                                              alpha, beta_here);
                    }
                }
            }
        }
    }
}

// gemm_packed on row-major matrices.
template <class T>
void gemm_block(transpose ta, transpose tb, std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1,
                std::size_t k, T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                std::size_t ldc, gemm_buffers<T>& buffers) {
    // When C has a single 16-row panel, each row of B is read once per strip: packing it would
    // copy B for nothing, so whole 16-column panels are read where they are. With more rows a
    // panel is reread by every cube and must stay in L1, which B's own rows, a leading dimension
    // apart (often a multiple of 4 KiB, all in one cache set), would not.
    const bool b_in_place = tb == transpose::no && m1 - m0 <= cube;
    gemm_packed(
        m0, m1, n0, n1, k, alpha,
        [&](std::size_t row, std::size_t rows, std::size_t col, std::size_t depth, T* out) {
            pack_a_panel(ta, a, lda, row, rows, col, depth, out);
        },
        [&](std::size_t row, std::size_t depth, std::size_t col, std::size_t cols, T* scratch) {
            if (b_in_place && cols == cube) return std::pair<const T*, std::size_t>{b + row * ldb + col, ldb};
            pack_b_panel(tb, b, ldb, row, depth, col, cols, scratch);
            return std::pair<const T*, std::size_t>{scratch, cube};
        },
        beta, c, ldc, buffers);
}

// C = alpha * op(A) * op(B) + beta * C for a C of one or two rows (a batch of one at inference):
// packing would cost more than the product, so op(B) is read where it is, as rows of dot
// products (op(B) = B^T, a Dense weight [n, k]) or as scaled rows added up (op(B) = B).
template <class T>
void gemm_few_rows(transpose ta, transpose tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                   std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    using V = simd::batch<T>;
    constexpr std::size_t W = V::size;
    auto a_at = [&](std::size_t i, std::size_t p) { return ta == transpose::no ? a[i * lda + p] : a[p * lda + i]; };
    for (std::size_t i = 0; i < m; ++i) {
        T* row = c + i * ldc;
        if (tb == transpose::yes) {
            const T* a_row = a + i * lda;  // used when A is not transposed
            std::size_t j = 0;
            if (ta == transpose::no) {
                // 8 dot products at a time: 8 independent FMA chains hide the FMA latency and share
                // each load of the A row; 8 row pointers still fit in the general registers (16
                // spilled to the stack). Not reduced by xsimd::haddp: xsimd 8.1's AVX-512 version
                // permutes lanes 2-5 and 10-13.
                constexpr std::size_t J = 8;
                for (; j + J <= n; j += J) {
                    V acc[J];
                    for (auto& v : acc) v = V(T(0));
                    std::size_t p = 0;
                    for (; p + W <= k; p += W) {
                        const V x = V::load_unaligned(a_row + p);
                        for (std::size_t u = 0; u < J; ++u)
                            acc[u] = xsimd::fma(x, V::load_unaligned(b + (j + u) * ldb + p), acc[u]);
                    }
                    for (std::size_t u = 0; u < J; ++u) {
                        const T* b_row = b + (j + u) * ldb;
                        T sum = xsimd::hadd(acc[u]);
                        for (std::size_t q = p; q < k; ++q) sum += a_row[q] * b_row[q];
                        row[j + u] = alpha * sum + (beta == T(0) ? T(0) : beta * row[j + u]);
                    }
                }
            }
            for (; j < n; ++j) {
                const T* b_row = b + j * ldb;
                V acc[4] = {V(T(0)), V(T(0)), V(T(0)), V(T(0))};
                std::size_t p = 0;
                if (ta == transpose::no) {
                    for (; p + 4 * W <= k; p += 4 * W)
                        for (std::size_t u = 0; u < 4; ++u)
                            acc[u] = xsimd::fma(V::load_unaligned(a_row + p + u * W), V::load_unaligned(b_row + p + u * W), acc[u]);
                    for (; p + W <= k; p += W) acc[0] = xsimd::fma(V::load_unaligned(a_row + p), V::load_unaligned(b_row + p), acc[0]);
                }
                T sum = xsimd::hadd((acc[0] + acc[1]) + (acc[2] + acc[3]));
                for (; p < k; ++p) sum += a_at(i, p) * b_row[p];
                row[j] = alpha * sum + (beta == T(0) ? T(0) : beta * row[j]);
            }
        } else {
            // row = beta * row, then += alpha * a(i, p) * B[p, :] for each p
            std::size_t j = 0;
            for (; j + W <= n; j += W) {
                V acc = beta == T(0) ? V(T(0)) : V::load_unaligned(row + j) * V(beta);
                for (std::size_t p = 0; p < k; ++p) acc = xsimd::fma(V(alpha * a_at(i, p)), V::load_unaligned(b + p * ldb + j), acc);
                acc.store_unaligned(row + j);
            }
            for (; j < n; ++j) {
                T acc = beta == T(0) ? T(0) : beta * row[j];
                for (std::size_t p = 0; p < k; ++p) acc += alpha * a_at(i, p) * b[p * ldb + j];
                row[j] = acc;
            }
        }
    }
}

}  // namespace detail

template <class T>
void gemm(transpose trans_a, transpose trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
          std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    count(counters.gemm);
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == T(0)) {
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
        return;
    }
    if (m <= 2) return detail::gemm_few_rows(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    // Below about 2^18 multiply-adds a second thread costs more than it saves; inside another
    // pool task the GEMM runs alone, as one block rather than slice after slice.
    const std::size_t work = m * n * k;
    const bool split_columns = n >= m;
    const std::size_t extent = split_columns ? n : m, cubes = (extent + cube - 1) / cube;
    const std::size_t tasks = work < (std::size_t(1) << 18) || thread_pool::inside_task()
                                  ? 1
                                  : std::min(thread_pool::instance().threads(), cubes);
    const std::size_t per_task = (cubes + tasks - 1) / tasks * cube;
    run_with_slots<gemm_buffers<T>>(
        tasks,
        [&](gemm_buffers<T>& buffers) {
            split_columns ? buffers.reserve(m, per_task, k) : buffers.reserve(per_task, n, k);
        },
        [&](std::size_t t, gemm_buffers<T>& buffers) {
            const std::size_t lo = std::min(extent, t * per_task), hi = std::min(extent, lo + per_task);
            if (lo >= hi) return;
            if (split_columns)
                detail::gemm_block(trans_a, trans_b, 0, m, lo, hi, k, alpha, a, lda, b, ldb, beta, c, ldc, buffers);
            else
                detail::gemm_block(trans_a, trans_b, lo, hi, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc, buffers);
        });
}

}  // namespace spore::kernels
