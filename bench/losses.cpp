// Softmax cross-entropy, value and gradient with respect to the logits: the former chain of
// generic nodes (log_softmax, product with one-hot targets, row sum, mean) against the fused
// node, with one-hot targets and with integer labels.
//   build/release/bench/bench_losses --benchmark_enable_random_interleaving=true
#include <cstdint>

#include <benchmark/benchmark.h>

#include <spore/spore.hpp>

namespace {

using spore::shape;
using spore::tensor;

template <std::size_t Rows, std::size_t Classes>
struct inputs {
    tensor<float, shape<Rows, Classes>> logits, onehot;
    tensor<std::int32_t, shape<Rows>> labels;
    inputs() {
        logits.fill_uniform(1, -3, 3);
        spore::random_engine rng(2);
        for (std::size_t r = 0; r < Rows; ++r) {
            labels[r] = std::int32_t(rng.below(Classes));
            onehot(r, std::size_t(labels[r])) = 1.0f;
        }
    }
};

template <class Loss>
void run(benchmark::State& state, const Loss& loss, const auto& logits, std::size_t rows) {
    auto program = spore::compile_grad(loss, logits);
    for (auto _ : state) {
        benchmark::DoNotOptimize(program.run());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * std::int64_t(rows));
}

template <std::size_t Rows, std::size_t Classes>
void chain_onehot(benchmark::State& state) {
    inputs<Rows, Classes> in;
    run(state, spore::mean(-spore::sum<1>(spore::log_softmax(in.logits) * in.onehot)), in.logits, Rows);
}
template <std::size_t Rows, std::size_t Classes>
void fused_onehot(benchmark::State& state) {
    inputs<Rows, Classes> in;
    run(state, spore::nn::SoftmaxCrossEntropy{}(in.logits, in.onehot), in.logits, Rows);
}
template <std::size_t Rows, std::size_t Classes>
void fused_labels(benchmark::State& state) {
    inputs<Rows, Classes> in;
    run(state, spore::nn::SoftmaxCrossEntropy{}(in.logits, in.labels), in.logits, Rows);
}

BENCHMARK(chain_onehot<32, 10>);
BENCHMARK(fused_onehot<32, 10>);
BENCHMARK(fused_labels<32, 10>);
BENCHMARK(chain_onehot<256, 1000>);
BENCHMARK(fused_onehot<256, 1000>);
BENCHMARK(fused_labels<256, 1000>);

}  // namespace

BENCHMARK_MAIN();
