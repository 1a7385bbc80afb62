// LeNet-5's convolutions at batch 32 (conv1: 1->6 5x5 on 32x32, conv2: 6->16 5x5 on 14x14):
// forward, input gradient and weight gradient, beside the plain GEMM of the same size on an
// im2col matrix made beforehand. The ratio of the two is the time spent outside the GEMM
// (im2col packing, col2im, bias). Names: conv/<layer>/<pass>/<threads>; GFLOP/s counter.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <spore/spore.hpp>

namespace {

using spore::kernels::conv2d_geometry;
constexpr std::size_t batch = 32;

std::vector<float> random_vector(std::size_t n, std::uint64_t seed) {
    spore::random_engine rng(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(rng.uniform(-1, 1));
    return v;
}

enum class pass { forward, input_gradient, weight_gradient, gemm_only };

void run(benchmark::State& state, conv2d_geometry g, pass p, int threads) {
    spore::set_num_threads(threads);
    auto x = random_vector(batch * g.input_size(), 1), w = random_vector(g.weight_size(), 2);
    auto b = random_vector(g.filters, 3), dy = random_vector(batch * g.output_size(), 4);
    std::vector<float> y(batch * g.output_size()), dx(batch * g.input_size()), dw(g.weight_size()), db(g.filters),
        scratch(spore::kernels::weight_gradient_scratch<float>(g, batch));
    // the forward product as one GEMM: [F, patch] x [patch, batch * positions]
    auto col = random_vector(g.patch() * batch * g.positions(), 5);
    std::vector<float> out(g.filters * batch * g.positions());
    for (auto _ : state) {
        switch (p) {
            case pass::forward:
                spore::kernels::conv2d_forward(g, batch, x.data(), w.data(), b.data(), y.data());
                break;
            case pass::input_gradient:
                spore::kernels::conv2d_backward_input(g, batch, dy.data(), w.data(), dx.data(), false);
                break;
            case pass::weight_gradient:
                spore::kernels::conv2d_backward_weight(g, batch, x.data(), dy.data(), dw.data(), false, scratch.data());
                spore::kernels::conv2d_backward_bias(g, batch, dy.data(), db.data(), false);
                break;
            case pass::gemm_only:
                spore::kernels::gemm(spore::kernels::transpose::no, spore::kernels::transpose::no, g.filters,
                                     batch * g.positions(), g.patch(), 1.0f, w.data(), g.patch(), col.data(),
                                     batch * g.positions(), 0.0f, out.data(), batch * g.positions());
                break;
        }
        benchmark::ClobberMemory();
    }
    const double flops = 2.0 * batch * g.filters * g.positions() * g.patch();
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops * state.iterations(), benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

const bool registered = [] {
    const std::pair<const char*, conv2d_geometry> layers[] = {{"conv1", {1, 32, 32, 6, 5, 5, 1, 0}},
                                                              {"conv2", {6, 14, 14, 16, 5, 5, 1, 0}}};
    const std::pair<pass, const char*> passes[] = {{pass::gemm_only, "gemm_only"},
                                                   {pass::forward, "forward"},
                                                   {pass::input_gradient, "input_gradient"},
                                                   {pass::weight_gradient, "weight_gradient"}};
    for (int threads : {1, 2})
        for (const auto& [layer, g] : layers)
            for (const auto& [p, name] : passes)
                benchmark::RegisterBenchmark(
                    ("conv/" + std::string(layer) + "/" + name + "/" + std::to_string(threads)).c_str(), run, g, p,
                    threads)
                    ->UseRealTime()
                    ->Unit(benchmark::kMicrosecond);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
