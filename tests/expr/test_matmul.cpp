// spore::matmul and spore::transpose (expr/matmul.hpp): forward against a naive loop, and
// gradients against finite differences, with transposed operands read in place by the GEMM;
// batched matmul ([B, M, K] by [B, K, N] or by [K, N]), nn::Dense on [batch, positions,
// features], and their ONNX nodes.
#include <cmath>
#include <string>
#include <vector>

#include "../support/check.hpp"
#include "../support/onnx_reader.hpp"

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

namespace {

// matmul of a batch [Bt, M, K] by a batch [Bt, K, N], by a matrix [K, N], and by a transposed
// matrix read in place (a Dense layer on [batch, positions, features]).
template <class T, std::size_t Bt, std::size_t M, std::size_t K, std::size_t N>
void check_batched_forward() {
    tensor<T, shape<Bt, M, K>> a;
    tensor<T, shape<Bt, K, N>> b;
    tensor<T, shape<K, N>> w;
    tensor<T, shape<N, K>> wt;
    a.fill_uniform(61, T(-1), T(1));
    b.fill_uniform(62, T(-1), T(1));
    w.fill_uniform(63, T(-1), T(1));
    for (std::size_t p = 0; p < K; ++p)
        for (std::size_t j = 0; j < N; ++j) wt(j, p) = w(p, j);
    const tensor<T, shape<Bt, M, N>> c = spore::matmul(a, b);
    const tensor<T, shape<Bt, M, N>> shared = spore::matmul(a, w);
    const tensor<T, shape<Bt, M, N>> shared_t = spore::matmul(a, spore::transpose(wt));
    const tensor<T, shape<Bt, M, N>> from_subtrees = spore::matmul(a * T(2), spore::tanh(b));
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (std::size_t s = 0; s < Bt; ++s)
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double ref = 0, ref_shared = 0, ref_subtrees = 0;
                for (std::size_t p = 0; p < K; ++p) {
                    ref += double(a(s, i, p)) * double(b(s, p, j));
                    ref_shared += double(a(s, i, p)) * double(w(p, j));
                    ref_subtrees += 2 * double(a(s, i, p)) * std::tanh(double(b(s, p, j)));
                }
                INFO(Bt << "x" << M << "x" << K << "x" << N << " at " << s << "," << i << "," << j);
                CHECK(double(c(s, i, j)) == Approx(ref).epsilon(tolerance).margin(tolerance));
                CHECK(double(shared(s, i, j)) == Approx(ref_shared).epsilon(tolerance).margin(tolerance));
                CHECK(double(shared_t(s, i, j)) == Approx(ref_shared).epsilon(tolerance).margin(tolerance));
                CHECK(double(from_subtrees(s, i, j)) == Approx(ref_subtrees).epsilon(tolerance).margin(tolerance));
            }
}

}  // namespace

TEST_CASE("batched matmul: forward against a naive loop", "[expr][matmul]") {
    check_batched_forward<float, 1, 1, 1, 1>();
    check_batched_forward<float, 3, 5, 17, 7>();
    check_batched_forward<float, 4, 17, 33, 16>();
    check_batched_forward<double, 5, 3, 2, 9>();
    check_batched_forward<double, 2, 16, 16, 16>();
}

TEST_CASE("batched matmul: gradients against finite differences", "[autodiff][matmul]") {
    tensor<double, shape<3, 4, 5>> a;
    tensor<double, shape<3, 5, 2>> b;
    tensor<double, shape<5, 2>> m;
    tensor<double, shape<2, 5>> mt;
    tensor<double, shape<2>> bias;
    tensor<double, shape<3, 4, 2>> w;
    a.fill_uniform(71, -1, 1);
    b.fill_uniform(72, -1, 1);
    m.fill_uniform(73, -1, 1);
    mt.fill_uniform(74, -1, 1);
    bias.fill_uniform(75, -1, 1);
    w.fill_uniform(76, -1, 1);
    check_gradients(spore::sum(spore::matmul(a, b) * w), a, b, w);                        // batch x batch
    check_gradients(spore::sum(spore::matmul(spore::tanh(a), b * b) * w), a, b);          // subtrees
    check_gradients(spore::sum(spore::tanh(spore::matmul(a, m) + bias) * w), a, m, bias);  // batch x matrix
    check_gradients(spore::sum(spore::matmul(a, spore::transpose(mt)) * w), a, mt);       // transposed, in place
    check_gradients(spore::sum(spore::matmul(spore::matmul(a, b), spore::transpose(m)) * spore::sigmoid(a)), a, b, m);
    check_gradients(spore::sum(spore::square(spore::matmul(spore::matmul(a, b), spore::slice<1, 0, 2>(a)))), a, b);  // a twice
}

TEST_CASE("nn::Dense on (batch, positions, features) equals the layer on each position", "[nn][matmul]") {
    spore::nn::Dense<5, 3, double> fc;
    spore::init(fc, 81);
    tensor<double, shape<2, 4, 5>> x;
    x.fill_uniform(82, -1, 1);
    const tensor<double, shape<2, 4, 3>> y = fc(spore::input(x));
    for (std::size_t s = 0; s < 2; ++s) {
        tensor<double, shape<4, 5>> rows;
        for (std::size_t i = 0; i < 4; ++i)
            for (std::size_t p = 0; p < 5; ++p) rows(i, p) = x(s, i, p);
        const tensor<double, shape<4, 3>> expected = fc(spore::input(rows));
        for (std::size_t i = 0; i < 4; ++i)
            for (std::size_t j = 0; j < 3; ++j) CHECK(y(s, i, j) == Approx(expected(i, j)).epsilon(1e-12));
    }
    tensor<double, shape<2, 4, 3>> w;
    w.fill_uniform(83, -1, 1);
    check_gradients(spore::sum(spore::tanh(fc(spore::input(x))) * w), x, fc.weight, fc.bias);
}

namespace {
struct Linear {  // input [N, 4, 6]
    spore::nn::Dense<6, 5> fc;
    auto construct(auto x) const { return fc(x); }
};
struct BatchAgainstFixed {
    tensor<float, shape<1, 6, 2>> w;
    auto construct(auto x) const { return spore::matmul(x, w); }
};
}  // namespace

TEST_CASE("batched matmul: exported as MatMul (and Add for a bias), batch axis symbolic", "[io][onnx]") {
    namespace reader = spore_test::onnx_reader;
    Linear linear;
    spore::init(linear, 91);
    const auto m = reader::decode(spore::io::onnx_model_bytes<shape<1, 4, 6>>(linear));
    CHECK(m.op_types() == std::vector<std::string>{"Transpose", "MatMul", "Add"});
    CHECK(m.nodes[0].inputs == std::vector<std::string>{"fc.weight"});
    CHECK(m.nodes[2].inputs[1] == "fc.bias");
    CHECK(m.outputs[0].dims == std::vector<std::string>{"N", "4", "5"});

    BatchAgainstFixed fixed;
    fixed.w.fill(1);
    const auto bytes = [](const auto& cell) { return spore::io::onnx_model_bytes<shape<1, 4, 6>>(cell); };
    CHECK_THROWS_WITH(bytes(fixed), Catch::Contains("MatMul pairs the batch axis of one operand with a fixed batch extent"));
}
