// LeNet-5 on Fashion-MNIST, spore beside LibTorch 1.13 (Debian's libtorch-dev): the same net
// (examples/lenet/lenet5.hpp, written again with torch::nn), the same starting weights (spore's
// seed 1, copied into torch), the same batches (spore's data set code: normalised by the
// training set's mean and deviation, padded to 32x32) and the same hyper-parameters (batch 32,
// SGD lr 0.01 momentum 0.9, cross-entropy). The timing run:
//
//   build/release/bench/bench_lenet --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true
//
// (without flags it runs 5 repetitions, interleaved). Benchmarks, each also built without torch
// as bench_lenet_spore, which has the spore half only:
//   lenet/train/<spore|torch>/<threads>  50 training steps per iteration (batch filled from the
//                                        set's bytes, forward, backward, optimiser): images/s
//   lenet/infer1/<spore|torch>/1         batch-1 logits, evaluation mode: median_us (median of
//                                        the calls of a repetition, at least 1000)
//   lenet/infer256/<spore|torch>/1       batch-256 logits: images/s
// After them, the summary prints the median over the repetitions of each, the ratios, and the
// peak resident memory of a training process of each library (this program run as a child
// with --rss spore or --rss torch: 300 steps on data loaded the way each library normally
// would; --no-rss skips it; --data DIR reads Fashion-MNIST elsewhere). Before them, it checks that both libraries compute the same
// losses and logits from the same weights.
//
// LibTorch at its best: Debian's OpenBLAS picks a generic kernel on Sapphire Rapids unless
// OPENBLAS_CORETYPE=SkylakeX is set, and OpenBLAS's own thread pool must be held to 1 thread
// (OPENBLAS_NUM_THREADS=1) or it fights torch's OpenMP pool at 2 threads. Both are read when
// the library loads, so the program sets them and restarts itself when they are missing. What
// runs in Debian's torch (its build says BLAS_INFO=generic: libblas.so.3, which Debian's
// alternatives point at OpenBLAS): the convolutions go to oneDNN 2.6 (jit:avx512_core, one
// weight gradient jit:avx2, with reorders between torch's plain layout and oneDNN's blocked one around
// each call; DNNL_VERBOSE=1 lists them), the Linear layers' products to OpenBLAS's sgemm_ (9 a
// training step: a gdb breakpoint counts them), pooling, ReLU, the loss and SGD to ATen's own
// kernels, which torch runs with AVX2 here unless ATEN_CPU_CAPABILITY=avx512 is set (read at
// start-up; not set by this program: compare whole runs with and without it).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#ifndef SPORE_BENCH_TORCH  // 1 in bench_lenet (linked with LibTorch), 0 in bench_lenet_spore
#define SPORE_BENCH_TORCH 0
#endif
#if SPORE_BENCH_TORCH
#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/torch.h>
#endif

#include <spore/spore.hpp>
#if __has_include(<spore/nn/predictor.hpp>)  // the switch: `#if 0` times spore::compile as spore::Model's evaluation does
#include <spore/nn/predictor.hpp>
#define SPORE_BENCH_PREDICT 1
#else
#define SPORE_BENCH_PREDICT 0
#endif

#include "../examples/lenet/lenet5.hpp"

namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

constexpr std::size_t batch = 32, classes = 10, side = 32, pad = 2;
constexpr std::size_t steps_per_iteration = 50;
constexpr std::size_t infer_batch = 256, latency_images = 256, min_latency_calls = 1000;
constexpr std::uint64_t seed = 1;
constexpr float lr = 0.01f, momentum = 0.9f;
const char* const default_data = "/usr/share/datasets/fashion-mnist";

using batch_images = tensor<float, shape<batch, 1, side, side>>;
using batch_targets = tensor<float, shape<batch, classes>>;
using one_image = tensor<float, shape<1, 1, side, side>>;
using big_batch = tensor<float, shape<infer_batch, 1, side, side>>;

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    const std::size_t half = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(half), v.end());
    if (v.size() % 2) return v[half];
    return 0.5 * (v[half] + *std::max_element(v.begin(), v.begin() + std::ptrdiff_t(half)));
}

// Resident memory of this process in MB from /proc/self/status: VmRSS now, VmHWM its peak (a
// check on getrusage's ru_maxrss, which is the figure reported).
double status_mb(const char* key) {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    double kb = -1;
    const std::size_t n = std::strlen(key);
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, key, n) == 0 && line[n] == ':') kb = std::atof(line + n + 1);
    std::fclose(f);
    return kb / 1024.0;
}
double maxrss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

