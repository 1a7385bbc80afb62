#pragma once
// 2-D convolution on the cube-tiled GEMM, for the strides the direct kernels (conv_direct.hpp)
// do not cover. Each image is one GEMM,
//   y[n] (filters x positions) = W (filters x patch) * col(x[n]) (patch x positions),
// where col() is im2col; its 16-column panels are packed straight from the image, so the full
// im2col matrix is never stored. The weight gradient is the same product with col() read
// transposed; the input gradient is W^T * dy[n] followed by col2im. conv.hpp chooses this path
// or the direct one.
//
// Images are split among threads; the weight gradient is summed per fixed chunk of images and
// the chunks added in order, so no result depends on the thread count.

#include <algorithm>
#include <cstddef>
#include <utility>

#include <spore/core/aligned_buffer.hpp>
#include <spore/kernels/conv_geometry.hpp>
#include <spore/kernels/gemm.hpp>
#include <spore/kernels/task_slots.hpp>
#include <spore/kernels/thread_pool.hpp>

namespace spore::kernels::im2col {

// Chunks of images whose weight gradients are summed separately, then in order.
inline constexpr std::size_t weight_gradient_chunks(std::size_t batch) { return std::min<std::size_t>(batch, 8); }

// Scratch a caller provides to backward_weight: the sums of every chunk.
template <class T>
std::size_t weight_gradient_scratch(const conv2d_geometry& g, std::size_t batch) {
    return weight_gradient_chunks(batch) * g.weight_size();
}

// A 16-column panel of col(x) rows [row, row + depth) (patch index c, kh, kw), columns
// [col, col + cols) (output positions), zero outside the image. Each column reads from its
// window's corner at the same offset ("tap") per row, so a panel row is a 16-element gather;
// bounds are checked only in panels whose windows reach into the padding.
template <class T>
void pack_panel(const conv2d_geometry& g, const T* x, std::size_t row, std::size_t depth, std::size_t col,
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
void pack_transposed_panel(const conv2d_geometry& g, const T* x, std::size_t row, std::size_t depth,
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

// Working memory of one task: GEMM packing buffers, and a col matrix for backward_input.
template <class T>
struct task_slot {
    gemm_buffers<T> gemm;
    aligned_buffer<T> col;
    void reserve(std::size_t rows, std::size_t cols, std::size_t k, std::size_t col_size) {
        gemm.reserve(rows, cols, k);
        if (col.size() < col_size) col = aligned_buffer<T>(col_size);
    }
};

// y = conv(x, w) + bias, bias null or not: a GEMM per image, on C pre-filled with the bias.
template <class T>
void forward(const conv2d_geometry& g, std::size_t batch, const T* x, const T* w, const T* bias, T* y) {
    const std::size_t tasks = std::min(batch, thread_pool::instance().threads());
    run_with_slots<task_slot<T>>(
        tasks, [&](task_slot<T>& slot) { slot.reserve(g.filters, g.positions(), g.patch(), 0); },
        [&](std::size_t t, task_slot<T>& slot) {
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
                        pack_panel(g, image, row, depth, col, cols, scratch);
                        return std::pair<const T*, std::size_t>{scratch, cube};
                    },
                    bias ? T(1) : T(0), out, g.positions(), slot.gemm);
            }
        });
}

// dx (+)= conv_transpose(dy, w): W^T * dy[n] into a scratch col matrix, then col2im.
template <class T>
void backward_input(const conv2d_geometry& g, std::size_t batch, const T* dy, const T* w, T* dx, bool accumulate) {
    const std::size_t tasks = std::min(batch, thread_pool::instance().threads());
    run_with_slots<task_slot<T>>(
        tasks,
        [&](task_slot<T>& slot) { slot.reserve(g.patch(), g.positions(), g.filters, g.patch() * g.positions()); },
        [&](std::size_t t, task_slot<T>& slot) {
            const auto [lo, hi] = detail::task_images(batch, tasks, t);
            T* col = slot.col.data();
            for (std::size_t n = lo; n < hi; ++n) {
                const T* grad = dy + n * g.output_size();
                detail::gemm_block(transpose::yes, transpose::no, 0, g.patch(), 0, g.positions(), g.filters, T(1), w,
                                   g.patch(), grad, g.positions(), T(0), col, g.positions(), slot.gemm);
                T* image = dx + n * g.input_size();
                if (!accumulate) std::fill_n(image, g.input_size(), T(0));
                col2im_add(g, col, image);
            }
        });
}

// dw (+)= sum_n dy[n] * col(x[n])^T. `scratch` holds weight_gradient_scratch(g, batch) elements.
template <class T>
void backward_weight(const conv2d_geometry& g, std::size_t batch, const T* x, const T* dy, T* dw, bool accumulate,
                     T* scratch) {
    const std::size_t chunks = weight_gradient_chunks(batch);
    run_with_slots<task_slot<T>>(
        chunks, [&](task_slot<T>& slot) { slot.reserve(g.filters, g.patch(), g.positions(), 0); },
        [&](std::size_t t, task_slot<T>& slot) {
            const auto [lo, hi] = detail::task_images(batch, chunks, t);
            T* partial = scratch + t * g.weight_size();
            for (std::size_t n = lo; n < hi; ++n) {
                const T* image = x + n * g.input_size();
                const T* grad = dy + n * g.output_size();
                detail::gemm_packed(
                    0, g.filters, 0, g.patch(), g.positions(), T(1),
                    [&](std::size_t row, std::size_t rows, std::size_t col, std::size_t depth, T* panel) {
                        detail::pack_a_panel(transpose::no, grad, g.positions(), row, rows, col, depth, panel);
                    },
                    [&](std::size_t row, std::size_t depth, std::size_t col, std::size_t cols, T* panel) {
                        pack_transposed_panel(g, image, row, depth, col, cols, panel);
                        return std::pair<const T*, std::size_t>{panel, cube};
                    },
                    n == lo ? T(0) : T(1), partial, g.patch(), slot.gemm);
            }
        });
    for (std::size_t t = 0; t < chunks; ++t) {
        const T* partial = scratch + t * g.weight_size();
        const bool add = accumulate || t > 0;
        for (std::size_t i = 0; i < g.weight_size(); ++i) dw[i] = add ? dw[i] + partial[i] : partial[i];
    }
}

}  // namespace spore::kernels::im2col
