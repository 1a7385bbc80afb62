// spore::predictor and spore::predict: the evaluation-mode forward pass of a cell, equal to
// the expression evaluated directly, with no allocation per call and one net shared by threads.
#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <spore/spore.hpp>
#include <spore/nn/predictor.hpp>

#include "../../examples/lenet/lenet5.hpp"

#include "../support/count_allocations.hpp"
using spore_test::allocations;
using spore_test::counting_allocations;

using spore::shape;
using spore::tensor;

namespace {

template <std::size_t N>
tensor<float, shape<N, 1, 32, 32>> images(std::uint64_t seed) {
    tensor<float, shape<N, 1, 32, 32>> x;
    x.fill_uniform(seed, -1.0f, 1.0f);
    return x;
}

// The logits of `net` on x, from the expression evaluated once (no program kept).
template <class Net, std::size_t N>
tensor<float, shape<N, 10>> reference(const Net& net, const tensor<float, shape<N, 1, 32, 32>>& x) {
    return spore::eval(net.construct(spore::input(x)));
}

struct DropoutNet {  // evaluation mode: the dropout is the identity
    spore::nn::Dense<20, 10> fc;
    spore::nn::Dropout drop{.p = 0.5};
    auto construct(auto x) const { return drop(fc(spore::flatten(x))); }
};

}  // namespace

TEST_CASE("predict: the logits of the forward expression, at batch 1 and 7", "[nn][predict]") {
    LeNet5 net;
    spore::init(net, 3);
    const auto one = images<1>(1);
    const auto seven = images<7>(2);
    const auto expected_one = reference(net, one);
    const auto expected_seven = reference(net, seven);
    CHECK(spore::allclose(spore::predict(net, one), expected_one, 1e-6f, 1e-6f));
    CHECK(spore::allclose(spore::predict(net, seven), expected_seven, 1e-6f, 1e-6f));
    spore::predictor<LeNet5, shape<7, 1, 32, 32>> program(net);
    CHECK(spore::allclose(program(seven), expected_seven, 1e-6f, 1e-6f));
}

TEST_CASE("predict: sees weights changed after it was built", "[nn][predict]") {
    LeNet5 net;
    spore::init(net, 3);
    const auto x = images<2>(4);
    const tensor<float, shape<2, 10>> before(spore::predict(net, x));
    net.fc3.bias.fill(0.5f);
    const tensor<float, shape<2, 10>> after(spore::predict(net, x));
    CHECK(spore::allclose(after, reference(net, x), 1e-6f, 1e-6f));
    CHECK_FALSE(spore::allclose(after, before, 1e-6f, 1e-6f));
}

TEST_CASE("predict: evaluation mode, so dropout is the identity", "[nn][predict]") {
    DropoutNet net;
    spore::init(net, 5);
    tensor<float, shape<3, 20>> x;
    x.fill_uniform(6, -1.0f, 1.0f);
    const tensor<float, shape<3, 10>> expected = net.fc(spore::input(x));
    CHECK(spore::allclose(spore::predict(net, x), expected, 1e-6f, 1e-6f));
    CHECK(spore::allclose(spore::predict(net, x), expected, 1e-6f, 1e-6f));  // the same twice
}

TEST_CASE("predict: no allocation per call once built", "[nn][predict][allocation]") {
    if (!counting_allocations) return;
    LeNet5 net;
    spore::init(net, 3);
    const auto x = images<1>(7);
    spore::predict(net, x);  // builds this thread's program
    spore::predict(net, x);  // and warms the kernels' buffers
    const long before = allocations.load();
    for (int i = 0; i < 20; ++i) spore::predict(net, x);
    CHECK(allocations.load() - before == 0);
}

TEST_CASE("predict: one net serves several threads at once", "[nn][predict][threads]") {
    LeNet5 net;
    spore::init(net, 9);
    constexpr int workers = 4, calls = 50;
    std::vector<tensor<float, shape<1, 1, 32, 32>>> inputs;
    std::vector<tensor<float, shape<1, 10>>> expected;
    for (int w = 0; w < workers; ++w) {
        inputs.push_back(images<1>(100 + w));
        expected.push_back(reference(net, inputs.back()));
    }
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < calls; ++i)
                if (!spore::allclose(spore::predict(net, inputs[w]), expected[w], 1e-6f, 1e-6f)) ++mismatches;
        });
    for (auto& t : threads) t.join();
    CHECK(mismatches.load() == 0);
}
