#pragma once
// Direct 2-D convolution at stride 1, with no im2col matrix: the implicit GEMM of a
// convolution read straight from a zero-padded copy of the image.
//
// A register tile is RF filters x NV runs, where a run is one SIMD vector of neighbouring
// output positions in one output row. For every tap k = (c, kh, kw) the input a run needs is
// one contiguous vector at a fixed offset from the run's start, so a step of the tile is NV
// vector loads, RF broadcasts of a weight and RF * NV FMAs, exactly a GEMM micro-kernel whose
// B rows come through a table of tap offsets instead of a packed panel. im2col gathers 16
// scattered values per panel row and cost LeNet's convolutions twice their FMAs; here the
// only copy is the padded image, a few KiB.
//
//   forward:         y = conv(x, w) + b, tiles over (filters, runs of y);
//   input gradient:  dx = the full correlation of dy with w flipped and transposed: the same
//                    forward tile on dy padded by the kernel size minus one, filters = C;
//   weight gradient: dw[f, k] = sum over images and positions of dy[f, p] x[p + tap(k)]: a tile
//                    of RF filters x RK taps of vector accumulators, summed across lanes at the
//                    end; dy is read with the lanes past a row's end masked off.
//
// Work is split by images (forward, input gradient) or by tiles of dw (weight gradient), never
// inside a sum, so the result does not depend on the thread count.

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include <spore/core/aligned_buffer.hpp>
#include <spore/core/config.hpp>
#include <spore/kernels/simd.hpp>
#include <spore/kernels/simd_lanes.hpp>
#include <spore/kernels/thread_pool.hpp>

