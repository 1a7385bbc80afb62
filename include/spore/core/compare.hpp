#pragma once
// Approximate comparison, for tests and for users checking their own gradients.

#include <cmath>
#include <cstddef>

#include <spore/core/tensor.hpp>

namespace spore {

// Largest |a - b|; infinite when sizes differ or any value is NaN.
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
    if (a.size() != b.size()) return INFINITY;
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        double d = std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
        if (std::isnan(d)) return INFINITY;
        worst = d > worst ? d : worst;
    }
    return worst;
}

// numpy's allclose: |a - b| <= atol + rtol * |b| for every element.
template <class A, class B>
bool allclose(const A& a, const B& b, double rtol = 1e-5, double atol = 1e-8) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        double x = static_cast<double>(a[i]), y = static_cast<double>(b[i]);
        if (!(std::abs(x - y) <= atol + rtol * std::abs(y))) return false;
    }
    return true;
}

}  // namespace spore
