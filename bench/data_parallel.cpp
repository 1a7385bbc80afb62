// Data-parallel LeNet-5 training speed on Fashion-MNIST: images/s over all ranks, time per
// step, and what the gradient exchange costs; then the time of one allreduce by message size,
// the input of docs/scaling.md's model. Each rank runs 1 thread unless --threads says otherwise.
//
//   mpirun -np 1 build/release/bench/bench_data_parallel
//   mpirun -np 2 build/release/bench/bench_data_parallel
//
// Flags: --steps N (timed steps per configuration, 200) --repeats N (rounds over all
// configurations, interleaved; medians are printed, 7) --threads N (1) --data DIR.
// Configurations, for a local batch of 32 (weak scaling: the global batch grows with the
// ranks) and of 16 (with 2 ranks, the global batch of 32 of one process):
//   solo       rank 0 trains alone while the other ranks sleep: the 1-rank speed, measured in
//              the same run as the others (this machine's speed drifts by 20-40% within
//              minutes, so only interleaved measurements compare)
//   alone      each rank trains on its own, nothing exchanged (the compute time of a step)
//   after      the allreduce of all gradients after the backward pass (1 bucket)
//   overlap    buckets started during the backward pass (1 MB buckets: 1 for LeNet)
//   overlap-3  the same with 64 KB buckets (3 for LeNet)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <spore/parallel/mpi.hpp>
#include <spore/spore.hpp>

#include "../examples/lenet/lenet5.hpp"

namespace nn = spore::nn;
namespace parallel = spore::parallel;
using spore::shape;
using spore::tensor;

namespace {

constexpr std::size_t classes = 10, side = 32;
struct images_tag;
struct labels_tag;

struct options {
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::size_t steps = 200, repeats = 7, threads = 1;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) throw spore::error("missing value after " + flag);
        const std::string value = argv[++i];
        if (flag == "--data") o.data = value;
        else if (flag == "--steps") o.steps = std::stoul(value);
        else if (flag == "--repeats") o.repeats = std::stoul(value);
        else if (flag == "--threads") o.threads = std::stoul(value);
        else throw spore::error("unknown flag " + flag + " (flags: --steps --repeats --threads --data)");
    }
    return o;
}

enum class config { solo, alone, after, overlap, overlap3 };
constexpr config configs[] = {config::solo, config::alone, config::after, config::overlap, config::overlap3};
const char* name(config c) {
    switch (c) {
        case config::solo: return "solo";
        case config::alone: return "alone";
        case config::after: return "after";
        case config::overlap: return "overlap";
        case config::overlap3: return "overlap-3";
    }
    return "";
}

struct measurement {
    double images_per_second = 0, step_ms = 0, wait_ms = 0;
};

template <std::size_t B>
auto make_program(LeNet5& net) {
    auto xi = spore::expr::placeholder<images_tag, float, shape<B, 1, side, side>>();
    auto yi = spore::expr::placeholder<labels_tag, float, shape<B, classes>>();
    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(xi), yi);
    return std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, nn::parameters(net));
}

// One local batch size: the program, its reducers and the timed loop.
template <std::size_t B>
struct bench {
    const spore::data::labelled_images& set;
    parallel::context& ctx;
    LeNet5 net;
    tensor<float, shape<B, 1, side, side>> x;
    tensor<float, shape<B, classes>> y;

    using program_type = decltype(make_program<B>(std::declval<LeNet5&>()));
    program_type program;
    parallel::gradient_reducer<program_type> after, overlap, overlap3;
    spore::optim::momentum_state<decltype(nn::parameters(std::declval<LeNet5&>()))> optimizer;
    std::vector<std::size_t> order;
    std::size_t epoch = 0, next_step = 0;

