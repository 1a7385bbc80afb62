#pragma once
// How one process takes part in training. The Model calls these at fixed points of every step
// and epoch, resolved at compile time. A data-parallel policy (Open MPI, say) derives from
// single_process and redefines what it needs:
//   shard()          which slice of each epoch's shuffled order this process trains on;
//   reporting()      whether this process prints and writes files (rank 0);
//   after_backward() runs after the backward pass and before the optimiser's step, with the
//                    gradients (to be reduced in place), this batch's real rows and its loss
//                    (which may be replaced by the mean over processes, so all see the same);
//   sum()            adds values over processes in place (epoch loss, image and hit counts).
// A policy may also define run_step(program, rows) -> loss: then the Model calls it instead of
// program.run() and after_backward(), so that the exchange can overlap the backward pass
// (parallel/distribution.hpp does).

#include <cstddef>
#include <span>

#include <spore/data/sampler.hpp>

namespace spore::train {

struct single_process {
    data::shard shard() const noexcept { return {}; }
    bool reporting() const noexcept { return true; }
    template <class Gradients>
    void after_backward(Gradients&, std::size_t /*rows*/, float& /*loss*/) noexcept {}
    void sum(std::span<double>) noexcept {}
};

}  // namespace spore::train
