// spore::Model with parallel::data_parallel: 2 ranks with a batch of 8 each train, in one epoch,
// what 1 process with a batch of 16 trains when its batches are the two ranks' batches side by
// side (the Model gives each rank a contiguous slice of the epoch's order). 101 images, so the
// slices are 50 and 51 long and the last step has 2 rows on rank 0 and 3 on rank 1: the
// exchange weighs them by rows. Run: mpirun -np 2 ./mpi_model
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include <spore/parallel/mpi.hpp>
#include <spore/spore.hpp>

#include "mpi_check.hpp"

namespace nn = spore::nn;
namespace parallel = spore::parallel;

namespace {

struct Mlp {
    nn::Dense<64, 16> fc1;
    nn::Dense<16, 4> fc2;
    auto construct(auto x) const { return fc2(nn::relu(fc1(nn::flatten(x)))); }
};

constexpr std::size_t images = 101, side = 8, classes = 4, batch = 8;
constexpr std::uint64_t shuffle_seed = 3;

spore::data::labelled_images make_images(const std::vector<std::size_t>& items) {
    spore::data::labelled_images set;
    set.count = items.size();
    set.rows = set.cols = side;
    spore::random_engine rng(11);
    std::vector<std::uint8_t> pixels(images * side * side), labels(images);
    for (auto& p : pixels) p = std::uint8_t(rng.below(256));
    for (std::size_t i = 0; i < images; ++i) labels[i] = std::uint8_t((pixels[i * side * side] / 64 + i) % classes);
    for (std::size_t item : items) {
        set.pixels.insert(set.pixels.end(), pixels.begin() + std::ptrdiff_t(item * side * side),
                          pixels.begin() + std::ptrdiff_t((item + 1) * side * side));
        set.labels.push_back(labels[item]);
    }
    return set;
}

spore::data::image_set as_set(const std::vector<std::size_t>& items) {
    return spore::data::image_set(make_images(items), {}, classes, "synthetic");
}

template <class M>
void quiet(M& model) {
    model.options().progress = spore::train::progress_mode::silent;
}

double relative_difference(const Mlp& a, const Mlp& b) {
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

}  // namespace

int main() {
    parallel::context ctx({.parallel_mode = parallel::mode::data_parallel, .device_num = 2});
    std::vector<std::size_t> identity(images);
    std::iota(identity.begin(), identity.end(), 0);
    const auto set = as_set(identity);
    const spore::optim::Momentum sgd{.lr = 0.2f, .momentum = 0.9f};

    double parallel_loss[2] = {0, 0};
    Mlp nets[2];
    for (int overlapped = 0; overlapped < 2; ++overlapped) {
        Mlp& net = nets[overlapped];
        spore::init(net, ctx.global_rank() == 0 ? 1 : 2);
        parallel::broadcast_parameters(net);
        if (overlapped) {
            auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, sgd, spore::batch<batch>, spore::input_shape<1, side, side>,
                                      parallel::data_parallel(ctx));
            quiet(model);
            model.options().seed = shuffle_seed;
            MPI_CHECK(model.distribution().reporting() == ctx.is_main());
            parallel_loss[1] = model.train(1, set).back().train_loss;
        } else {
            // A policy without run_step: the Model runs the program, then after_backward exchanges.
            struct after_only : parallel::data_parallel {
                using parallel::data_parallel::data_parallel;
                void run_step() = delete;  // hides the overlapped hook
            };
            auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, sgd, spore::batch<batch>, spore::input_shape<1, side, side>,
                                      after_only(ctx));
            quiet(model);
            model.options().seed = shuffle_seed;
            parallel_loss[0] = model.train(1, set).back().train_loss;
        }
        parallel::check_replicas(net);
    }
    // Overlapped or not, the same bits.
    MPI_CHECK(relative_difference(nets[0], nets[1]) == 0.0);
    MPI_CHECK(parallel_loss[0] == parallel_loss[1]);

    // Evaluation is shared out and summed: both ranks see the metrics of the whole set.
    {
        auto model = spore::Model(nets[1], nn::SoftmaxCrossEntropy{}, sgd, spore::batch<batch>, spore::input_shape<1, side, side>,
                                  parallel::data_parallel(ctx));
        const auto m = model.evaluate(set);
        MPI_CHECK(m.count == images);
        auto alone = spore::Model(nets[1], nn::SoftmaxCrossEntropy{}, sgd, spore::batch<batch>, spore::input_shape<1, side, side>);
        const auto reference = alone.evaluate(set);
        MPI_CHECK(m.accuracy == reference.accuracy);
        MPI_CHECK(std::abs(m.loss - reference.loss) <= 1e-5 * std::abs(reference.loss));
    }

    if (ctx.is_main()) {
        // The single process: batches of 16, each rank 0's batch then rank 1's, in one epoch.
        std::vector<std::size_t> order(images);
        spore::data::shuffled_order(order, shuffle_seed, 0);
        const auto [b0, e0] = spore::data::shard_bounds(images, {0, 2});
        const auto [b1, e1] = spore::data::shard_bounds(images, {1, 2});
        std::vector<std::size_t> side_by_side;
        for (std::size_t s = 0; s * batch < e1 - b1; ++s) {
            for (std::size_t i = b0 + s * batch; i < std::min(e0, b0 + (s + 1) * batch); ++i) side_by_side.push_back(order[i]);
            for (std::size_t i = b1 + s * batch; i < std::min(e1, b1 + (s + 1) * batch); ++i) side_by_side.push_back(order[i]);
        }
        MPI_CHECK(side_by_side.size() == images);
        MPI_CHECK(e0 - b0 == 50 && e1 - b1 == 51);
        const auto reordered = as_set(side_by_side);
        Mlp alone;
        spore::init(alone, 1);
        auto model = spore::Model(alone, nn::SoftmaxCrossEntropy{}, sgd, spore::batch<2 * batch>, spore::input_shape<1, side, side>);
        quiet(model);
        model.options().shuffle = false;
        const double loss = model.train(1, reordered).back().train_loss;
        // Not quite the same rows per step at the end: 2 + 3 on the ranks, the last 5 in one batch here.
        const double same = relative_difference(nets[1], alone);
        std::printf("Model, 2 ranks x 8 vs 1 x 16: weights differ by %.3g of the largest, epoch loss %.6f vs %.6f\n", same,
                    parallel_loss[1], loss);
        MPI_CHECK(same < 2e-5);
        MPI_CHECK(std::abs(parallel_loss[1] - loss) < 1e-5 * std::abs(loss));
        // The control: the same without the exchange (rank 0's slice alone) ends far away.
        Mlp half;
        spore::init(half, 1);
        std::vector<std::size_t> slice(order.begin() + std::ptrdiff_t(b0), order.begin() + std::ptrdiff_t(e0));
        auto solo = spore::Model(half, nn::SoftmaxCrossEntropy{}, sgd, spore::batch<batch>, spore::input_shape<1, side, side>);
        quiet(solo);
        solo.options().shuffle = false;
        solo.train(1, as_set(slice));
        const double apart = relative_difference(half, alone);
        std::printf("  the control, rank 0's slice alone, differs by %.3g\n", apart);
        MPI_CHECK(apart > 100 * 2e-5);
    }
    return spore_mpi_test::finish(ctx, "mpi_model");
}
