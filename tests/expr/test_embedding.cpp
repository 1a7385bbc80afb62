// embedding / nn::Embedding: the forward pass against a naive lookup (indices of rank 1 and 2,
// int32 and int64, placeholders fed per run), the table's gradient against central differences
// (rows picked twice, the padding row), index errors, initialisation, and the ONNX Gather it
// exports as.
#include <cstdint>
#include <string>
#include <vector>

#include "../support/check.hpp"
#include "../support/onnx_reader.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

TEST_CASE("embedding: forward against a naive lookup", "[expr][embedding]") {
    nn::Embedding<7, 5, double> embed;
    spore::init(embed, 41);
    tensor<std::int32_t, shape<2, 3>> indices{6, 0, 3, 3, 1, 6};
    const tensor<double, shape<2, 3, 5>> y = embed(indices);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            for (std::size_t d = 0; d < 5; ++d) CHECK(y(i, j, d) == embed.weight(std::size_t(indices(i, j)), d));

    tensor<std::int64_t, shape<4>> flat{2, 2, 0, 5};  // int64 indices, rank 1, float table
    nn::Embedding<6, 17> wide;
    spore::init(wide, 42);
    const tensor<float, shape<4, 17>> z = wide(flat);
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t d = 0; d < 17; ++d) CHECK(z(i, d) == wide.weight(std::size_t(flat[i]), d));
}

TEST_CASE("embedding: the table's gradient against finite differences", "[autodiff][embedding]") {
    tensor<double, shape<6, 5>> table;
    table.fill_uniform(43, -1, 1);
    tensor<std::int32_t, shape<2, 4>> indices{1, 4, 1, 0, 5, 1, 4, 2};  // row 1 three times, row 3 never
    tensor<double, shape<2, 4, 5>> w;
    w.fill_uniform(44, -1, 1);
    check_gradients(spore::sum(spore::embedding(table, indices) * w), table);
    check_gradients(spore::sum(spore::tanh(spore::embedding(table * 2.0, indices)) * w), table);  // a region below
    check_gradients(spore::sum(spore::square(spore::embedding(table, indices))), table);

    SECTION("the padding row gets no gradient, and is read as it is") {
        auto [value, g] = spore::value_and_grad(spore::sum(spore::embedding(table, indices, 4) * w), table);
        (void)value;
        for (std::size_t d = 0; d < 5; ++d) {
            CHECK(g(4, d) == 0.0);
            CHECK(g(3, d) == 0.0);  // never picked
            CHECK(g(0, d) == w(0, 3, d));
            CHECK(g(1, d) == Approx(w(0, 0, d) + w(0, 2, d) + w(1, 1, d)).epsilon(1e-15));
        }
        const tensor<double, shape<2, 4, 5>> y = spore::embedding(table, indices, 4);
        CHECK(y(0, 1, 2) == table(4, 2));
    }
}

TEST_CASE("nn::Embedding: placeholder indices fed per run, training the table", "[nn][embedding]") {
    struct tokens_tag;
    nn::Embedding<10, 3, double> embed;
    spore::init(embed, 45);
    auto tokens = spore::expr::placeholder<tokens_tag, std::int32_t, shape<4>>();
    tensor<double, shape<4, 3>> target;
    target.fill_uniform(46, -1, 1);
    auto program = spore::compile_grad(nn::MSE{}(embed(tokens), target), embed.weight);
    tensor<std::int32_t, shape<4>> batch{9, 0, 9, 2};
    program.feed<tokens_tag>(batch);
    double naive = 0;
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t d = 0; d < 3; ++d) {
            const double diff = embed.weight(std::size_t(batch[i]), d) - target(i, d);
            naive += diff * diff;
        }
    CHECK(program.run() == Approx(naive / 12).epsilon(1e-14));
    batch = tensor<std::int32_t, shape<4>>{1, 1, 1, 1};
    naive = 0;
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t d = 0; d < 3; ++d) {
            const double diff = embed.weight(1, d) - target(i, d);
            naive += diff * diff;
        }
    CHECK(program.run() == Approx(naive / 12).epsilon(1e-14));
}

TEST_CASE("embedding: an index outside the table, or a padding index outside it, is an error naming it",
          "[expr][embedding][error]") {
    tensor<float, shape<4, 2>> table;
    tensor<std::int32_t, shape<3>> indices{0, 4, 1};
    CHECK_THROWS_WITH(spore::eval(spore::embedding(table, indices)),
                      Catch::Contains("Embedding: index 4 at position 1 is outside [0, 4)"));
    indices[1] = -1;
    CHECK_THROWS_WITH(spore::eval(spore::embedding(table, indices)),
                      Catch::Contains("Embedding: index -1 at position 1 is outside [0, 4)"));
    CHECK_THROWS_WITH(spore::embedding(table, indices, 4), Catch::Contains("padding_idx 4 is outside [0, 4)"));
}

TEST_CASE("nn::Embedding: N(0, 1) initialisation, the padding row zero, PyTorch's parameter name", "[nn][embedding]") {
    nn::Embedding<200, 50, double> embed{.padding_idx = 7};
    spore::init(embed, 47);
    double mean = 0, square = 0;
    for (double v : embed.weight) {
        mean += v;
        square += v * v;
    }
    mean /= 10000;
    CHECK(std::abs(mean) < 0.05);
    CHECK(square / 10000 - mean * mean == Approx(1.0).epsilon(0.05));
    for (std::size_t d = 0; d < 50; ++d) CHECK(embed.weight(7, d) == 0.0);
    std::vector<std::string> names;
    nn::for_each_named_parameter(embed, [&](const std::string& name, auto&) { names.push_back(name); });
    CHECK(names == std::vector<std::string>{"weight"});
}

namespace {
struct TokenClassifier {  // input: int32 token indices [N, 5]
    nn::Embedding<12, 4> embed;
    nn::Dense<4, 3> head;
    auto construct(auto tokens) const { return head(spore::sum<1>(embed(tokens))); }
};
}  // namespace

TEST_CASE("embedding: exported as Gather of the table by the int32 input", "[io][onnx]") {
    TokenClassifier net;
    spore::init(net, 48);
    const auto m = spore_test::onnx_reader::decode(spore::io::onnx_model_bytes<shape<1, 5>, std::int32_t>(net));
    CHECK(m.op_types().front() == "Gather");
}
