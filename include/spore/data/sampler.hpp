#pragma once
// The order in which an epoch visits a set. Each epoch's order is computed from (seed, epoch)
// alone, with spore's own generator and a Fisher-Yates shuffle, so it is the same on every
// platform and every process of a data-parallel run, and an epoch can be replayed without
// the ones before it. A shard is one process's contiguous slice of that order.

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <utility>

#include <spore/core/error.hpp>
#include <spore/core/random.hpp>
#include <spore/core/text.hpp>

namespace spore::data {

// Writes 0 .. order.size()-1 into `order`, shuffled for (seed, epoch). Allocates nothing.
inline void shuffled_order(std::span<std::size_t> order, std::uint64_t seed, std::uint64_t epoch) {
    std::iota(order.begin(), order.end(), std::size_t(0));
    random_engine mix(seed);
    random_engine rng(mix.next_u64() ^ (epoch * 0xD1B54A32D192ED03ull));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
}

// Process `rank` of `count` in a data-parallel run.
struct shard {
    std::size_t rank = 0;
    std::size_t count = 1;
};

// [begin, end) of the shard's slice of an order of n items; slices differ in length by at
// most one item.
inline std::pair<std::size_t, std::size_t> shard_bounds(std::size_t n, shard s) {
    if (s.count == 0 || s.rank >= s.count)
        throw error(spore::detail::concat({"spore::data::shard: rank ", s.rank, " of ", s.count,
                                           " processes (the rank must be below the count)"}));
    return {n * s.rank / s.count, n * (s.rank + 1) / s.count};
}

// Batches every shard runs in an epoch: the same for all shards (the longest slice decides),
// so processes that exchange gradients after each step stay in step. With drop_last, only
// full batches of the shortest slice.
inline std::size_t steps_per_epoch(std::size_t n, shard s, std::size_t batch, bool drop_last) {
    const std::size_t shortest = n / s.count, longest = (n + s.count - 1) / s.count;
    return drop_last ? shortest / batch : (longest + batch - 1) / batch;
}

}  // namespace spore::data
