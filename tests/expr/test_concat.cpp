// concat<Axis>(a, b, ...) and slice<Axis, Begin, End>(x): the forward pass against a naive loop
// over multi-indices on odd sizes, every axis, float and double; gradients against central
// differences in double with dense operands, elementwise subtrees as operands and an operand
// read twice; the ONNX nodes (Concat, Slice with its int64 inputs) and the batch axis.
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "../support/check.hpp"
#include "../support/onnx_reader.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

namespace {

template <class Shape>
std::array<std::size_t, Shape::rank> coordinates(std::size_t flat) {
    std::array<std::size_t, Shape::rank> c{};
    for (std::size_t d = Shape::rank; d-- > 0;) {
        c[d] = flat % Shape::extents[d];
        flat /= Shape::extents[d];
    }
    return c;
}
template <class Shape>
std::size_t flat_index(const std::array<std::size_t, Shape::rank>& c) {
    std::size_t flat = 0;
    for (std::size_t d = 0; d < Shape::rank; ++d) flat = flat * Shape::extents[d] + c[d];
    return flat;
}

template <std::size_t Axis, class T, class SA, class SB>
void check_concat_forward(std::uint64_t seed) {
    tensor<T, SA> a;
    tensor<T, SB> b;
    a.fill_uniform(seed, T(-2), T(2));
    b.fill_uniform(seed + 1, T(-2), T(2));
    const auto y = spore::eval(spore::concat<Axis>(a, b));
    using SY = typename std::remove_cvref_t<decltype(y)>::shape_type;
    static_assert(SY::rank == SA::rank && SY::extents[Axis] == SA::extents[Axis] + SB::extents[Axis]);
    INFO("concat<" << Axis << "> of " << SA::to_string() << " and " << SB::to_string());
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < SY::size; ++i) {
        auto c = coordinates<SY>(i);
        T expected;
        if (c[Axis] < SA::extents[Axis]) {
            expected = a[flat_index<SA>(c)];
        } else {
            c[Axis] -= SA::extents[Axis];
            expected = b[flat_index<SB>(c)];
        }
        wrong += y[i] != expected;  // a copy: exact
    }
    CHECK(wrong == 0);
}

template <std::size_t Axis, std::size_t Begin, std::size_t End, class T, class SX>
void check_slice_forward(std::uint64_t seed) {
    tensor<T, SX> x;
    x.fill_uniform(seed, T(-2), T(2));
    const auto y = spore::eval(spore::slice<Axis, Begin, End>(x));
    using SY = typename std::remove_cvref_t<decltype(y)>::shape_type;
    static_assert(SY::rank == SX::rank && SY::extents[Axis] == End - Begin);
    INFO("slice<" << Axis << ", " << Begin << ", " << End << "> of " << SX::to_string());
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < SY::size; ++i) {
        auto c = coordinates<SY>(i);
        c[Axis] += Begin;
        wrong += y[i] != x[flat_index<SX>(c)];
    }
    CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("concat: forward against a naive loop on every axis", "[expr][concat]") {
    check_concat_forward<0, float, shape<5>, shape<3>>(1);
    check_concat_forward<0, float, shape<3, 7>, shape<2, 7>>(2);
    check_concat_forward<1, float, shape<3, 7>, shape<3, 5>>(3);
    check_concat_forward<0, double, shape<2, 3, 5>, shape<1, 3, 5>>(4);
    check_concat_forward<1, double, shape<2, 3, 5>, shape<2, 4, 5>>(5);
    check_concat_forward<2, double, shape<2, 3, 5>, shape<2, 3, 1>>(6);
    check_concat_forward<1, float, shape<3, 16, 7, 7>, shape<3, 5, 7, 7>>(7);  // channels of feature maps
    check_concat_forward<3, float, shape<2, 3, 4, 17>, shape<2, 3, 4, 9>>(8);
}

