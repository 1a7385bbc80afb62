#pragma once
// Max and average pooling over NCHW planes ("valid": windows that fit). Max pooling records
// the position of each maximum, so its backward pass is a scatter.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <spore/kernels/counters.hpp>
#include <spore/kernels/thread_pool.hpp>

namespace spore::kernels {

struct pool2d_geometry {
    std::size_t planes;  // batch * channels
    std::size_t height, width;
    std::size_t kernel, stride;

    constexpr std::size_t out_h() const { return (height - kernel) / stride + 1; }
    constexpr std::size_t out_w() const { return (width - kernel) / stride + 1; }
    constexpr std::size_t input_plane() const { return height * width; }
    constexpr std::size_t output_plane() const { return out_h() * out_w(); }
};

namespace detail {
// body(first, last) over runs of planes, on the pool's threads when there is enough work
// (planes are independent, so the split changes no result).
template <class Body>
void for_plane_runs(const pool2d_geometry& g, Body&& body) {
    auto& pool = thread_pool::instance();
    const std::size_t work = g.planes * g.input_plane();
    const std::size_t tasks = work < (std::size_t(1) << 15) || thread_pool::inside_task()
                                  ? 1
                                  : std::min(pool.threads(), g.planes);
    if (tasks <= 1) return body(std::size_t(0), g.planes);
    pool.run(
        tasks, [&](std::size_t t) { body(g.planes * t / tasks, g.planes * (t + 1) / tasks); }, [] {});
}
}  // namespace detail

// Planes [first, last) of max_pool2d_forward.
template <class T>
void max_pool2d_forward_planes(const pool2d_geometry& g, std::size_t first, std::size_t last, const T* x, T* y,
                               std::uint32_t* where) {
    if (g.kernel == 2 && g.stride == 2 && !where) {  // inference: the values alone, which vectorise
        for (std::size_t p = first; p < last; ++p) {
            const T* in = x + p * g.input_plane();
            T* out = y + p * g.output_plane();
            for (std::size_t oh = 0; oh < g.out_h(); ++oh) {
                const T* top = in + 2 * oh * g.width;
                const T* bottom = top + g.width;
                T* row = out + oh * g.out_w();
                for (std::size_t ow = 0; ow < g.out_w(); ++ow) {
                    // the same comparisons as the indexed path below, so the same value, NaN included
                    const T a = top[2 * ow], b = top[2 * ow + 1], c = bottom[2 * ow], d = bottom[2 * ow + 1];
                    const T upper = b > a ? b : a, lower = d > c ? d : c;
                    row[ow] = lower > upper ? lower : upper;
                }
            }
        }
        return;
    }
    if (g.kernel == 2 && g.stride == 2) {  // the common case, branch-free (same tie rule)
        for (std::size_t p = first; p < last; ++p) {
            const T* in = x + p * g.input_plane();
            T* out = y + p * g.output_plane();
            std::uint32_t* at = where + p * g.output_plane();
            for (std::size_t oh = 0; oh < g.out_h(); ++oh) {
                const T* top = in + 2 * oh * g.width;
                const T* bottom = top + g.width;
                const auto row = static_cast<std::uint32_t>(2 * oh * g.width), below = static_cast<std::uint32_t>(g.width);
                for (std::size_t ow = 0; ow < g.out_w(); ++ow) {
                    // arithmetic on the comparisons, and the value read back through the index: a
                    // select here becomes a branch that mispredicts half the time
                    const T a = top[2 * ow], b = top[2 * ow + 1], c = bottom[2 * ow], d = bottom[2 * ow + 1];
                    const std::uint32_t right_top = b > a, right_bottom = d > c;
                    const std::uint32_t use_lower = std::max(c, d) > std::max(a, b);
                    const std::uint32_t i = row + static_cast<std::uint32_t>(2 * ow) + right_top +
                                            use_lower * (below + right_bottom - right_top);
                    out[oh * g.out_w() + ow] = in[i];
                    at[oh * g.out_w() + ow] = i;
                }
            }
        }
        return;
    }
    for (std::size_t p = first; p < last; ++p) {
        const T* in = x + p * g.input_plane();
        T* out = y + p * g.output_plane();
        std::uint32_t* at = where ? where + p * g.output_plane() : nullptr;
        for (std::size_t oh = 0; oh < g.out_h(); ++oh)
            for (std::size_t ow = 0; ow < g.out_w(); ++ow) {
                std::size_t best = oh * g.stride * g.width + ow * g.stride;
                for (std::size_t kh = 0; kh < g.kernel; ++kh)
                    for (std::size_t kw = 0; kw < g.kernel; ++kw) {
                        const std::size_t i = (oh * g.stride + kh) * g.width + ow * g.stride + kw;
                        if (in[i] > in[best]) best = i;
                    }
                out[oh * g.out_w() + ow] = in[best];
                if (at) at[oh * g.out_w() + ow] = static_cast<std::uint32_t>(best);
            }
    }
}

// y = max over each window; where[i] = index in its input plane of the maximum (first on ties),
// or no indices when where is null (a forward pass that is not differentiated).
template <class T>
void max_pool2d_forward(const pool2d_geometry& g, const T* x, T* y, std::uint32_t* where) {
    count(counters.pool);
    detail::for_plane_runs(g, [&](std::size_t first, std::size_t last) {
        max_pool2d_forward_planes(g, first, last, x, y, where);
    });
}

template <class T>
void max_pool2d_backward(const pool2d_geometry& g, const T* dy, const std::uint32_t* where, T* dx, bool accumulate) {
    count(counters.pool);
    detail::for_plane_runs(g, [&](std::size_t first, std::size_t last) {
        if (!accumulate) std::fill(dx + first * g.input_plane(), dx + last * g.input_plane(), T(0));
        for (std::size_t p = first; p < last; ++p) {
            T* in = dx + p * g.input_plane();
            const T* out = dy + p * g.output_plane();
            const std::uint32_t* at = where + p * g.output_plane();
            for (std::size_t i = 0; i < g.output_plane(); ++i) in[at[i]] += out[i];
        }
    });
}

template <class T>
void avg_pool2d_forward(const pool2d_geometry& g, const T* x, T* y) {
    count(counters.pool);
    const T scale = T(1) / T(g.kernel * g.kernel);
    for (std::size_t p = 0; p < g.planes; ++p) {
        const T* in = x + p * g.input_plane();
        T* out = y + p * g.output_plane();
        for (std::size_t oh = 0; oh < g.out_h(); ++oh)
            for (std::size_t ow = 0; ow < g.out_w(); ++ow) {
                T total = 0;
                for (std::size_t kh = 0; kh < g.kernel; ++kh)
                    for (std::size_t kw = 0; kw < g.kernel; ++kw)
                        total += in[(oh * g.stride + kh) * g.width + ow * g.stride + kw];
                out[oh * g.out_w() + ow] = total * scale;
            }
    }
}

template <class T>
void avg_pool2d_backward(const pool2d_geometry& g, const T* dy, T* dx, bool accumulate) {
    count(counters.pool);
    if (!accumulate) std::fill_n(dx, g.planes * g.input_plane(), T(0));
    const T scale = T(1) / T(g.kernel * g.kernel);
    for (std::size_t p = 0; p < g.planes; ++p) {
        T* in = dx + p * g.input_plane();
        const T* out = dy + p * g.output_plane();
        for (std::size_t oh = 0; oh < g.out_h(); ++oh)
            for (std::size_t ow = 0; ow < g.out_w(); ++ow) {
                const T share = out[oh * g.out_w() + ow] * scale;
                for (std::size_t kh = 0; kh < g.kernel; ++kh)
                    for (std::size_t kw = 0; kw < g.kernel; ++kw) in[(oh * g.stride + kh) * g.width + ow * g.stride + kw] += share;
            }
    }
}

}  // namespace spore::kernels
