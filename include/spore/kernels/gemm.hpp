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
#include <vector>

#include <spore/core/aligned_buffer.hpp>
#include <spore/core/config.hpp>
#include <spore/kernels/cache.hpp>
#include <spore/kernels/counters.hpp>
#include <spore/kernels/simd.hpp>
#include <spore/kernels/thread_pool.hpp>

namespace spore::kernels {

enum class transpose { no, yes };

inline constexpr std::size_t cube = 16;

// The register tile. A cube's 16 rows are computed in strips, each strip's rows x 16 columns
// held in accumulator registers while it runs the whole depth. The strips are as tall as the
// register file allows (accumulators + one row of B + one broadcast of A), and cut the 16
// rows as evenly as possible:
//   AVX-512 fp32: one 16x16 strip, the whole cube in 16 zmm registers (of 32);
//   AVX2 fp32:    6, 5 and 5 rows: 12 or 10 ymm accumulators (of 16). A 16x16 cube would need
//                 32 ymm; and fewer than 10 accumulators cannot cover the FMA latency (4-5
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
#if defined(SPORE_GEMM_MAX_STRIP_ROWS)  // tuning knob for experiments
    static constexpr std::size_t max_rows = SPORE_GEMM_MAX_STRIP_ROWS;
#else
    static constexpr std::size_t max_rows = std::clamp<std::size_t>((registers - vectors - 1) / vectors, 1, cube);
#endif
    static constexpr std::size_t strips = (cube + max_rows - 1) / max_rows;
    // strip s covers rows [first(s), first(s + 1))
    static constexpr std::size_t first(std::size_t s) { return s * (cube / strips) + std::min(s, cube % strips); }
    static constexpr std::size_t height(std::size_t s) { return first(s + 1) - first(s); }
    static constexpr std::size_t strip_of(std::size_t row) {
        std::size_t s = 0;
        while (first(s + 1) <= row) ++s;
        return s;
    }
};

