#include <cmath>
#include <cstdint>
#include <vector>

#include "../support/check.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

namespace {

constexpr std::size_t rows = 5, classes = 7;

// Mean over rows not ignored of logsumexp(x) - x[label], in long double.
template <class Logits, class Labels>
double naive_cross_entropy(const Logits& x, const Labels& labels) {
    long double total = 0;
    int counted = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        if (labels[r] == -1) continue;
        long double sum = 0;
        for (std::size_t j = 0; j < classes; ++j) sum += std::exp((long double)x(r, j));
        total += std::log(sum) - x(r, labels[r]);
        ++counted;
    }
    return counted ? double(total / counted) : 0.0;
}

}  // namespace

TEST_CASE("SoftmaxCrossEntropy with integer labels: forward against a naive loop, -1 ignores a row", "[nn][loss]") {
    tensor<double, shape<rows, classes>> x;
    x.fill_uniform(1, -3, 3);
    tensor<std::int32_t, shape<rows>> labels{3, -1, 0, 6, 2};
    auto loss = nn::SoftmaxCrossEntropy{}(x, labels);
    CHECK(spore_test::scalar_value(loss) == Approx(naive_cross_entropy(x, labels)).epsilon(1e-13));
    tensor<float, shape<rows, classes>> xf;
    xf.fill_uniform(1, -3, 3);
    CHECK(spore_test::scalar_value(nn::SoftmaxCrossEntropy{}(xf, labels)) == Approx(naive_cross_entropy(xf, labels)).epsilon(1e-6));
    labels[1] = 4;  // the same row counted now
    CHECK(spore_test::scalar_value(loss) == Approx(naive_cross_entropy(x, labels)).epsilon(1e-13));
}

TEST_CASE("SoftmaxCrossEntropy with integer labels: gradients against finite differences", "[nn][loss][autodiff]") {
    tensor<double, shape<rows, classes>> logits;
    logits.fill_uniform(2, -2, 2);
    tensor<std::int32_t, shape<rows>> labels{0, 6, -1, 2, 2};
    SECTION("dense logits") { check_gradients(nn::SoftmaxCrossEntropy{}(logits, labels), logits); }
    SECTION("logits from a Dense layer: the adjoint seeds the layer's region") {
        tensor<double, shape<rows, 4>> x;
        x.fill_uniform(3, -1, 1);
        nn::Dense<4, classes, double> fc;
        spore::init(fc, 4);
        check_gradients(nn::SoftmaxCrossEntropy{}(fc(spore::input(x)), labels), fc.weight, fc.bias, x);
    }
    SECTION("used twice: adjoints of both uses are summed") {
        auto twice = nn::SoftmaxCrossEntropy{}(logits, labels) * 2.0 + nn::SoftmaxCrossEntropy{}(logits * 3.0, labels);
        check_gradients(spore::sum(twice), logits);
    }
    SECTION("the gradient is (softmax - onehot) / counted rows") {
        auto [value, g] = spore::value_and_grad(nn::SoftmaxCrossEntropy{}(logits, labels), logits);
        CHECK(value > 0);
        for (std::size_t r = 0; r < rows; ++r) {
            double row_sum = 0;
            for (std::size_t j = 0; j < classes; ++j) row_sum += g(r, j);
            CHECK(row_sum == Approx(0).margin(1e-15));
            if (labels[r] == -1)
                for (std::size_t j = 0; j < classes; ++j) CHECK(g(r, j) == 0.0);
            else
                CHECK(g(r, labels[r]) < 0);
        }
    }
}

TEST_CASE("SoftmaxCrossEntropy: every row ignored gives 0 and no gradient", "[nn][loss]") {
    tensor<double, shape<rows, classes>> logits;
    logits.fill_uniform(5, -2, 2);
    tensor<std::int32_t, shape<rows>> labels;
    labels.fill(-1);
    auto [value, g] = spore::value_and_grad(nn::SoftmaxCrossEntropy{}(logits, labels), logits);
    CHECK(value == 0.0);
    CHECK(spore::max_abs_diff(g, tensor<double, shape<rows, classes>>{}) == 0.0);
}

TEST_CASE("SoftmaxCrossEntropy: a label outside the classes is a run-time error naming it", "[nn][loss][error]") {
    tensor<float, shape<rows, classes>> logits;
    tensor<std::int32_t, shape<rows>> labels{0, 1, 7, 2, 3};
    auto loss = nn::SoftmaxCrossEntropy{}(logits, labels);
    CHECK_THROWS_WITH(spore::eval(loss), Catch::Contains("label 7 in row 2 is outside [0, 7)"));
    labels[2] = -2;
    auto program = spore::compile_grad(loss, logits);
    CHECK_THROWS_AS(program.run(), spore::error);
    labels[2] = 6;
    CHECK_NOTHROW(program.run());
}

