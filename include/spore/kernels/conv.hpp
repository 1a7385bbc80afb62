#pragma once
// 2-D convolution in NCHW. At stride 1 it runs the direct kernels of conv_direct.hpp (an
// implicit GEMM read through tap offsets). Other strides run on the cube-tiled GEMM: each image is one GEMM,
//   y[n] (filters x positions) = W (filters x patch) * col(x[n]) (patch x positions),
// where col() is im2col; its 16-column panels are packed straight from the image, so the full
// im2col matrix is never stored. The weight gradient is the same product with col() read
// transposed; the input gradient is W^T * dy[n] followed by col2im.
//
// Images are split among threads; the weight gradient is summed per fixed chunk of images and
// the chunks added in order, so no result depends on the thread count.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <spore/core/aligned_buffer.hpp>
#include <spore/kernels/conv_direct.hpp>
#include <spore/kernels/gemm.hpp>
#include <spore/kernels/task_slots.hpp>
#include <spore/kernels/thread_pool.hpp>

namespace spore::kernels {

struct conv2d_geometry {
    std::size_t channels, height, width;  // of one input image
    std::size_t filters, kernel_h, kernel_w;
    std::size_t stride = 1, padding = 0;

    constexpr std::size_t out_h() const { return (height + 2 * padding - kernel_h) / stride + 1; }
    constexpr std::size_t out_w() const { return (width + 2 * padding - kernel_w) / stride + 1; }
    constexpr std::size_t positions() const { return out_h() * out_w(); }
    constexpr std::size_t patch() const { return channels * kernel_h * kernel_w; }
    constexpr std::size_t input_size() const { return channels * height * width; }
    constexpr std::size_t output_size() const { return filters * positions(); }
    constexpr std::size_t weight_size() const { return filters * patch(); }
};

// Chunks of images whose weight gradients are summed separately, then in order (GEMM path).
inline constexpr std::size_t weight_gradient_chunks(std::size_t batch) { return std::min<std::size_t>(batch, 8); }

namespace detail {
// Elements of one zero-padded image for the direct kernels: reads run up to a vector past the
// last row.
template <class T>
constexpr std::size_t padded_image_size(std::size_t channels, std::size_t height, std::size_t width) {
    return direct::round_up(channels * height * width + width + simd::batch<T>::size, 16);
}
template <class T>
constexpr std::size_t runs_per_row(std::size_t width) {
    return (width + simd::batch<T>::size - 1) / simd::batch<T>::size;
}
// The vector partial sums of every tile of the direct weight gradient.
template <class T>
std::size_t weight_partials_size(const conv2d_geometry& g) {
    return direct::with_tile<direct::weight_tiles>(g.filters, [&](auto shape) {
        constexpr std::size_t RF = decltype(shape)::rows, RK = decltype(shape)::columns;
        return direct::round_up(g.filters, RF) * direct::round_up(g.patch(), RK) * simd::batch<T>::size;
    });
}
}  // namespace detail

// Scratch a caller provides to conv2d_backward_weight (per batch size and geometry).
template <class T>
std::size_t weight_gradient_scratch(const conv2d_geometry& g, std::size_t batch) {
    if (g.stride == 1)
        return batch * detail::padded_image_size<T>(g.channels, g.height + 2 * g.padding, g.width + 2 * g.padding) +
               detail::weight_partials_size<T>(g) + 64 / sizeof(T);  // room to align
    return weight_gradient_chunks(batch) * (g.weight_size() + g.filters);
}

namespace detail {

// A 16-column panel of col(x) rows [row, row + depth) (patch index c, kh, kw), columns
// [col, col + cols) (output positions), zero outside the image. Each column reads from its
// window's corner at the same offset ("tap") per row, so a panel row is a 16-element gather;
// bounds are checked only in panels whose windows reach into the padding.
template <class T>
void pack_im2col(const conv2d_geometry& g, const T* x, std::size_t row, std::size_t depth, std::size_t col,
                 std::size_t cols, T* out) {
    long corner[cube], top[cube], left[cube];
    const std::size_t kk = g.kernel_h * g.kernel_w, ow_count = g.out_w();
    const long h = long(g.height), w = long(g.width), pad = long(g.padding);
    bool inside = true;
    for (std::size_t j = 0; j < cols; ++j) {
        const std::size_t p = col + j;
        top[j] = long(p / ow_count * g.stride) - pad;
        left[j] = long(p % ow_count * g.stride) - pad;
        corner[j] = top[j] * w + left[j];
        inside = inside && top[j] >= 0 && left[j] >= 0 && top[j] + long(g.kernel_h) <= h &&
                 left[j] + long(g.kernel_w) <= w;
    }
    for (std::size_t k = 0; k < depth; ++k) {
        const std::size_t q = row + k;
        const long kh = long(q % kk / g.kernel_w), kw = long(q % g.kernel_w);
        const T* tap = x + long(q / kk) * h * w + kh * w + kw;
        T* dst = out + k * cube;
        if (inside) {
            for (std::size_t j = 0; j < cols; ++j) dst[j] = tap[corner[j]];
        } else {
            for (std::size_t j = 0; j < cols; ++j) {
                const long ih = top[j] + kh, iw = left[j] + kw;
                dst[j] = (ih >= 0 && ih < h && iw >= 0 && iw < w) ? tap[corner[j]] : T(0);
            }
        }
        std::fill(dst + cols, dst + cube, T(0));
    }
}

// A 16-column panel of col(x)^T: rows [row, row + depth) are output positions, columns
// [col, col + cols) patch indices. Each column is a fixed offset ("tap") from the window's
// corner, so a row is a 16-element gather; bounds are checked only where padding can reach.
template <class T>
void pack_im2col_transposed(const conv2d_geometry& g, const T* x, std::size_t row, std::size_t depth,
                            std::size_t col, std::size_t cols, T* out) {
    long tap[cube], dh[cube], dw[cube];
    const std::size_t kk = g.kernel_h * g.kernel_w;
    const long h = long(g.height), w = long(g.width), pad = long(g.padding);
    for (std::size_t j = 0; j < cols; ++j) {
        const std::size_t q = col + j;
        dh[j] = long(q % kk / g.kernel_w);
        dw[j] = long(q % g.kernel_w);
        tap[j] = long(q / kk) * h * w + dh[j] * w + dw[j];
    }
    const std::size_t ow_count = g.out_w();
    for (std::size_t k = 0; k < depth; ++k) {
        const std::size_t p = row + k;
        const long top = long(p / ow_count * g.stride) - pad, left = long(p % ow_count * g.stride) - pad;
        T* dst = out + k * cube;
        const bool inside = top >= 0 && left >= 0 && top + long(g.kernel_h) <= h && left + long(g.kernel_w) <= w;
        if (inside) {
            const T* corner = x + top * w + left;
            for (std::size_t j = 0; j < cols; ++j) dst[j] = corner[tap[j]];
        } else {
            for (std::size_t j = 0; j < cols; ++j) {
                const long ih = top + dh[j], iw = left + dw[j];
                dst[j] = (ih >= 0 && ih < h && iw >= 0 && iw < w) ? x[tap[j] + top * w + left] : T(0);
            }
        }
        std::fill(dst + cols, dst + cube, T(0));
    }
}

// Adds a col matrix (patch x positions) back into one image: the adjoint of im2col.
template <class T>
void col2im_add(const conv2d_geometry& g, const T* col, T* image) {
    const std::size_t kk = g.kernel_h * g.kernel_w, oh_count = g.out_h(), ow_count = g.out_w();
    const long h = long(g.height), w = long(g.width), pad = long(g.padding), stride = long(g.stride);
    for (std::size_t q = 0; q < g.patch(); ++q) {
        const std::size_t c = q / kk, kh = q % kk / g.kernel_w, kw = q % g.kernel_w;
        T* plane = image + c * g.height * g.width;
        const T* src = col + q * g.positions();
        for (std::size_t oh = 0; oh < oh_count; ++oh) {
            const long ih = long(oh) * stride - pad + long(kh);
            if (ih < 0 || ih >= h) continue;
            T* dst = plane + ih * w;
            const T* row = src + oh * ow_count;
            const long iw0 = -pad + long(kw);
            if (stride == 1 && iw0 >= 0 && iw0 + long(ow_count) <= w) {
                for (std::size_t ow = 0; ow < ow_count; ++ow) dst[iw0 + long(ow)] += row[ow];
            } else {
                for (std::size_t ow = 0; ow < ow_count; ++ow) {
                    const long iw = long(ow) * stride + iw0;
                    if (iw >= 0 && iw < w) dst[iw] += row[ow];
                }
            }
        }
    }
}

// Per-task state of a convolution job: GEMM packing buffers and a scratch buffer.
template <class T>
struct conv_slot {
    gemm_buffers<T> gemm;
    aligned_buffer<T> scratch;
    void reserve(std::size_t rows, std::size_t cols, std::size_t k, std::size_t scratch_size) {
        gemm.reserve(rows, cols, k);
        if (scratch.size() < scratch_size) scratch = aligned_buffer<T>(scratch_size);
    }
};

// Images [lo, hi) of task t when `batch` images are split in `tasks` contiguous runs.
inline std::pair<std::size_t, std::size_t> task_images(std::size_t batch, std::size_t tasks, std::size_t t) {
    return {batch * t / tasks, batch * (t + 1) / tasks};
}

// ---- the direct kernels (stride 1) ----

// Per-call tables of the calling thread (they only grow, so a warm call allocates nothing).
template <class T>
struct direct_tables {
    std::vector<direct::run> runs;
    std::vector<std::size_t> offsets;
    std::vector<T> weights, bias;
    static direct_tables& of_this_thread() {
        thread_local direct_tables tables;
        return tables;
    }
};

// Runs covering a rows x cols output, row-major, read from a source `source_width` wide whose
// output starts `skip` rows and columns in; padded with empty runs to a multiple of `multiple`.
template <class T>
void make_runs(std::size_t rows, std::size_t cols, std::size_t source_width, std::size_t skip, std::size_t multiple,
               std::vector<direct::run>& runs) {
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
void direct_forward_images(std::size_t batch, std::size_t padded, Pad&& pad, const T* weights,
                           const direct_tables<T>& tables, std::size_t rows, bool with_bias, T* out, std::size_t out_image, std::size_t plane,
                           bool accumulate) {
    const std::size_t taps = tables.offsets.size(), blocks = (rows + RF - 1) / RF;
    const std::size_t tasks = std::min(batch, thread_pool::instance().threads());
    run_with_slots<conv_slot<T>>(
        tasks, [&](conv_slot<T>& slot) { slot.reserve(0, 0, 0, padded); },
        [&](std::size_t t, conv_slot<T>& slot) {
            const auto [lo, hi] = task_images(batch, tasks, t);
            T* image = slot.scratch.data();
            for (std::size_t n = lo; n < hi; ++n) {
                pad(n, image);
                for (std::size_t b = 0; b < blocks; ++b)
                    for (std::size_t r = 0; r < tables.runs.size(); r += NV)
                        direct::forward_tile<T, RF, NV>(taps, weights + b * taps * RF,
                                                        tables.offsets.data(), image, tables.runs.data() + r,
                                                        with_bias ? tables.bias.data() + b * RF : nullptr,
                                                        out + n * out_image + b * RF * plane, plane,
                                                        std::min(RF, rows - b * RF), accumulate);
            }
        });
}

template <class T>
void conv2d_forward_direct(const conv2d_geometry& g, std::size_t batch, const T* x, const T* w, const T* bias, T* y) {
    const std::size_t hp = g.height + 2 * g.padding, wp = g.width + 2 * g.padding;
    const std::size_t padded = padded_image_size<T>(g.channels, hp, wp);
    auto& tables = direct_tables<T>::of_this_thread();
    make_offsets(g.channels, g.kernel_h, g.kernel_w, hp, wp, tables.offsets);
    direct::with_tile<direct::forward_tiles>(g.filters, [&](auto shape) {
        constexpr std::size_t RF = decltype(shape)::rows, NV = decltype(shape)::columns;
        make_runs<T>(g.out_h(), g.out_w(), wp, 0, NV, tables.runs);
        const T* weights = pack_forward_weights<T, RF>(w, g.filters, g.patch(), tables.weights);
        tables.bias.assign(direct::round_up(g.filters, RF), T(0));
        if (bias) std::copy_n(bias, g.filters, tables.bias.begin());
        direct_forward_images<T, RF, NV>(
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
void conv2d_backward_input_direct(const conv2d_geometry& g, std::size_t batch, const T* dy, const T* w, T* dx,
                                  bool accumulate) {
    const std::size_t oh = g.out_h(), ow = g.out_w(), ph = g.kernel_h - 1, pw = g.kernel_w - 1;
    const std::size_t hq = oh + 2 * ph, wq = ow + 2 * pw;
    const std::size_t padded = padded_image_size<T>(g.filters, hq, wq);
    const std::size_t kk = g.kernel_h * g.kernel_w, taps = g.filters * kk;
    auto& tables = direct_tables<T>::of_this_thread();
    make_offsets(g.filters, g.kernel_h, g.kernel_w, hq, wq, tables.offsets);
    direct::with_tile<direct::forward_tiles>(g.channels, [&](auto shape) {
        constexpr std::size_t RF = decltype(shape)::rows, NV = decltype(shape)::columns;
        make_runs<T>(g.height, g.width, wq, g.padding, NV, tables.runs);
        pack_tile_weights<T, RF>(
            g.channels, taps,
            [&](std::size_t c, std::size_t k) {
                const std::size_t f = k / kk, a = k % kk / g.kernel_w, b = k % g.kernel_w;
                return w[((f * g.channels + c) * g.kernel_h + g.kernel_h - 1 - a) * g.kernel_w + g.kernel_w - 1 - b];
            },
            tables.weights);
        direct_forward_images<T, RF, NV>(
            batch, padded,
            [&](std::size_t n, T* image) {
                pad_planes(dy + n * g.output_size(), g.filters, oh, ow, ph, pw, image, padded);
            },
            tables.weights.data(), tables, g.channels, false, dx, g.input_size(), g.height * g.width, accumulate);
    });
}

template <class T>
void conv2d_backward_weight_direct(const conv2d_geometry& g, std::size_t batch, const T* x, const T* dy, T* dw,
                                   T* dbias, bool accumulate_w, bool accumulate_bias, T* scratch) {
    using V = simd::batch<T>;
    constexpr std::size_t W = V::size;
    const std::size_t hp = g.height + 2 * g.padding, wp = g.width + 2 * g.padding;
    const std::size_t x_size = padded_image_size<T>(g.channels, hp, wp);
    auto& tables = direct_tables<T>::of_this_thread();
    make_offsets(g.channels, g.kernel_h, g.kernel_w, hp, wp, tables.offsets);
    make_runs<T>(g.out_h(), g.out_w(), wp, 0, 1, tables.runs);
    // aligned to 64 bytes inside the scratch, wherever the caller's buffer starts
    T* xs = reinterpret_cast<T*>((reinterpret_cast<std::uintptr_t>(scratch) + 63) / 64 * 64);
    T* partials = xs + batch * x_size;
    const std::size_t copy_tasks = std::min(batch, thread_pool::instance().threads());
    run_tasks(copy_tasks, [&](std::size_t t) {
        const auto [lo, hi] = task_images(batch, copy_tasks, t);
        for (std::size_t n = lo; n < hi; ++n)
            pad_planes(x + n * g.input_size(), g.channels, g.height, g.width, g.padding, g.padding, xs + n * x_size,
                       x_size);
    });
    direct::with_tile<direct::weight_tiles>(g.filters, [&](auto shape) {
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
                    direct::weight_tile<T, RF, RK>(std::min(chunk, batch - n), tables.runs.size(),
                                                   tables.runs.data(), xs + n * x_size, x_size,
                                                   dy + n * g.output_size() + f0 * g.positions(), g.output_size(),
                                                   g.positions(), g.filters - f0, tables.offsets.data() + k0,
                                                   taps - k0, partials + tile * tile_size);
                }
            for (std::size_t tile = first; tile < last; ++tile) {
                const std::size_t f0 = tile / tap_blocks * RF, k0 = tile % tap_blocks * RK;
                direct::finish_weight_tile<T, RF, RK>(partials + tile * tile_size, dw + f0 * taps + k0, taps,
                                                      std::min(RF, g.filters - f0), std::min(RK, taps - k0),
                                                      accumulate_w);
            }
        });
    });
    if (dbias)  // vector sums in a fixed order, four chains to hide the add latency
        for (std::size_t f = 0; f < g.filters; ++f) {
            V total[4] = {V(T(0)), V(T(0)), V(T(0)), V(T(0))};
            for (std::size_t n = 0; n < batch; ++n) {
                const T* plane = dy + n * g.output_size() + f * g.positions();
                std::size_t p = 0;
                for (; p + 4 * W <= g.positions(); p += 4 * W)
                    for (std::size_t j = 0; j < 4; ++j) total[j] += V::load_unaligned(plane + p + j * W);
                for (; p < g.positions(); p += W)
                    total[0] += simd::load_first_lanes<V>(plane + p, std::min(W, g.positions() - p));
            }
            const T sum = xsimd::hadd((total[0] + total[1]) + (total[2] + total[3]));
            dbias[f] = accumulate_bias ? dbias[f] + sum : sum;
        }
}

}  // namespace detail

// y = conv(x, w) + bias; x [batch, C, H, W], w [F, C, KH, KW], bias [F] or null, y [batch, F, OH, OW].
template <class T>
void conv2d_forward(const conv2d_geometry& g, std::size_t batch, const T* x, const T* w, const T* bias, T* y) {
    count(counters.conv);
    if (g.stride == 1) return detail::conv2d_forward_direct(g, batch, x, w, bias, y);
    const std::size_t tasks = std::min(batch, thread_pool::instance().threads());
    run_with_slots<detail::conv_slot<T>>(
        tasks, [&](detail::conv_slot<T>& slot) { slot.reserve(g.filters, g.positions(), g.patch(), 0); },
        [&](std::size_t t, detail::conv_slot<T>& slot) {
            const auto [lo, hi] = detail::task_images(batch, tasks, t);
            for (std::size_t n = lo; n < hi; ++n) {
                const T* image = x + n * g.input_size();
                T* out = y + n * g.output_size();
                if (bias)
                    for (std::size_t f = 0; f < g.filters; ++f) std::fill_n(out + f * g.positions(), g.positions(), bias[f]);
                detail::gemm_packed(
                    0, g.filters, 0, g.positions(), g.patch(), T(1),
                    [&](std::size_t row, std::size_t rows, std::size_t col, std::size_t depth, T* panel) {
                        detail::pack_a_panel(transpose::no, w, g.patch(), row, rows, col, depth, panel);
                    },
                    [&](std::size_t row, std::size_t depth, std::size_t col, std::size_t cols, T* scratch) {
                        detail::pack_im2col(g, image, row, depth, col, cols, scratch);
                        return std::pair<const T*, std::size_t>{scratch, cube};
                    },
                    bias ? T(1) : T(0), out, g.positions(), slot.gemm);
            }
        });
}

// dx (+)= conv_transpose(dy, w): W^T * dy[n] into a scratch col matrix, then col2im.
template <class T>
void conv2d_backward_input(const conv2d_geometry& g, std::size_t batch, const T* dy, const T* w, T* dx,
                           bool accumulate) {
    count(counters.conv);
    if (g.stride == 1) return detail::conv2d_backward_input_direct(g, batch, dy, w, dx, accumulate);
    const std::size_t tasks = std::min(batch, thread_pool::instance().threads());
    run_with_slots<detail::conv_slot<T>>(
        tasks,
        [&](detail::conv_slot<T>& slot) { slot.reserve(g.patch(), g.positions(), g.filters, g.patch() * g.positions()); },
        [&](std::size_t t, detail::conv_slot<T>& slot) {
            const auto [lo, hi] = detail::task_images(batch, tasks, t);
            T* col = slot.scratch.data();
            for (std::size_t n = lo; n < hi; ++n) {
                const T* grad = dy + n * g.output_size();
                detail::gemm_block(transpose::yes, transpose::no, 0, g.patch(), 0, g.positions(), g.filters, T(1), w,
                                   g.patch(), grad, g.positions(), T(0), col, g.positions(), slot.gemm);
                T* image = dx + n * g.input_size();
                if (!accumulate) std::fill_n(image, g.input_size(), T(0));
                detail::col2im_add(g, col, image);
            }
        });
}

// dw (+)= sum_n dy[n] * col(x[n])^T and dbias (+)= sum of dy over images and positions (dbias
// may be null). `scratch` holds weight_gradient_scratch(g, batch) elements.
template <class T>
void conv2d_backward_weight(const conv2d_geometry& g, std::size_t batch, const T* x, const T* dy, T* dw, T* dbias,
                            bool accumulate_w, bool accumulate_bias, T* scratch) {
    count(counters.conv);
    if (g.stride == 1)
        return detail::conv2d_backward_weight_direct(g, batch, x, dy, dw, dbias, accumulate_w, accumulate_bias, scratch);
    const std::size_t chunks = weight_gradient_chunks(batch);
    const std::size_t part = g.weight_size() + g.filters;
    run_with_slots<detail::conv_slot<T>>(
        chunks, [&](detail::conv_slot<T>& slot) { slot.reserve(g.filters, g.patch(), g.positions(), 0); },
        [&](std::size_t t, detail::conv_slot<T>& slot) {
            const auto [lo, hi] = detail::task_images(batch, chunks, t);
            T* partial_w = scratch + t * part;
            T* partial_b = partial_w + g.weight_size();
            std::fill_n(partial_b, g.filters, T(0));
            for (std::size_t n = lo; n < hi; ++n) {
                const T* image = x + n * g.input_size();
                const T* grad = dy + n * g.output_size();
                detail::gemm_packed(
                    0, g.filters, 0, g.patch(), g.positions(), T(1),
                    [&](std::size_t row, std::size_t rows, std::size_t col, std::size_t depth, T* panel) {
                        detail::pack_a_panel(transpose::no, grad, g.positions(), row, rows, col, depth, panel);
                    },
                    [&](std::size_t row, std::size_t depth, std::size_t col, std::size_t cols, T* panel) {
                        detail::pack_im2col_transposed(g, image, row, depth, col, cols, panel);
                        return std::pair<const T*, std::size_t>{panel, cube};
                    },
                    n == lo ? T(0) : T(1), partial_w, g.patch(), slot.gemm);
                for (std::size_t f = 0; f < g.filters; ++f) {
                    T total = 0;
                    for (std::size_t p = 0; p < g.positions(); ++p) total += grad[f * g.positions() + p];
                    partial_b[f] += total;
                }
            }
        });
    for (std::size_t t = 0; t < chunks; ++t) {
        const T* partial = scratch + t * part;
        const bool add_w = accumulate_w || t > 0, add_b = accumulate_bias || t > 0;
        for (std::size_t i = 0; i < g.weight_size(); ++i) dw[i] = add_w ? dw[i] + partial[i] : partial[i];
        if (dbias)
            for (std::size_t f = 0; f < g.filters; ++f)
                dbias[f] = add_b ? dbias[f] + partial[g.weight_size() + f] : partial[g.weight_size() + f];
    }
}

}  // namespace spore::kernels
