#pragma once
// 2-D convolution in NCHW: the public calls, which choose an implementation by the stride.
//   stride 1:      the direct kernels of conv_direct.hpp, an implicit GEMM read through tap
//                  offsets from a zero-padded image (no im2col copy, the faster path);
//   other strides: conv_im2col.hpp, a GEMM per image with im2col panels packed from the image.
// The two live in their own headers, each with its micro-kernels or packing beside the drivers
// that use them, so that this file is only the choice and the contract of each call.
//
// No result depends on the thread count: both paths split work between sums, never inside one.

#include <algorithm>
#include <cstddef>

#include <spore/kernels/conv_direct.hpp>
#include <spore/kernels/conv_geometry.hpp>
#include <spore/kernels/conv_im2col.hpp>
#include <spore/kernels/counters.hpp>
#include <spore/kernels/simd.hpp>
#include <spore/kernels/simd_lanes.hpp>
#include <spore/kernels/task_slots.hpp>
#include <spore/kernels/thread_pool.hpp>

namespace spore::kernels {

// Scratch a caller provides to conv2d_backward_weight (per batch size and geometry).
template <class T>
std::size_t weight_gradient_scratch(const conv2d_geometry& g, std::size_t batch) {
    return g.stride == 1 ? direct::weight_gradient_scratch<T>(g, batch) : im2col::weight_gradient_scratch<T>(g, batch);
}

// y = conv(x, w) + bias; x [batch, C, H, W], w [F, C, KH, KW], bias [F] or null, y [batch, F, OH, OW].
template <class T>
void conv2d_forward(const conv2d_geometry& g, std::size_t batch, const T* x, const T* w, const T* bias, T* y) {
    count(counters.conv);
    if (g.stride == 1) return direct::forward(g, batch, x, w, bias, y);
    im2col::forward(g, batch, x, w, bias, y);
}

// dx (+)= conv_transpose(dy, w), the gradient of conv2d_forward with respect to x.
template <class T>
void conv2d_backward_input(const conv2d_geometry& g, std::size_t batch, const T* dy, const T* w, T* dx,
                           bool accumulate) {
    count(counters.conv);
    if (g.stride == 1) return direct::backward_input(g, batch, dy, w, dx, accumulate);
    im2col::backward_input(g, batch, dy, w, dx, accumulate);
}

// dw (+)= sum_n dy[n] * col(x[n])^T, the gradient of conv2d_forward with respect to w.
// `scratch` holds weight_gradient_scratch(g, batch) elements.
template <class T>
void conv2d_backward_weight(const conv2d_geometry& g, std::size_t batch, const T* x, const T* dy, T* dw,
                            bool accumulate, T* scratch) {
    count(counters.conv);
    if (g.stride == 1) return direct::backward_weight(g, batch, x, dy, dw, accumulate, scratch);
    im2col::backward_weight(g, batch, x, dy, dw, accumulate, scratch);
}

// dbias (+)= the sum of dy over images and positions, per filter: the gradient of
// conv2d_forward with respect to the bias, the same for every stride. Each filter's sum runs
// in a fixed order (four vector chains, to hide the add latency, over images then positions),
// and filters are split among threads only when there is enough of dy to pay for it.
template <class T>
void conv2d_backward_bias(const conv2d_geometry& g, std::size_t batch, const T* dy, T* dbias, bool accumulate) {
    using V = simd::batch<T>;
    constexpr std::size_t W = V::size;
    count(counters.conv);
    const std::size_t plane = g.positions();
    auto sum_filters = [&](std::size_t first, std::size_t last) {
        for (std::size_t f = first; f < last; ++f) {
            V total[4] = {V(T(0)), V(T(0)), V(T(0)), V(T(0))};
            for (std::size_t n = 0; n < batch; ++n) {
                const T* values = dy + n * g.output_size() + f * plane;
                std::size_t p = 0;
                for (; p + 4 * W <= plane; p += 4 * W)
                    for (std::size_t j = 0; j < 4; ++j) total[j] += V::load_unaligned(values + p + j * W);
                for (; p < plane; p += W) total[0] += simd::load_first_lanes<V>(values + p, std::min(W, plane - p));
            }
            const T sum = xsimd::hadd((total[0] + total[1]) + (total[2] + total[3]));
            dbias[f] = accumulate ? dbias[f] + sum : sum;
        }
    };
    // The sum streams dy once: below about 2^20 elements a second thread gains little (LeNet's
    // conv1 at batch 32, 1.5e5 elements: 13 us on one thread, 7-13 us on two of a busy machine).
    const std::size_t tasks = batch * g.output_size() < (std::size_t(1) << 20)
                                  ? 1
                                  : std::min(g.filters, thread_pool::instance().threads());
    run_tasks(tasks, [&](std::size_t t) { sum_filters(g.filters * t / tasks, g.filters * (t + 1) / tasks); });
}

}  // namespace spore::kernels
