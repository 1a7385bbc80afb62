// Data parallelism changes nothing but the speed: 2 ranks with a local batch of 16 end with the
// weights 1 process with a batch of 32 reaches on the same data order, after 50 steps of
// momentum SGD on LeNet-5 (crossing an epoch whose last step is partial: 8 rows, all on rank 0).
// Run: mpirun -np 2 ./mpi_equivalence
#include <cmath>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include <spore/io/atomic_file.hpp>
#include <spore/parallel/mpi.hpp>
#include <spore/spore.hpp>

#include "../../examples/lenet/lenet5.hpp"

#include "mpi_check.hpp"

namespace nn = spore::nn;
namespace parallel = spore::parallel;
using spore::shape;
using spore::tensor;

namespace {

constexpr std::size_t samples = 1000, classes = 10, side = 32, local_batch = 16, global_batch = 32, steps = 50;
constexpr float lr = 0.05f, momentum = 0.9f;

struct data_set {
    std::vector<float> images = std::vector<float>(samples * side * side);
    std::vector<std::size_t> labels = std::vector<std::size_t>(samples);
    data_set() {
        spore::random_engine rng(2024);
        for (auto& p : images) p = float(rng.uniform(-1, 1));
        // labels a small network can learn a little of: the sign pattern of four pixel sums
        for (std::size_t i = 0; i < samples; ++i) {
            const float* img = images.data() + i * side * side;
            std::size_t label = 0;
            for (std::size_t q = 0; q < 3; ++q) label = 2 * label + (std::accumulate(img + q * 300, img + q * 300 + 300, 0.0f) > 0);
            labels[i] = label + (img[0] > 0.8f ? 2 : 0);
        }
    }
};

std::vector<std::size_t> epoch_order(std::size_t epoch) {
    std::vector<std::size_t> order(samples);
    std::iota(order.begin(), order.end(), 0);
    spore::random_engine rng(100 + epoch);
    for (std::size_t i = samples; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    return order;
}

struct images_tag;
struct labels_tag;
struct weights_tag;

enum class weighting { whole_batch, real_rows };

// The loss of batch B is sum(row_loss * row_weight): a row weight of 1/B is the usual mean
// over the static batch (padding rows have zero targets, so they add 0); 1/n on the n real
// rows is the mean over real rows (what labels of -1 give).
template <std::size_t B>
auto make_program(LeNet5& net) {
    auto xi = spore::expr::placeholder<images_tag, float, shape<B, 1, side, side>>();
    auto yi = spore::expr::placeholder<labels_tag, float, shape<B, classes>>();
    auto wi = spore::expr::placeholder<weights_tag, float, shape<B>>();
    auto loss = spore::sum(-spore::sum<1>(spore::log_softmax(net.construct(xi)) * yi) * wi);
    return std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, nn::parameters(net));
}

template <std::size_t B>
struct trainer {
    LeNet5& net;
    tensor<float, shape<B, 1, side, side>> x;
    tensor<float, shape<B, classes>> y;
    tensor<float, shape<B>> w;
    decltype(make_program<B>(std::declval<LeNet5&>())) program;

