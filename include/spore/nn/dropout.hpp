#pragma once
// Dropout{.p = 0.25}: zeroes each element with probability p and scales the rest by 1 / (1 - p)
// in a training program (a fresh mask every run), the identity in an evaluation program, as
// torch.nn.Dropout (p = 0.5 unless told). It has no parameters; p is checked when the cell is
// applied (spore::error outside [0, 1)), and its seed, the source of its masks, is drawn by
// spore::init from the net's seed (so a run is reproducible). Neither is saved in checkpoints.

#include <cstdint>
#include <utility>

#include <spore/core/random.hpp>
#include <spore/expr/dropout.hpp>
#include <spore/nn/call.hpp>

namespace spore::nn {

struct Dropout {
    double p = 0.5;  // the probability of zeroing an element, in [0, 1)
    std::uint64_t seed = 0;

    template <class X>
    auto operator()(X&& x) const {
        return record_output(*this, spore::dropout(std::forward<X>(x), p, seed));
    }
    template <class Scheme>
    void reset_parameters(random_engine& rng, const Scheme&) {
        seed = rng.next_u64();
    }
    void reset_parameters(random_engine& rng) { reset_parameters(rng, 0); }
};

}  // namespace spore::nn
