// expect: nn::BatchNorm1d (batch_norm1d) takes an input [N, C] or [N, C, L]; for images [N, C, H, W] use nn::BatchNorm2d
// expect: check_batch_norm1d<spore::shape<6>, spore::shape<8, 6, 10, 10>
#include <spore/spore.hpp>
int main() {
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::nn::BatchNorm1d<6> bn;
#else
    spore::nn::BatchNorm2d<6> bn;
#endif
    spore::tensor<float, spore::shape<8, 6, 10, 10>> x;
    auto y = bn(spore::input(x));
    (void)y;
}
