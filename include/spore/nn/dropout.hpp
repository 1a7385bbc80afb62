#pragma once
// Dropout<P>: zeroes each element with probability P and scales the rest by 1 / (1 - P) in a
// training program (a fresh mask every run), the identity in an evaluation program, as
// torch.nn.Dropout. It has no parameters; its one field is the seed of its masks, drawn by
// spore::init from the net's seed (so a run is reproducible) and not saved in checkpoints.

#include <cstdint>
#include <utility>

#include <spore/core/random.hpp>
#include <spore/expr/dropout.hpp>
#include <spore/nn/call.hpp>

namespace spore::nn {

template <double P>
struct Dropout {
    static_assert(P >= 0.0 && P < 1.0, "spore: nn::Dropout<P>: P, the probability of zeroing, must lie in [0, 1)");
    std::uint64_t seed = 0;

    template <class X>
    auto operator()(X&& x) const {
        return record_output(*this, spore::dropout<P>(std::forward<X>(x), seed));
    }
    template <class Scheme>
    void reset_parameters(random_engine& rng, const Scheme&) {
        seed = rng.next_u64();
    }
    void reset_parameters(random_engine& rng) { reset_parameters(rng, 0); }
};

}  // namespace spore::nn