TEST_CASE("concat: more operands are joined from the left, a matmul and a subtree as operands", "[expr][concat]") {
    tensor<float, shape<3, 2>> a;
    tensor<float, shape<3, 1>> b;
    tensor<float, shape<3, 4>> c;
    a.fill_uniform(11, -1, 1);
    b.fill_uniform(12, -1, 1);
    c.fill_uniform(13, -1, 1);
    const tensor<float, shape<3, 7>> y = spore::concat<1>(a, b, c);
    const tensor<float, shape<3, 7>> z = spore::concat<1>(spore::concat<1>(a, b), c);
    CHECK(spore::allclose(y, z, 0, 0));
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(y(i, 0) == a(i, 0));
        CHECK(y(i, 1) == a(i, 1));
        CHECK(y(i, 2) == b(i, 0));
        for (std::size_t j = 0; j < 4; ++j) CHECK(y(i, 3 + j) == c(i, j));
    }

    tensor<float, shape<2, 6>> m;
    m.fill_uniform(14, -1, 1);
    const tensor<float, shape<6, 4>> stacked = spore::concat<0>(spore::matmul(a, spore::slice<1, 1, 5>(spore::tanh(m))), c * 2.0f);
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 4; ++j) {
            const float expected = a(i, 0) * std::tanh(m(0, j + 1)) + a(i, 1) * std::tanh(m(1, j + 1));
            CHECK(stacked(i, j) == Approx(expected).epsilon(1e-6));
        }
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 4; ++j) CHECK(stacked(3 + i, j) == 2.0f * c(i, j));
}

TEST_CASE("slice: forward against a naive loop on every axis", "[expr][slice]") {
    check_slice_forward<0, 2, 5, float, shape<7>>(21);
    check_slice_forward<0, 0, 1, float, shape<3, 5>>(22);
    check_slice_forward<1, 1, 4, float, shape<3, 5>>(23);
    check_slice_forward<1, 4, 5, double, shape<3, 5>>(24);
    check_slice_forward<0, 1, 2, double, shape<2, 3, 5>>(25);
    check_slice_forward<1, 0, 3, double, shape<2, 3, 5>>(26);  // the whole axis
    check_slice_forward<2, 1, 4, double, shape<2, 3, 5>>(27);
    check_slice_forward<1, 3, 14, float, shape<3, 16, 7, 7>>(28);
    check_slice_forward<3, 2, 11, float, shape<2, 3, 4, 17>>(29);
}

TEST_CASE("slice and concat: the slices of a tensor concatenated give it back", "[expr][slice][concat]") {
    tensor<double, shape<2, 9, 3>> x;
    x.fill_uniform(31, -1, 1);
    const tensor<double, shape<2, 9, 3>> y =
        spore::concat<1>(spore::slice<1, 0, 2>(x), spore::slice<1, 2, 7>(x), spore::slice<1, 7, 9>(x));
    CHECK(spore::allclose(x, y, 0, 0));
}

TEST_CASE("concat: gradients against finite differences", "[autodiff][concat]") {
    tensor<double, shape<3, 2>> a;
    tensor<double, shape<3, 5>> b;
    tensor<double, shape<3, 7>> w;
    tensor<double, shape<4, 5>> c;
    a.fill_uniform(41, -1, 1);
    b.fill_uniform(42, -1, 1);
    w.fill_uniform(43, -1, 1);
    c.fill_uniform(44, -1, 1);
    check_gradients(spore::sum(spore::concat<1>(a, b) * w), a, b, w);                         // dense operands
    check_gradients(spore::sum(spore::tanh(spore::concat<1>(spore::sigmoid(a), b * 3.0) * w)), a, b);  // subtrees
    check_gradients(spore::sum(spore::square(spore::concat<0>(b, c, b))), b, c);               // b read twice
    check_gradients(spore::sum(spore::concat<1>(spore::matmul(b, spore::transpose(c)), b * b) * spore::concat<1>(a, a, b)), a,
                    b, c);

    tensor<double, shape<2, 3, 4>> p;
    tensor<double, shape<2, 2, 4>> q;
    tensor<double, shape<2, 5, 4>> v;
    p.fill_uniform(45, -1, 1);
    q.fill_uniform(46, -1, 1);
    v.fill_uniform(47, -1, 1);
    check_gradients(spore::sum(spore::concat<1>(p, spore::exp(q)) * v), p, q, v);
    check_gradients(spore::mean(spore::softmax(spore::reshape<shape<2, 20>>(spore::concat<1>(p, q)))* spore::reshape<shape<2, 20>>(v)), p,
                    q);
}

