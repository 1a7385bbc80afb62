// layer_norm: the forward pass against a naive loop on odd sizes (one and two normalised axes,
// rows shorter and longer than a SIMD batch), in float and double; the gradients against
// central differences, with dense operands and with elementwise subtrees as operands; the ONNX
// composition it exports as.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../support/check.hpp"
#include "../support/onnx_reader.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

namespace {

// y[r, j] = (x[r, j] - mean_r) / sqrt(var_r + eps) * w[j] + b[j] over rows of D = W::size.
template <class X, class W>
std::vector<double> naive_layer_norm(const X& x, const W& w, const W& b, double eps) {
    constexpr std::size_t d = W::shape_type::size, rows = X::shape_type::size / d;
    std::vector<double> y(X::shape_type::size);
    for (std::size_t r = 0; r < rows; ++r) {
        double total = 0, squares = 0;
        for (std::size_t j = 0; j < d; ++j) total += double(x[r * d + j]);
        const double mean = total / d;
        for (std::size_t j = 0; j < d; ++j) squares += (double(x[r * d + j]) - mean) * (double(x[r * d + j]) - mean);
        const double inv_std = 1.0 / std::sqrt(squares / d + eps);
        for (std::size_t j = 0; j < d; ++j) y[r * d + j] = (double(x[r * d + j]) - mean) * inv_std * double(w[j]) + double(b[j]);
    }
    return y;
}

template <class T, class InputShape, class NormalizedShape>
void check_forward(double eps) {
    tensor<T, InputShape> x;
    tensor<T, NormalizedShape> w, b;
    x.fill_uniform(41, T(-2), T(3));
    w.fill_uniform(42, T(0.5), T(1.5));
    b.fill_uniform(43, T(-1), T(1));
    const tensor<T, InputShape> y = spore::layer_norm(x, w, b, T(eps));
    const auto expected = naive_layer_norm(x, w, b, eps);
    INFO("input " << InputShape::to_string() << ", normalised " << NormalizedShape::to_string());
    const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(double(y[i]) == Approx(expected[i]).epsilon(tolerance).margin(tolerance));
}

}  // namespace

TEST_CASE("layer_norm: forward against a naive loop", "[expr][layernorm]") {
    check_forward<float, shape<3, 5>, shape<5>>(1e-5);
    check_forward<float, shape<2, 3, 37>, shape<37>>(1e-5);          // batches and a tail
    check_forward<float, shape<2, 3, 4, 6>, shape<4, 6>>(1e-3);      // two normalised axes
    check_forward<float, shape<7>, shape<7>>(1e-5);                  // the input is one row
    check_forward<float, shape<4, 1>, shape<1>>(1e-5);              // rows of one value: y = bias
    check_forward<float, shape<2, 64>, shape<64>>(1e-5);
    check_forward<double, shape<3, 5, 9>, shape<5, 9>>(1e-5);
    check_forward<double, shape<5, 11>, shape<11>>(1e-6);
}

TEST_CASE("layer_norm: rows far from zero keep their precision (two passes)", "[expr][layernorm]") {
    tensor<float, shape<2, 16>> x;
    tensor<float, shape<16>> w, b;
    x.fill_uniform(44, 1000.0f, 1001.0f);
    w.fill(1.0f);
    const tensor<float, shape<2, 16>> y = spore::layer_norm(x, w, b, 1e-5f);
    const auto expected = naive_layer_norm(x, w, b, 1e-5);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(double(y[i]) == Approx(expected[i]).margin(1e-3));
}

