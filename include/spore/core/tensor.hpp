#pragma once
// tensor<T, Shape>: owning, 64-byte aligned, row-major. tensor_view<T, Shape>: the same
// without ownership. A tensor whose shape has a dynamic leading extent carries the batch
// size at run time; every other extent is a template argument.

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <type_traits>

#include <spore/core/aligned_buffer.hpp>
#include <spore/core/error.hpp>
#include <spore/core/random.hpp>
#include <spore/core/shape.hpp>
#include <spore/core/text.hpp>

namespace spore {

// Expressions compute in floating point; integer tensors hold labels and indices (read by the
// losses that take them), so storage accepts any arithmetic type but bool.
template <class T>
concept element_type = std::is_arithmetic_v<T> && !std::is_same_v<std::remove_cv_t<T>, bool>;

// Anything the expression layer accepts on the right of `tensor = ...`.
template <class E>
concept expression_like = requires { E::is_spore_expression; };

namespace detail {
// Shared element access of tensor and tensor_view: both expose data() and batch().
template <class Derived, class T, class Shape>
class tensor_access {
public:
    using value_type = T;
    using shape_type = Shape;
    static constexpr std::size_t rank = Shape::rank;

    std::size_t size() const noexcept {
        if constexpr (Shape::has_dynamic_batch) return self().batch() * Shape::static_size;
        else return Shape::size;
    }
    std::size_t extent(std::size_t axis) const noexcept {
        if constexpr (Shape::has_dynamic_batch)
            if (axis == 0) return self().batch();
        return Shape::extents[axis];
    }
    // The element type of data(): const for a view of const elements, so such a view is
    // read-only however it is held.
    auto begin() noexcept { return self().data(); }
    auto end() noexcept { return self().data() + size(); }
    auto begin() const noexcept { return self().data(); }
    auto end() const noexcept { return self().data() + size(); }

    decltype(auto) operator[](std::size_t flat) noexcept { return self().data()[flat]; }
    decltype(auto) operator[](std::size_t flat) const noexcept { return self().data()[flat]; }

    template <class... I>
        requires(sizeof...(I) == rank && (std::is_integral_v<I> && ...))
    decltype(auto) operator()(I... index) noexcept {
        return self().data()[offset(index...)];
    }
    template <class... I>
        requires(sizeof...(I) == rank && (std::is_integral_v<I> && ...))
    decltype(auto) operator()(I... index) const noexcept {
        return self().data()[offset(index...)];
    }

