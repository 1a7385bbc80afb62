#pragma once
// Compile-time shapes. Every extent is a template argument, except that the leading (batch)
// extent may be `dynamic`, whose value a tensor then carries at run time.

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include <spore/core/text.hpp>

namespace spore {

inline constexpr std::size_t dynamic = static_cast<std::size_t>(-1);

template <std::size_t... Extents>
struct shape {
    static constexpr std::size_t rank = sizeof...(Extents);
    static constexpr std::array<std::size_t, rank> extents{Extents...};
    static constexpr bool has_dynamic_batch = rank > 0 && extents[0] == dynamic;

    static_assert(((Extents != 0) && ...), "spore::shape: extents must be positive");

    // Elements per batch item when the batch is dynamic, else the total element count.
    static constexpr std::size_t static_size = [] {
        std::size_t n = 1;
        for (std::size_t i = has_dynamic_batch ? 1 : 0; i < rank; ++i) n *= extents[i];
        return n;
    }();
    static constexpr std::size_t size = has_dynamic_batch ? dynamic : static_size;

    static constexpr std::size_t extent(std::size_t axis) { return extents[axis]; }
    static constexpr std::size_t last() { return rank == 0 ? 1 : extents[rank - 1]; }

    // Row-major strides (in elements) of a fully static shape.
    static constexpr std::array<std::size_t, rank> strides = [] {
        std::array<std::size_t, rank> s{};
        std::size_t step = 1;
        for (std::size_t i = rank; i-- > 0;) {
            s[i] = step;
            step *= (extents[i] == dynamic ? 1 : extents[i]);
        }
        return s;
    }();

    static std::string to_string() {
        if constexpr (has_dynamic_batch)
            return detail::concat({"shape<dynamic", rank > 1 ? ", " : "", detail::joined(extents.data() + 1, rank - 1), ">"});
        else return detail::concat({"shape<", detail::joined(extents), ">"});
    }
};

using scalar_shape = shape<>;

template <class S>
inline constexpr bool is_shape_v = false;
template <std::size_t... E>
inline constexpr bool is_shape_v<shape<E...>> = true;

template <class S>
concept static_shape = is_shape_v<S> && !S::has_dynamic_batch;

template <class A, class B>
inline constexpr bool same_shape_v = A::extents.size() == B::extents.size() && [] {
    for (std::size_t i = 0; i < A::rank; ++i)
        if (A::extents[i] != B::extents[i]) return false;
    return true;
}();

namespace detail {
template <class S, std::size_t... I>
constexpr auto shape_from_array_impl(std::index_sequence<I...>) {
    return shape<S::value[I]...>{};
}
}  // namespace detail

// Turns a constexpr std::array (wrapped as a type with a static `value`) into a shape.
template <class ArrayHolder>
using shape_from_array = decltype(detail::shape_from_array_impl<ArrayHolder>(
    std::make_index_sequence<ArrayHolder::value.size()>{}));

// Broadcasting in numpy's rules: align on the right; each pair equal or one of them 1.
template <class A, class B>
struct broadcast_shapes {
    static constexpr std::size_t rank = A::rank > B::rank ? A::rank : B::rank;
    static constexpr std::size_t at(auto const& ext, std::size_t r, std::size_t i) {
        // i counts from the right
        return i < r ? ext[r - 1 - i] : 1;
    }
    static constexpr bool compatible = [] {
        for (std::size_t i = 0; i < rank; ++i) {
            std::size_t a = at(A::extents, A::rank, i), b = at(B::extents, B::rank, i);
            if (a != b && a != 1 && b != 1) return false;
        }
        return true;
    }();
    struct holder {
        static constexpr std::array<std::size_t, rank> value = [] {
            std::array<std::size_t, rank> out{};
            for (std::size_t i = 0; i < rank; ++i) {
                std::size_t a = at(A::extents, A::rank, i), b = at(B::extents, B::rank, i);
                out[rank - 1 - i] = a == 1 ? b : a;
            }
            return out;
        }();
    };
    using type = shape_from_array<holder>;
};

// True when `From` can be broadcast to `To` (one-directional, as for gradients).
template <class From, class To>
inline constexpr bool broadcasts_to_v = From::rank <= To::rank && [] {
    for (std::size_t i = 0; i < From::rank; ++i) {
        std::size_t f = From::extents[From::rank - 1 - i], t = To::extents[To::rank - 1 - i];
        if (f != t && f != 1) return false;
    }
    return true;
}();

// Shape with the extent of Axis replaced by E.
template <class Shape, std::size_t Axis, std::size_t E>
struct shape_with_extent {
    struct holder {
        static constexpr std::array<std::size_t, Shape::rank> value = [] {
            std::array<std::size_t, Shape::rank> out = Shape::extents;
            out[Axis] = E;
            return out;
        }();
    };
    using type = shape_from_array<holder>;
};

// Elements of the axes before Axis and after it: in row-major order, Shape is outer_size_v
// contiguous blocks of extents[Axis] * inner_size_v elements.
template <class Shape, std::size_t Axis>
inline constexpr std::size_t outer_size_v = [] {
    std::size_t n = 1;
    for (std::size_t i = 0; i < Axis; ++i) n *= Shape::extents[i];
    return n;
}();
template <class Shape, std::size_t Axis>
inline constexpr std::size_t inner_size_v = [] {
    std::size_t n = 1;
    for (std::size_t i = Axis + 1; i < Shape::rank; ++i) n *= Shape::extents[i];
    return n;
}();

}  // namespace spore
