// SGEMM: spore's cube-tiled GEMM beside OpenBLAS and Eigen, 1 and 2 threads, on square sizes
// and on LeNet-5's products at batch 32. Names: gemm/<library>/<threads>/<M>x<K>x<N>; the
// GFLOP/s counter is what to compare. Run with --benchmark_enable_random_interleaving=true
// and repetitions (the defaults below) so drift hits every library alike; compare medians.
//
// Debian's OpenBLAS picks a generic kernel on some CPUs it does not know (Sapphire Rapids):
// when the CPU has AVX-512 and OPENBLAS_CORETYPE is unset, this program sets it to SkylakeX
// and restarts itself, so OpenBLAS is measured at its best. The kernel used is printed.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <Eigen/Core>

#include <spore/spore.hpp>

extern "C" char* openblas_get_corename();
extern "C" void openblas_set_num_threads(int);

namespace {

struct problem {
    int m, k, n;
};

std::vector<float> random_matrix(std::size_t count, std::uint64_t seed) {
    spore::random_engine rng(seed);
    std::vector<float> v(count);
    for (auto& x : v) x = static_cast<float>(rng.uniform(-1, 1));
    return v;
}

enum class library { spore, openblas, eigen };

void run(benchmark::State& state, library lib, problem p, int threads) {
    auto a = random_matrix(std::size_t(p.m) * p.k, 1), b = random_matrix(std::size_t(p.k) * p.n, 2);
    std::vector<float> c(std::size_t(p.m) * p.n);
    spore::set_num_threads(lib == library::spore ? threads : 1);
    openblas_set_num_threads(lib == library::openblas ? threads : 1);
    Eigen::setNbThreads(lib == library::eigen ? threads : 1);
    using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const matrix> ea(a.data(), p.m, p.k), eb(b.data(), p.k, p.n);
    Eigen::Map<matrix> ec(c.data(), p.m, p.n);
    for (auto _ : state) {
        switch (lib) {
            case library::spore:
                spore::kernels::gemm(spore::kernels::transpose::no, spore::kernels::transpose::no, p.m, p.n, p.k, 1.0f,
                                     a.data(), p.k, b.data(), p.n, 0.0f, c.data(), p.n);
                break;
            case library::openblas:
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p.m, p.n, p.k, 1.0f, a.data(), p.k, b.data(), p.n,
                            0.0f, c.data(), p.n);
                break;
            case library::eigen:
                ec.noalias() = ea * eb;
                break;
        }
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * p.m * p.n * p.k * state.iterations(), benchmark::Counter::kIsRate,
                                                   benchmark::Counter::kIs1000);
}

void register_all() {
    std::vector<problem> problems;
    for (int s : {64, 128, 256, 512, 1024, 2048}) problems.push_back({s, s, s});
    problems.push_back({6, 25, 25088});   // LeNet conv1 as GEMM at batch 32
    problems.push_back({16, 150, 3200});  // conv2
    problems.push_back({32, 400, 120});   // fc1
    problems.push_back({32, 120, 84});    // fc2
    problems.push_back({32, 84, 10});     // fc3
    const std::pair<library, const char*> libraries[] = {
        {library::spore, "spore"}, {library::openblas, "openblas"}, {library::eigen, "eigen"}};
    for (int threads : {1, 2})
        for (const auto& p : problems)
            for (const auto& [lib, name] : libraries) {
                const std::string id = "gemm/" + std::string(name) + "/" + std::to_string(threads) + "/" +
                                       std::to_string(p.m) + "x" + std::to_string(p.k) + "x" + std::to_string(p.n);
                benchmark::RegisterBenchmark(id.c_str(), run, lib, p, threads)->UseRealTime()->MinTime(p.m >= 1024 ? 0.5 : 0.2);
            }
}

bool has_avx512() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

// An OPENBLAS_CORETYPE from the environment is obeyed, but an AVX2 kernel on an AVX-512 CPU
// is not OpenBLAS at its best (seen: machines that export OPENBLAS_CORETYPE=Haswell).
void warn_if_openblas_held_back(const std::string& corename) {
    if (!has_avx512() || corename.find("SkylakeX") != std::string::npos || corename.find("Cooperlake") != std::string::npos)
        return;
    std::printf("warning: this CPU has AVX-512 but OpenBLAS runs its %s kernel (OPENBLAS_CORETYPE=%s from the "
                "environment); run with OPENBLAS_CORETYPE=SkylakeX to compare against OpenBLAS at its best\n",
                corename.c_str(), std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "(unset)");
}

}  // namespace

int main(int argc, char** argv) {
    if (!std::getenv("OPENBLAS_CORETYPE") && has_avx512()) {
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
        execv("/proc/self/exe", argv);  // OpenBLAS reads the variable when it loads
    }
    std::printf("OpenBLAS kernel: %s; spore: 16x16 cubes in %zu strips; Eigen %d.%d.%d\n", openblas_get_corename(),
                spore::kernels::register_tile<float>::strips, EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION);
    warn_if_openblas_held_back(openblas_get_corename());
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