TEST_CASE("slice: gradients against finite differences", "[autodiff][slice]") {
    tensor<double, shape<3, 6>> x;
    tensor<double, shape<3, 2>> w;
    x.fill_uniform(51, -1, 1);
    w.fill_uniform(52, -1, 1);
    check_gradients(spore::sum(spore::slice<1, 3, 5>(x) * w), x, w);                   // dense operand
    check_gradients(spore::sum(spore::slice<1, 1, 3>(spore::tanh(x) * x) * w), x);        // a subtree
    check_gradients(spore::sum(spore::slice<1, 0, 2>(x) * spore::slice<1, 4, 6>(x)), x);  // x read twice
    check_gradients(spore::sum(spore::square(spore::slice<0, 1, 3>(x))), x);

    tensor<double, shape<2, 5, 3>> t;
    tensor<double, shape<3, 4>> m;
    t.fill_uniform(53, -1, 1);
    m.fill_uniform(54, -1, 1);
    check_gradients(spore::sum(spore::sigmoid(spore::slice<2, 1, 2>(t))) + spore::sum(spore::slice<1, 2, 5>(t)), t);
    check_gradients(spore::sum(spore::tanh(spore::matmul(spore::slice<0, 0, 2>(spore::matmul(x, spore::transpose(x))), m))), x,
                    m);
}

namespace {
struct ConcatSlice {  // input [N, 6]
    spore::nn::Dense<6, 4> left;
    spore::nn::Dense<6, 3> right;
    auto construct(auto x) const {
        return spore::concat<1>(spore::slice<1, 1, 4>(left(x)), spore::nn::relu(right(x)), spore::slice<1, 0, 2>(x));
    }
};
struct ConcatBatch {
    auto construct(auto x) const { return spore::concat<0>(x, x); }
};
struct SliceBatch {
    auto construct(auto x) const { return spore::slice<0, 0, 1>(x); }
};
struct ConcatFixed {
    tensor<float, shape<1, 6>> row;
    auto construct(auto x) const { return spore::concat<1>(x, row); }
};
}  // namespace

TEST_CASE("concat and slice: exported as one Concat and Slice with int64 inputs, batch axis symbolic", "[io][onnx]") {
    namespace reader = spore_test::onnx_reader;
    ConcatSlice net;
    spore::init(net, 61);
    const auto m = reader::decode(spore::io::onnx_model_bytes<shape<1, 6>>(net));
    CHECK(m.op_types() == std::vector<std::string>{"Gemm", "Slice", "Gemm", "Relu", "Slice", "Concat"});
    const auto& concat = m.nodes.back();
    CHECK(concat.inputs.size() == 3);
    CHECK(concat.attributes.at("axis").i == 1);
    CHECK(m.producer(concat.inputs[0])->op_type == "Slice");
    CHECK(m.producer(concat.inputs[1])->op_type == "Relu");
    CHECK(m.producer(concat.inputs[2])->inputs[0] == "input");
    const auto ints = [&](const std::string& name) { return m.initializer(name)->int64_data; };
    const auto& first = m.nodes[1];
    REQUIRE(first.inputs.size() == 4);
    CHECK(ints(first.inputs[1]) == std::vector<std::int64_t>{1});
    CHECK(ints(first.inputs[2]) == std::vector<std::int64_t>{4});
    CHECK(ints(first.inputs[3]) == std::vector<std::int64_t>{1});
    CHECK(m.outputs[0].dims == std::vector<std::string>{"N", "8"});

    // the batch axis cannot be joined or cut, nor joined with a fixed extent
    const auto bytes = [](const auto& cell) { return spore::io::onnx_model_bytes<shape<1, 6>>(cell); };
    CHECK_THROWS_WITH(bytes(ConcatBatch{}), Catch::Contains("Concat joins along the batch axis"));
    CHECK_THROWS_WITH(bytes(SliceBatch{}), Catch::Contains("Slice cuts the batch axis"));
    CHECK_THROWS_WITH(bytes(ConcatFixed{}),
                      Catch::Contains("Concat joins an operand that depends on the batch with one of fixed extent"));
    const spore::io::onnx_options fixed_batch{.symbolic_batch = false};
    const auto fixed = reader::decode(spore::io::onnx_model_bytes<shape<1, 6>>(ConcatFixed{}, fixed_batch));
    CHECK(fixed.op_types() == std::vector<std::string>{"Concat"});
    CHECK(fixed.outputs[0].dims == std::vector<std::string>{"1", "12"});
}
