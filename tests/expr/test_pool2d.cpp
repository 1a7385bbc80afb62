// spore::max_pool2d and avg_pool2d (expr/pool.hpp): forward against naive windows, and
// gradients against finite differences. The kernels under them: tests/kernels/test_pool.cpp.
#include <cmath>

#include "../support/check.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

TEST_CASE("pooling: forward against naive windows", "[expr][pool]") {
    tensor<float, shape<2, 3, 7, 8>> x;
    x.fill_uniform(8);
    tensor<float, shape<2, 3, 3, 4>> m = spore::max_pool2d<2>(x), a = spore::avg_pool2d<2>(x);
    tensor<float, shape<2, 3, 3, 3>> m3 = spore::max_pool2d<3, 2>(x);
    for (std::size_t p = 0; p < 6; ++p)
        for (std::size_t oh = 0; oh < 3; ++oh)
            for (std::size_t ow = 0; ow < 4; ++ow) {
                float top = -INFINITY, total = 0, top3 = -INFINITY;
                for (std::size_t kh = 0; kh < 2; ++kh)
                    for (std::size_t kw = 0; kw < 2; ++kw) {
                        const float v = x[p * 56 + (oh * 2 + kh) * 8 + ow * 2 + kw];
                        top = std::max(top, v);
                        total += v;
                    }
                CHECK(m[p * 12 + oh * 4 + ow] == top);
                CHECK(a[p * 12 + oh * 4 + ow] == Approx(total / 4));
                if (ow < 3) {
                    for (std::size_t kh = 0; kh < 3; ++kh)
                        for (std::size_t kw = 0; kw < 3; ++kw) top3 = std::max(top3, x[p * 56 + (oh * 2 + kh) * 8 + ow * 2 + kw]);
                    CHECK(m3[p * 9 + oh * 3 + ow] == top3);
                }
            }
}

TEST_CASE("pooling: gradients against finite differences", "[autodiff][pool]") {
    tensor<double, shape<2, 2, 7, 6>> x;
    x.fill_uniform(9);
    tensor<double, shape<2, 2, 3, 3>> wp;
    wp.fill_uniform(14);
    check_gradients(spore::sum(spore::max_pool2d<2>(x * x) * wp), x);
    check_gradients(spore::sum(spore::avg_pool2d<2>(x) * wp), x);
    tensor<double, shape<2, 2, 3, 2>> wp3;
    wp3.fill_uniform(15);
    check_gradients(spore::sum(spore::max_pool2d<3, 2>(x) * wp3), x);
}