    void fill(T value) noexcept { std::fill(begin(), end(), value); }
    // Uniform in [lo, hi), reproducible for a given seed on every platform.
    void fill_uniform(std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
        random_engine rng(seed);
        for (T& x : *this) x = static_cast<T>(rng.uniform(lo, hi));
    }
    void fill_uniform(random_engine& rng, T lo, T hi) {
        for (T& x : *this) x = static_cast<T>(rng.uniform(lo, hi));
    }
    void fill_normal(std::uint64_t seed, T mean = T(0), T stddev = T(1)) {
        random_engine rng(seed);
        for (T& x : *this) x = static_cast<T>(rng.normal(mean, stddev));
    }

private:
    const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
    template <class... I>
    std::size_t offset(I... index) const noexcept {
        std::array<std::size_t, rank> at{static_cast<std::size_t>(index)...};
        std::size_t flat = 0;
        for (std::size_t axis = 0; axis < rank; ++axis) flat = flat * extent(axis) + at[axis];
        return flat;
    }
};
}  // namespace detail

template <element_type T, class Shape>
class tensor_view;

template <element_type T, class Shape>
class tensor : public detail::tensor_access<tensor<T, Shape>, T, Shape> {
    static_assert(is_shape_v<Shape>, "spore::tensor: the second argument must be a spore::shape<...>");

public:
    tensor() requires(!Shape::has_dynamic_batch) : storage_(Shape::size) {}
    explicit tensor(std::size_t batch) requires(Shape::has_dynamic_batch)
        : storage_(batch * Shape::static_size), batch_(batch) {}
    // Row-major values, for tests and small constants.
    tensor(std::initializer_list<T> values) requires(!Shape::has_dynamic_batch) : storage_(Shape::size) {
        if (values.size() != Shape::size)
            throw shape_error(detail::concat({"spore::tensor: ", values.size(), " initial values for ", Shape::to_string(),
                                              ", which holds ", Shape::size}));
        std::copy(values.begin(), values.end(), storage_.data());
    }
    template <expression_like E>
    tensor(const E& expression) requires(!Shape::has_dynamic_batch) : storage_(Shape::size) {
        evaluate_into(*this, expression);  // found by ADL in spore's expression layer
    }
    // Expressions and programs hold a tensor by the address of its elements, so assignment
    // copies into the existing storage instead of replacing it: `x = next_batch;` keeps every
    // program built on x valid. (Only a different run-time batch size reallocates.)
    //
    // A tensor is copied only when asked for, `tensor<float, S> copy(t);`: an expression built
    // on a tensor holds its address, so an implicit copy, above all a tensor passed by value to
    // `auto construct(auto x)`, would leave the expression reading a copy that died with the
    // call. Copy-initialisation (passing or returning by value, `auto c = t;`) picks the
    // constructor template below, whose body refuses it with a message; direct initialisation
    // picks the explicit copy constructor (the non-template wins the tie). Moves are implicit.
    explicit tensor(const tensor&) = default;
    template <class U>
        requires std::same_as<U, tensor>
    tensor(const U&) {
        static_assert(!std::same_as<U, tensor>,
                      "spore::tensor is not copied implicitly: a tensor passed by value (as to `auto construct(auto x)`) "
                      "is a copy that dies with the call while the expression built on it lives on. Write "
                      "`net.construct(spore::input(x))` (or pass a placeholder), or take the tensor by reference "
                      "(`auto construct(const auto& x)`); to copy a tensor, say so: `tensor<T, S> copy(t);`");
    }
    tensor(tensor&&) noexcept = default;
    tensor& operator=(const tensor& other) {
        if (this != &other) assign_from(other.data(), other.batch());
        return *this;
    }
    tensor& operator=(tensor&& other) noexcept(!Shape::has_dynamic_batch) {
        if (this != &other) assign_from(other.data(), other.batch());
        return *this;
    }

    template <expression_like E>
    tensor& operator=(const E& expression) {
        evaluate_into(*this, expression);
        return *this;
    }

    T* data() noexcept { return storage_.data(); }
    const T* data() const noexcept { return storage_.data(); }
    std::size_t batch() const noexcept {
        if constexpr (Shape::has_dynamic_batch) return batch_;
        else return Shape::rank ? Shape::extents[0] : 1;
    }
    tensor_view<T, Shape> view() noexcept { return {data(), batch()}; }
    tensor_view<const T, Shape> view() const noexcept { return {data(), batch()}; }

private:
    void assign_from(const T* source, std::size_t batch) {
        if constexpr (Shape::has_dynamic_batch) {
            if (batch != batch_) {
                storage_ = aligned_buffer<T>(batch * Shape::static_size);
                batch_ = batch;
            }
        }
        std::copy_n(source, this->size(), storage_.data());
    }

    aligned_buffer<T> storage_;
    std::size_t batch_ = 0;
};

template <element_type T, class Shape>
class tensor_view : public detail::tensor_access<tensor_view<T, Shape>, std::remove_const_t<T>, Shape> {
public:
    explicit tensor_view(T* data) requires(!Shape::has_dynamic_batch)
        : data_(data), batch_(Shape::rank ? Shape::extents[0] : 1) {}
    tensor_view(T* data, std::size_t batch) : data_(data), batch_(batch) {}
    T* data() const noexcept { return data_; }
    std::size_t batch() const noexcept { return batch_; }

private:
    T* data_;
    std::size_t batch_;
};

template <class X>
inline constexpr bool is_tensor_v = false;
template <class T, class S>
inline constexpr bool is_tensor_v<tensor<T, S>> = true;

}  // namespace spore
