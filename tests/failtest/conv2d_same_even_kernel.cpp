// expect: padding::same needs an odd kernel
// expect: conv2d_padding<4, 1, 18446744073709551615>
#include <spore/spore.hpp>
int main() {
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::nn::Conv2d<1, 4, 4, 1, spore::nn::padding::same> conv;
#else
    spore::nn::Conv2d<1, 4, 3, 1, spore::nn::padding::same> conv;
#endif
    spore::tensor<float, spore::shape<2, 1, 8, 8>> x;
    auto y = conv(x);
    (void)y;
}