namespace spore::kernels::direct {

// Output positions one vector wide in one output row: the offset of its first input in the
// padded source, the offset of its first output, and how many of its lanes are real.
struct run {
    std::size_t src, dst, lanes;
};

#if defined(__AVX512F__) || defined(__aarch64__)
inline constexpr std::size_t vector_registers = 32;
#else
inline constexpr std::size_t vector_registers = 16;
#endif

// Tile shapes, rows (filters) x columns (runs or taps), as large as the register file allows:
// rows * columns accumulators + one register per column (forward: the runs' inputs) or per row
// (weight gradient: dy of each filter) + one broadcast or load. Two shapes each, so that 6 or
// 16 filters (LeNet) waste no row; the one with fewer padded rows is used.
template <std::size_t Rows, std::size_t Columns>
struct tile_shape {
    static constexpr std::size_t rows = Rows, columns = Columns;
};
#if defined(__AVX512F__) || defined(__aarch64__)
using forward_tiles = std::pair<tile_shape<8, 3>, tile_shape<6, 4>>;
using weight_tiles = std::pair<tile_shape<4, 6>, tile_shape<6, 4>>;
#else
using forward_tiles = std::pair<tile_shape<4, 2>, tile_shape<3, 3>>;
using weight_tiles = std::pair<tile_shape<4, 2>, tile_shape<3, 3>>;
#endif

inline constexpr std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

// Calls body(shape) with the shape of the pair that pads `filters` the least.
template <class Pair, class Body>
decltype(auto) with_tile(std::size_t filters, Body&& body) {
    using first = typename Pair::first_type;
    using second = typename Pair::second_type;
    if (round_up(filters, second::rows) < round_up(filters, first::rows)) return body(second{});
    return body(first{});
}

template <class V>
SPORE_ALWAYS_INLINE void keep_in_register([[maybe_unused]] V& v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    // GCC would otherwise fold the load into each FMA that uses it, and run out of load slots.
#if defined(__AVX512F__)
    asm("" : "+v"(v.data));
#else
    asm("" : "+x"(v.data));
#endif
#endif
}

// RF filters x NV runs over `taps` taps: out[f * plane + run.dst + lane] (+)= bias[f] +
// sum_k weights[k * RF + f] * source[run.src + offsets[k] + lane], for the first `filters` rows
// and each run's real lanes (a run of 0 lanes only pads the tile).
template <class T, std::size_t RF, std::size_t NV>
SPORE_NOINLINE void forward_tile(std::size_t taps, const T* SPORE_RESTRICT weights,
                                 const std::size_t* SPORE_RESTRICT offsets, const T* source, const run* runs,
                                 const T* bias, T* out, std::size_t plane, std::size_t filters, bool accumulate) {
    using V = simd::batch<T>;
    constexpr std::size_t W = V::size;
    V acc[RF][NV];
#pragma GCC unroll 16
    for (std::size_t f = 0; f < RF; ++f)
#pragma GCC unroll 16
        for (std::size_t v = 0; v < NV; ++v) acc[f][v] = V(bias ? bias[f] : T(0));
    const T* src[NV];
#pragma GCC unroll 16
    for (std::size_t v = 0; v < NV; ++v) src[v] = source + runs[v].src;
    for (std::size_t k = 0; k < taps; ++k) {
        const std::size_t offset = offsets[k];
        V in[NV];
#pragma GCC unroll 16
        for (std::size_t v = 0; v < NV; ++v) {
            in[v] = V::load_unaligned(src[v] + offset);
            keep_in_register(in[v]);
        }
        const T* w = weights + k * RF;
#pragma GCC unroll 16
        for (std::size_t f = 0; f < RF; ++f) {
            const V x(w[f]);
#pragma GCC unroll 16
            for (std::size_t v = 0; v < NV; ++v) acc[f][v] = xsimd::fma(x, in[v], acc[f][v]);
        }
    }
    // f and v stay compile-time constants (a run-time index would put acc in memory)
#pragma GCC unroll 16
    for (std::size_t f = 0; f < RF; ++f) {
        if (f >= filters) break;
#pragma GCC unroll 16
        for (std::size_t v = 0; v < NV; ++v) {
            T* o = out + f * plane + runs[v].dst;
            if (runs[v].lanes == W) {
                V value = acc[f][v];
                if (accumulate) value += V::load_unaligned(o);
                value.store_unaligned(o);
            } else if (accumulate) {
                simd::store_first_lanes<true>(o, acc[f][v], runs[v].lanes);
            } else {
                simd::store_first_lanes<false>(o, acc[f][v], runs[v].lanes);
            }
        }
    }
}

// RF filters x RK taps of dw over the runs of a few images, added to the tile's vector partial
// sums `partial` (RF * RK vectors, lanes summed by finish_weight_tile):
// partial[f][k] += sum_r dy[f * plane + run r] * x[run r + offsets[k]], lane by lane, over each
// run's real lanes (masked loads of dy; rows from `filters` on are zero). A few images at a
// time keep their dy and x in L1 across all tiles; accumulating over the whole batch in
// registers would stream them from L2 once per tile.
template <class T, std::size_t RF, std::size_t RK>
SPORE_NOINLINE void weight_tile(std::size_t images, std::size_t run_count, const run* runs, const T* x,
                                std::size_t x_stride, const T* dy, std::size_t dy_stride, std::size_t plane,
                                std::size_t filters, const std::size_t* SPORE_RESTRICT offsets, std::size_t taps,
                                T* SPORE_RESTRICT partial) {
    using V = simd::batch<T>;
    constexpr std::size_t W = V::size;
    V acc[RF][RK];
#pragma GCC unroll 16
    for (std::size_t f = 0; f < RF; ++f)
#pragma GCC unroll 16
        for (std::size_t k = 0; k < RK; ++k) acc[f][k] = V::load_aligned(partial + (f * RK + k) * W);
    std::size_t offset[RK];
#pragma GCC unroll 16
    for (std::size_t k = 0; k < RK; ++k) offset[k] = offsets[std::min(k, taps - 1)];
    for (std::size_t n = 0; n < images; ++n)
    for (std::size_t r = 0; r < run_count; ++r) {
        const std::size_t lanes = runs[r].lanes;
        const T* grad = dy + n * dy_stride + runs[r].dst;
        V d[RF];
#pragma GCC unroll 16
        for (std::size_t f = 0; f < RF; ++f)
            d[f] = f < filters ? simd::load_first_lanes<V>(grad + f * plane, lanes) : V(T(0));
        const T* in = x + n * x_stride + runs[r].src;
#pragma GCC unroll 16
        for (std::size_t k = 0; k < RK; ++k) {
            const V value = V::load_unaligned(in + offset[k]);
#pragma GCC unroll 16
            for (std::size_t f = 0; f < RF; ++f) acc[f][k] = xsimd::fma(d[f], value, acc[f][k]);
        }
    }
#pragma GCC unroll 16
    for (std::size_t f = 0; f < RF; ++f)
#pragma GCC unroll 16
        for (std::size_t k = 0; k < RK; ++k) acc[f][k].store_aligned(partial + (f * RK + k) * W);
}

// dw[f * dw_stride + k] (+)= the lanes of a tile's partial sums added up, for the first
// `filters` x `taps` of the tile.
template <class T, std::size_t RF, std::size_t RK>
void finish_weight_tile(const T* partial, T* dw, std::size_t dw_stride, std::size_t filters, std::size_t taps,
                        bool accumulate) {
    using V = simd::batch<T>;
    for (std::size_t f = 0; f < filters; ++f)
        for (std::size_t k = 0; k < taps; ++k) {
            const T sum = xsimd::hadd(V::load_aligned(partial + (f * RK + k) * V::size));
            T& o = dw[f * dw_stride + k];
            o = accumulate ? o + sum : sum;
        }
}

}  // namespace spore::kernels::direct