    explicit trainer(LeNet5& n) : net(n), program(make_program<B>(n)) {
        program.template feed<images_tag>(x);
        program.template feed<labels_tag>(y);
        program.template feed<weights_tag>(w);
    }
    void fill(const data_set& data, std::span<const std::size_t> items, weighting how) {
        x.fill(0.0f);
        y.fill(0.0f);
        w.fill(how == weighting::whole_batch ? 1.0f / float(B) : 0.0f);
        for (std::size_t r = 0; r < items.size(); ++r) {
            std::copy_n(data.images.data() + items[r] * side * side, side * side, x.data() + r * side * side);
            y(r, data.labels[items[r]]) = 1.0f;
            if (how == weighting::real_rows) w(r) = 1.0f / float(items.size());
        }
    }
};

// The single-process reference: batch B over each epoch's order, `steps` steps.
template <std::size_t B>
void train_alone(LeNet5& net, const data_set& data, weighting how, std::size_t count = steps) {
    trainer<B> t(net);
    spore::optim::optimizer optimizer(spore::optim::Momentum{.lr = lr, .momentum = momentum}, nn::parameters(net));
    std::size_t done = 0;
    for (std::size_t epoch = 0; done < count; ++epoch) {
        const auto order = epoch_order(epoch);
        const parallel::epoch_shard all(order, B, 0, 1);
        for (std::size_t s = 0; s < all.steps() && done < count; ++s, ++done) {
            t.fill(data, all.batch(s), how);
            t.program.run();
            optimizer.step(t.program.gradients());
        }
    }
}

void train_parallel(LeNet5& net, const data_set& data, weighting how, parallel::context& ctx, parallel::reducer_options options) {
    trainer<local_batch> t(net);
    parallel::gradient_reducer reducer(ctx, t.program, options);
    // 64 KB buckets: fc3 with fc2 and fc1's bias, fc1's weight alone (192 KB), then the convolutions
    MPI_CHECK(reducer.bucket_count() == (options.bucket_bytes == (64 << 10) ? 3 : 1));
    spore::optim::optimizer optimizer(spore::optim::Momentum{.lr = lr, .momentum = momentum}, nn::parameters(net));
    std::size_t done = 0;
    for (std::size_t epoch = 0; done < steps; ++epoch) {
        const auto order = epoch_order(epoch);
        const auto mine = parallel::shard(order, local_batch, ctx);
        MPI_CHECK(mine.global_batch() == global_batch);
        for (std::size_t s = 0; s < mine.steps() && done < steps; ++s, ++done) {
            const auto items = mine.batch(s);
            t.fill(data, items, how);
            const float loss = how == weighting::whole_batch ? reducer.run() : reducer.run(items.size());
            MPI_CHECK(std::isfinite(loss));
            optimizer.step(reducer.gradients());
        }
    }
}

// max |a - b| over max |b|, over all parameters.
double relative_difference(const LeNet5& a, const LeNet5& b) {
    std::vector<const float*> pa;
    nn::for_each_parameter(a, [&](const auto& t) { pa.push_back(t.data()); });
    double diff = 0, top = 0;
    std::size_t k = 0;
    nn::for_each_parameter(b, [&](const auto& t) {
        for (std::size_t i = 0; i < t.size(); ++i) {
            diff = std::max(diff, double(std::abs(pa[k][i] - t[i])));
            top = std::max(top, double(std::abs(t[i])));
        }
        ++k;
    });
    return diff / top;
}

std::string weights_bytes(const LeNet5& net) {
    std::string bytes;
    nn::for_each_parameter(net, [&](const auto& t) { bytes.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(float)); });
    return bytes;
}

}  // namespace

int main() {
    parallel::context ctx({.parallel_mode = parallel::mode::data_parallel, .gradients_mean = true, .device_num = 2});
    const data_set data;
    const double tolerance = 2e-5;
    const std::string checkpoint = "mpi_equivalence_" + std::to_string(::getppid()) + ".bin";

    struct scenario {
        const char* name;
        weighting how;
        parallel::reducer_options options;
    };
    const scenario scenarios[] = {
        {"mean over the static batch, overlapped, 3 buckets", weighting::whole_batch, {.bucket_bytes = 64 << 10, .overlap = true}},
        {"mean over the real rows, after the backward pass, 1 bucket", weighting::real_rows, {.bucket_bytes = 1 << 20, .overlap = false}},
    };
    for (const auto& sc : scenarios) {
        LeNet5 net;
        spore::init(net, ctx.global_rank() == 0 ? 1 : 99);  // rank 1 starts elsewhere: the broadcast fixes it
        parallel::broadcast_parameters(net);
        parallel::check_replicas(net);
        train_parallel(net, data, sc.how, ctx, sc.options);
        parallel::check_replicas(net);  // throws on both ranks if they drifted apart

        // Rank 0 writes the checkpoint; rank 1 finds in it exactly its own weights.
        if (ctx.is_main()) spore::io::write_file_atomically(checkpoint, weights_bytes(net));
        ctx.barrier();
        {
            std::ifstream in(checkpoint, std::ios::binary);
            const std::string on_disk{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            MPI_CHECK(on_disk == weights_bytes(net));
        }
        ctx.barrier();
        if (ctx.is_main()) {
            std::remove(checkpoint.c_str());
            LeNet5 alone;
            spore::init(alone, 1);
            train_alone<global_batch>(alone, data, sc.how);
            const double same = relative_difference(net, alone);
            std::printf("%s: 2 ranks x 16 vs 1 x 32 differ by %.3g of the largest weight\n", sc.name, same);
            MPI_CHECK(same < tolerance);
            if (&sc == scenarios) {
                // The control: one process with batch 16 (no averaging of two halves) ends far away.
                LeNet5 half;
                spore::init(half, 1);
                train_alone<local_batch>(half, data, sc.how);
                const double apart = relative_difference(half, alone);
                std::printf("  the control, 1 x 16 vs 1 x 32, differs by %.3g\n", apart);
                MPI_CHECK(apart > 100 * tolerance);
            }
        }
    }
    return spore_mpi_test::finish(ctx, "mpi_equivalence");
}
