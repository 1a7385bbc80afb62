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

namespace {

// Each row's smoothed cross-entropy: (1 - e) (lse - x[label]) + e (lse - mean(x)), in long double.
template <class Logits>
long double naive_smoothed_row(const Logits& x, std::size_t r, long double label_term, double e) {
    long double sum = 0, mean = 0;
    for (std::size_t j = 0; j < classes; ++j) {
        sum += std::exp((long double)x(r, j));
        mean += x(r, j);
    }
    const long double lse = std::log(sum);
    return (1 - e) * (lse - label_term) + e * (lse - mean / classes);
}

}  // namespace

TEST_CASE("SoftmaxCrossEntropy: label smoothing and the reductions sum and none, against a naive loop",
          "[nn][loss][autodiff]") {
    tensor<double, shape<rows, classes>> logits;
    logits.fill_uniform(101, -2, 2);
    tensor<std::int32_t, shape<rows>> labels{4, -1, 6, 1, 0};
    const double e = 0.15;
    long double total = 0;
    tensor<double, shape<rows>> expected_rows;
    for (std::size_t r = 0; r < rows; ++r) {
        expected_rows[r] = labels[r] == -1 ? 0.0 : double(naive_smoothed_row(logits, r, logits(r, labels[r]), e));
        total += expected_rows[r];
    }
    CHECK(spore_test::scalar_value(nn::SoftmaxCrossEntropy<>{.label_smoothing = e}(logits, labels)) ==
          Approx(double(total / 4)).epsilon(1e-13));
    CHECK(spore_test::scalar_value(nn::SoftmaxCrossEntropy<nn::reduction::sum>{e}(logits, labels)) ==
          Approx(double(total)).epsilon(1e-13));
    const tensor<double, shape<rows>> each = nn::SoftmaxCrossEntropy<nn::reduction::none>{e}(logits, labels);
    CHECK(spore::max_abs_diff(each, expected_rows) < 1e-13);

    tensor<double, shape<rows>> weights;
    weights.fill_uniform(102, -1, 1);
    check_gradients(nn::SoftmaxCrossEntropy<>{.label_smoothing = e}(logits, labels), logits);
    check_gradients(nn::SoftmaxCrossEntropy<nn::reduction::sum>{e}(logits * 1.5, labels), logits);
    check_gradients(spore::sum(nn::SoftmaxCrossEntropy<nn::reduction::none>{e}(logits, labels) * weights), logits);
    tensor<double, shape<rows, classes>> soft;  // target rows: gradients into both operands
    soft.fill_uniform(103, 0, 0.3);
    check_gradients(nn::SoftmaxCrossEntropy<>{.label_smoothing = e}(logits, soft), logits, soft);
    check_gradients(spore::sum(nn::SoftmaxCrossEntropy<nn::reduction::none>{e}(logits, soft) * weights), logits, soft);
    CHECK_THROWS_WITH(nn::SoftmaxCrossEntropy<>{.label_smoothing = 1.5}(logits, labels),
                      Catch::Contains("label_smoothing must lie in [0, 1], found 1.5"));
}

TEST_CASE("NLLLoss: each reduction against a naive loop, -1 ignores a row, gradients by finite differences",
          "[nn][loss][autodiff]") {
    tensor<double, shape<rows, classes>> x;
    x.fill_uniform(104, -3, 0);
    tensor<std::int32_t, shape<rows>> labels{2, 6, -1, 0, 2};
    double total = 0;
    tensor<double, shape<rows>> expected_rows;
    for (std::size_t r = 0; r < rows; ++r) {
        expected_rows[r] = labels[r] == -1 ? 0.0 : -x(r, labels[r]);
        total += expected_rows[r];
    }
    CHECK(spore_test::scalar_value(nn::NLLLoss{}(x, labels)) == Approx(total / 4).epsilon(1e-15));
    CHECK(spore_test::scalar_value(nn::NLLLoss<nn::reduction::sum>{}(x, labels)) == Approx(total).epsilon(1e-15));
    const tensor<double, shape<rows>> each = nn::NLLLoss<nn::reduction::none>{}(x, labels);
    CHECK(spore::max_abs_diff(each, expected_rows) == 0.0);
    tensor<double, shape<rows>> weights;
    weights.fill_uniform(105, -1, 1);
    check_gradients(nn::NLLLoss{}(spore::log_softmax(x), labels), x);
    check_gradients(nn::NLLLoss<nn::reduction::sum>{}(x * 2.0, labels), x);
    check_gradients(spore::sum(nn::NLLLoss<nn::reduction::none>{}(x, labels) * weights), x);
    labels[3] = 7;
    CHECK_THROWS_WITH(spore::eval(nn::NLLLoss{}(x, labels)), Catch::Contains("NLLLoss: label 7 in row 3 is outside [0, 7)"));
    labels.fill(-1);  // every row ignored: 0, and no gradient
    auto [value, g] = spore::value_and_grad(nn::NLLLoss{}(x, labels), x);
    CHECK(value == 0.0);
    CHECK(spore::max_abs_diff(g, tensor<double, shape<rows, classes>>{}) == 0.0);
}