LeNet5 initialised_net() {
    LeNet5 net;
    spore::init(net, seed);
    return net;
}

// The order the training benchmarks visit the set in: spore::Model's shuffles (seed, epoch),
// a new epoch when one is used up. Each library has its own cursor over the same orders.
class batch_order {
public:
    explicit batch_order(std::size_t size) : order_(size) { spore::data::shuffled_order(order_, seed, epoch_); }
    std::span<const std::size_t> next() {
        if (next_ + batch > order_.size()) {
            spore::data::shuffled_order(order_, seed, ++epoch_);
            next_ = 0;
        }
        next_ += batch;
        return std::span<const std::size_t>(order_).subspan(next_ - batch, batch);
    }

private:
    std::vector<std::size_t> order_;
    std::uint64_t epoch_ = 0;
    std::size_t next_ = 0;
};

[[noreturn]] void non_finite(const char* library, float loss) {
    throw spore::error(spore::format("%s: the training loss became %g", library, double(loss)));
}

// spore's training step exactly as spore::Model builds and runs it: compile_grad of the loss
// over nn::parameters(net), the optimiser's state from optim::make_state, one-hot targets.
struct images_tag;
struct targets_tag;

auto make_step_program(LeNet5& net) {
    auto logits = net.construct(spore::expr::placeholder<images_tag, float, batch_images::shape_type>());
    auto loss = nn::SoftmaxCrossEntropy{}(logits, spore::expr::placeholder<targets_tag, float, batch_targets::shape_type>());
    return std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, nn::parameters(net));
}

class spore_trainer {
public:
    explicit spore_trainer(const spore::data::image_set& set)
        : set_(&set),
          net_(initialised_net()),
          program_(make_step_program(net_)),
          optimiser_(spore::optim::make_state(spore::optim::Momentum{.lr = lr, .momentum = momentum}, nn::parameters(net_))),
          order_(set.size()) {
        program_.feed<images_tag>(images_);
        program_.feed<targets_tag>(targets_);
    }
    spore_trainer(const spore_trainer&) = delete;  // the program holds the addresses of the members
    spore_trainer& operator=(const spore_trainer&) = delete;

    float step() {
        set_->fill_batch(order_.next(), images_, std::span<std::int32_t>(labels_));
        targets_.fill(0.0f);
        for (std::size_t i = 0; i < batch; ++i) targets_(i, std::size_t(labels_[i])) = 1.0f;
        const float loss = program_.run();
        if (!std::isfinite(loss)) non_finite("spore", loss);
        optimiser_.step(program_.gradients());
        return loss;
    }
    const LeNet5& net() const { return net_; }

private:
    const spore::data::image_set* set_;
    LeNet5 net_;
    batch_images images_;
    batch_targets targets_;
    std::array<std::int32_t, batch> labels_{};
    decltype(make_step_program(std::declval<LeNet5&>())) program_;
    decltype(spore::optim::make_state(spore::optim::Momentum{}, nn::parameters(std::declval<LeNet5&>()))) optimiser_;
    batch_order order_;
};

// spore's logits in evaluation mode: spore::predict where it exists, else the program that
// spore::Model's evaluation builds (compile of construct on a placeholder, fed the images).
#if SPORE_BENCH_PREDICT
template <class S>
const auto& spore_logits(const LeNet5& net, const tensor<float, S>& images) {
    return spore::predict(net, images);
}
#else
struct predict_tag;
template <class S>
auto make_logits_program(const LeNet5& net) {
    return spore::compile(net.construct(spore::expr::placeholder<predict_tag, float, S>()));
}
template <class S>
const auto& spore_logits(const LeNet5& net, const tensor<float, S>& images) {
    thread_local const LeNet5* built_for = nullptr;
    thread_local std::unique_ptr<decltype(make_logits_program<S>(net))> program;
    if (!program || built_for != &net) {
        program = std::make_unique<decltype(make_logits_program<S>(net))>(make_logits_program<S>(net));
        built_for = &net;
    }
    program->template feed<predict_tag>(images);
    return (*program)();
}
#endif

#if SPORE_BENCH_TORCH
// The same LeNet-5 in LibTorch's usual style: layers registered under spore's field names,
// the parameter-free operations (ReLU, max pooling, flatten) called in forward.
struct TorchLeNet5Impl : torch::nn::Module {
    torch::nn::Conv2d conv1{torch::nn::Conv2dOptions(1, 6, 5)};
    torch::nn::Conv2d conv2{torch::nn::Conv2dOptions(6, 16, 5)};
    torch::nn::Linear fc1{16 * 5 * 5, 120};
    torch::nn::Linear fc2{120, 84};
    torch::nn::Linear fc3{84, 10};

