// spore::softmax and log_softmax (expr/softmax.hpp): forward against the formula, stable for
// large inputs, and gradients against finite differences.
#include <cmath>

#include "../support/check.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

namespace {

template <class T, class S>
void check_softmax_forward() {
    tensor<T, S> x;
    x.fill_uniform(33, T(-5), T(5));
    tensor<T, S> y = spore::softmax(x), ly = spore::log_softmax(x);
    constexpr std::size_t n = S::last();
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (std::size_t base = 0; base < S::size; base += n) {
        double total = 0;
        for (std::size_t j = 0; j < n; ++j) total += std::exp(double(x[base + j]));
        for (std::size_t j = 0; j < n; ++j) {
            CHECK(double(y[base + j]) == Approx(std::exp(double(x[base + j])) / total).epsilon(tolerance).margin(tolerance));
            CHECK(double(ly[base + j]) == Approx(double(x[base + j]) - std::log(total)).epsilon(tolerance).margin(tolerance));
        }
    }
}

}  // namespace

TEST_CASE("softmax and log_softmax: forward, stable for large inputs", "[expr][softmax]") {
    check_softmax_forward<float, shape<1, 10>>();
    check_softmax_forward<float, shape<3, 17>>();
    check_softmax_forward<double, shape<2, 3, 5>>();
    tensor<float, shape<1, 3>> big{1000.0f, 1001.0f, 1002.0f};
    tensor<float, shape<1, 3>> y = spore::softmax(big);
    CHECK(y[2] == Approx(0.665241).epsilon(1e-5));
    tensor<float, shape<1, 3>> ly = spore::log_softmax(big);
    CHECK(ly[0] == Approx(-2.407606).epsilon(1e-5));
}

TEST_CASE("softmax and log_softmax: gradients against finite differences", "[autodiff][softmax]") {
    tensor<double, shape<3, 17>> a;
    tensor<double, shape<17, 5>> b;
    tensor<double, shape<5>> bias;
    tensor<double, shape<3, 5>> w;
    a.fill_uniform(36, -1, 1);
    b.fill_uniform(37, -1, 1);
    bias.fill_uniform(38, -1, 1);
    w.fill_uniform(39, -1, 1);
    check_gradients(spore::sum(spore::softmax(spore::matmul(a, b)) * w), a, b);
    check_gradients(spore::sum(spore::log_softmax(spore::matmul(a, b) + bias) * w), a, b, bias);
}