TEST_CASE("SoftmaxCrossEntropy: stable for huge logits", "[nn][loss]") {
    tensor<float, shape<2, 3>> logits{1000.0f, -1000.0f, 999.0f, -500.0f, -500.0f, -502.0f};
    tensor<std::int32_t, shape<2>> labels{2, 0};
    auto [value, g] = spore::value_and_grad(nn::SoftmaxCrossEntropy{}(logits, labels), logits);
    const double row0 = std::log(1 + std::exp(-1.0)) + 1.0, row1 = std::log(2 + std::exp(-2.0));
    CHECK(value == Approx((row0 + row1) / 2).epsilon(1e-5));
    for (float v : g) CHECK(std::isfinite(v));
}

TEST_CASE("SoftmaxCrossEntropy: placeholder labels fed per batch, in training and evaluation programs", "[nn][loss]") {
    struct labels_tag;
    tensor<double, shape<rows, classes>> logits;
    logits.fill_uniform(6, -2, 2);
    auto y = spore::expr::placeholder<labels_tag, std::int32_t, shape<rows>>();
    auto loss = nn::SoftmaxCrossEntropy{}(logits, y);
    auto train = spore::compile_grad(loss, logits);
    auto evaluate = spore::compile(loss);
    tensor<std::int32_t, shape<rows>> batch{1, 2, 3, 4, 5};
    train.feed<labels_tag>(batch);
    evaluate.feed<labels_tag>(batch);
    CHECK(train.run() == Approx(naive_cross_entropy(logits, batch)).epsilon(1e-13));
    CHECK(evaluate()[0] == Approx(naive_cross_entropy(logits, batch)).epsilon(1e-13));
    batch = tensor<std::int32_t, shape<rows>>{0, 0, -1, -1, 6};  // copied into the fed storage
    CHECK(train.run() == Approx(naive_cross_entropy(logits, batch)).epsilon(1e-13));
    CHECK(evaluate()[0] == Approx(naive_cross_entropy(logits, batch)).epsilon(1e-13));
}

TEST_CASE("SoftmaxCrossEntropy with target rows: one-hot equals integer labels, soft targets get gradients",
          "[nn][loss][autodiff]") {
    tensor<double, shape<rows, classes>> logits;
    logits.fill_uniform(7, -2, 2);
    tensor<std::int32_t, shape<rows>> labels{4, 0, 6, 1, 1};
    tensor<double, shape<rows, classes>> onehot;
    for (std::size_t r = 0; r < rows; ++r) onehot(r, labels[r]) = 1;
    auto fused = nn::SoftmaxCrossEntropy{}(logits, onehot);
    auto by_label = nn::SoftmaxCrossEntropy{}(logits, labels);
    auto chain = spore::mean(-spore::sum<1>(spore::log_softmax(logits) * onehot));  // the former definition
    CHECK(spore_test::scalar_value(fused) == Approx(spore_test::scalar_value(by_label)).epsilon(1e-14));
    CHECK(spore_test::scalar_value(fused) == Approx(spore_test::scalar_value(chain)).epsilon(1e-14));
    const auto g_fused = spore::grad(fused, logits), g_label = spore::grad(by_label, logits),
               g_chain = spore::grad(chain, logits);
    CHECK(spore::max_abs_diff(g_fused, g_label) < 1e-15);
    CHECK(spore::max_abs_diff(g_fused, g_chain) < 1e-15);
    tensor<double, shape<rows, classes>> soft;
    soft.fill_uniform(8, 0, 0.5);
    check_gradients(nn::SoftmaxCrossEntropy{}(logits, soft), logits, soft);
    check_gradients(nn::SoftmaxCrossEntropy{}(logits * 2.0, soft + 0.25), logits, soft);
}

TEST_CASE("MSE: forward against a naive loop and gradients against finite differences", "[nn][loss]") {
    tensor<double, shape<3, 4>> prediction, target;
    prediction.fill_uniform(9, -1, 1);
    target.fill_uniform(10, -1, 1);
    double naive = 0;
    for (std::size_t i = 0; i < 12; ++i) naive += (prediction[i] - target[i]) * (prediction[i] - target[i]);
    CHECK(spore_test::scalar_value(nn::MSE{}(prediction, target)) == Approx(naive / 12).epsilon(1e-14));
    check_gradients(nn::MSE{}(prediction, target), prediction, target);
    check_gradients(nn::MSE{}(spore::tanh(prediction), target), prediction);
}