    TorchLeNet5Impl() {
        register_module("conv1", conv1);
        register_module("conv2", conv2);
        register_module("fc1", fc1);
        register_module("fc2", fc2);
        register_module("fc3", fc3);
    }
    torch::Tensor forward(torch::Tensor x) {
        x = torch::max_pool2d(torch::relu(conv1->forward(x)), 2);
        x = torch::max_pool2d(torch::relu(conv2->forward(x)), 2);
        x = torch::relu(fc1->forward(x.flatten(1)));
        return fc3->forward(torch::relu(fc2->forward(x)));
    }
};
TORCH_MODULE(TorchLeNet5);

// A torch view of a spore tensor's storage (no copy).
template <class T, class S>
torch::Tensor view_of(tensor<T, S>& t) {
    std::vector<std::int64_t> sizes(S::extents.begin(), S::extents.end());
    return torch::from_blob(t.data(), sizes, torch::kFloat);
}

// spore's initial weights into the torch net: both use PyTorch's layouts and field order.
TorchLeNet5 torch_copy_of(const LeNet5& net) {
    TorchLeNet5 out;
    torch::NoGradGuard no_grad;
    auto params = out->parameters();
    std::size_t i = 0;
    std::apply(
        [&](const auto&... p) {
            auto copy = [&](const auto& from) {
                if (i >= params.size() || std::size_t(params[i].numel()) != from.size())
                    throw spore::error(spore::format("torch_copy_of: parameter %zu of the spore net has %zu values, the torch "
                                                     "net's %lld",
                                                     i, from.size(), i < params.size() ? (long long)params[i].numel() : -1LL));
                params[i].copy_(torch::from_blob(const_cast<float*>(from.data()), params[i].sizes(), torch::kFloat));
                ++i;
            };
            (copy(p), ...);
        },
        nn::parameters(net));
    if (i != params.size())
        throw spore::error(spore::format("torch_copy_of: the spore net has %zu parameters, the torch net %zu", i, params.size()));
    return out;
}

// torch's training step: the module in train mode, torch::optim::SGD with momentum, the
// batch filled by spore's data set code into memory that a torch tensor views.
class torch_trainer {
public:
    explicit torch_trainer(const spore::data::image_set& set)
        : set_(&set),
          net_(torch_copy_of(initialised_net())),
          optimiser_(net_->parameters(), torch::optim::SGDOptions(lr).momentum(momentum)),
          x_(view_of(images_)),
          y_(torch::empty({std::int64_t(batch)}, torch::kLong)),
          order_(set.size()) {
        net_->train();
    }
    torch_trainer(const torch_trainer&) = delete;  // x_ views images_
    torch_trainer& operator=(const torch_trainer&) = delete;

    float step() {
        set_->fill_batch(order_.next(), images_, std::span<std::int32_t>(labels_));
        std::int64_t* y = y_.data_ptr<std::int64_t>();
        for (std::size_t i = 0; i < batch; ++i) y[i] = labels_[i];
        optimiser_.zero_grad();
        auto loss = torch::nn::functional::cross_entropy(net_->forward(x_), y_);
        loss.backward();
        optimiser_.step();
        const float value = loss.item<float>();
        if (!std::isfinite(value)) non_finite("torch", value);
        return value;
    }

private:
    const spore::data::image_set* set_;
    TorchLeNet5 net_;
    torch::optim::SGD optimiser_;
    batch_images images_;
    std::array<std::int32_t, batch> labels_{};
    torch::Tensor x_, y_;
    batch_order order_;
};

using openblas_corename_fn = char* (*)();
using openblas_threads_fn = int (*)();
// OpenBLAS as loaded by libtorch (through libblas.so.3), found at run time: a program cannot
// link a symbol of a library it only gets through another one.
std::string openblas_description() {
    auto corename = reinterpret_cast<openblas_corename_fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    auto threads = reinterpret_cast<openblas_threads_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    auto config = reinterpret_cast<openblas_corename_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
    if (!corename) return "not OpenBLAS (libblas.so.3 has no openblas_get_corename)";
    return spore::format("%s kernel, %d threads (%s)", corename(), threads ? threads() : -1, config ? config() : "?");
}

