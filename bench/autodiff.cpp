// Value and gradient of f(a, b, c) = sum(tanh(a * b + c)) over 1M floats: spore's derived
// backward pass against a hand-written single loop that computes the value and all three
// gradients in one pass (the fastest reference we know how to write).
#include <benchmark/benchmark.h>

#include <spore/spore.hpp>

namespace {

constexpr std::size_t n = 1 << 20;
using vector = spore::tensor<float, spore::shape<n>>;

struct inputs {
    vector a, b, c;
    inputs() {
        a.fill_uniform(1);
        b.fill_uniform(2);
        c.fill_uniform(3);
    }
};

// out: value; ga, gb, gc: gradients. One pass, xsimd, one tanh per element.
float hand_written(const float* a, const float* b, const float* c, float* ga, float* gb, float* gc) {
    using V = xsimd::batch<float>;
    constexpr std::size_t w = V::size;
    static_assert(n % w == 0, "no tail loop needed");
    V total(0.0f);
    for (std::size_t i = 0; i < n; i += w) {
        const V va = V::load_aligned(a + i), vb = V::load_aligned(b + i);
        const V t = xsimd::tanh(xsimd::fma(va, vb, V::load_aligned(c + i)));
        total += t;
        const V d = V(1.0f) - t * t;
        (d * vb).store_aligned(ga + i);
        (d * va).store_aligned(gb + i);
        d.store_aligned(gc + i);
    }
    float sum = xsimd::hadd(total);
    return sum;
}

void autodiff_hand_written(benchmark::State& state) {
    inputs in;
    vector ga, gb, gc;
    for (auto _ : state) {
        float v = hand_written(in.a.data(), in.b.data(), in.c.data(), ga.data(), gb.data(), gc.data());
        benchmark::DoNotOptimize(v);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * n);
}

void autodiff_spore(benchmark::State& state) {
    inputs in;
    auto program = spore::compile_grad(spore::sum(spore::tanh(in.a * in.b + in.c)), in.a, in.b, in.c);
    for (auto _ : state) {
        float v = program.run();
        benchmark::DoNotOptimize(v);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * n);
}

// Interleaved, so drift of a shared machine hits both alike; compare medians.
BENCHMARK(autodiff_hand_written)->Name("sum_tanh_1M/hand_written")->Unit(benchmark::kMicrosecond)->Repetitions(15)->ReportAggregatesOnly(true);
BENCHMARK(autodiff_spore)->Name("sum_tanh_1M/spore")->Unit(benchmark::kMicrosecond)->Repetitions(15)->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
