#pragma once
// Rules of the reductions: sum and mean spread the adjoint (g, or g / N) over the operand's
// region; max passes it to the elements equal to the maximum; axis reductions do the same per
// output element. A sum or mean at the root runs forward and backward in one loop.

#include <cstddef>
#include <type_traits>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/reduce.hpp>

namespace spore::autodiff {

template <class T, bool Splat>
struct max_seed {
    const T* maximum;
    const T* adjoint;
    template <class V>
    SPORE_ALWAYS_INLINE V at(std::size_t j, const V& out) const {
        const std::size_t at = Splat ? 0 : j;
        V m = Splat ? simd::splat<V>(*maximum) : simd::load<V>(maximum + at);
        V g = Splat ? simd::splat<V>(*adjoint) : simd::load<V>(adjoint + at);
        return simd::select_equal(out, m, g, simd::splat<V>(0));
    }
};
template <class T>
struct scaled_buffer_seed {
    const T* adjoint;
    T scale;
    template <class V>
    SPORE_ALWAYS_INLINE V at(std::size_t j, const V&) const {
        return simd::load<V>(adjoint + j) * simd::splat<V>(scale);
    }
};

template <class R, class A>
struct heavy_rule<expr::reduce_all<R, A>> {
    using node = expr::reduce_all<R, A>;
    using T = typename A::value_type;
    static constexpr T scale = std::is_same_v<R, expr::reductions::mean> ? T(1) / T(A::shape_type::size) : T(1);

    template <class S>
    static void vjp(const node& n, S& state) {
        const T g = state.adjoint->data[0];
        if constexpr (R::is_max)
            backprop_region(n.a, state.a, [&](std::size_t) { return max_seed<T, true>{state.value, state.adjoint->data}; });
        else
            backprop_region(n.a, state.a, [&](std::size_t) {
                return constant_seed<T>{std::is_same_v<R, expr::reductions::mean> ? g / T(A::shape_type::size) : g};
            });
    }

    // The root's adjoint is 1, so the operand's seed is known before the forward pass.
    template <class S>
        requires(!R::is_max)
    static T forward_backward(const node& n, S& state) {
        if (!expr::needs_grad(n.a, state.a)) return node::reduce(n.a, state.a);
        kernels::count(kernels::counters.reduce);
        begin_region(n.a, state.a, true);
        expr::accumulator<expr::reductions::sum, T> total;
        expr::for_each_row(n.a, state.a, [&](const auto& cursor, std::size_t, std::size_t length) {
            expr::for_each_batch<T>(length, [&]<class W>(std::size_t j) {
                const auto values = cursor.template forward<W>(j);
                total.add(values.out);
                backprop(cursor, j, values, simd::splat<W>(scale));
            });
        });
        return total.result() * scale;
    }
};

template <class R, std::size_t Axis, class A>
struct heavy_rule<expr::reduce_axis<R, Axis, A>> {
    using node = expr::reduce_axis<R, Axis, A>;
    using T = typename A::value_type;

    template <class S>
    static void vjp(const node& n, S& state) {
        const T* adjoint = state.adjoint->data;
        const T scale = std::is_same_v<R, expr::reductions::mean> ? T(1) / T(A::shape_type::extents[Axis]) : T(1);
        backprop_region<true>(n.a, state.a, [&](std::size_t base) {
            const std::size_t at = node::last_axis ? base / A::shape_type::last() : node::output_offset(base);
            if constexpr (R::is_max) return max_seed<T, node::last_axis>{state.value + at, adjoint + at};
            else if constexpr (node::last_axis) return constant_seed<T>{adjoint[at] * scale};
            else return scaled_buffer_seed<T>{adjoint + at, scale};
        });
    }
};

}  // namespace spore::autodiff
