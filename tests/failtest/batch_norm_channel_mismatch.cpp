// expect: batch_norm2d: the input's channels differ from the layer's
// expect: check_batch_norm2d<spore::shape<16>, spore::shape<8, 6, 10, 10>
#include <spore/spore.hpp>
int main() {
    spore::nn::BatchNorm2d<16> bn;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<8, 6, 10, 10>> x;
#else
    spore::tensor<float, spore::shape<8, 16, 10, 10>> x;
#endif
    auto y = bn(x);
    (void)y;
}
