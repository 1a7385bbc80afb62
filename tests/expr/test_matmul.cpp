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

TEST_CASE("matmul and transpose: forward against a naive loop", "[expr][matmul]") {
    check_matmul_forward<float, 1, 1, 1>();
    check_matmul_forward<float, 3, 17, 5>();
    check_matmul_forward<float, 17, 33, 17>();
    check_matmul_forward<double, 33, 3, 1>();
    check_matmul_forward<double, 16, 16, 16>();
    check_matmul_forward<float, 32, 120, 84>();
}

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

TEST_CASE("matrix operations: gradients against finite differences", "[autodiff][matmul]") {
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
    check_gradients(spore::sum(spore::softmax(spore::matmul(a, b)) * w), a, b);
    check_gradients(spore::sum(spore::log_softmax(spore::matmul(a, b) + bias) * w), a, b, bias);
    check_gradients(spore::sum(spore::flatten(spore::matmul(a, b)) * spore::flatten(w)), a, b);
    check_gradients(spore::sum(spore::reshape<shape<15>>(spore::matmul(a, b) + bias) * spore::reshape<shape<15>>(w)), a, b, bias);
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

TEST_CASE("a two-layer network: cross-entropy gradient against finite differences", "[autodiff][matmul]") {
    tensor<double, shape<4, 6>> x;
    tensor<double, shape<6, 5>> w1;
    tensor<double, shape<5>> b1;
    tensor<double, shape<5, 3>> w2;
    tensor<double, shape<3>> b2;
    tensor<double, shape<4, 3>> onehot{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0};
    x.fill_uniform(42);
    w1.fill_uniform(43);
    b1.fill_uniform(44);
    w2.fill_uniform(45);
    b2.fill_uniform(46);
    auto hidden = spore::tanh(spore::matmul(x, w1) + b1);
    auto logits = spore::matmul(hidden, w2) + b2;
    auto loss = -spore::mean(spore::sum<1>(spore::log_softmax(logits) * onehot));
    check_gradients(loss, w1, b1, w2, b2);
}
