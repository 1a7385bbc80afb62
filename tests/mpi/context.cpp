// The parallel context and its collectives, checked on every rank. One scenario per run (MPI
// starts once per process):
//   mpirun -np 2 ./mpi_context                   data_parallel: collectives, reducer, refusals
//   mpirun -np 2 ./mpi_context sum               gradients_mean = false
//   mpirun -np 1 ./mpi_context single            data_parallel on one rank
//   ./mpi_context stand-alone                    no mpirun: stand_alone
//   mpirun -np 2 ./mpi_context bad-device-num    settings that do not match the job
//   mpirun -np 2 ./mpi_context bad-global-rank
#include <cmath>
#include <string>
#include <vector>

#include <spore/parallel/mpi.hpp>
#include <spore/spore.hpp>

#include "mpi_check.hpp"

namespace nn = spore::nn;
namespace parallel = spore::parallel;
using spore::shape;
using spore::tensor;

namespace {

struct Small {
    nn::Dense<3, 2, double> first;
    nn::Dense<2, 4> second;
};

// f = sum(w1*x1) + sum(w2*x2) + sum(w3*x3): the gradients are the x, which each rank sets to
// (rank + 1) * base, with base values k/8 so that every weighted sum below is exact.
struct linear_model {
    tensor<float, shape<40>> w1, x1;
    tensor<float, shape<7, 5>> w2, x2;
    tensor<float, shape<3>> w3, x3;
    std::vector<float> base;

    decltype(spore::compile_grad(spore::sum(w1 * x1) + spore::sum(w2 * x2) + spore::sum(w3 * x3), w1, w2, w3)) program =
        spore::compile_grad(spore::sum(w1 * x1) + spore::sum(w2 * x2) + spore::sum(w3 * x3), w1, w2, w3);

