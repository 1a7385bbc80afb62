#pragma once
// buffer<T, Shape>: state of a cell that is not a parameter, such as BatchNorm2d's running
// statistics. It holds a tensor but is not one and not an aggregate, so the parameter walk
// (nn::parameters, optimisers, gradients) skips it, while checkpoints find it by type:
//
//   a field that is a tensor     -> a parameter: trained, and saved
//   a field that is an nn::buffer -> state: never trained, but saved (its tensor is value())
//   any other non-cell field     -> neither (e.g. Dropout's p and seed)
//
// Programs update a buffer during a training forward pass through mutable_data(), also from a
// const cell: the buffer is the cell's running state, as an optimiser updates its parameters.

#include <cstddef>
#include <type_traits>

#include <spore/core/tensor.hpp>
#include <spore/nn/fields.hpp>

namespace spore::nn {

template <element_type T, class Shape>
class buffer {
public:
    using value_type = T;
    using shape_type = Shape;

    buffer() = default;
    explicit buffer(T fill) { value_.fill(fill); }

    tensor<T, Shape>& value() noexcept { return value_; }
    const tensor<T, Shape>& value() const noexcept { return value_; }
    T* data() noexcept { return value_.data(); }
    const T* data() const noexcept { return value_.data(); }
    T* mutable_data() const noexcept { return value_.data(); }
    static constexpr std::size_t size() noexcept { return Shape::size; }
    T& operator[](std::size_t i) noexcept { return value_[i]; }
    const T& operator[](std::size_t i) const noexcept { return value_[i]; }
    void fill(T v) noexcept { value_.fill(v); }

private:
    mutable tensor<T, Shape> value_;
};

template <class X>
inline constexpr bool is_buffer_v = false;
template <class T, class S>
inline constexpr bool is_buffer_v<buffer<T, S>> = true;

namespace fields {
struct buffers {
    template <class F>
    static constexpr bool test = is_buffer_v<F>;
};
// What a checkpoint holds: parameters and buffers.
struct state {
    template <class F>
    static constexpr bool test = is_tensor_v<F> || is_buffer_v<F>;
};
}  // namespace fields

// Calls f(buffer&) for every buffer of `cell` (`cell` itself when it is a buffer), depth first,
// in field order.
template <class C, class F>
void for_each_buffer(C& cell, F&& f) {
    walk_fields<fields::buffers>(cell, [&](auto& buffer, auto) { f(buffer); });
}

}  // namespace spore::nn
