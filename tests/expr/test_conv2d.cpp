// spore::conv2d (expr/conv.hpp): gradients of the expression, with bias, stride and padding,
// against finite differences. The kernels under it: tests/kernels/test_conv.cpp.
#include <cmath>

#include "../support/check.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

TEST_CASE("conv2d: gradients against finite differences", "[autodiff][conv]") {
    tensor<double, shape<2, 2, 7, 6>> x;
    tensor<double, shape<3, 2, 3, 3>> w;
    tensor<double, shape<3>> b;
    x.fill_uniform(9);
    w.fill_uniform(10);
    b.fill_uniform(11);
    tensor<double, shape<2, 3, 5, 4>> wy;
    wy.fill_uniform(12);
    check_gradients(spore::sum(spore::conv2d(x, w, b) * wy), x, w, b);
    tensor<double, shape<2, 3, 4, 3>> ws;
    ws.fill_uniform(13);
    check_gradients(spore::sum(spore::conv2d<2, 1>(x, w) * ws), x, w);
    check_gradients(spore::sum(spore::conv2d(spore::tanh(x), w * 0.5, b + 1.0) * wy), x, w, b);
}
