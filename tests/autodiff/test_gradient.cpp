#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // false positive on replaced new/delete
// Gradient programs (autodiff/gradient.hpp): value_and_grad and grad, compile_grad programs that
// allocate nothing per call, compute a shared heavy subexpression once, see new tensor values,
// move, bind placeholders at run time, and give zero gradients to unused tensors.
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "../support/check.hpp"

// Every allocation in this program is counted, to prove that a built program allocates
// nothing per call. AddressSanitizer brings its own operator new, so under it the counting
// (and only the counting) is left out; the release build runs it.
#include "../support/count_allocations.hpp"
using spore_test::allocations;
using spore_test::counting_allocations;

using spore::shape;
using spore::tensor;
using spore::kernels::counters;
using spore_test::check_gradients;

TEST_CASE("value_and_grad: the product sketch's example", "[autodiff]") {
    tensor<double, shape<3, 4>> a, b;
    a.fill_uniform(1);
    b.fill_uniform(2);
    auto f = spore::sum(spore::tanh(a * b + 1.0));
    auto [value, da, db] = spore::value_and_grad(f, a, b);
    double expected = 0;
    for (std::size_t i = 0; i < 12; ++i) {
        const double t = std::tanh(a[i] * b[i] + 1.0);
        expected += t;
        CHECK(da[i] == Approx((1 - t * t) * b[i]).epsilon(1e-12));
        CHECK(db[i] == Approx((1 - t * t) * a[i]).epsilon(1e-12));
    }
    CHECK(value == Approx(expected).epsilon(1e-12));
    auto only_a = spore::grad(f, a);
    CHECK(spore::max_abs_diff(only_a, da) == 0.0);
    auto [ga, gb] = spore::grad(f, a, b);
    CHECK(spore::max_abs_diff(gb, db) == 0.0);
}

TEST_CASE("gradient program: no allocation per call once built", "[autodiff][allocation]") {
    if (!counting_allocations) WARN("allocation counting is off under AddressSanitizer");
    tensor<float, shape<32, 64>> x;
    tensor<float, shape<64, 16>> w;
    tensor<float, shape<16>> bias;
    tensor<float, shape<32, 16>> target;
    x.fill_uniform(3);
    w.fill_uniform(4);
    bias.fill_uniform(5);
    target.fill_uniform(6);
    auto prediction = spore::tanh(spore::matmul(x, w) + bias);
    auto loss = spore::mean(spore::square(prediction - target)) + spore::max(spore::softmax(prediction));
    auto program = spore::compile_grad(loss, w, bias);
    program.run();
    const long before = allocations.load();
    for (int i = 0; i < 5; ++i) {
        auto [value, dw, db] = program();
        CHECK(std::isfinite(value));
    }
    CHECK(allocations.load() - before == 0);

    auto forward = spore::compile(prediction);
    forward();
    const long before_forward = allocations.load();
    const auto& out = forward();
    CHECK(allocations.load() - before_forward == 0);
    tensor<float, shape<32, 16>> direct = prediction;
    CHECK(spore::max_abs_diff(out, direct) == 0.0);
}

TEST_CASE("gradient program: no allocation per call with threaded GEMMs", "[autodiff][allocation][threads]") {
    const std::size_t default_threads = spore::num_threads();
    spore::set_num_threads(2);
    tensor<float, shape<128, 128>> a, b;
    a.fill_uniform(13);
    b.fill_uniform(14);
    auto program = spore::compile_grad(spore::sum(spore::tanh(spore::matmul(a, b))), a, b);
    program.run();
    const long before = allocations.load();
    for (int i = 0; i < 20; ++i) program.run();
    CHECK(allocations.load() - before == 0);
    spore::set_num_threads(default_threads);
}

