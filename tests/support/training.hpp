#pragma once
// Finite differences in training mode: the value of f is taken from a new gradient program each
// time (a program's first run), so random nodes draw the same mask and batch statistics are
// those of the perturbed input.

#include "check.hpp"

namespace spore_test {

template <class E, class X>
double training_value(const E& f, const X& x) {
    auto program = spore::compile_grad(f, x);
    return static_cast<double>(program.run());
}

template <class E, class X>
X numeric_training_gradient(const E& f, X& x, double h = 1e-6) {
    X g;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const auto saved = x[i];
        x[i] = saved + h;
        const double up = training_value(f, x);
        x[i] = saved - h;
        const double down = training_value(f, x);
        x[i] = saved;
        g[i] = static_cast<typename X::value_type>((up - down) / (2 * h));
    }
    return g;
}

// The gradients of a first run of compile_grad(f, x...) against training-mode differences.
template <class E, class... X>
void check_training_gradients(const E& f, X&... x) {
    auto program = spore::compile_grad(f, x...);
    program.run();
    std::size_t index = 0;
    auto check_one = [&](auto& tensor, const auto& analytic) {
        const auto numeric = numeric_training_gradient(f, tensor);
        INFO("gradient of argument " << index + 1 << "\nanalytic " << analytic << "\nnumeric " << numeric);
        CHECK(spore::allclose(analytic, numeric, 1e-5, 1e-7));
        ++index;
    };
    std::apply([&](const auto&... g) { (check_one(x, g), ...); }, program.gradients());
}

}  // namespace spore_test