    bench(const spore::data::labelled_images& s, parallel::context& c)
        : set(s), ctx(c), net(initialised()), program(make_program<B>(net)), after(ctx, program, {.overlap = false}),
          overlap(ctx, program, {.overlap = true}), overlap3(ctx, program, {.bucket_bytes = 64 << 10, .overlap = true}),
          optimizer({.lr = 0.01f, .momentum = 0.9f}, nn::parameters(net)), order(s.count) {
        program.template feed<images_tag>(x);
        program.template feed<labels_tag>(y);
        parallel::broadcast_parameters(net, ctx);
        reshuffle();
    }
    static LeNet5 initialised() {
        LeNet5 n;
        spore::init(n, 1);
        return n;
    }
    void reshuffle() {
        std::iota(order.begin(), order.end(), 0);
        spore::random_engine rng(epoch++);
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
        next_step = 0;
    }
    // The next batch of this rank's shard; a new epoch when this one is used up.
    void fill_next() {
        auto shard = parallel::epoch_shard(order, B, std::size_t(ctx.global_rank()), std::size_t(ctx.device_num()),
                                           {.drop_remainder = true});
        if (next_step >= shard.steps()) {
            reshuffle();
            shard = parallel::epoch_shard(order, B, std::size_t(ctx.global_rank()), std::size_t(ctx.device_num()),
                                          {.drop_remainder = true});
        }
        const auto items = shard.batch(next_step++);
        constexpr float mean = 0.2860f, stddev = 0.3530f;
        const std::size_t pad = (side - set.rows) / 2;
        x.fill(-mean / stddev);
        y.fill(0.0f);
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::uint8_t* pixels = set.pixels.data() + items[i] * set.rows * set.cols;
            for (std::size_t r = 0; r < set.rows; ++r)
                for (std::size_t c = 0; c < set.cols; ++c)
                    x(i, 0, r + pad, c + pad) = (pixels[r * set.cols + c] / 255.0f - mean) / stddev;
            y(i, set.labels[items[i]]) = 1.0f;
        }
    }
    void step(config c) {
        fill_next();
        switch (c) {
            case config::solo:
            case config::alone:
                program.run();
                optimizer.step(program.gradients());
                break;
            case config::after:
                after.run();
                optimizer.step(after.gradients());
                break;
            case config::overlap:
                overlap.run();
                optimizer.step(overlap.gradients());
                break;
            case config::overlap3:
                overlap3.run();
                optimizer.step(overlap3.gradients());
                break;
        }
    }
    double last_wait(config c) const {
        return c == config::after ? after.last_wait_seconds() : c == config::overlap ? overlap.last_wait_seconds()
               : c == config::overlap3 ? overlap3.last_wait_seconds() : 0.0;
    }
    measurement measure(config c, std::size_t steps) {
        const bool active = c != config::solo || ctx.is_main();
        for (std::size_t i = 0; active && i < 10; ++i) step(c);  // warm up this configuration
        ctx.barrier();
        double waited = 0;
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t i = 0; active && i < steps; ++i) {
            step(c);
            waited += last_wait(c);
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ctx.barrier();  // the sleeping ranks wait here, backing off to sleeps
        const bool one = c == config::solo || c == config::alone;  // one rank's speed
        const double ranks = one ? 1.0 : double(ctx.device_num());
        // rank 0's clock (the others' equal it but for solo)
        double rank0_seconds = ctx.sum(ctx.is_main() ? seconds : 0.0);
        return {double(steps * B) * ranks / rank0_seconds, 1e3 * rank0_seconds / double(steps),
                1e3 * ctx.sum(waited) / ctx.device_num() / double(steps)};
    }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Median time of one blocking allreduce of `count` floats.
double allreduce_seconds(parallel::context& ctx, std::size_t count) {
    std::vector<float> buffer(count, 1.0f);
    const int reps = count > 100000 ? 50 : 200;
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
        MPI_Barrier(ctx.communicator());
        const auto start = std::chrono::steady_clock::now();
        MPI_Allreduce(MPI_IN_PLACE, buffer.data(), int(count), MPI_FLOAT, MPI_SUM, ctx.communicator());
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return median(times);
}

template <std::size_t B>
void run_batch(bench<B>& b, const options& o) {
    constexpr std::size_t n = std::size(configs);
    std::vector<std::vector<double>> ips(n), step_ms(n), wait_ms(n), over_solo(n);
    for (std::size_t r = 0; r < o.repeats; ++r) {
        measurement round[n];
        for (config c : configs) round[std::size_t(c)] = b.measure(c, o.steps);
        for (config c : configs) {
            const auto k = std::size_t(c);
            ips[k].push_back(round[k].images_per_second);
            step_ms[k].push_back(round[k].step_ms);
            wait_ms[k].push_back(round[k].wait_ms);
            over_solo[k].push_back(round[k].images_per_second / round[0].images_per_second);
        }
    }
    if (!b.ctx.is_main()) return;
    for (config c : configs) {
        const auto k = std::size_t(c);
        const bool one = c == config::solo || c == config::alone;
        std::printf("ranks %d  local batch %2zu  global batch %3zu  %-9s  %8.0f images/s  %6.3f ms/step  exchange after backward %6.3f ms/step"
                    "  %5.2fx solo (%.2f-%.2f)\n",
                    b.ctx.device_num(), B, one ? B : B * std::size_t(b.ctx.device_num()), name(c), median(ips[k]), median(step_ms[k]),
                    median(wait_ms[k]), median(over_solo[k]), *std::min_element(over_solo[k].begin(), over_solo[k].end()),
                    *std::max_element(over_solo[k].begin(), over_solo[k].end()));
    }
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
    const options o = parse(argc, argv);
    parallel::context ctx({.parallel_mode = parallel::mode::data_parallel});
    spore::set_num_threads(o.threads);
    const std::string dir = o.data + "/";
    const auto train = spore::data::read_idx_images(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz");
    if (ctx.is_main())
        std::printf("bench_data_parallel: %d ranks x %zu threads, %zu steps per configuration, median of %zu rounds\n",
                    ctx.device_num(), spore::num_threads(), o.steps, o.repeats);
    {
        bench<32> b32(train, ctx);
        if (ctx.is_main()) {
            std::printf("LeNet-5 gradient: %zu floats (%zu bytes); buckets: %zu of 1 MB, %zu of 64 KB\n", nn::parameter_count(b32.net),
                        nn::parameter_count(b32.net) * sizeof(float), b32.overlap.bucket_count(), b32.overlap3.bucket_count());
        }
        run_batch(b32, o);
    }
    {
        bench<16> b16(train, ctx);
        run_batch(b16, o);
    }
    if (ctx.device_num() > 1) {
        for (std::size_t count : {1ul, 256ul, 4096ul, 16384ul, 61706ul, 262144ul, 1048576ul}) {
            const double t = allreduce_seconds(ctx, count);
            if (ctx.is_main()) std::printf("allreduce of %8zu floats (%8zu bytes): %9.1f us\n", count, count * 4, t * 1e6);
        }
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_data_parallel: %s\n", e.what());
    return 1;
}