// What torch's build configuration says about the kernels it can call: the lines on OpenMP,
// oneDNN and the CPU capability ATen's own kernels use, and a few of the build settings.
std::string torch_build_lines() {
    std::string out, line, settings;
    for (char c : at::show_config() + "\n") {
        if (c != '\n') {
            line += c;
            continue;
        }
        const auto first = line.find_first_not_of(" -");
        const std::string text = line.substr(first == std::string::npos ? line.size() : first);
        if (text.rfind("Build settings:", 0) == 0) {
            for (const char* key : {"BLAS_INFO=", "LAPACK_INFO=", "USE_MKLDNN=", "USE_OPENMP=", "USE_NNPACK=", "PERF_WITH_AVX512="})
                if (auto at = text.find(key); at != std::string::npos) settings += " " + text.substr(at, text.find(',', at) - at);
        } else if (text.find("OpenMP") != std::string::npos || text.find("MKL-DNN") != std::string::npos ||
                   text.find("CPU capability") != std::string::npos) {
            out += "  " + text + "\n";
        }
        line.clear();
    }
    return out + "  build settings:" + settings + "\n";
}
#endif

// ---------------------------------------------------------------------------------------
// What the benchmarks share, built once in main.
struct fixture {
    spore::data::image_split data;
    std::unique_ptr<spore_trainer> spore_train;
    LeNet5 spore_infer_net = initialised_net();
    std::vector<one_image> singles;  // test images, batch 1
    big_batch many;                  // 256 test images
#if SPORE_BENCH_TORCH
    std::unique_ptr<torch_trainer> torch_train;
    TorchLeNet5 torch_infer_net{nullptr};
    std::vector<torch::Tensor> torch_singles;
    torch::Tensor torch_many;
#endif

    explicit fixture(const std::string& dir) : data(spore::data::fashion_mnist(dir, {.pad = pad})) {
        spore_train = std::make_unique<spore_trainer>(data.train);
        std::array<std::int32_t, 1> label{};
        std::vector<std::size_t> items(infer_batch);
        singles.reserve(latency_images);
        for (std::size_t i = 0; i < latency_images; ++i) {
            singles.emplace_back();
            items[0] = i;
            data.test.fill_batch(std::span<const std::size_t>(items.data(), 1), singles.back(), std::span<std::int32_t>(label));
        }
        std::vector<std::int32_t> labels(infer_batch);
        for (std::size_t i = 0; i < infer_batch; ++i) items[i] = latency_images + i;
        data.test.fill_batch(items, many, std::span<std::int32_t>(labels));
#if SPORE_BENCH_TORCH
        torch_train = std::make_unique<torch_trainer>(data.train);
        torch_infer_net = torch_copy_of(spore_infer_net);
        torch_infer_net->eval();
        for (auto& s : singles) torch_singles.push_back(view_of(s));
        torch_many = view_of(many);
#endif
    }
};
fixture* shared = nullptr;

enum class library { spore, torch };
const char* name_of(library lib) { return lib == library::spore ? "spore" : "torch"; }

// Each library runs with its own thread count and the other one held to a single thread, so
// an idle pool never competes with the one being measured.
void use_threads(library lib, int threads) {
    spore::set_num_threads(lib == library::spore ? std::size_t(threads) : 1);
#if SPORE_BENCH_TORCH
    torch::set_num_threads(lib == library::torch ? threads : 1);
#endif
}

// The thread count the library reports, to show the setting took.
double threads_in_use(library lib) {
#if SPORE_BENCH_TORCH
    if (lib == library::torch) return double(torch::get_num_threads());
#endif
    (void)lib;
    return double(spore::num_threads());
}

void train(benchmark::State& state, library lib, int threads) {
    use_threads(lib, threads);
    double seconds = 0, loss = 0;
    std::size_t steps = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t s = 0; s < steps_per_iteration; ++s) {
#if SPORE_BENCH_TORCH
            loss += lib == library::spore ? shared->spore_train->step() : shared->torch_train->step();
#else
            loss += shared->spore_train->step();
#endif
        }
        seconds += seconds_since(start);
        steps += steps_per_iteration;
    }
    state.counters["images/s"] = double(steps * batch) / seconds;
    state.counters["loss"] = loss / double(steps);
    state.counters["threads"] = threads_in_use(lib);
}

