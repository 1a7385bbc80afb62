#include <cmath>
#include <vector>

#include "../support/training.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

constexpr std::size_t rows = 200, cols = 1000;  // 200,000 elements: the drop rate within 0.5%
using big = tensor<float, shape<rows, cols>>;

template <class Y>
double zero_fraction(const Y& y) {
    std::size_t zeros = 0;
    for (auto v : y) zeros += v == 0;
    return double(zeros) / double(y.size());
}

struct Net {
    nn::Dense<6, 8, double> fc;
    nn::Dropout drop1{.p = 0.5};
    nn::Dropout drop2{.p = 0.25};
    auto construct(auto x) const { return drop2(spore::tanh(drop1(fc(x)))); }
};

}  // namespace

TEST_CASE("Dropout: the identity in evaluation programs", "[nn][dropout]") {
    big x;
    x.fill_uniform(1, 0.5, 2);  // no zeros of its own
    nn::Dropout drop{.p = 0.3};
    spore::init(drop, 2);
    CHECK(spore::max_abs_diff(spore::eval(drop(x)), x) == 0.0);
    auto program = spore::compile(drop(x) * 2.0f);
    CHECK(spore::max_abs_diff(program(), spore::eval(x * 2.0f)) == 0.0);
    CHECK(spore::max_abs_diff(program(), spore::eval(x * 2.0f)) == 0.0);
}

TEST_CASE("Dropout: training zeroes a fraction P and scales the rest by 1 / (1 - P)", "[nn][dropout]") {
    big x, probe;
    x.fill_uniform(3, 0.5, 2);
    nn::Dropout drop{.p = 0.3};
    spore::init(drop, 4);
    // d/d probe of sum(dropout(x) * probe) is the training output dropout(x)
    auto program = spore::compile_grad(spore::sum(drop(x) * probe), probe);
    program.run();
    const big first(program.gradient<0>());  // a copy: the next run overwrites the gradient
    CHECK(zero_fraction(first) == Approx(0.3).margin(0.005));
    const float scale = 1.0f / float(1.0 - 0.3);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < x.size(); ++i) wrong += !(first[i] == 0.0f || first[i] == x[i] * scale);
    CHECK(wrong == 0);
    double mean_x = 0, mean_y = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        mean_x += x[i];
        mean_y += first[i];
    }
    CHECK(mean_y / mean_x == Approx(1.0).margin(0.01));  // the scale keeps the expectation

    SECTION("a fresh mask every run, independent of the previous one") {
        program.run();
        const big& second = program.gradient<0>();
        std::size_t both = 0, changed = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            both += first[i] == 0 && second[i] == 0;
            changed += (first[i] == 0) != (second[i] == 0);
        }
        CHECK(zero_fraction(second) == Approx(0.3).margin(0.005));
        CHECK(double(both) / double(x.size()) == Approx(0.09).margin(0.004));
        CHECK(double(changed) / double(x.size()) == Approx(2 * 0.3 * 0.7).margin(0.006));
    }
    SECTION("deterministic for a seed: a program built alike draws alike; another seed draws otherwise") {
        auto again = spore::compile_grad(spore::sum(drop(x) * probe), probe);
        again.run();
        CHECK(spore::max_abs_diff(again.gradient<0>(), first) == 0.0);
        nn::Dropout other{.p = 0.3};
        spore::init(other, 5);
        CHECK(other.seed != drop.seed);
        auto different = spore::compile_grad(spore::sum(other(x) * probe), probe);
        different.run();
        CHECK(spore::max_abs_diff(different.gradient<0>(), first) > 0.0);
    }
}

