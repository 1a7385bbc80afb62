#include <cmath>
#include <limits>

#include "../support/check.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

namespace {

template <class T, class S>
void check_full_reductions() {
    tensor<T, S> x;
    x.fill_uniform(21, T(-3), T(3));
    double sum = 0, top = -INFINITY;
    for (T v : x) {
        sum += v;
        top = std::max(top, double(v));
    }
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    CHECK(spore_test::scalar_value(spore::sum(x)) == Approx(sum).epsilon(tolerance).margin(tolerance));
    CHECK(spore_test::scalar_value(spore::mean(x)) == Approx(sum / S::size).epsilon(tolerance).margin(tolerance));
    CHECK(spore_test::scalar_value(spore::max(x)) == top);
    CHECK(spore_test::scalar_value(spore::sum(x * 2 + 1)) == Approx(2 * sum + S::size).epsilon(tolerance).margin(tolerance));
}

template <std::size_t Axis, class T, class S>
void check_axis_reductions() {
    tensor<T, S> x;
    x.fill_uniform(22, T(-3), T(3));
    using out_shape = typename spore::expr::drop_axis<S, Axis>::type;
    tensor<T, out_shape> s = spore::sum<Axis>(x), m = spore::mean<Axis>(x), top = spore::max<Axis>(x);
    // naive: walk every element, find its output position by dropping the axis coordinate
    std::array<double, out_shape::size> rs{}, rt{};
    rt.fill(-INFINITY);
    for (std::size_t i = 0; i < S::size; ++i) {
        std::size_t rest = i, out = 0, step = 1;
        for (std::size_t d = S::rank; d-- > 0;) {
            const std::size_t c = rest % S::extents[d];
            rest /= S::extents[d];
            if (d != Axis) {
                out += c * step;
                step *= S::extents[d];
            }
        }
        rs[out] += x[i];
        rt[out] = std::max(rt[out], double(x[i]));
    }
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (std::size_t o = 0; o < out_shape::size; ++o) {
        INFO("axis " << Axis << " of " << S::to_string() << ", output " << o);
        CHECK(double(s[o]) == Approx(rs[o]).epsilon(tolerance).margin(tolerance));
        CHECK(double(m[o]) == Approx(rs[o] / S::extents[Axis]).epsilon(tolerance).margin(tolerance));
        CHECK(double(top[o]) == rt[o]);
    }
}

}  // namespace

TEST_CASE("reductions over all axes: forward", "[expr][reduce]") {
    check_full_reductions<float, shape<1>>();
    check_full_reductions<float, shape<3>>();
    check_full_reductions<float, shape<17>>();
    check_full_reductions<float, shape<255>>();
    check_full_reductions<double, shape<3, 17>>();
    check_full_reductions<double, shape<2, 3, 5>>();
}

TEST_CASE("reductions over one axis: forward", "[expr][reduce]") {
    check_axis_reductions<0, float, shape<3, 17>>();
    check_axis_reductions<1, float, shape<3, 17>>();
    check_axis_reductions<0, double, shape<2, 3, 5>>();
    check_axis_reductions<1, double, shape<2, 3, 5>>();
    check_axis_reductions<2, double, shape<2, 3, 5>>();
    check_axis_reductions<0, double, shape<17>>();
    check_axis_reductions<1, double, shape<1, 3>>();
}

TEST_CASE("reductions: gradients against finite differences", "[autodiff][reduce]") {
    tensor<double, shape<3, 17>> x;
    tensor<double, shape<17>> w17;
    tensor<double, shape<3>> w3;
    x.fill_uniform(23, -2, 2);
    w17.fill_uniform(24, -1, 1);
    w3.fill_uniform(25, -1, 1);
    check_gradients(spore::sum(x), x);
    check_gradients(spore::mean(spore::tanh(x)), x);
    check_gradients(spore::max(x * x), x);
    check_gradients(spore::log(spore::sum(spore::exp(x))), x);
    check_gradients(spore::sum(spore::sum<0>(x) * w17), x, w17);
    check_gradients(spore::sum(spore::mean<0>(spore::tanh(x)) * w17), x, w17);
    check_gradients(spore::sum(spore::max<0>(x) * w17), x, w17);
    check_gradients(spore::sum(spore::sum<1>(x * x) * w3), x, w3);
    check_gradients(spore::sum(spore::mean<1>(x) * w3), x, w3);
    check_gradients(spore::sum(spore::max<1>(x) * w3), x, w3);
    tensor<double, shape<2, 3, 5>> y;
    tensor<double, shape<2, 5>> w25;
    y.fill_uniform(26, -2, 2);
    w25.fill_uniform(27, -1, 1);
    check_gradients(spore::sum(spore::sum<1>(spore::sigmoid(y)) * w25), y, w25);
    check_gradients(spore::sum(spore::max<1>(y) * w25), y, w25);
    tensor<double, shape<1>> one;
    one.fill_uniform(28, -1, 1);
    check_gradients(spore::mean(one * 3.0), one);
}

TEST_CASE("reductions: a root that is not a reduction, and nested reductions", "[autodiff][reduce]") {
    tensor<double, shape<17>> x;
    x.fill_uniform(29, -1, 1);
    check_gradients(spore::square(spore::sum(x)) + spore::mean(x) * spore::max(x), x);
    check_gradients(spore::sum(spore::sum<0>(spore::reshape<shape<17, 1>>(x)) * 2.0), x);
}
