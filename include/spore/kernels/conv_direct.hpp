#pragma once
// Direct 2-D convolution at stride 1, with no im2col matrix: the implicit GEMM of a
// convolution read straight from a zero-padded copy of the image. This file holds the whole
// path: the register-tile micro-kernels first, then the drivers that pad images, build the
// tables the tiles read, pack the weights and split the work among threads (forward,
// backward_input, backward_weight). conv.hpp chooses this path or conv_im2col.hpp's.
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
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include <spore/core/aligned_buffer.hpp>
#include <spore/core/config.hpp>
#include <spore/kernels/cache.hpp>
#include <spore/kernels/conv_geometry.hpp>
#include <spore/kernels/simd.hpp>
#include <spore/kernels/simd_lanes.hpp>
#include <spore/kernels/task_slots.hpp>
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

// ---- the drivers ----

// Elements of one zero-padded image for the direct kernels: reads run up to a vector past the
// last row.
template <class T>
constexpr std::size_t padded_image_size(std::size_t channels, std::size_t height, std::size_t width) {
    return round_up(channels * height * width + width + simd::batch<T>::size, 16);
}
// The vector partial sums of every tile of the direct weight gradient.
template <class T>
std::size_t weight_partials_size(const conv2d_geometry& g) {
    return with_tile<weight_tiles>(g.filters, [&](auto shape) {
        constexpr std::size_t RF = decltype(shape)::rows, RK = decltype(shape)::columns;
        return round_up(g.filters, RF) * round_up(g.patch(), RK) * simd::batch<T>::size;
    });
}

// Scratch a caller provides to backward_weight: the padded images of the batch and the tiles'
// partial sums, aligned inside it to 64 bytes.
template <class T>
std::size_t weight_gradient_scratch(const conv2d_geometry& g, std::size_t batch) {
    return batch * padded_image_size<T>(g.channels, g.height + 2 * g.padding, g.width + 2 * g.padding) +
           weight_partials_size<T>(g) + 64 / sizeof(T);
}

// The padded image of one task of forward_images.
template <class T>
struct image_slot {
    aligned_buffer<T> image;
    void reserve(std::size_t size) {
        if (image.size() < size) image = aligned_buffer<T>(size);
    }
};

// Per-call tables of the calling thread (they only grow, so a warm call allocates nothing).
template <class T>
struct call_tables {
    std::vector<run> runs;
    std::vector<std::size_t> offsets;
    std::vector<T> weights, bias;
    static call_tables& of_this_thread() {
        thread_local call_tables tables;
        return tables;
    }
};

// Runs covering a rows x cols output, row-major, read from a source `source_width` wide whose
// output starts `skip` rows and columns in; padded with empty runs to a multiple of `multiple`.
template <class T>
void make_runs(std::size_t rows, std::size_t cols, std::size_t source_width, std::size_t skip, std::size_t multiple,
               std::vector<run>& runs) {
    constexpr std::size_t W = simd::batch<T>::size;
    runs.clear();
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; j += W)
            runs.push_back({(i + skip) * source_width + j + skip, i * cols + j, std::min(W, cols - j)});
    while (runs.size() % multiple) runs.push_back({runs.front().src, 0, 0});
}

// Offsets of the taps (c, kh, kw) in a source of `channels` planes `height` x `width`.
inline void make_offsets(std::size_t channels, std::size_t kernel_h, std::size_t kernel_w, std::size_t height,
                         std::size_t width, std::vector<std::size_t>& offsets) {
    offsets.clear();
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t kh = 0; kh < kernel_h; ++kh)
            for (std::size_t kw = 0; kw < kernel_w; ++kw) offsets.push_back((c * height + kh) * width + kw);
}

// Copies `channels` planes rows x cols into `out`, `pad` zeros on every side, and zeroes the
// slack up to `size`.
template <class T>
void pad_planes(const T* in, std::size_t channels, std::size_t rows, std::size_t cols, std::size_t pad_rows,
                std::size_t pad_cols, T* out, std::size_t size) {
    const std::size_t out_rows = rows + 2 * pad_rows, out_cols = cols + 2 * pad_cols;
    if (pad_rows == 0 && pad_cols == 0) {
        std::copy_n(in, channels * rows * cols, out);
        std::fill(out + channels * rows * cols, out + size, T(0));
        return;
    }
    std::fill_n(out, size, T(0));
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t r = 0; r < rows; ++r)
            std::copy_n(in + (c * rows + r) * cols, cols, out + (c * out_rows + r + pad_rows) * out_cols + pad_cols);
}

// Weights [rows, taps] (row r, tap k at weight(r, k)) packed as blocks of RF rows, tap-major,
// zero past the last row.
template <class T, std::size_t RF, class Weight>
void pack_tile_weights(std::size_t rows, std::size_t taps, Weight&& weight, std::vector<T>& out) {
    const std::size_t blocks = (rows + RF - 1) / RF;
    out.assign(blocks * taps * RF, T(0));
    for (std::size_t b = 0; b < blocks; ++b)
        for (std::size_t k = 0; k < taps; ++k)
            for (std::size_t f = 0; f < RF && b * RF + f < rows; ++f) out[(b * taps + k) * RF + f] = weight(b * RF + f, k);
}

