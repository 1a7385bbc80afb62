// spore::matmul and spore::transpose (expr/matmul.hpp): forward against a naive loop, and
// gradients against finite differences, with transposed operands read in place by the GEMM.
#include <cmath>

#include "../support/check.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

namespace {

template <class T, std::size_t M, std::size_t K, std::size_t N>
void check_matmul_forward() {
    tensor<T, shape<M, K>> a;
    tensor<T, shape<K, N>> b;
    a.fill_uniform(31, T(-1), T(1));
    b.fill_uniform(32, T(-1), T(1));
    tensor<T, shape<M, N>> c = spore::matmul(a, b);
    tensor<T, shape<N, M>> ct = spore::transpose(spore::matmul(a, b));
    tensor<T, shape<N, M>> bt_at = spore::matmul(spore::transpose(b), spore::transpose(a));
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            double ref = 0;
            for (std::size_t p = 0; p < K; ++p) ref += double(a(i, p)) * double(b(p, j));
            INFO(M << "x" << K << "x" << N << " at " << i << "," << j);
            CHECK(double(c(i, j)) == Approx(ref).epsilon(tolerance).margin(tolerance));
            CHECK(ct(j, i) == c(i, j));
            CHECK(double(bt_at(j, i)) == Approx(ref).epsilon(tolerance).margin(tolerance));
        }
}

}  // namespace

TEST_CASE("matmul and transpose: forward against a naive loop", "[expr][matmul]") {
    check_matmul_forward<float, 1, 1, 1>();
    check_matmul_forward<float, 3, 17, 5>();
    check_matmul_forward<float, 17, 33, 17>();
    check_matmul_forward<double, 33, 3, 1>();
    check_matmul_forward<double, 16, 16, 16>();
    check_matmul_forward<float, 32, 120, 84>();
}

TEST_CASE("matmul and transpose: gradients against finite differences", "[autodiff][matmul]") {
    tensor<double, shape<3, 17>> a;
    tensor<double, shape<17, 5>> b;
    tensor<double, shape<5>> bias;
    tensor<double, shape<3, 5>> w;
    a.fill_uniform(36, -1, 1);
    b.fill_uniform(37, -1, 1);
    bias.fill_uniform(38, -1, 1);
    w.fill_uniform(39, -1, 1);
    check_gradients(spore::sum(spore::matmul(a, b) * w), a, b);
    check_gradients(spore::sum(spore::tanh(spore::matmul(a, b) + bias) * w), a, b, bias);
    check_gradients(spore::sum(spore::matmul(spore::tanh(a), b * 2.0) * w), a, b);
    check_gradients(spore::sum(spore::transpose(spore::matmul(a, b)) * spore::transpose(w)), a, b);
    check_gradients(spore::sum(spore::matmul(spore::transpose(b), spore::transpose(a * a))), a, b);
    // transposed tensors read in place by the GEMM (a Dense layer's weight), alone, on both
    // sides, and also used elsewhere (then the transpose is materialised for that use)
    tensor<double, shape<5, 17>> c;
    tensor<double, shape<17, 3>> d;
    tensor<double, shape<4, 4>> e;
    tensor<double, shape<17, 5>> v;
    c.fill_uniform(42, -1, 1);
    d.fill_uniform(43, -1, 1);
    e.fill_uniform(44, -1, 1);
    v.fill_uniform(45, -1, 1);
    check_gradients(spore::sum(spore::matmul(a, spore::transpose(c)) * w), a, c);
    check_gradients(spore::sum(spore::matmul(spore::transpose(d), b) * w), d, b);
    check_gradients(spore::sum(spore::matmul(spore::transpose(d), spore::transpose(c)) * w), d, c);
    check_gradients(spore::sum(spore::matmul(a, spore::transpose(c)) * w) + spore::sum(spore::transpose(c) * v), a, c);
    check_gradients(spore::sum(spore::transpose(c) * v) + spore::sum(spore::matmul(a, spore::transpose(c)) * w), a, c);
    check_gradients(spore::sum(spore::matmul(spore::transpose(e), spore::transpose(e))), e);
    tensor<double, shape<1, 1>> s, t;
    s.fill_uniform(40);
    t.fill_uniform(41);
    check_gradients(spore::sum(spore::matmul(s, t)), s, t);
}
