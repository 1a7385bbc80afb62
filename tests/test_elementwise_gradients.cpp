#include <cmath>

#include "support/check.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

namespace {

template <class S>
void check_unary_gradients() {
    tensor<double, S> x, w, positive;
    x.fill_uniform(5, -2, 2);
    w.fill_uniform(6, -1, 1);
    positive.fill_uniform(7, 0.2, 2);
    check_gradients(spore::sum(-x * w), x, w);
    check_gradients(spore::sum(spore::exp(x) * w), x, w);
    check_gradients(spore::sum(spore::log(positive) * w), positive, w);
    check_gradients(spore::sum(spore::tanh(x) * w), x, w);
    check_gradients(spore::sum(spore::sigmoid(x) * w), x, w);
    check_gradients(spore::sum(spore::relu(x) * w), x, w);
    check_gradients(spore::sum(spore::sqrt(positive) * w), positive, w);
    check_gradients(spore::sum(spore::abs(x) * w), x, w);
    check_gradients(spore::sum(spore::square(x) * w), x, w);
}

template <class SA, class SB>
void check_binary_gradients() {
    tensor<double, SA> a;
    tensor<double, SB> b;
    a.fill_uniform(8, 0.5, 2);
    b.fill_uniform(9, -1.5, 1.5);
    using out_shape = typename spore::broadcast_shapes<SA, SB>::type;
    tensor<double, out_shape> w;
    w.fill_uniform(10, -1, 1);
    check_gradients(spore::sum((a + b) * w), a, b);
    check_gradients(spore::sum((a - b) * w), a, b);
    check_gradients(spore::sum(a * b * w), a, b);
    check_gradients(spore::sum(a / b * w), a, b);
    check_gradients(spore::sum(spore::maximum(a, b) * w), a, b);
    check_gradients(spore::sum(spore::minimum(a, b) * w), a, b);
    check_gradients(spore::sum(spore::pow(a, b) * w), a, b);
    check_gradients(spore::sum(spore::tanh(a * b + 1.0) * w), a, b, w);
}

}  // namespace

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

TEST_CASE("elementwise: a tensor used several times gets the sum of its adjoints", "[autodiff]") {
    tensor<double, shape<3, 17>> x;
    tensor<double, shape<17>> v;
    x.fill_uniform(11, -1, 1);
    v.fill_uniform(12, -1, 1);
    check_gradients(spore::sum(x * x + spore::tanh(x) * x), x);
    check_gradients(spore::sum(x * v + v * v * x - v), x, v);
}
