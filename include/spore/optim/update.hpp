#pragma once
// What every optimiser shares: a vectorised loop over one parameter and its gradient, and the
// check that a gradient tuple matches the parameters it updates. Updates touch every
// parameter on every step, so they run in SIMD batches (kernels/simd.hpp) with a scalar tail.

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <spore/core/tensor.hpp>
#include <spore/kernels/simd.hpp>

namespace spore::optim {

template <class ParameterShape, class GradientShape>
struct check_gradient {
    static_assert(same_shape_v<ParameterShape, GradientShape>,
                  "spore: optimiser step: a gradient's shape differs from its parameter's; pass the gradients "
                  "in the parameters' order (see check_gradient<parameter shape, gradient shape> above)");
    static constexpr bool ok = same_shape_v<ParameterShape, GradientShape>;
};

// Calls f.template operator()<V>(i) over [0, n): SIMD batches of V = simd::batch<T>, then V = T.
template <class T, class F>
SPORE_ALWAYS_INLINE void for_each_lane(std::size_t n, F&& f) {
    constexpr std::size_t w = simd::width<T>;
    const std::size_t whole = n - n % w;
    for (std::size_t i = 0; i < whole; i += w) f.template operator()<simd::batch<T>>(i);
    for (std::size_t i = whole; i < n; ++i) f.template operator()<T>(i);
}

// Calls f(parameter, gradient, I) for the I-th parameter and the I-th gradient.
template <class Parameters, class Gradients, class F>
void for_each_parameter_gradient(Parameters& parameters, const Gradients& gradients, F&& f) {
    constexpr std::size_t count = std::tuple_size_v<Parameters>;
    static_assert(std::tuple_size_v<Gradients> == count,
                  "spore: optimiser step: the number of gradients differs from the number of parameters");
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f(std::get<I>(parameters), std::get<I>(gradients), std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<count>{});
}

template <class P, class G>
inline constexpr bool gradient_matches_v =
    check_gradient<typename std::remove_cvref_t<P>::shape_type, typename std::remove_cvref_t<G>::shape_type>::ok;

}  // namespace spore::optim
