// parallel::epoch_shard: the ranks of a data-parallel run together train, at each step, the
// batch one process with the global batch trains at that step; every sample once per epoch.
#include <algorithm>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/core/random.hpp>
#include <spore/parallel/shard.hpp>

using spore::parallel::epoch_shard;

namespace {

std::vector<std::size_t> shuffled(std::size_t n, std::uint64_t seed) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    spore::random_engine rng(seed);
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    return order;
}

}  // namespace

TEST_CASE("shard: each global step is the single-process batch, split by rank", "[parallel][shard]") {
    for (std::size_t n : {0, 1, 31, 32, 33, 1000, 1024}) {
        for (std::size_t devices : {1, 2, 3, 8}) {
            INFO("n " << n << ", " << devices << " ranks");
            const auto order = shuffled(n, n + devices);
            const std::size_t local = 16, global = local * devices;
            std::vector<epoch_shard> shards;
            for (std::size_t r = 0; r < devices; ++r) shards.emplace_back(order, local, r, devices);
            const std::size_t steps = (n + global - 1) / global;
            std::vector<int> seen(n, 0);
            for (std::size_t r = 0; r < devices; ++r) CHECK(shards[r].steps() == steps);
            for (std::size_t s = 0; s < steps; ++s) {
                std::vector<std::size_t> joined;
                for (std::size_t r = 0; r < devices; ++r) {
                    const auto b = shards[r].batch(s);
                    CHECK(b.size() <= local);
                    CHECK(shards[r].global_rows(s) == std::min(global, n - s * global));
                    joined.insert(joined.end(), b.begin(), b.end());
                    for (auto item : b) ++seen[item];
                }
                const std::size_t first = s * global, count = std::min(global, n - first);
                CHECK(joined == std::vector<std::size_t>(order.begin() + first, order.begin() + first + count));
            }
            CHECK(std::all_of(seen.begin(), seen.end(), [](int k) { return k == 1; }));
        }
    }
}

TEST_CASE("shard: a final partial step leaves later ranks short or empty, drop_remainder skips it", "[parallel][shard]") {
    const auto order = shuffled(1000, 3);  // 31 steps of 32, then 8 rows
    epoch_shard rank0(order, 16, 0, 2), rank1(order, 16, 1, 2);
    REQUIRE(rank0.steps() == 32);
    CHECK(rank0.batch(31).size() == 8);
    CHECK(rank1.batch(31).empty());
    CHECK(rank0.global_rows(31) == 8);
    CHECK(rank0.batch(30).size() == 16);
    epoch_shard dropped(order, 16, 1, 2, {.drop_remainder = true});
    CHECK(dropped.steps() == 31);
    CHECK(dropped.global_rows(30) == 32);
    CHECK_THROWS_WITH(dropped.batch(31), Catch::Contains("step 31 of an epoch of 31 steps"));
}

TEST_CASE("shard: bad arguments are refused with the values found", "[parallel][shard]") {
    const std::vector<std::size_t> order(10);
    CHECK_THROWS_WITH(epoch_shard(order, 0, 0, 1), Catch::Contains("local batch size must be at least 1"));
    CHECK_THROWS_WITH(epoch_shard(order, 4, 2, 2), Catch::Contains("rank 2 of 2 processes"));
    CHECK_THROWS_WITH(epoch_shard(order, 4, 0, 0), Catch::Contains("rank 0 of 0 processes"));
}