void infer1(benchmark::State& state, library lib) {
    use_threads(lib, 1);
    std::vector<double> us;
    us.reserve(1 << 20);
    std::size_t next = 0;
    auto call = [&] {
        const std::size_t i = next++ % latency_images;
        const auto start = std::chrono::steady_clock::now();
#if SPORE_BENCH_TORCH
        if (lib == library::torch) {
            torch::NoGradGuard no_grad;
            benchmark::DoNotOptimize(shared->torch_infer_net->forward(shared->torch_singles[i]).data_ptr<float>());
        } else
#endif
            benchmark::DoNotOptimize(spore_logits(shared->spore_infer_net, shared->singles[i]).data());
        benchmark::ClobberMemory();
        us.push_back(1e6 * seconds_since(start));
    };
    call();  // the first call builds the program (spore) or primitives (torch)
    us.clear();
    for (auto _ : state) call();
    // at least min_latency_calls in the median even when the benchmark's own loop was shorter
    while (us.size() < min_latency_calls) call();
    state.counters["median_us"] = median(us);
    state.counters["calls"] = double(us.size());
}

void infer256(benchmark::State& state, library lib) {
    use_threads(lib, 1);
    auto call = [&] {
#if SPORE_BENCH_TORCH
        if (lib == library::torch) {
            torch::NoGradGuard no_grad;
            benchmark::DoNotOptimize(shared->torch_infer_net->forward(shared->torch_many).data_ptr<float>());
            return;
        }
#endif
        benchmark::DoNotOptimize(spore_logits(shared->spore_infer_net, shared->many).data());
    };
    call();  // the first call builds the program (spore) or primitives (torch)
    double seconds = 0;
    std::size_t calls = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        call();
        benchmark::ClobberMemory();
        seconds += seconds_since(start);
        ++calls;
    }
    state.counters["images/s"] = double(calls * infer_batch) / seconds;
}

std::vector<library> libraries() {
#if SPORE_BENCH_TORCH
    return {library::spore, library::torch};
#else
    return {library::spore};
#endif
}

void register_all() {
    for (int threads : {1, 2})
        for (library lib : libraries())
            benchmark::RegisterBenchmark(("lenet/train/" + std::string(name_of(lib)) + "/" + std::to_string(threads)).c_str(),
                                         train, lib, threads)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
    for (library lib : libraries())
        benchmark::RegisterBenchmark(("lenet/infer1/" + std::string(name_of(lib)) + "/1").c_str(), infer1, lib)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
    for (library lib : libraries())
        benchmark::RegisterBenchmark(("lenet/infer256/" + std::string(name_of(lib)) + "/1").c_str(), infer256, lib)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
}

// The console reporter, also keeping each benchmark's median counters (the "median" aggregate,
// or the runs themselves without repetitions) for the summary.
class recording_reporter : public benchmark::ConsoleReporter {
public:
    recording_reporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            if (run.error_occurred) continue;
            auto& entry = results_[run.run_name.function_name];
            if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") {
                for (const auto& [key, counter] : run.counters) entry.median[key] = counter.value;
                entry.repetitions = run.repetitions;
            } else if (run.run_type == Run::RT_Iteration) {
                for (const auto& [key, counter] : run.counters) entry.runs[key].push_back(counter.value);
            }
        }
    }
    // The median of a counter of a benchmark; NaN when it did not run.
    double value(const std::string& benchmark, const std::string& counter) const {
        const auto it = results_.find(benchmark);
        if (it == results_.end()) return NAN;
        if (auto m = it->second.median.find(counter); m != it->second.median.end()) return m->second;
        if (auto r = it->second.runs.find(counter); r != it->second.runs.end()) return median(r->second);
        return NAN;
    }
    std::size_t repetitions(const std::string& benchmark) const {
        const auto it = results_.find(benchmark);
        if (it == results_.end()) return 0;
        if (it->second.repetitions) return std::size_t(it->second.repetitions);
        return it->second.runs.empty() ? 0 : it->second.runs.begin()->second.size();
    }

private:
    struct entry {
        std::map<std::string, double> median;
        std::map<std::string, std::vector<double>> runs;
        std::int64_t repetitions = 0;
    };
    std::map<std::string, entry> results_;
};

// ---------------------------------------------------------------------------------------
// Peak resident memory of a training process.
struct rss_result {
    double start_mb = NAN, data_mb = NAN, peak_mb = NAN;
    std::string line;
};

constexpr std::size_t rss_steps = 300;