TEST_CASE("Elementwise losses: MSE, L1, SmoothL1, Huber and BCEWithLogits, each reduction against a naive loop",
          "[nn][loss][autodiff]") {
    using M = tensor<double, shape<3, 4>>;
    M prediction, target, probability, weights;
    prediction.fill_uniform(106, -2, 2);
    target.fill_uniform(107, -2, 2);
    probability.fill_uniform(108, 0, 1);
    weights.fill_uniform(109, -1, 1);
    auto check = [&]<class Make>(const char* name, Make make, auto term, const M& second) {
        INFO(name);
        M expected;
        double total = 0;
        for (std::size_t i = 0; i < expected.size(); ++i) total += expected[i] = term(prediction[i], second[i]);
        CHECK(spore_test::scalar_value(make.template operator()<nn::reduction::mean>()(prediction, second)) ==
              Approx(total / 12).epsilon(1e-14));
        CHECK(spore_test::scalar_value(make.template operator()<nn::reduction::sum>()(prediction, second)) ==
              Approx(total).epsilon(1e-14));
        const M each = make.template operator()<nn::reduction::none>()(prediction, second);
        CHECK(spore::max_abs_diff(each, expected) < 1e-14);
        check_gradients(make.template operator()<nn::reduction::mean>()(prediction, second), prediction);
        check_gradients(make.template operator()<nn::reduction::sum>()(spore::tanh(prediction), second), prediction);
        check_gradients(spore::sum(make.template operator()<nn::reduction::none>()(prediction, second) * weights), prediction);
    };
    auto smooth = [](double d, double beta) { return std::abs(d) < beta ? 0.5 * d * d / beta : std::abs(d) - 0.5 * beta; };
    check("MSE", []<nn::reduction R>() { return nn::MSE<R>{}; }, [](double p, double t) { return (p - t) * (p - t); }, target);
    check("L1Loss", []<nn::reduction R>() { return nn::L1Loss<R>{}; }, [](double p, double t) { return std::abs(p - t); },
          target);
    check("SmoothL1Loss", []<nn::reduction R>() { return nn::SmoothL1Loss<R>{.beta = 0.8}; },
          [&](double p, double t) { return smooth(p - t, 0.8); }, target);
    check("SmoothL1Loss with beta 0 is L1", []<nn::reduction R>() { return nn::SmoothL1Loss<R>{.beta = 0}; },
          [](double p, double t) { return std::abs(p - t); }, target);
    check("HuberLoss", []<nn::reduction R>() { return nn::HuberLoss<R>{.delta = 1.3}; },
          [](double p, double t) {
              const double d = std::abs(p - t);
              return d < 1.3 ? 0.5 * d * d : 1.3 * (d - 0.65);
          },
          target);
    check("BCEWithLogitsLoss", []<nn::reduction R>() { return nn::BCEWithLogitsLoss<R>{}; },
          [](double x, double t) {
              const double s = 1 / (1 + std::exp(-x));
              return -(t * std::log(s) + (1 - t) * std::log(1 - s));
          },
          probability);
    check_gradients(nn::BCEWithLogitsLoss{}(prediction, probability), prediction, probability);
    CHECK_THROWS_WITH(nn::HuberLoss<>{.delta = 0}(prediction, target), Catch::Contains("HuberLoss: delta must be positive"));
    CHECK_THROWS_WITH(nn::SmoothL1Loss<>{.beta = -1}(prediction, target), Catch::Contains("beta must not be negative"));
}

TEST_CASE("BCEWithLogitsLoss: stable for huge logits", "[nn][loss]") {
    tensor<float, shape<4>> logits{100.0f, -100.0f, 60.0f, -0.5f}, targets{1.0f, 0.0f, 0.0f, 1.0f};
    auto [value, g] = spore::value_and_grad(nn::BCEWithLogitsLoss<nn::reduction::sum>{}(logits, targets), logits);
    CHECK(value == Approx(60.0 + std::log1p(std::exp(-0.5)) + 0.5).epsilon(1e-5));
    for (float v : g) CHECK(std::isfinite(v));
    CHECK(g[2] == Approx(1.0f));
}
