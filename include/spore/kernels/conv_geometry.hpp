#pragma once
// The shape of a 2-D convolution in NCHW, shared by its two implementations (conv_direct.hpp,
// conv_im2col.hpp) and the public calls that choose between them (conv.hpp).

#include <cstddef>
#include <utility>

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

namespace detail {
// Images [lo, hi) of task t when `batch` images are split in `tasks` contiguous runs.
inline std::pair<std::size_t, std::size_t> task_images(std::size_t batch, std::size_t tasks, std::size_t t) {
    return {batch * t / tasks, batch * (t + 1) / tasks};
}
}  // namespace detail

}  // namespace spore::kernels