    explicit linear_model(int rank) {
        w1.fill(1.0f);  // the loss is then sum(x): (rank + 1) * sum(base)
        w2.fill(1.0f);
        w3.fill(1.0f);
        std::size_t k = 0;
        auto set = [&](auto& x) {
            for (auto& v : x) {
                base.push_back(float(int(k++ % 17) - 8) / 8.0f);
                v = float(rank + 1) * base.back();
            }
        };
        set(x1);
        set(x2);
        set(x3);
    }
    template <class Reducer>
    bool reduced_equals(const Reducer& reducer, float factor) const {
        std::vector<float> got;
        std::apply([&](const auto&... g) { (got.insert(got.end(), g.begin(), g.end()), ...); }, reducer.gradients());
        if (got.size() != base.size()) return false;
        for (std::size_t i = 0; i < got.size(); ++i)
            if (got[i] != factor * base[i]) return false;
        return true;
    }
    bool loss_equals(float loss, double factor) const {
        double total = 0;
        for (float b : base) total += b;
        return std::abs(double(loss) - factor * total) <= 1e-5 * std::abs(factor * total);
    }
};

void refusals_before_mpi() {
    MPI_CHECK_THROWS(parallel::context({.parallel_mode = parallel::mode::semi_auto_parallel}),
                     "parallel_mode semi_auto_parallel is not available yet; use stand_alone or data_parallel");
    MPI_CHECK_THROWS(parallel::context({.parallel_mode = parallel::mode::auto_parallel}), "auto_parallel is not available yet");
    MPI_CHECK_THROWS(parallel::context({.parallel_mode = parallel::mode::hybrid_parallel}), "hybrid_parallel is not available yet");
    MPI_CHECK_THROWS(parallel::context({.timeout_seconds = 0}), "timeout_seconds must be positive");
    MPI_CHECK_THROWS(parallel::context::current(), "no parallel::context exists");
}

int data_parallel() {
    refusals_before_mpi();
    MPI_CHECK_THROWS(parallel::context({.parallel_mode = parallel::mode::stand_alone}),
                     "parallel_mode stand_alone, but the job has 2 processes");
    parallel::context ctx({.parallel_mode = parallel::mode::data_parallel, .gradients_mean = true, .timeout_seconds = 60});
    const int rank = ctx.global_rank();
    MPI_CHECK(ctx.device_num() == 2);
    MPI_CHECK(ctx.distributed());
    MPI_CHECK(ctx.parallel_mode() == parallel::mode::data_parallel);
    MPI_CHECK(ctx.gradients_mean());
    MPI_CHECK(ctx.is_main() == (rank == 0));
    MPI_CHECK(ctx.where().rfind("rank " + std::to_string(rank) + " of 2", 0) == 0);
    MPI_CHECK(&parallel::context::current() == &ctx);
    MPI_CHECK_THROWS(parallel::context(), "a context exists already");
    MPI_CHECK(ctx.sum(rank + 1) == 3.0);  // and the ranks are 0 and 1

    ctx.check_same(42, "a constant");
    MPI_CHECK_THROWS(ctx.check_same(std::uint64_t(rank), "the rank"), "the ranks disagree on the rank");

    // broadcast: rank 1's own initialisation is replaced by rank 0's
    Small net, expected;
    spore::init(net, rank == 0 ? 5 : 6);
    spore::init(expected, 5);
    parallel::broadcast_parameters(net);
    MPI_CHECK(spore::max_abs_diff(net.first.weight, expected.first.weight) == 0.0);
    MPI_CHECK(spore::max_abs_diff(net.second.bias, expected.second.bias) == 0.0);
    parallel::check_replicas(net);
    net.second.bias[3] += float(rank);  // a drifted replica is caught on every rank
    MPI_CHECK_THROWS(parallel::check_replicas(net), "the replicas have drifted apart");
    // different networks on the two ranks are refused before any byte moves
    nn::Dense<3, 3> other;
    if (rank == 0) MPI_CHECK_THROWS(parallel::broadcast_parameters(net), "parameters' count and sizes");
    else MPI_CHECK_THROWS(parallel::broadcast_parameters(other), "parameters' count and sizes");

    // shard: the same order everywhere is accepted, a different one refused on both ranks
    std::vector<std::size_t> order(100);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = (i * 37) % 100;
    const auto mine = parallel::shard(order, 8);
    MPI_CHECK(mine.steps() == 7);
    MPI_CHECK(mine.batch(0).size() == 8 && mine.batch(0)[0] == order[8 * std::size_t(rank)]);
    MPI_CHECK(mine.batch(6).size() == (rank == 0 ? 4u : 0u));
    if (rank == 1) std::swap(order[3], order[4]);
    MPI_CHECK_THROWS(parallel::shard(order, 8), "the order of the epoch");

    // reducer: the mean over ranks, bucketed or not, overlapped or not, bit for bit
    for (std::size_t bucket_bytes : {std::size_t(64), std::size_t(1) << 20}) {
        for (bool overlap : {true, false}) {
            linear_model m(rank);
            parallel::gradient_reducer reducer(ctx, m.program, {.bucket_bytes = bucket_bytes, .overlap = overlap});
            MPI_CHECK(reducer.bucket_count() == (bucket_bytes == 64 ? 3u : 1u));
            MPI_CHECK(m.loss_equals(reducer.run(), 1.5));  // (1 + 2) / 2, the same on both ranks
            MPI_CHECK(m.reduced_equals(reducer, 1.5f));
            MPI_CHECK(m.loss_equals(reducer.run(rank == 0 ? 3 : 1), 1.25));  // (3 * 1 + 1 * 2) / 4
            MPI_CHECK(m.reduced_equals(reducer, 1.25f));
            MPI_CHECK(m.loss_equals(reducer.run(rank == 0 ? 5 : 0), 1.0));  // rank 1 has no rows: rank 0's alone
            MPI_CHECK(m.reduced_equals(reducer, 1.0f));
            MPI_CHECK(reducer.last_wait_seconds() >= 0);
        }
    }
    {
        linear_model m(rank);
        parallel::gradient_reducer reducer(ctx, m.program);
        MPI_CHECK_THROWS(reducer.run(0), "no rank had a row in this step");
        MPI_CHECK_THROWS(parallel::gradient_reducer(ctx, m.program, {.bucket_bytes = 1}), "bucket_bytes must hold one element");
    }
    // different programs on the two ranks are refused on both
    {
        tensor<float, shape<4>> a, b;
        tensor<float, shape<5>> c;
        auto pa = spore::compile_grad(spore::sum(a * a), a);
        auto pc = spore::compile_grad(spore::sum(c * c), c);
        if (rank == 0) MPI_CHECK_THROWS(parallel::gradient_reducer(ctx, pa), "the gradients and their buckets");
        else MPI_CHECK_THROWS(parallel::gradient_reducer(ctx, pc), "the gradients and their buckets");
        (void)b;
    }
    return spore_mpi_test::finish(ctx, "mpi_context");
}

int gradients_summed() {
    parallel::context ctx({.gradients_mean = false});
    MPI_CHECK(!ctx.gradients_mean());
    linear_model m(ctx.global_rank());
    parallel::gradient_reducer reducer(ctx, m.program, {.bucket_bytes = 64});
    MPI_CHECK(m.loss_equals(reducer.run(), 1.5));  // the loss is still the mean
    MPI_CHECK(m.reduced_equals(reducer, 3.0f));    // the gradients the sum: 1 + 2
    reducer.run(ctx.global_rank() == 0 ? 3 : 1);    // summed: rows do not weigh
    MPI_CHECK(m.reduced_equals(reducer, 3.0f));
    reducer.run(ctx.global_rank() == 0 ? 4 : 0);
    MPI_CHECK(m.reduced_equals(reducer, 1.0f));
    return spore_mpi_test::finish(ctx, "mpi_context sum");
}

// One rank (data_parallel under mpirun -np 1, or stand_alone): everything is the identity.
int one_rank(parallel::mode mode) {
    refusals_before_mpi();
    parallel::context ctx({.parallel_mode = mode, .device_num = 1, .global_rank = 0});
    MPI_CHECK(ctx.device_num() == 1 && ctx.global_rank() == 0 && ctx.is_main());
    MPI_CHECK(ctx.distributed() == (mode == parallel::mode::data_parallel));
    MPI_CHECK(ctx.sum(2.5) == 2.5);
    ctx.check_same(7, "a value");
    ctx.barrier();
    Small net, expected;
    spore::init(net, 5);
    spore::init(expected, 5);
    parallel::broadcast_parameters(net);
    parallel::check_replicas(net);
    MPI_CHECK(spore::max_abs_diff(net.first.weight, expected.first.weight) == 0.0);
    std::vector<std::size_t> order(10);
    MPI_CHECK(parallel::shard(order, 4).steps() == 3);
    linear_model m(0);
    parallel::gradient_reducer reducer(ctx, m.program, {.bucket_bytes = 64});
    reducer.run();
    MPI_CHECK(m.reduced_equals(reducer, 1.0f));
    MPI_CHECK(m.loss_equals(reducer.run(2), 1.0));
    MPI_CHECK(m.reduced_equals(reducer, 1.0f));
    return spore_mpi_test::finish(ctx, mode == parallel::mode::data_parallel ? "mpi_context single" : "mpi_context stand-alone");
}

// Settings that do not match the job are refused on every rank, which then all stop cleanly.
int refused(const parallel::auto_parallel_context& settings, const char* text_here, const char* text_elsewhere) {
    int rank = -1;
    try {
        parallel::context ctx(settings);
        spore_mpi_test::fail(__FILE__, __LINE__, "the context was created");
        rank = ctx.global_rank();
    } catch (const spore::error& e) {
        const std::string what = e.what();
        if (what.find(text_here) == std::string::npos && what.find(text_elsewhere) == std::string::npos)
            spore_mpi_test::fail(__FILE__, __LINE__, "unexpected message: " + what);
    }
    (void)rank;
    if (spore_mpi_test::failures() == 0) std::printf("refused as expected\n");
    return spore_mpi_test::failures() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string scenario = argc > 1 ? argv[1] : "data-parallel";
    if (scenario == "data-parallel") return data_parallel();
    if (scenario == "sum") return gradients_summed();
    if (scenario == "single") return one_rank(parallel::mode::data_parallel);
    if (scenario == "stand-alone") return one_rank(parallel::mode::stand_alone);
    if (scenario == "bad-device-num")
        return refused({.device_num = 3}, "device_num 3 was asked for, but the job has 2 processes (mpirun -np)", "device_num 3");
    if (scenario == "bad-global-rank")
        return refused({.global_rank = 0}, "global_rank 0 was asked for, but MPI numbers this process 1",
                       "another rank refused the parallel settings");
    std::fprintf(stderr, "mpi_context: unknown scenario %s\n", scenario.c_str());
    return 2;
}
