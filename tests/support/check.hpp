#pragma once
// Test helpers: naive references and central finite differences in double precision.

#include <array>
#include <cmath>
#include <cstddef>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

namespace spore_test {

// Seeded values uniform in [-1, 1), for kernel tests on raw arrays.
template <class T>
std::vector<T> random_vector(std::size_t count, std::uint64_t seed) {
    spore::random_engine rng(seed);
    std::vector<T> v(count);
    for (auto& x : v) x = static_cast<T>(rng.uniform(-1, 1));
    return v;
}

// Flat index in `From` of the element that broadcasting reads at flat index `out` of `To`.
template <class From, class To>
std::size_t broadcast_index(std::size_t out) {
    std::size_t in = 0, step = 1;
    for (std::size_t i = 0; i < To::rank; ++i) {
        const std::size_t d = To::rank - 1 - i;
        const std::size_t coord = out % To::extents[d];
        out /= To::extents[d];
        if (i < From::rank) {
            const std::size_t fd = From::rank - 1 - i;
            if (From::extents[fd] != 1) in += coord * step;
            step *= From::extents[fd];
        }
    }
    return in;
}

template <class E>
double scalar_value(const E& f) {
    auto v = spore::eval(f);
    return static_cast<double>(v[0]);
}

// Central differences of the scalar expression f with respect to every element of x.
template <class E, class X>
X numeric_gradient(const E& f, X& x, double h = 1e-6) {
    X g;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const auto saved = x[i];
        x[i] = saved + h;
        const double up = scalar_value(f);
        x[i] = saved - h;
        const double down = scalar_value(f);
        x[i] = saved;
        g[i] = static_cast<typename X::value_type>((up - down) / (2 * h));
    }
    return g;
}

// Checks compile_grad's value and every gradient of f against eval and finite differences.
template <class E, class... X>
void check_gradients(const E& f, X&... x) {
    auto program = spore::compile_grad(f, x...);
    const double value = program.run();
    CHECK(value == Approx(scalar_value(f)).epsilon(1e-12).margin(1e-12));
    std::size_t index = 0;
    auto check_one = [&](auto& tensor, const auto& analytic) {
        const auto numeric = numeric_gradient(f, tensor);
        INFO("gradient of argument " << index + 1 << "\nanalytic " << analytic << "\nnumeric " << numeric);
        CHECK(spore::allclose(analytic, numeric, 1e-5, 1e-6));
        ++index;
    };
    std::apply([&](const auto&... g) { (check_one(x, g), ...); }, program.gradients());
    // A second run gives the same result: sinks and buffers are reset correctly.
    const double again = program.run();
    CHECK(again == value);
    index = 0;
    std::apply([&](const auto&... g) { (check_one(x, g), ...); }, program.gradients());
}

}  // namespace spore_test
