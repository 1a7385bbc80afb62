// expect: nn::BatchNorm1d: batch_norm1d: the input's channels (axis 1) differ from the layer's
// expect: check_batch_norm1d<spore::shape<16>, spore::shape<8, 12, 5>
#include <spore/spore.hpp>
int main() {
    spore::nn::BatchNorm1d<16> bn;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<8, 12, 5>> x;
#else
    spore::tensor<float, spore::shape<8, 16, 5>> x;
#endif
    auto y = bn(spore::input(x));
    (void)y;
}
