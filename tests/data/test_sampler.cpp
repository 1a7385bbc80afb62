// The epoch order and the shards of the data (data/sampler.hpp): one shuffle per (seed, epoch),
// the same on every platform, and contiguous shards with the same step count on every process.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/data.hpp>

namespace data = spore::data;

namespace {

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const spore::error& e) {
        return e.what();
    }
    return "(no exception)";
}

}  // namespace

TEST_CASE("shuffle: one order per (seed, epoch), the same on every platform", "[data][shuffle]") {
    std::vector<std::size_t> a(10), b(10), c(10);
    data::shuffled_order(a, 1, 0);
    data::shuffled_order(b, 1, 0);
    CHECK(a == b);
    // spore's splitmix64 and a Fisher-Yates loop fix this order; a change here changes every
    // training run's results, on every platform.
    CHECK(a == std::vector<std::size_t>{4, 5, 8, 0, 3, 6, 1, 9, 7, 2});  // also from a Python reimplementation
    data::shuffled_order(c, 1, 1);
    CHECK(c != a);
    data::shuffled_order(c, 2, 0);
    CHECK(c != a);
    for (auto* order : {&a, &c}) {
        std::vector<std::size_t> sorted = *order;
        std::sort(sorted.begin(), sorted.end());
        std::vector<std::size_t> identity(10);
        std::iota(identity.begin(), identity.end(), 0);
        CHECK(sorted == identity);
    }
    // Every item lands in every position about equally often.
    std::vector<std::size_t> order(4);
    std::array<std::array<int, 4>, 4> seen{};
    for (std::uint64_t epoch = 0; epoch < 4000; ++epoch) {
        data::shuffled_order(order, 7, epoch);
        for (std::size_t i = 0; i < 4; ++i) ++seen[order[i]][i];
    }
    for (auto& item : seen)
        for (int count : item) CHECK(std::abs(count - 1000) < 120);
}

TEST_CASE("shards: contiguous slices, the same step count on every process", "[data][shuffle]") {
    CHECK(data::shard_bounds(10, {0, 3}) == std::pair<std::size_t, std::size_t>{0, 3});
    CHECK(data::shard_bounds(10, {1, 3}) == std::pair<std::size_t, std::size_t>{3, 6});
    CHECK(data::shard_bounds(10, {2, 3}) == std::pair<std::size_t, std::size_t>{6, 10});
    CHECK(data::steps_per_epoch(10, {0, 3}, 3, false) == 2);  // slices of 3, 3 and 4
    CHECK(data::steps_per_epoch(10, {0, 3}, 3, true) == 1);
    CHECK(data::steps_per_epoch(60000, {}, 32, false) == 1875);
    CHECK(data::steps_per_epoch(60001, {}, 32, false) == 1876);
    CHECK(data::steps_per_epoch(60001, {}, 32, true) == 1875);
    CHECK(error_of([] { data::shard_bounds(10, {2, 2}); }) ==
          "spore::data::shard: rank 2 of 2 processes (the rank must be below the count)");
}
