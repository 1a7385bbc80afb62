#pragma once
// Learning-rate schedules. StepLR as torch.optim.lr_scheduler.StepLR: the rate is multiplied by
// gamma every step_size epochs, lr(epoch) = base_lr * gamma^floor(epoch / step_size), with
// epochs counted from 0.

#include <cmath>
#include <string>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>

namespace spore::optim {

struct StepLR {
    int step_size = 1;
    float gamma = 0.1f;

    float lr_at(float base_lr, int epoch) const {
        if (step_size <= 0)
            throw error(spore::detail::concat({"spore::optim::StepLR: step_size must be positive, found ", step_size}));
        if (epoch < 0) throw error(spore::detail::concat({"spore::optim::StepLR: epochs count from 0, found ", epoch}));
        return float(double(base_lr) * std::pow(double(gamma), double(epoch / step_size)));
    }
    // Sets the rate of an optimiser state for `epoch`.
    template <class State>
    void apply(State& state, float base_lr, int epoch) const {
        state.set_lr(lr_at(base_lr, epoch));
    }
};

}  // namespace spore::optim