// The child: load the data as the library's users would, train rss_steps steps, print one
// line `rss <library>: ...` with the memory after loading and at the end.
int rss_child(const std::string& lib, const std::string& dir) {
    const double start_mb = status_mb("VmRSS");  // the program and its libraries, loaded
    if (lib == "spore") {
        // spore keeps the set as bytes (55 MB for both splits) and makes floats per batch
        const auto data = spore::data::fashion_mnist(dir, {.pad = pad});
        const double data_mb = status_mb("VmRSS");
        spore_trainer trainer(data.train);
        float loss = 0;
        for (std::size_t s = 0; s < rss_steps; ++s) loss = trainer.step();
        std::printf("rss spore: start_MB=%.1f data_MB=%.1f peak_MB=%.1f VmHWM_MB=%.1f steps=%zu last_loss=%.4f\n", start_mb,
                    data_mb, maxrss_mb(), status_mb("VmHWM"), rss_steps, double(loss));
        return 0;
    }
#if SPORE_BENCH_TORCH
    if (lib == "torch") {
        // As torch::data::datasets::MNIST holds a set: every image as floats in [0, 1], shape
        // [N, 1, 28, 28], both splits (it reads only unpacked IDX files; Debian's are gzip, so
        // spore's reader gets the bytes). Each batch is gathered, padded and normalised as
        // torchvision's Pad and Normalize would do it.
        auto to_tensor = [](spore::data::labelled_images&& set) {
            auto bytes = torch::from_blob(set.pixels.data(), {std::int64_t(set.count), 1, std::int64_t(set.rows), std::int64_t(set.cols)},
                                          torch::kUInt8);
            auto labels = torch::from_blob(set.labels.data(), {std::int64_t(set.count)}, torch::kUInt8);
            return std::pair{bytes.to(torch::kFloat).div_(255.0f), labels.to(torch::kLong)};
        };
        auto read = [&](const char* images, const char* labels) {
            return to_tensor(spore::data::read_idx_images(spore::data::detail::idx_file(dir, images),
                                                          spore::data::detail::idx_file(dir, labels)));
        };
        auto [train_x, train_y] = read("train-images-idx3-ubyte", "train-labels-idx1-ubyte");
        const auto test = read("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");  // held, as a user's program would
        const double data_mb = status_mb("VmRSS");
        const auto norm = spore::data::fashion_mnist_normalisation;
        TorchLeNet5 net = torch_copy_of(initialised_net());
        net->train();
        torch::optim::SGD optimiser(net->parameters(), torch::optim::SGDOptions(lr).momentum(momentum));
        auto order = torch::randperm(train_x.size(0), torch::kLong);
        float loss_value = 0;
        for (std::size_t s = 0; s < rss_steps; ++s) {
            auto index = order.narrow(0, std::int64_t(s * batch), std::int64_t(batch));
            auto x = torch::constant_pad_nd(train_x.index_select(0, index), {2, 2, 2, 2}, 0.0).sub_(norm.mean).div_(norm.stddev);
            auto y = train_y.index_select(0, index);
            optimiser.zero_grad();
            auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
            loss.backward();
            optimiser.step();
            loss_value = loss.item<float>();
        }
        std::printf("rss torch: start_MB=%.1f data_MB=%.1f peak_MB=%.1f VmHWM_MB=%.1f steps=%zu last_loss=%.4f\n", start_mb,
                    data_mb, maxrss_mb(), status_mb("VmHWM"), rss_steps, double(loss_value));
        return 0;
    }
#endif
    throw spore::error("--rss takes spore" + std::string(SPORE_BENCH_TORCH ? " or torch" : "") + ", found \"" + lib + "\"");
}

std::string self_path() {
    char buffer[4096];
    const ssize_t n = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (n <= 0) throw spore::error("cannot read /proc/self/exe");
    buffer[n] = 0;
    return buffer;
}

// Runs `program --rss lib` and reads its line.
rss_result run_rss_child(const std::string& program, const std::string& lib, const std::string& dir) {
    const std::string command = "'" + program + "' --rss " + lib + " --data '" + dir + "'";
    std::FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) throw spore::error("cannot run " + command);
    rss_result r;
    char line[1024];
    while (std::fgets(line, sizeof line, pipe)) {
        const std::string text(line);
        if (text.rfind("rss ", 0) != 0) continue;
        r.line = text.substr(0, text.find_last_not_of('\n') + 1);
        if (auto p = text.find("start_MB="); p != std::string::npos) r.start_mb = std::atof(text.c_str() + p + 9);
        if (auto p = text.find("data_MB="); p != std::string::npos) r.data_mb = std::atof(text.c_str() + p + 8);
        if (auto p = text.find("peak_MB="); p != std::string::npos) r.peak_mb = std::atof(text.c_str() + p + 8);
    }
    const int status = pclose(pipe);
    if (status != 0 || r.line.empty()) r.line = command + ": failed (status " + std::to_string(status) + ")";
    else r.line += " (" + program.substr(program.rfind('/') + 1) + ")";
    return r;
}

