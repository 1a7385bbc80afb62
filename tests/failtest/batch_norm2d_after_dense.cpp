// expect: nn::BatchNorm2d (batch_norm2d) takes an input [N, C, H, W]; for [N, C] (after a Dense layer) or [N, C, L] use nn::BatchNorm1d
// expect: check_batch_norm2d<spore::shape<16>, spore::shape<8, 16>
#include <spore/spore.hpp>
int main() {
    spore::nn::Dense<10, 16> fc;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::nn::BatchNorm2d<16> bn;
#else
    spore::nn::BatchNorm1d<16> bn;
#endif
    spore::tensor<float, spore::shape<8, 10>> x;
    auto y = bn(fc(spore::input(x)));
    (void)y;
}
