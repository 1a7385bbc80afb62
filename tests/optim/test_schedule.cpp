// Learning-rate schedules (optim/schedule.hpp) against PyTorch: the expected rates were computed
// with tests/reference/optim_reference.py (python3-torch 1.13).
#include <array>

#include "../support/check.hpp"

namespace optim = spore::optim;
using spore::shape;
using spore::tensor;

namespace {

struct two_parameters {
    tensor<float, shape<19>> a;
    tensor<float, shape<3>> b;
};

}  // namespace

TEST_CASE("StepLR matches torch.optim.lr_scheduler.StepLR", "[optim][schedule]") {
    // tests/reference/optim_reference.py: StepLR(step_size=3, gamma=0.5) from lr 0.2, epochs 0..7
    const std::array<float, 8> torch{0.2f, 0.2f, 0.2f, 0.1f, 0.1f, 0.1f, 0.05f, 0.05f};
    const optim::StepLR schedule{.step_size = 3, .gamma = 0.5f};
    for (int epoch = 0; epoch < 8; ++epoch) CHECK(schedule.lr_at(0.2f, epoch) == Approx(torch[epoch]).epsilon(1e-7));
    two_parameters net;
    auto state = optim::make_state(optim::SGD{.lr = 0.2f}, spore::nn::parameters(net));
    schedule.apply(state, 0.2f, 6);
    CHECK(state.lr() == Approx(0.05f));
    CHECK_THROWS_AS(optim::StepLR{.step_size = 0}.lr_at(0.1f, 1), spore::error);
    CHECK_THROWS_WITH(optim::StepLR{}.lr_at(0.1f, -1), Catch::Contains("epochs count from 0"));
}
