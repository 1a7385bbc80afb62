// expect: this loss needs the prediction and the target of the same shape
// expect: check_loss_shapes<spore::nn::L1Loss<spore::expr::loss_reduction::mean>, spore::shape<4, 3>, spore::shape<4, 2>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<4, 3>> prediction;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<4, 2>> target;
#else
    spore::tensor<float, spore::shape<4, 3>> target;
#endif
    auto loss = spore::nn::L1Loss{}(prediction, target);
    (void)loss;
}