TEST_CASE("layer_norm: gradients against finite differences", "[autodiff][layernorm]") {
    tensor<double, shape<3, 4, 5>> x, r;
    tensor<double, shape<5>> w, b;
    tensor<double, shape<4, 5>> w2, b2;
    x.fill_uniform(45, -2, 2);
    r.fill_uniform(46, -1, 1);
    w.fill_uniform(47, 0.5, 1.5);
    b.fill_uniform(48, -0.5, 0.5);
    w2.fill_uniform(49, 0.5, 1.5);
    b2.fill_uniform(50, -0.5, 0.5);
    SECTION("dense operands, one normalised axis") {
        check_gradients(spore::sum(spore::tanh(spore::layer_norm(x, w, b, 1e-5)) * r), x, w, b);
    }
    SECTION("dense operands, two normalised axes") {
        check_gradients(spore::sum(spore::tanh(spore::layer_norm(x, w2, b2, 1e-3)) * r), x, w2, b2);
    }
    SECTION("elementwise subtrees as input, weight and bias; output used twice") {
        auto y = spore::layer_norm(spore::square(x) + x * 0.5, w * 2.0, spore::tanh(b), 1e-5);
        check_gradients(spore::sum(spore::square(y) * r + y), x, w, b);
    }
    SECTION("a row of the whole input, and a sum whose input gradient is zero") {
        tensor<double, shape<7>> v, wv, bv, rv;
        v.fill_uniform(51, -1, 1);
        wv.fill_uniform(52, 0.5, 1.5);
        rv.fill_uniform(53, -1, 1);
        check_gradients(spore::sum(spore::exp(spore::layer_norm(v, wv, bv, 1e-5)) * rv), v, wv, bv);
        // with weight 1, each row of x_hat sums to zero whatever x is
        tensor<double, shape<5>> ones;
        ones.fill(1.0);
        const auto g = spore::grad(spore::sum(spore::layer_norm(x, ones, b, 1e-5)), x);
        CHECK(spore::max_abs_diff(g, tensor<double, shape<3, 4, 5>>{}) < 1e-12);
    }
}

namespace {
struct Normalised {  // input [N, 4, 6]
    tensor<float, shape<4, 6>> weight, bias;
    tensor<float, shape<6>> weight1, bias1;
    auto construct(auto x) const {
        return spore::layer_norm(spore::layer_norm(x, weight1, bias1, 1e-5f), weight, bias, 1e-3f);
    }
};
}  // namespace

TEST_CASE("layer_norm: exported as ReduceMean, Sub, Mul, ReduceMean, Add, Sqrt, Div, Mul, Add", "[io][onnx]") {
    Normalised net;
    net.weight.fill_uniform(54, 0.5f, 1.5f);
    net.weight1.fill(1.0f);
    const auto m = spore_test::onnx_reader::decode(spore::io::onnx_model_bytes<shape<1, 4, 6>>(net));
    const std::vector<std::string> one{"ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Add"};
    std::vector<std::string> two = one;
    two.insert(two.end(), one.begin(), one.end());
    CHECK(m.op_types() == two);
    CHECK(m.nodes[0].attributes.at("axes").ints == std::vector<std::int64_t>{2});
    CHECK(m.nodes[0].attributes.at("keepdims").i == 1);
    CHECK(m.nodes[9].attributes.at("axes").ints == std::vector<std::int64_t>{1, 2});
    CHECK(m.nodes[3].attributes.at("axes").ints == std::vector<std::int64_t>{2});
    CHECK(m.nodes[1].inputs == std::vector<std::string>{"input", m.nodes[0].name});
    CHECK(m.nodes[2].inputs == std::vector<std::string>{m.nodes[1].name, m.nodes[1].name});
    CHECK(m.nodes[7].inputs[1] == "weight1");
    CHECK(m.nodes[8].inputs[1] == "bias1");
    CHECK(m.nodes[16].inputs[1] == "weight");
    CHECK(m.outputs[0].dims == std::vector<std::string>{"N", "4", "6"});
    // eps is a scalar initializer of the element type
    const auto* eps = m.initializer(m.nodes[13].inputs[1]);
    REQUIRE(eps != nullptr);
    CHECK(eps->dims.empty());
    float value;
    REQUIRE(eps->raw_data.size() == sizeof value);
    std::memcpy(&value, eps->raw_data.data(), sizeof value);
    CHECK(value == 1e-3f);
}

namespace {
struct Whole {  // input [N, 3]: the normalised shape [N, 3] ties the batch
    tensor<float, shape<1, 3>> weight, bias;
    auto construct(auto x) const { return spore::layer_norm(x, weight, bias, 1e-5f); }
};
}  // namespace

TEST_CASE("layer_norm: normalising over the batch axis cannot keep it symbolic", "[io][onnx]") {
    Whole net;
    using input = shape<1, 3>;
    CHECK_THROWS_WITH(spore::io::onnx_model_bytes<input>(net), Catch::Contains("LayerNorm normalises over the batch axis"));
    CHECK_NOTHROW(spore::io::onnx_model_bytes<input>(net, {.symbolic_batch = false}));
}
