#pragma once
// One entry per elementwise operation: the spore function under test, a reference formula in
// double precision, and the inputs it is defined on. Every check of elementwise operations
// runs over these lists: the forward pass in float and double, the gradient against central
// differences (tests/expr/test_elementwise.cpp), and the exported ONNX operator run by OpenCV
// (tests/onnx). A new operation is one entry here.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <tuple>

#include <spore/spore.hpp>

namespace spore_test::elementwise {

struct range {
    double low, high;
};
inline constexpr range any{-2, 2};
inline constexpr range positive{0.1, 2};
inline constexpr range wide{-30, 30};

// `opencv`: whether OpenCV 4.6's DNN module runs the exported operator with a tensor operand
// (it builds Max and Min only from two computed values, Pow only with a scalar exponent, and
// no operator of two constant inputs of different shapes, such as y / 4 for a tensor y).
#define SPORE_UNARY_CASE(case_name, call, formula, inputs, runs_in_opencv)       \
    struct case_name {                                                          \
        static constexpr const char* name = #case_name;                          \
        static constexpr range domain = inputs;                                  \
        static constexpr bool opencv = runs_in_opencv;                           \
        static auto apply(const auto& x) { return call; }                        \
        static double reference(double x) { return formula; }                    \
    };
SPORE_UNARY_CASE(neg, spore::neg(x), -x, any, true)
SPORE_UNARY_CASE(minus, -x, -x, any, true)
SPORE_UNARY_CASE(exp, spore::exp(x), std::exp(x), any, true)
SPORE_UNARY_CASE(log, spore::log(x), std::log(x), positive, true)
SPORE_UNARY_CASE(tanh, spore::tanh(x), std::tanh(x), any, true)
SPORE_UNARY_CASE(sigmoid, spore::sigmoid(x), 1 / (1 + std::exp(-x)), any, true)
SPORE_UNARY_CASE(relu, spore::relu(x), x > 0 ? x : 0, any, true)
SPORE_UNARY_CASE(sqrt, spore::sqrt(x), std::sqrt(x), positive, true)
SPORE_UNARY_CASE(abs, spore::abs(x), std::abs(x), any, true)
SPORE_UNARY_CASE(square, spore::square(x), x * x, any, true)
SPORE_UNARY_CASE(softplus, spore::softplus(x), std::log1p(std::exp(x)), wide, true)
SPORE_UNARY_CASE(silu, spore::silu(x), x / (1 + std::exp(-x)), wide, true)
SPORE_UNARY_CASE(gelu, spore::gelu(x), 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))), any, true)
SPORE_UNARY_CASE(gelu_tanh, spore::gelu_tanh(x),
                 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x))), any, true)
SPORE_UNARY_CASE(leaky_relu, spore::leaky_relu(x, 0.2), x > 0 ? x : 0.2 * x, any, true)
SPORE_UNARY_CASE(elu, spore::elu(x, 0.7), x > 0 ? x : 0.7 * std::expm1(x), any, true)
SPORE_UNARY_CASE(smooth_l1, spore::smooth_l1(x, 0.5), std::abs(x) < 0.5 ? x * x : std::abs(x) - 0.25, any, false)
SPORE_UNARY_CASE(smooth_l1_beta0, spore::smooth_l1(x, 0.0), std::abs(x), any, false)
#undef SPORE_UNARY_CASE
using unary_cases = std::tuple<neg, minus, exp, log, tanh, sigmoid, relu, sqrt, abs, square, softplus, silu, gelu,
                               gelu_tanh, leaky_relu, elu, smooth_l1, smooth_l1_beta0>;

#define SPORE_BINARY_CASE(case_name, call, formula, left, right, runs_in_opencv) \
    struct case_name {                                                          \
        static constexpr const char* name = #case_name;                          \
        static constexpr range left_domain = left, right_domain = right;          \
        static constexpr bool opencv = runs_in_opencv;                           \
        static auto apply(const auto& x, const auto& y) { return call; }         \
        static double reference(double x, double y) { return formula; }          \
    };
SPORE_BINARY_CASE(add, x + y, x + y, any, any, true)
SPORE_BINARY_CASE(sub, x - y, x - y, any, any, true)
SPORE_BINARY_CASE(mul, x * y, x * y, any, any, true)
SPORE_BINARY_CASE(div, x / y, x / y, any, positive, true)
SPORE_BINARY_CASE(maximum, spore::maximum(x, y), std::max(x, y), any, any, false)
SPORE_BINARY_CASE(minimum, spore::minimum(x, y), std::min(x, y), any, any, false)
SPORE_BINARY_CASE(pow, spore::pow(x, y), std::pow(x, y), positive, any, false)
SPORE_BINARY_CASE(with_scalars, x * 2 + y / 4.0 - 1, x * 2 + y / 4 - 1, any, any, false)
SPORE_BINARY_CASE(scalar_first, 3 - x * y, 3 - x * y, any, any, true)
#undef SPORE_BINARY_CASE
using binary_cases = std::tuple<add, sub, mul, div, maximum, minimum, pow, with_scalars, scalar_first>;

template <class Cases, class F>
void for_each_case(F&& f) {
    std::apply([&](auto... c) { (f(c), ...); }, Cases{});
}

}  // namespace spore_test::elementwise
