// The single-core FMA peak of this machine in GFLOP/s, with the SIMD width xsimd picked at
// compile time: enough independent accumulators to cover the FMA latency on every port.
#include <chrono>
#include <cstdio>

#include <xsimd/xsimd.hpp>

int main() {
    using V = xsimd::batch<float>;
    constexpr int chains = sizeof(V) >= 64 ? 24 : 12;  // of 32 or 16 vector registers
    V acc[chains];
    for (int i = 0; i < chains; ++i) acc[i] = V(1.0f + i * 1e-3f);
    const V x(0.999999f), y(1e-7f);
    const long iterations = 20'000'000;
    double best = 0;
    for (int trial = 0; trial < 7; ++trial) {
        const auto start = std::chrono::steady_clock::now();
        for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 32
            for (int i = 0; i < chains; ++i) acc[i] = xsimd::fma(acc[i], x, y);
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double gflops = 2.0 * V::size * chains * iterations / seconds / 1e9;
        best = gflops > best ? gflops : best;
    }
    float sink = 0;
    for (int i = 0; i < chains; ++i) sink += xsimd::hadd(acc[i]);
    std::printf("single-core fp32 FMA peak: %.1f GFLOP/s (%s, %zu lanes, %d accumulators; best of 7)  [%g]\n", best,
                xsimd::default_arch::name(), V::size, chains, double(sink) * 0);
    return 0;
}
