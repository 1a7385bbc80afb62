// spore::reshape and flatten (expr/reshape.hpp): row-major order, also of a materialised
// broadcast, and gradients against finite differences.
#include <cmath>

#include "../support/check.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

TEST_CASE("reshape and flatten keep row-major order", "[expr][reshape]") {
    tensor<float, shape<2, 3, 4>> x;
    x.fill_uniform(34);
    tensor<float, shape<2, 12>> f = spore::flatten(x);
    tensor<float, shape<6, 4>> r = spore::reshape<shape<6, 4>>(x * 2.0f);
    tensor<float, shape<3, 4>> b;
    b.fill_uniform(35);
    tensor<float, shape<24>> rb = spore::reshape<shape<24>>(x + b);  // broadcast inside: materialised
    for (std::size_t i = 0; i < 24; ++i) {
        CHECK(f[i] == x[i]);
        CHECK(r[i] == 2.0f * x[i]);
        CHECK(rb[i] == x[i] + b[i % 12]);
    }
}

TEST_CASE("reshape and flatten: gradients against finite differences", "[autodiff][reshape]") {
    tensor<double, shape<3, 17>> a;
    tensor<double, shape<17, 5>> b;
    tensor<double, shape<5>> bias;
    tensor<double, shape<3, 5>> w;
    a.fill_uniform(36, -1, 1);
    b.fill_uniform(37, -1, 1);
    bias.fill_uniform(38, -1, 1);
    w.fill_uniform(39, -1, 1);
    check_gradients(spore::sum(spore::flatten(spore::matmul(a, b)) * spore::flatten(w)), a, b);
    check_gradients(spore::sum(spore::reshape<shape<15>>(spore::matmul(a, b) + bias) * spore::reshape<shape<15>>(w)), a, b, bias);
}
