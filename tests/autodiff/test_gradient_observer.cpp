// gradient_program::run(observer): each gradient is announced exactly once, as soon as it is
// final (a copy taken at the announcement equals the gradient after the run), and early
// enough that communication can overlap the rest of the backward pass.
#include <cstring>
#include <vector>

#include "../support/check.hpp"
#include "../support/nets.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;
using spore_test::LeNet5;

namespace {

template <class Tuple, class F>
void visit_at(const Tuple& tuple, std::size_t index, F&& f) {
    std::apply([&](const auto&... t) {
        std::size_t i = 0;
        ((i++ == index ? f(t) : void()), ...);
    }, tuple);
}

template <class Program>
struct snapshot_observer {
    Program* program;
    std::vector<std::vector<double>> at_ready;
    std::vector<int> calls;
    std::vector<std::size_t> order;

    explicit snapshot_observer(Program& p) : program(&p) {
        const std::size_t n = std::tuple_size_v<std::remove_cvref_t<decltype(p.gradients())>>;
        at_ready.resize(n);
        calls.assign(n, 0);
    }
    void gradient_ready(std::size_t i) {
        ++calls[i];
        order.push_back(i);
        visit_at(program->gradients(), i, [&](const auto& g) { at_ready[i].assign(g.begin(), g.end()); });
    }
};

template <class Tuple>
std::vector<std::vector<double>> copy_all(const Tuple& tuple) {
    std::vector<std::vector<double>> out;
    std::apply([&](const auto&... t) { (out.emplace_back(t.begin(), t.end()), ...); }, tuple);
    return out;
}

// Runs with an observer and checks every announcement against the final gradients and
// against a plain run() of the same program (unless runs differ: dropout draws a new mask).
template <class Program>
std::vector<std::size_t> check_announcements(Program& program, bool repeatable = true) {
    snapshot_observer<Program> observer(program);
    const auto value = program.run(observer);
    const auto observed = copy_all(program.gradients());
    for (std::size_t i = 0; i < observer.calls.size(); ++i) {
        INFO("gradient " << i);
        CHECK(observer.calls[i] == 1);
        CHECK(observer.at_ready[i] == observed[i]);  // final when announced: bit for bit
    }
    if (repeatable) {
        const auto plain_value = program.run();
        CHECK(plain_value == value);
        CHECK(copy_all(program.gradients()) == observed);
    }
    const auto order = program.gradient_ready_order();
    CHECK(std::vector<std::size_t>(order.begin(), order.end()) == observer.order);
    return observer.order;
}

struct NormNet {  // batch norm, dropout and the fused cross-entropy: heavy nodes of their own
    nn::Conv2d<1, 4, 3> conv;
    nn::BatchNorm2d<4> norm;
    nn::Dropout drop{.p = 0.25};
    nn::Dense<4 * 6 * 6, 5> fc;
    auto construct(auto x) const { return fc(nn::flatten(drop(nn::relu(norm(conv(x)))))); }
};

}  // namespace

TEST_CASE("observer: batch norm, dropout and integer-label cross-entropy", "[autodiff][observer]") {
    NormNet net;
    spore::init(net, 9);
    tensor<float, shape<3, 1, 8, 8>> images;
    images.fill_uniform(10, -1, 1);
    tensor<std::int32_t, shape<3>> labels{4, -1, 1};
    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(spore::input(images)), labels);
    auto program = std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, nn::parameters(net));
    // the parameters: conv.weight, conv.bias, norm.weight, norm.bias, fc.weight, fc.bias
    const auto order = check_announcements(program, false);
    REQUIRE(order.size() == 6);
    CHECK((order[0] == 4 || order[0] == 5));
    CHECK((order[5] == 0 || order[5] == 1));
}

