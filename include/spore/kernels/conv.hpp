#pragma once
// 2-D convolution in NCHW: the public calls, which choose an implementation by the stride.
//   stride 1:      the direct kernels of conv_direct.hpp, an implicit GEMM read through tap
//                  offsets from a zero-padded image (no im2col copy, the faster path);
//   other strides: conv_im2col.hpp, a GEMM per image with im2col panels packed from the image.
// The two live in their own headers, each with its micro-kernels or packing beside the drivers
// that use them, so that this file is only the choice and the contract of each call.
//
// No result depends on the thread count: both paths split work between sums, never inside one.

#include <cstddef>

#include <spore/kernels/conv_direct.hpp>
#include <spore/kernels/conv_geometry.hpp>
#include <spore/kernels/conv_im2col.hpp>
#include <spore/kernels/counters.hpp>

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

// dw (+)= sum_n dy[n] * col(x[n])^T and dbias (+)= sum of dy over images and positions (dbias
// may be null). `scratch` holds weight_gradient_scratch(g, batch) elements.
template <class T>
void conv2d_backward_weight(const conv2d_geometry& g, std::size_t batch, const T* x, const T* dy, T* dw, T* dbias,
                            bool accumulate_w, bool accumulate_bias, T* scratch) {
    count(counters.conv);
    if (g.stride == 1)
        return direct::backward_weight(g, batch, x, dy, dw, dbias, accumulate_w, accumulate_bias, scratch);
    im2col::backward_weight(g, batch, x, dy, dw, dbias, accumulate_w, accumulate_bias, scratch);
}

}  // namespace spore::kernels