TEST_CASE("a heavy subexpression used twice is computed once", "[autodiff][cse]") {
    tensor<double, shape<5, 7>> a;
    tensor<double, shape<7, 3>> b;
    a.fill_uniform(7);
    b.fill_uniform(8);
    auto m = spore::matmul(a, b);
    auto f = spore::sum(m * m) + spore::sum(spore::tanh(m)) + spore::max(m);
    auto program = spore::compile_grad(f, a, b);
    counters.reset();
    program.run();
    // one GEMM forward, and one for each operand's gradient: the adjoints of the three uses
    // of m are summed into one buffer first
    CHECK(counters.gemm == 3);
    check_gradients(f, a, b);

    tensor<double, shape<17>> x;
    x.fill_uniform(9);
    auto s = spore::sum(spore::exp(x));
    auto g = s * s + spore::log(s);
    auto program2 = spore::compile_grad(g, x);
    counters.reset();
    program2.run();
    CHECK(counters.reduce == 1);
    check_gradients(g, x);

    // different operands are different nodes, even with the same type
    tensor<double, shape<5, 7>> c;
    c.fill_uniform(10);
    auto h = spore::sum(spore::matmul(a, b)) + spore::sum(spore::matmul(c, b));
    auto program3 = spore::compile_grad(h, a, c);
    counters.reset();
    program3.run();
    CHECK(counters.gemm == 4);  // two forward, dA and dC; dB not asked for
    check_gradients(h, a, c);
}

TEST_CASE("gradients of tensors the expression does not use are zero", "[autodiff]") {
    tensor<double, shape<3>> x, unused;
    x.fill_uniform(11);
    unused.fill(5);
    auto [value, dx, du] = spore::value_and_grad(spore::sum(x * 2.0), x, unused);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(dx[i] == 2.0);
        CHECK(du[i] == 0.0);
    }
    CHECK(value == Approx(2 * (x[0] + x[1] + x[2])));
    CHECK_THROWS_AS(spore::grad(spore::sum(x), x, x), spore::error);
}

TEST_CASE("a program sees new tensor values on every call, and can be moved", "[autodiff]") {
    tensor<double, shape<4>> x{1, 2, 3, 4};
    auto built = spore::compile_grad(spore::sum(x * x), x);
    std::vector<decltype(built)> programs;
    programs.push_back(std::move(built));
    auto& program = programs.front();
    CHECK(program.run() == 30.0);
    CHECK(program.gradient<0>()[3] == 8.0);
    x.fill(1.0);
    CHECK(program.run() == 4.0);
    CHECK(program.gradient<0>()[3] == 2.0);
}

TEST_CASE("placeholders are bound at run time", "[autodiff][placeholder]") {
    struct images;
    auto input = spore::expr::placeholder<images, double, shape<2, 3>>();
    tensor<double, shape<3, 2>> w;
    w.fill_uniform(12);
    auto loss = spore::sum(spore::matmul(input, w));
    auto program = spore::compile_grad(loss, w);
    tensor<double, shape<2, 3>> batch1, batch2;
    batch1.fill(1.0);
    batch2.fill(2.0);
    program.feed<images>(batch1);
    const double v1 = program.run();
    program.feed<images>(batch2);
    const double v2 = program.run();
    CHECK(v2 == Approx(2 * v1));
    CHECK(program.gradient<0>()[0] == Approx(4.0));  // column sums of the input: 2 + 2

    auto forward = spore::compile(spore::matmul(input, w));
    forward.feed<images>(batch1);
    tensor<double, shape<2, 2>> expected = spore::matmul(batch1, w);
    CHECK(spore::max_abs_diff(forward(), expected) == 0.0);
}

TEST_CASE("a scalar leaf as the whole function", "[autodiff]") {
    tensor<double, shape<>> x{3.0};
    auto [value, dx] = spore::value_and_grad(spore::expr::as_expression(x), x);
    CHECK(value == 3.0);
    CHECK(dx[0] == 1.0);
    check_gradients(spore::square(x) * 2.0 + spore::exp(x), x);
}