template <class T>
struct gemm_blocking {
    std::size_t kc, mc, nc;
    static gemm_blocking compute() {
        const auto& c = caches();
        auto round16 = [](std::size_t x) { return x / cube * cube; };
        // the B panel (KC x 16) as large as L1, the A block (MC x KC) half of L2: measured best
        // on a 32 KiB L1 / 1 MiB L2 core (KC 512, MC 256: 69 GFLOP/s at 1024 against 46-66
        // for half-L1 panels)
        const std::size_t kc = std::clamp<std::size_t>(round16(c.l1_data / (cube * sizeof(T))), 64, 512);
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

// Rows [row, row + 16) of op(A), columns [col, col + depth), as a 16-row panel: a run of
// 16x16 cubes along k (the last one possibly shallower). Inside a cube the register tile's
// strips come one after the other, each k-major, so the micro-kernel reads A contiguously:
// element (r, k) of a cube `kr` deep, in strip s of height h, sits at first(s) * kr + k * h +
// r - first(s).
template <class T>
void pack_a_panel(transpose trans, const T* a, std::size_t lda, std::size_t row, std::size_t rows_valid,
                  std::size_t col, std::size_t depth, T* out) {
    using tile = register_tile<T>;
    if (rows_valid < cube) std::fill_n(out, a_panel_size(depth), T(0));
    for (std::size_t q = 0; q * cube < depth; ++q) {
        const std::size_t k0 = q * cube, kr = std::min(cube, depth - k0);
        T* dst = out + q * cube * cube;
        for (std::size_t r = 0; r < rows_valid; ++r) {
            const std::size_t s = tile::strip_of(r), h = tile::height(s);
            T* strip = dst + tile::first(s) * kr + r - tile::first(s);
            if (trans == transpose::no) {
                const T* src = a + (row + r) * lda + col + k0;
                for (std::size_t k = 0; k < kr; ++k) strip[k * h] = src[k];
            } else {
                const T* src = a + (col + k0) * lda + row + r;
                for (std::size_t k = 0; k < kr; ++k) strip[k * h] = src[k * lda];
            }
        }
    }
}

// Rows [row, row + depth) of op(B), columns [col, col + 16), as a k-major 16-column panel.
template <class T>
void pack_b_panel(transpose trans, const T* b, std::size_t ldb, std::size_t row, std::size_t depth,
                  std::size_t col, std::size_t cols_valid, T* out) {
    if (cols_valid < cube) std::fill_n(out, depth * cube, T(0));
    if (trans == transpose::no) {
        for (std::size_t k = 0; k < depth; ++k) std::copy_n(b + (row + k) * ldb + col, cols_valid, out + k * cube);
    } else {
        for (std::size_t c = 0; c < cols_valid; ++c) {
            const T* src = b + (col + c) * ldb + row;
            for (std::size_t k = 0; k < depth; ++k) out[k * cube + c] = src[k];
        }
    }
}

// Rows [first, first + R) of one 16x16 cube of C, over the whole depth, in registers. Kept out
// of line: inlined into the cube loop, GCC keeps the accumulators on the stack between cubes.
template <class T, std::size_t R>
SPORE_NOINLINE void strip_kernel(std::size_t depth, std::size_t first, const T* SPORE_RESTRICT ap,
                                      const T* SPORE_RESTRICT bp, std::size_t b_stride, T* c, std::size_t ldc,
                                      std::size_t rows_valid, std::size_t cols_valid, T alpha, T beta) {
    using tile = register_tile<T>;
    using V = typename tile::V;
    constexpr std::size_t NV = tile::vectors, W = tile::width;
    V acc[R][NV];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 16
        for (std::size_t v = 0; v < NV; ++v) acc[r][v] = V(T(0));
    const T* b_row = bp;
    for (std::size_t k0 = 0; k0 < depth; k0 += cube) {  // one 16x16x16 cube step
        const std::size_t kr = std::min(cube, depth - k0);
        const T* a = ap + k0 * cube + first * kr;
#pragma GCC unroll 4
        for (std::size_t k = 0; k < kr; ++k, b_row += b_stride) {
            V b[NV];
#pragma GCC unroll 16
            for (std::size_t v = 0; v < NV; ++v) {
                b[v] = V::load_unaligned(b_row + v * W);
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
                // Keep the row of B in a register: GCC would otherwise fold the load into every
                // FMA that uses it, loading it R times and running out of load slots.
#if defined(__AVX512F__)
                asm("" : "+v"(b[v].data));
#else
                asm("" : "+x"(b[v].data));
#endif
#endif
            }
#pragma GCC unroll 16
            for (std::size_t r = 0; r < R; ++r) {
                const V x(a[k * R + r]);
#pragma GCC unroll 16
                for (std::size_t v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(x, b[v], acc[r][v]);
            }
        }
    }
    const V va(alpha), vb(beta);
    for (std::size_t r = 0; r < R && first + r < rows_valid; ++r) {
        T* row = c + (first + r) * ldc;
        if (cols_valid == cube) {
#pragma GCC unroll 16
            for (std::size_t v = 0; v < NV; ++v) {
                V out = acc[r][v] * va;
                if (beta != T(0)) out = xsimd::fma(vb, V::load_unaligned(row + v * W), out);
                out.store_unaligned(row + v * W);
            }
        } else {
            alignas(64) T tmp[cube];
            for (std::size_t v = 0; v < NV; ++v) (acc[r][v] * va).store_aligned(tmp + v * W);
            for (std::size_t j = 0; j < cols_valid; ++j) row[j] = beta != T(0) ? tmp[j] + beta * row[j] : tmp[j];
        }
    }
}

// One 16x16 cube of C from a 16-row panel of A and `depth` rows of 16 columns of B, each row
// `b_stride` apart (16 in a packed panel): C = alpha * A * B + beta * C (beta == 0: C is not
// read). Strips holding no valid row are skipped.
template <class T>
void cube_kernel(std::size_t depth, const T* ap, const T* bp, std::size_t b_stride, T* c, std::size_t ldc,
                 std::size_t rows_valid, std::size_t cols_valid, T alpha, T beta) {
    using tile = register_tile<T>;
    [&]<std::size_t... S>(std::index_sequence<S...>) {
        ((tile::first(S) < rows_valid
              ? strip_kernel<T, tile::height(S)>(depth, tile::first(S), ap, bp, b_stride, c, ldc, rows_valid,
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

// Buffers of the calling thread, for GEMMs it runs by itself.
template <class T>
gemm_buffers<T>& thread_gemm_buffers() {
    thread_local gemm_buffers<T> buffers;
    return buffers;
}
// Buffers of the tasks of a parallel job: slot t serves task t, sized before the job starts
// (thread_pool::run's prepare step), so no pool thread allocates in the middle of a job.
template <class T>
std::vector<gemm_buffers<T>>& task_gemm_buffers() {
    static std::vector<gemm_buffers<T>> slots;
    return slots;
}

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
    const std::size_t kc = std::min(blocking.kc, k);
    buffers.reserve(m1 - m0, n1 - n0, k);
    T* bpack = buffers.b.data();
    T* apack = buffers.a.data();
    struct panel_ref {
        const T* data;
        std::size_t stride;
    };
    panel_ref panels[4096 / cube];  // nc <= 4096; left uninitialised on purpose (hot path)
    for (std::size_t jc = n0; jc < n1; jc += nc) {
        const std::size_t nb = std::min(nc, n1 - jc);
        for (std::size_t pc = 0; pc < k; pc += kc) {
            const std::size_t kb = std::min(kc, k - pc);
            const T beta_here = pc == 0 ? beta : T(1);
            for (std::size_t j = 0; j < nb; j += cube) {
                const auto [data, stride] = panel_b(pc, kb, jc + j, std::min(cube, nb - j), bpack + j * kb);
                panels[j / cube] = {data, stride};
            }
            for (std::size_t ic = m0; ic < m1; ic += mc) {
                const std::size_t mb = std::min(mc, m1 - ic);
                for (std::size_t i = 0; i < mb; i += cube)
                    pack_a(ic + i, std::min(cube, mb - i), pc, kb, apack + i / cube * a_panel_size(kb));
                for (std::size_t j = 0; j < nb; j += cube) {
                    const auto [panel, stride] = panels[j / cube];
                    for (std::size_t i = 0; i < mb; i += cube)
                        cube_kernel(kb, apack + i / cube * a_panel_size(kb), panel, stride, c + (ic + i) * ldc + jc + j,
                                    ldc, std::min(cube, mb - i), std::min(cube, nb - j), alpha, beta_here);
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
    // When all rows of C fit one block of A, each panel of B is used by one sweep only: packing
    // it would copy B for nothing, so whole 16-column panels are read where they are.
    const bool b_in_place = tb == transpose::no && m1 - m0 <= gemm_blocking<T>::get().mc;
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
    auto& pool = thread_pool::instance();
    // Below about 2^18 multiply-adds a second thread costs more than it saves.
    const std::size_t work = m * n * k;
    const bool split_columns = n >= m;
    const std::size_t cubes = ((split_columns ? n : m) + cube - 1) / cube;
    const std::size_t tasks = work < (std::size_t(1) << 18) ? 1 : std::min(pool.threads(), cubes);
    if (tasks <= 1 || thread_pool::inside_task()) {
        detail::gemm_block(trans_a, trans_b, 0, m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc, thread_gemm_buffers<T>());
        return;
    }
    const std::size_t per_task = (cubes + tasks - 1) / tasks * cube;
    auto& slots = task_gemm_buffers<T>();
    pool.run(
        tasks,
        [&](std::size_t t) {
            const std::size_t extent = split_columns ? n : m;
            const std::size_t lo = std::min(extent, t * per_task), hi = std::min(extent, lo + per_task);
            if (lo >= hi) return;
            if (split_columns)
                detail::gemm_block(trans_a, trans_b, 0, m, lo, hi, k, alpha, a, lda, b, ldb, beta, c, ldc, slots[t]);
            else
                detail::gemm_block(trans_a, trans_b, lo, hi, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc, slots[t]);
        },
        [&] {
            if (slots.size() < tasks) slots.resize(tasks);
            for (auto& slot : slots) split_columns ? slot.reserve(m, per_task, k) : slot.reserve(per_task, n, k);
        });
}

}  // namespace spore::kernels