// The weights [rows, taps] of a forward pass packed as pack_tile_weights does, through a memo
// per thread of the last packing of each weight tensor. Inference calls again and again with
// the same weights, and comparing them with the copy kept costs a fraction of the strided
// gather of packing (which was a tenth of LeNet's batch-1 forward pass); weights that changed
// (training) are packed again. Compared by value, not by address: an address says nothing about
// the values behind it. The memo stops growing at a fixed number of tensors (the rest are packed
// into `spill` every time), so its memory is bounded and a warm call allocates nothing. Returns
// the packed weights, valid until the next call on this thread.
template <class T, std::size_t RF>
const T* pack_forward_weights(const T* w, std::size_t rows, std::size_t taps, std::vector<T>& spill) {
    struct memo {
        const T* source;
        std::size_t rows, taps;
        std::vector<T> copy, packed;
    };
    constexpr std::size_t most_tensors = 64;
    thread_local std::vector<memo> memos;
    const std::size_t count = rows * taps;
    auto weight = [&](std::size_t f, std::size_t k) { return w[f * taps + k]; };
    auto found = std::find_if(memos.begin(), memos.end(),
                              [&](const memo& m) { return m.source == w && m.rows == rows && m.taps == taps; });
    if (found == memos.end()) {
        if (memos.size() == most_tensors) {
            pack_tile_weights<T, RF>(rows, taps, weight, spill);
            return spill.data();
        }
        if (memos.capacity() == 0) memos.reserve(most_tensors);  // entries never move
        found = memos.insert(memos.end(), memo{w, rows, taps, {}, {}});
    } else if (std::memcmp(found->copy.data(), w, count * sizeof(T)) == 0) {
        return found->packed.data();
    }
    pack_tile_weights<T, RF>(rows, taps, weight, found->packed);
    found->copy.assign(w, w + count);
    return found->packed.data();
}

// out[n] (+)= bias + conv(source[n], weights) over `rows` output planes of `plane` elements, for
// images of `padded` elements made by pad(n, buffer); weights packed by pack_tile_weights, tables
// as made above.
template <class T, std::size_t RF, std::size_t NV, class Pad>
void forward_images(std::size_t batch, std::size_t padded, Pad&& pad, const T* weights, const call_tables<T>& tables,
                    std::size_t rows, bool with_bias, T* out, std::size_t out_image, std::size_t plane,
                    bool accumulate) {
    const std::size_t taps = tables.offsets.size(), blocks = (rows + RF - 1) / RF;
    const std::size_t tasks = std::min(batch, thread_pool::instance().threads());
    run_with_slots<image_slot<T>>(
        tasks, [&](image_slot<T>& slot) { slot.reserve(padded); },
        [&](std::size_t t, image_slot<T>& slot) {
            const auto [lo, hi] = detail::task_images(batch, tasks, t);
            T* image = slot.image.data();
            for (std::size_t n = lo; n < hi; ++n) {
                pad(n, image);
                for (std::size_t b = 0; b < blocks; ++b)
                    for (std::size_t r = 0; r < tables.runs.size(); r += NV)
                        forward_tile<T, RF, NV>(taps, weights + b * taps * RF, tables.offsets.data(), image,
                                                tables.runs.data() + r,
                                                with_bias ? tables.bias.data() + b * RF : nullptr,
                                                out + n * out_image + b * RF * plane, plane,
                                                std::min(RF, rows - b * RF), accumulate);
            }
        });
}

template <class T>
void forward(const conv2d_geometry& g, std::size_t batch, const T* x, const T* w, const T* bias, T* y) {
    const std::size_t hp = g.height + 2 * g.padding, wp = g.width + 2 * g.padding;
    const std::size_t padded = padded_image_size<T>(g.channels, hp, wp);
    auto& tables = call_tables<T>::of_this_thread();
    make_offsets(g.channels, g.kernel_h, g.kernel_w, hp, wp, tables.offsets);
    with_tile<forward_tiles>(g.filters, [&](auto shape) {
        constexpr std::size_t RF = decltype(shape)::rows, NV = decltype(shape)::columns;
        make_runs<T>(g.out_h(), g.out_w(), wp, 0, NV, tables.runs);
        const T* weights = pack_forward_weights<T, RF>(w, g.filters, g.patch(), tables.weights);
        tables.bias.assign(round_up(g.filters, RF), T(0));
        if (bias) std::copy_n(bias, g.filters, tables.bias.begin());
        forward_images<T, RF, NV>(
            batch, padded,
            [&](std::size_t n, T* image) {
                pad_planes(x + n * g.input_size(), g.channels, g.height, g.width, g.padding, g.padding, image, padded);
            },
            weights, tables, g.filters, bias != nullptr, y, g.output_size(), g.positions(), false);
    });
}