// ---------------------------------------------------------------------------------------
// Both libraries from the same weights on the same batches: the first training losses, and
// the logits of 256 test images in evaluation mode.
void check_agreement(fixture& f) {
    std::printf("same weights, same batches:\n");
#if SPORE_BENCH_TORCH
    use_threads(library::spore, 1);
    use_threads(library::torch, 1);
    double worst_loss = 0;
    std::printf("  training loss, step 1..3: ");
    for (int s = 0; s < 3; ++s) {
        const float a = f.spore_train->step(), b = f.torch_train->step();
        worst_loss = std::max(worst_loss, double(std::fabs(a - b)));
        std::printf("spore %.6f torch %.6f%s", double(a), double(b), s < 2 ? "; " : "\n");
    }
    torch::NoGradGuard no_grad;
    const auto& ours = spore_logits(f.spore_infer_net, f.many);
    auto theirs = f.torch_infer_net->forward(f.torch_many).contiguous();
    const float* t = theirs.data_ptr<float>();
    double worst_logit = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) worst_logit = std::max(worst_logit, double(std::fabs(ours.data()[i] - t[i])));
    std::printf("  max |loss difference| %.2g, max |logit difference| over 256 test images %.2g\n", worst_loss, worst_logit);
    if (worst_loss > 1e-3 || worst_logit > 1e-3)
        throw spore::error("spore and torch disagree on the same weights and batches: the comparison would be meaningless");
#else
    std::printf("  (no torch in this build) training loss, step 1..3: ");
    for (int s = 0; s < 3; ++s) std::printf("%.6f%s", double(f.spore_train->step()), s < 2 ? ", " : "\n");
#endif
}

void print_summary(const recording_reporter& r, const std::vector<rss_result>& rss) {
    auto ratio = [](double a, double b) { return std::isfinite(a) && std::isfinite(b) && b != 0 ? a / b : NAN; };
    std::printf("\nsummary: medians over repetitions (%zu of lenet/train/spore/1)\n", r.repetitions("lenet/train/spore/1"));
    std::printf("  %-36s %12s %12s %12s\n", "", "spore", "torch", "spore/torch");
    struct row {
        const char* label;
        const char* kind;  // lenet/<kind>/<library>/<threads>
        const char* threads;
        const char* counter;
    };
    const row rows[] = {
        {"train images/s, 1 thread", "train", "1", "images/s"},
        {"train images/s, 2 threads", "train", "2", "images/s"},
        {"inference batch 1, median us", "infer1", "1", "median_us"},
        {"inference batch 256, images/s", "infer256", "1", "images/s"},
    };
    for (const auto& w : rows) {
        auto name = [&](const char* lib) { return std::string("lenet/") + w.kind + "/" + lib + "/" + w.threads; };
        const double s = r.value(name("spore"), w.counter);
        const double t = r.value(name("torch"), w.counter);
        if (std::isnan(s) && std::isnan(t)) continue;
        std::printf("  %-36s %12.1f %12.1f %11.2fx\n", w.label, s, t, ratio(s, t));
    }
    const double s2 = ratio(r.value("lenet/train/spore/2", "images/s"), r.value("lenet/train/spore/1", "images/s"));
    const double t2 = ratio(r.value("lenet/train/torch/2", "images/s"), r.value("lenet/train/torch/1", "images/s"));
    if (!std::isnan(s2) || !std::isnan(t2))
        std::printf("  %-36s %12.2f %12.2f\n", "2-thread speed-up of training", s2, t2);
    if (!rss.empty()) {
        std::printf("  %-36s %12.1f %12.1f %11.2fx   (%zu steps; target for spore <= 100 MB)\n", "peak RSS of training, MB",
                    rss[0].peak_mb, rss.size() > 1 ? rss[1].peak_mb : NAN, ratio(rss[0].peak_mb, rss.size() > 1 ? rss[1].peak_mb : NAN),
                    rss_steps);
        std::printf("  %-36s %12.1f %12.1f\n", "  at the start (program, libraries), MB", rss[0].start_mb,
                    rss.size() > 1 ? rss[1].start_mb : NAN);
        std::printf("  %-36s %12.1f %12.1f\n", "  after loading the data, MB", rss[0].data_mb,
                    rss.size() > 1 ? rss[1].data_mb : NAN);
        for (const auto& x : rss) std::printf("  %s\n", x.line.c_str());
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

// This program's own flags (--data, --rss, --no-rss) out of argv; Google Benchmark's stay.
struct options {
    std::string data = default_data, rss;
    bool measure_rss = true;
};
options take_own_flags(int& argc, char** argv) {
    options o;
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw spore::error("missing value after " + flag);
            return argv[++i];
        };
        if (flag == "--data") o.data = value();
        else if (flag == "--rss") o.rss = value();
        else if (flag == "--no-rss") o.measure_rss = false;
        else argv[kept++] = argv[i];
    }
    argc = kept;
    argv[argc] = nullptr;
    return o;
}

