#include <cmath>

#include "support/check.hpp"

using spore::shape;
using spore::tensor;
using spore_test::broadcast_index;

namespace {

template <class T, class S>
void check_unary_forward() {
    tensor<T, S> positive, signed_values;
    positive.fill_uniform(1, T(0.1), T(2));
    signed_values.fill_uniform(2, T(-2), T(2));
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    auto check = [&](const tensor<T, S>& x, auto make, auto reference) {
        tensor<T, S> y = make(x);
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO("element " << i << " of " << S::to_string() << ", x = " << x[i]);
            CHECK(double(y[i]) == Approx(reference(double(x[i]))).epsilon(tolerance).margin(tolerance));
        }
    };
    check(signed_values, [](const auto& x) { return -x; }, [](double v) { return -v; });
    check(signed_values, [](const auto& x) { return spore::neg(x); }, [](double v) { return -v; });
    check(signed_values, [](const auto& x) { return spore::exp(x); }, [](double v) { return std::exp(v); });
    check(positive, [](const auto& x) { return spore::log(x); }, [](double v) { return std::log(v); });
    check(signed_values, [](const auto& x) { return spore::tanh(x); }, [](double v) { return std::tanh(v); });
    check(signed_values, [](const auto& x) { return spore::sigmoid(x); }, [](double v) { return 1 / (1 + std::exp(-v)); });
    check(signed_values, [](const auto& x) { return spore::relu(x); }, [](double v) { return v > 0 ? v : 0; });
    check(positive, [](const auto& x) { return spore::sqrt(x); }, [](double v) { return std::sqrt(v); });
    check(signed_values, [](const auto& x) { return spore::abs(x); }, [](double v) { return std::abs(v); });
    check(signed_values, [](const auto& x) { return spore::square(x); }, [](double v) { return v * v; });
}

template <class T, class SA, class SB>
void check_binary_forward() {
    using out_shape = typename spore::broadcast_shapes<SA, SB>::type;
    tensor<T, SA> a;
    tensor<T, SB> b;
    a.fill_uniform(3, T(0.5), T(2));
    b.fill_uniform(4, T(-1.5), T(1.5));
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    auto check = [&](auto make, auto reference) {
        tensor<T, out_shape> y = make(a, b);
        for (std::size_t i = 0; i < out_shape::size; ++i) {
            const double x = a[broadcast_index<SA, out_shape>(i)], z = b[broadcast_index<SB, out_shape>(i)];
            INFO(SA::to_string() << " with " << SB::to_string() << ", element " << i);
            CHECK(double(y[i]) == Approx(reference(x, z)).epsilon(tolerance).margin(tolerance));
        }
    };
    check([](const auto& x, const auto& y) { return x + y; }, [](double x, double y) { return x + y; });
    check([](const auto& x, const auto& y) { return x - y; }, [](double x, double y) { return x - y; });
    check([](const auto& x, const auto& y) { return x * y; }, [](double x, double y) { return x * y; });
    check([](const auto& x, const auto& y) { return x / y; }, [](double x, double y) { return x / y; });
    check([](const auto& x, const auto& y) { return spore::maximum(x, y); }, [](double x, double y) { return std::max(x, y); });
    check([](const auto& x, const auto& y) { return spore::minimum(x, y); }, [](double x, double y) { return std::min(x, y); });
    check([](const auto& x, const auto& y) { return spore::pow(x, y); }, [](double x, double y) { return std::pow(x, y); });
    check([](const auto& x, const auto& y) { return x * 2 + y / 4.0 - 1; }, [](double x, double y) { return x * 2 + y / 4 - 1; });
    check([](const auto& x, const auto& y) { return 3 - x * y; }, [](double x, double y) { return 3 - x * y; });
}

}  // namespace

TEST_CASE("elementwise unary: forward against std, float and double", "[expr][elementwise]") {
    check_unary_forward<float, shape<1>>();
    check_unary_forward<float, shape<3>>();
    check_unary_forward<float, shape<17>>();
    check_unary_forward<float, shape<3, 17>>();
    check_unary_forward<double, shape<2, 3, 5>>();
    check_unary_forward<double, shape<33>>();
}

TEST_CASE("elementwise binary: forward with broadcasting", "[expr][elementwise][broadcast]") {
    check_binary_forward<float, shape<17>, shape<17>>();
    check_binary_forward<float, shape<3, 17>, shape<17>>();
    check_binary_forward<float, shape<3, 1, 5>, shape<4, 1>>();
    check_binary_forward<float, shape<17, 1>, shape<1, 17>>();
    check_binary_forward<double, shape<1>, shape<3, 3>>();
    check_binary_forward<double, shape<>, shape<2, 17>>();
    check_binary_forward<double, shape<3>, shape<3>>();
    check_binary_forward<double, shape<5, 3>, shape<5, 1>>();
}
