#pragma once
// One process's part of an epoch in data-parallel training, without any communication (the
// MPI layer, parallel/mpi.hpp, adds a check that every rank holds the same order).
//
// Every rank shuffles the epoch with the same seed, so all hold the same order. Global step s
// trains order[s*G, (s+1)*G), with G = local_batch * device_num, exactly the batch a single
// process with batch G trains at step s; rank r takes rows [r*local_batch, (r+1)*local_batch)
// of it. A data-parallel run therefore sees the data in the single-process order, and no
// sample is seen twice or skipped in an epoch. A final partial global batch is split the same
// way, so some ranks get fewer rows, or none (drop_remainder skips it instead).

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>

namespace spore::parallel {

struct shard_options {
    bool drop_remainder = false;  // skip the final partial global batch
};

class epoch_shard {
public:
    // `order` is viewed, not copied: it must outlive the shard.
    epoch_shard(std::span<const std::size_t> order, std::size_t local_batch, std::size_t rank, std::size_t device_num,
                shard_options options = {})
        : order_(order), local_batch_(local_batch), rank_(rank), device_num_(device_num) {
        if (local_batch == 0) throw error("spore::parallel::shard: the local batch size must be at least 1, found 0");
        if (device_num == 0 || rank >= device_num)
            throw error(spore::detail::concat({"spore::parallel::shard: rank ", rank, " of ", device_num,
                                               " processes (the rank must be below the process count)"}));
        const std::size_t global = global_batch();
        steps_ = options.drop_remainder ? order.size() / global : (order.size() + global - 1) / global;
    }

    // Steps in the epoch: the same on every rank, so the gradient exchanges pair up.
    std::size_t steps() const noexcept { return steps_; }
    std::size_t local_batch() const noexcept { return local_batch_; }
    std::size_t global_batch() const noexcept { return local_batch_ * device_num_; }
    std::size_t rank() const noexcept { return rank_; }
    std::size_t device_num() const noexcept { return device_num_; }

    // This rank's items at `step`: local_batch of them, fewer or none in a final partial step.
    std::span<const std::size_t> batch(std::size_t step) const {
        check_step(step);
        const std::size_t first = std::min(order_.size(), step * global_batch() + rank_ * local_batch_);
        return order_.subspan(first, std::min(local_batch_, order_.size() - first));
    }
    // Rows trained at `step` by all ranks together (global_batch, except in a final partial step).
    std::size_t global_rows(std::size_t step) const {
        check_step(step);
        return std::min(global_batch(), order_.size() - step * global_batch());
    }

private:
    void check_step(std::size_t step) const {
        if (step >= steps_)
            throw error(spore::detail::concat({"spore::parallel::shard: step ", step, " of an epoch of ", steps_, " steps"}));
    }

    std::span<const std::size_t> order_;
    std::size_t local_batch_, rank_, device_num_, steps_ = 0;
};

}  // namespace spore::parallel
