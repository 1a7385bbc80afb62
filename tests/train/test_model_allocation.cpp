#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // false positive on replaced new/delete
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

// Every allocation in this program is counted, to prove that a training step allocates
// nothing after the first one: batch filling, the forward and backward program, the
// optimiser, the progress bar and a LossMonitor. AddressSanitizer brings its own operator
// new, so under it the counting (and only the counting) is left out.
#include "../support/count_allocations.hpp"
using spore_test::allocations;
using spore_test::counting_allocations;

namespace nn = spore::nn;
namespace data = spore::data;
namespace train = spore::train;

namespace {

struct SmallConvNet {
    nn::Conv2d<1, 4, 3> conv;
    nn::Dense<4 * 3 * 3, 3> fc;
    auto construct(auto x) const { return fc(nn::flatten(nn::max_pool2d<2, 2>(nn::relu(conv(x))))); }
};

data::image_set noise(std::size_t count) {
    spore::random_engine rng(9);
    data::labelled_images set;
    set.count = count;
    set.rows = set.cols = 6;
    for (std::size_t i = 0; i < count * 36; ++i) set.pixels.push_back(std::uint8_t(rng.below(256)));
    for (std::size_t i = 0; i < count; ++i) set.labels.push_back(std::uint8_t(rng.below(3)));
    return data::image_set(std::move(set), {.pad = 1}, 3, "noise");
}

// Records the allocation count at every step.
struct allocation_probe {
    std::vector<long>* counts;
    void on_step(const train::step_info&) const { counts->push_back(allocations.load()); }
};

void check_steps_allocate_nothing(std::size_t threads, train::progress_mode mode) {
    spore::set_num_threads(threads);
    const auto set = noise(75);  // 9 batches of 8 and one of 3
    SmallConvNet net;
    spore::init(net, 1);
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{}, spore::batch<8>,
                              spore::input_shape<1, 8, 8>);
    std::FILE* sink = std::tmpfile();
    model.options().out = sink;
    model.options().progress = mode;
    std::vector<long> counts;
    counts.reserve(100);
    model.train(2, set, allocation_probe{&counts}, train::LossMonitor{.every = 3, .out = sink});
    REQUIRE(counts.size() == 20);
    // From the end of step 1 to the end of the epoch's last step, and through the second epoch.
    CHECK(counts[9] - counts[0] == 0);
    CHECK(counts[19] - counts[10] == 0);
    std::fclose(sink);
}

}  // namespace

TEST_CASE("Model: a training step allocates nothing after the first", "[train][model][allocation]") {
    if (!counting_allocations) WARN("allocation counting is off under AddressSanitizer");
    check_steps_allocate_nothing(1, train::progress_mode::lines);
    check_steps_allocate_nothing(1, train::progress_mode::bar);
    check_steps_allocate_nothing(2, train::progress_mode::bar);
}