TEST_CASE("Dropout: gradients are the mask, against training-mode finite differences", "[nn][dropout][autodiff]") {
    tensor<double, shape<4, 6>> x;
    x.fill_uniform(6, -1, 1);
    Net net;
    spore::init(net, 7);
    CHECK(net.drop1.seed != net.drop2.seed);
    STATIC_REQUIRE(std::tuple_size_v<decltype(nn::parameters(net))> == 2);  // the seeds are not parameters
    tensor<double, shape<4, 8>> r;
    r.fill_uniform(8, -1, 1);
    auto loss = spore::sum(net.construct(spore::input(x)) * r);
    spore_test::check_training_gradients(loss, net.fc.weight, net.fc.bias, x);

    // dx of sum(dropout(x) * r) is r * mask: zero where the output is zero, 2 r elsewhere
    nn::Dropout drop{.p = 0.5};
    spore::init(drop, 9);
    tensor<double, shape<4, 6>> w;
    w.fill_uniform(10, 1, 2);
    auto probe_loss = spore::sum(drop(spore::input(x) * 1.0) * w);
    auto program = spore::compile_grad(probe_loss, x, w);
    program.run();
    const auto& dx = program.gradient<0>();
    const auto& y = program.gradient<1>();  // the output dropout(x)
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (y[i] == 0) {
            ++dropped;
            CHECK(dx[i] == 0.0);
        } else {
            CHECK(y[i] == 2 * x[i]);
            CHECK(dx[i] == 2 * w[i]);
        }
    }
    CHECK(dropped > 0);
    CHECK(dropped < x.size());
}

TEST_CASE("Dropout: one cell applied twice draws two masks, P = 0 is the identity", "[nn][dropout]") {
    big x, probe;
    x.fill_uniform(11, 0.5, 2);
    nn::Dropout drop{.p = 0.5};
    spore::init(drop, 12);
    auto y = spore::input(x) * 1.0f;
    auto program = spore::compile_grad(spore::sum(drop(x) * probe) + spore::sum(drop(y) * probe * 3.0f), probe);
    program.run();
    const auto& g = program.gradient<0>();  // mask1 * x + 3 * mask2 * x, each mask 0 or 2
    std::size_t both_kept = 0;
    for (std::size_t i = 0; i < x.size(); ++i) both_kept += g[i] == 2 * x[i] + 6 * x[i];
    CHECK(double(both_kept) / double(x.size()) == Approx(0.25).margin(0.005));

    nn::Dropout none{.p = 0.0};
    auto identity = spore::compile_grad(spore::sum(none(x) * probe), probe);
    identity.run();
    CHECK(spore::max_abs_diff(identity.gradient<0>(), x) == 0.0);
}

TEST_CASE("Dropout: p is a run-time value, 0.5 unless told, refused unless 0 <= p < 1, by name", "[nn][dropout]") {
    big x;
    x.fill_uniform(13, 0.5, 2);
    CHECK(nn::Dropout{}.p == 0.5);
    nn::Dropout drop{.p = 0.3};
    spore::init(drop, 4);
    // the cell and spore::dropout(x, p, seed) make the same node
    big probe;
    auto from_cell = spore::compile_grad(spore::sum(drop(x) * probe), probe);
    auto from_function = spore::compile_grad(spore::sum(spore::dropout(x, 0.3, drop.seed) * probe), probe);
    from_cell.run();
    from_function.run();
    CHECK(spore::max_abs_diff(from_cell.gradient<0>(), from_function.gradient<0>()) == 0.0);

    CHECK_THROWS_AS(spore::dropout(x, 1.0, 1), spore::error);
    CHECK_THROWS_WITH(spore::dropout(x, 1.0, 1),
                      Catch::Contains("the probability of zeroing must lie in [0, 1), got 1"));
    CHECK_THROWS_WITH(spore::dropout(x, -0.25, 1), Catch::Contains("got -0.25"));
    CHECK_THROWS_WITH(spore::dropout(x, std::nan(""), 1), Catch::Contains("got nan"));
    nn::Dropout wrong{.p = 1.5};
    CHECK_THROWS_WITH(wrong(x), Catch::Contains("spore::dropout: the probability of zeroing must lie in [0, 1), got 1.5"));
    CHECK_NOTHROW(spore::dropout(x, 0.0, 1));
    CHECK_NOTHROW(spore::dropout(x, 0.999, 1));
}
