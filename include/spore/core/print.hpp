#pragma once
// Printing in numpy's nested-bracket style, headed by the shape.

#include <cstddef>
#include <ostream>

#include <spore/core/tensor.hpp>

namespace spore {

namespace detail {
template <class Tensor>
void print_axis(std::ostream& out, const Tensor& t, std::size_t axis, std::size_t& flat) {
    constexpr std::size_t rank = Tensor::rank;
    out << '[';
    for (std::size_t i = 0; i < t.extent(axis); ++i) {
        if (i) out << (axis + 1 == rank ? ", " : ",\n ");
        if (axis + 1 == rank) out << t[flat++];
        else print_axis(out, t, axis + 1, flat);
    }
    out << ']';
}
}  // namespace detail

template <class T, class S>
std::ostream& operator<<(std::ostream& out, const tensor<T, S>& t) {
    out << "tensor " << S::to_string() << ' ';
    if constexpr (S::rank == 0) {
        out << t[0];
    } else {
        std::size_t flat = 0;
        detail::print_axis(out, t, 0, flat);
    }
    return out;
}

}  // namespace spore