TEST_CASE("observer: LeNet-5 gradients are announced final, last layer first, before the pass ends", "[autodiff][observer]") {
    LeNet5<float> net;
    spore::init(net, 5);
    tensor<float, shape<4, 1, 32, 32>> images;
    tensor<float, shape<4, 10>> onehot;
    images.fill_uniform(6, -1, 1);
    for (std::size_t i = 0; i < 4; ++i) onehot(i, (3 * i + 1) % 10) = 1;
    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(spore::input(images)), onehot);
    auto program = std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, nn::parameters(net));

    const auto order = check_announcements(program);
    // Parameters are conv1.weight, conv1.bias, ..., fc3.bias (0..9): the backward pass reaches
    // fc3 first and conv1 last.
    REQUIRE(order.size() == 10);
    CHECK((order[0] == 9 || order[0] == 8));
    CHECK((order[9] == 0 || order[9] == 1));

    // Announced early: when the first gradient is announced, conv1's gradient still holds
    // the previous run's value (new images change it).
    const auto before = copy_all(program.gradients());
    images.fill_uniform(7, -1, 1);
    struct early_observer {
        decltype(program)* p;
        std::vector<double> conv1_at_first;
        void gradient_ready(std::size_t) {
            if (conv1_at_first.empty()) conv1_at_first.assign(p->gradient<0>().begin(), p->gradient<0>().end());
        }
    } early{&program, {}};
    program.run(early);
    const auto after = copy_all(program.gradients());
    CHECK(early.conv1_at_first == before[0]);
    CHECK(after[0] != before[0]);
}

TEST_CASE("observer: a tensor used at several depths is announced after its last use", "[autodiff][observer]") {
    tensor<double, shape<3, 4>> x;
    tensor<double, shape<4, 4>> w;
    tensor<double, shape<4>> s;
    tensor<double, shape<2, 2>> unused;
    x.fill_uniform(1, -1, 1);
    w.fill_uniform(2, -0.5, 0.5);
    s.fill_uniform(3, -1, 1);
    unused.fill(7.0);
    // w inside two matmuls (deep and shallow), s in the root region and inside the first matmul
    auto h = spore::tanh(spore::matmul(x, w) * s);
    auto f = spore::sum(spore::tanh(spore::matmul(h, w)) * s);
    auto program = spore::compile_grad(f, w, s, unused, x);
    const auto order = check_announcements(program);
    CHECK(order.back() == 2);  // never written: announced last, as zeros
    CHECK(program.gradient<2>()[0] == 0.0);
    // and the gradients are right
    auto dw = spore_test::numeric_gradient(f, w);
    auto ds = spore_test::numeric_gradient(f, s);
    CHECK(spore::max_abs_diff(program.gradient<0>(), dw) < 1e-6);
    CHECK(spore::max_abs_diff(program.gradient<1>(), ds) < 1e-6);
}

TEST_CASE("observer: shared subexpressions, heavy and elementwise roots", "[autodiff][observer]") {
    tensor<double, shape<3, 5>> a;
    tensor<double, shape<5, 2>> b;
    tensor<double, shape<2>> c;
    a.fill_uniform(4, -1, 1);
    b.fill_uniform(5, -1, 1);
    c.fill_uniform(6, -1, 1);
    auto m = spore::matmul(a, b);
    SECTION("a matmul used twice (an alias) under a fused sum") {
        auto f = spore::sum(m * m) + spore::sum(spore::tanh(m + c));
        auto program = spore::compile_grad(f, a, b, c);
        check_announcements(program);
        CHECK(spore::max_abs_diff(program.gradient<0>(), spore_test::numeric_gradient(f, a)) < 1e-6);
    }
    SECTION("a heavy root (max)") {
        auto f = spore::max(spore::tanh(m) * c);
        auto program = spore::compile_grad(f, c, b, a);
        check_announcements(program);
        CHECK(spore::max_abs_diff(program.gradient<1>(), spore_test::numeric_gradient(f, b)) < 1e-6);
    }
    SECTION("an elementwise root over heavy nodes") {
        auto f = spore::tanh(spore::sum(m) * 0.1) * spore::mean(c);
        auto program = spore::compile_grad(f, a, c, b);
        check_announcements(program);
        CHECK(spore::max_abs_diff(program.gradient<2>(), spore_test::numeric_gradient(f, b)) < 1e-6);
    }
}