// dx (+)= the full correlation of dy (padded by the kernel size minus one) with w flipped and
// transposed, cropped by the padding.
template <class T>
void backward_input(const conv2d_geometry& g, std::size_t batch, const T* dy, const T* w, T* dx, bool accumulate) {
    const std::size_t oh = g.out_h(), ow = g.out_w(), ph = g.kernel_h - 1, pw = g.kernel_w - 1;
    const std::size_t hq = oh + 2 * ph, wq = ow + 2 * pw;
    const std::size_t padded = padded_image_size<T>(g.filters, hq, wq);
    const std::size_t kk = g.kernel_h * g.kernel_w, taps = g.filters * kk;
    auto& tables = call_tables<T>::of_this_thread();
    make_offsets(g.filters, g.kernel_h, g.kernel_w, hq, wq, tables.offsets);
    with_tile<forward_tiles>(g.channels, [&](auto shape) {
        constexpr std::size_t RF = decltype(shape)::rows, NV = decltype(shape)::columns;
        make_runs<T>(g.height, g.width, wq, g.padding, NV, tables.runs);
        pack_tile_weights<T, RF>(
            g.channels, taps,
            [&](std::size_t c, std::size_t k) {
                const std::size_t f = k / kk, a = k % kk / g.kernel_w, b = k % g.kernel_w;
                return w[((f * g.channels + c) * g.kernel_h + g.kernel_h - 1 - a) * g.kernel_w + g.kernel_w - 1 - b];
            },
            tables.weights);
        forward_images<T, RF, NV>(
            batch, padded,
            [&](std::size_t n, T* image) {
                pad_planes(dy + n * g.output_size(), g.filters, oh, ow, ph, pw, image, padded);
            },
            tables.weights.data(), tables, g.channels, false, dx, g.input_size(), g.height * g.width, accumulate);
    });
}

template <class T>
void backward_weight(const conv2d_geometry& g, std::size_t batch, const T* x, const T* dy, T* dw, bool accumulate,
                     T* scratch) {
    constexpr std::size_t W = simd::batch<T>::size;
    const std::size_t hp = g.height + 2 * g.padding, wp = g.width + 2 * g.padding;
    const std::size_t x_size = padded_image_size<T>(g.channels, hp, wp);
    auto& tables = call_tables<T>::of_this_thread();
    make_offsets(g.channels, g.kernel_h, g.kernel_w, hp, wp, tables.offsets);
    make_runs<T>(g.out_h(), g.out_w(), wp, 0, 1, tables.runs);
    // aligned to 64 bytes inside the scratch, wherever the caller's buffer starts
    T* xs = reinterpret_cast<T*>((reinterpret_cast<std::uintptr_t>(scratch) + 63) / 64 * 64);
    T* partials = xs + batch * x_size;
    const std::size_t copy_tasks = std::min(batch, thread_pool::instance().threads());
    run_tasks(copy_tasks, [&](std::size_t t) {
        const auto [lo, hi] = detail::task_images(batch, copy_tasks, t);
        for (std::size_t n = lo; n < hi; ++n)
            pad_planes(x + n * g.input_size(), g.channels, g.height, g.width, g.padding, g.padding, xs + n * x_size,
                       x_size);
    });
    with_tile<weight_tiles>(g.filters, [&](auto shape) {
        constexpr std::size_t RF = decltype(shape)::rows, RK = decltype(shape)::columns;
        const std::size_t taps = g.patch(), tap_blocks = (taps + RK - 1) / RK;
        const std::size_t tiles = (g.filters + RF - 1) / RF * tap_blocks, tile_size = RF * RK * W;
        const std::size_t tasks = std::min(tiles, thread_pool::instance().threads());
        // images per sweep over the tiles: as many as keep their x and dy within half of L1
        const std::size_t image_bytes = (x_size + g.output_size()) * sizeof(T);
        const std::size_t chunk = std::clamp<std::size_t>(caches().l1_data / 2 / image_bytes, 1, batch);
        run_tasks(tasks, [&](std::size_t t) {
            const std::size_t first = tiles * t / tasks, last = tiles * (t + 1) / tasks;
            std::fill(partials + first * tile_size, partials + last * tile_size, T(0));
            for (std::size_t n = 0; n < batch; n += chunk)
                for (std::size_t tile = first; tile < last; ++tile) {
                    const std::size_t f0 = tile / tap_blocks * RF, k0 = tile % tap_blocks * RK;
                    weight_tile<T, RF, RK>(std::min(chunk, batch - n), tables.runs.size(), tables.runs.data(),
                                           xs + n * x_size, x_size, dy + n * g.output_size() + f0 * g.positions(),
                                           g.output_size(), g.positions(), g.filters - f0,
                                           tables.offsets.data() + k0, taps - k0, partials + tile * tile_size);
                }
            for (std::size_t tile = first; tile < last; ++tile) {
                const std::size_t f0 = tile / tap_blocks * RF, k0 = tile % tap_blocks * RK;
                finish_weight_tile<T, RF, RK>(partials + tile * tile_size, dw + f0 * taps + k0, taps,
                                              std::min(RF, g.filters - f0), std::min(RK, taps - k0), accumulate);
            }
        });
    });
}

}  // namespace spore::kernels::direct
