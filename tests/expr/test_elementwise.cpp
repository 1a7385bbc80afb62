// Every elementwise operation of support/elementwise_cases.hpp: the forward pass against its
// reference formula in float and double, on odd sizes and with broadcasting, and its gradient
// against central differences in double.
#include <cmath>
#include <type_traits>

#include "../support/check.hpp"
#include "../support/elementwise_cases.hpp"

using spore::shape;
using spore::tensor;
using spore_test::broadcast_index;
using spore_test::check_gradients;
namespace cases = spore_test::elementwise;

namespace {

template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;

template <class T, class S>
void check_unary_forward() {
    cases::for_each_case<cases::unary_cases>([]<class Case>(Case) {
        tensor<T, S> x;
        x.fill_uniform(1, T(Case::domain.low), T(Case::domain.high));
        const tensor<T, S> y = Case::apply(x);
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO(Case::name << ": element " << i << " of " << S::to_string() << ", x = " << x[i]);
            CHECK(double(y[i]) == Approx(Case::reference(double(x[i]))).epsilon(tolerance<T>).margin(tolerance<T>));
        }
    });
}

template <class T, class SA, class SB>
void check_binary_forward() {
    using out_shape = typename spore::broadcast_shapes<SA, SB>::type;
    cases::for_each_case<cases::binary_cases>([]<class Case>(Case) {
        tensor<T, SA> a;
        tensor<T, SB> b;
        a.fill_uniform(3, T(Case::left_domain.low), T(Case::left_domain.high));
        b.fill_uniform(40, T(Case::right_domain.low), T(Case::right_domain.high));
        const tensor<T, out_shape> y = Case::apply(a, b);
        for (std::size_t i = 0; i < out_shape::size; ++i) {
            const double x = a[broadcast_index<SA, out_shape>(i)], z = b[broadcast_index<SB, out_shape>(i)];
            INFO(Case::name << ": " << SA::to_string() << " with " << SB::to_string() << ", element " << i);
            CHECK(double(y[i]) == Approx(Case::reference(x, z)).epsilon(tolerance<T>).margin(tolerance<T>));
        }
    });
}

template <class S>
void check_unary_gradients() {
    cases::for_each_case<cases::unary_cases>([]<class Case>(Case) {
        INFO(Case::name << " on " << S::to_string());
        tensor<double, S> x, w;
        x.fill_uniform(5, Case::domain.low, Case::domain.high);
        w.fill_uniform(60, -1, 1);
        check_gradients(spore::sum(Case::apply(x) * w), x, w);
    });
}

template <class SA, class SB>
void check_binary_gradients() {
    using out_shape = typename spore::broadcast_shapes<SA, SB>::type;
    cases::for_each_case<cases::binary_cases>([]<class Case>(Case) {
        INFO(Case::name << ": " << SA::to_string() << " with " << SB::to_string());
        tensor<double, SA> a;
        tensor<double, SB> b;
        tensor<double, out_shape> w;
        a.fill_uniform(8, Case::left_domain.low, Case::left_domain.high);
        b.fill_uniform(90, Case::right_domain.low, Case::right_domain.high);
        w.fill_uniform(100, -1, 1);
        check_gradients(spore::sum(Case::apply(a, b) * w), a, b);
    });
}

}  // namespace

TEST_CASE("elementwise unary: forward against the reference, float and double", "[expr][elementwise]") {
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

TEST_CASE("elementwise unary: gradients against finite differences", "[autodiff][elementwise]") {
    check_unary_gradients<shape<1>>();
    check_unary_gradients<shape<3>>();
    check_unary_gradients<shape<17>>();
    check_unary_gradients<shape<2, 17>>();
}

TEST_CASE("elementwise binary: gradients against finite differences, with broadcasting", "[autodiff][broadcast]") {
    check_binary_gradients<shape<17>, shape<17>>();
    check_binary_gradients<shape<3, 17>, shape<17>>();
    check_binary_gradients<shape<3, 1, 5>, shape<4, 1>>();
    check_binary_gradients<shape<3, 1>, shape<1, 3>>();
    check_binary_gradients<shape<>, shape<2, 3>>();
    check_binary_gradients<shape<1>, shape<1>>();
}

TEST_CASE("elementwise: composite expressions and a tensor used several times", "[autodiff]") {
    tensor<double, shape<3, 17>> x;
    tensor<double, shape<17>> v;
    x.fill_uniform(11, -1, 1);
    v.fill_uniform(12, -1, 1);
    check_gradients(spore::sum(spore::tanh(x * v + 1.0) * v), x, v);
    check_gradients(spore::sum(x * x + spore::tanh(x) * x), x);
    check_gradients(spore::sum(x * v + v * v * x - v), x, v);
}