bool has_flag(int argc, char** argv, const char* prefix) {
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) try {
#if SPORE_BENCH_TORCH
    // OpenBLAS reads these when it loads, so they take effect only in a new process image.
    bool restart = false;
    if (!std::getenv("OPENBLAS_CORETYPE") && has_avx512()) restart = setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) == 0;
    if (!std::getenv("OPENBLAS_NUM_THREADS")) restart = setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0 || restart;
    if (restart) {
        execv("/proc/self/exe", argv);
        std::perror("bench_lenet: execv /proc/self/exe (continuing without the OpenBLAS settings)");
    }
#else
    (void)has_avx512;
#endif
    options opt = take_own_flags(argc, argv);
    if (!opt.rss.empty()) return rss_child(opt.rss, opt.data);

    // Interleaved repetitions unless asked otherwise: the machine drifts 20-40% in minutes.
    std::vector<char*> args(argv, argv + argc);
    std::string repetitions = "--benchmark_repetitions=5", interleave = "--benchmark_enable_random_interleaving=true",
                aggregates = "--benchmark_display_aggregates_only=true";
    if (!has_flag(argc, argv, "--benchmark_repetitions")) args.push_back(repetitions.data());
    if (!has_flag(argc, argv, "--benchmark_enable_random_interleaving")) args.push_back(interleave.data());
    if (!has_flag(argc, argv, "--benchmark_display_aggregates_only") && !has_flag(argc, argv, "--benchmark_report_aggregates_only"))
        args.push_back(aggregates.data());
    int count = int(args.size());
    args.push_back(nullptr);
    benchmark::Initialize(&count, args.data());
    if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

    std::printf("LeNet-5, Fashion-MNIST from %s, batch %zu, SGD lr %g momentum %g, cross-entropy\n", opt.data.c_str(), batch,
                double(lr), double(momentum));
    std::printf("spore: %s, %zu cores available, logits by %s\n", xsimd::default_arch::name(), spore::kernels::available_cores(),
                SPORE_BENCH_PREDICT ? "spore::predict" : "spore::compile (spore::Model's evaluation)");
#if SPORE_BENCH_TORCH
    std::printf("torch %s; OpenBLAS: %s\n  mkldnn (oneDNN) %s; OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=%s\n%s", TORCH_VERSION,
                openblas_description().c_str(), at::globalContext().userEnabledMkldnn() && at::hasMKLDNN() ? "on" : "off",
                std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "(unset)",
                std::getenv("OPENBLAS_NUM_THREADS") ? std::getenv("OPENBLAS_NUM_THREADS") : "(unset)", torch_build_lines().c_str());
    std::printf("torch's threads (at::get_parallel_info):\n%s", at::get_parallel_info().c_str());
    // An OPENBLAS_CORETYPE from the environment is obeyed (seen: machines exporting Haswell).
    if (const std::string blas = openblas_description();
        has_avx512() && blas.find("SkylakeX") == std::string::npos && blas.find("Cooperlake") == std::string::npos)
        std::printf("warning: this CPU has AVX-512 but OpenBLAS is not on its SkylakeX kernel: run with "
                    "OPENBLAS_CORETYPE=SkylakeX to compare against LibTorch at its best\n");
#endif
    std::fflush(stdout);

    fixture f(opt.data);
    shared = &f;
    check_agreement(f);
    std::fflush(stdout);

    register_all();
    recording_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);

    std::vector<rss_result> rss;
    if (opt.measure_rss) {
        const std::string self = self_path();
        // spore's child from the spore-only build next to this program when there is one, so
        // its memory holds no torch libraries
        std::string spore_program = self;
        const std::string sibling = self.substr(0, self.rfind('/') + 1) + "bench_lenet_spore";
        if (SPORE_BENCH_TORCH && access(sibling.c_str(), X_OK) == 0) spore_program = sibling;
        rss.push_back(run_rss_child(spore_program, "spore", opt.data));
        if (SPORE_BENCH_TORCH) rss.push_back(run_rss_child(self, "torch", opt.data));
    }
    print_summary(reporter, rss);
    benchmark::Shutdown();
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_lenet: %s\n", e.what());
    return 1;
}
