// expect: nn::Dense: the input's features differ from the layer's in-features
// expect: check_dense<spore::shape<400, 120>, spore::shape<8, 300>
#include <spore/spore.hpp>
int main() {
    spore::nn::Dense<400, 120> fc;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<8, 300>> x;
#else
    spore::tensor<float, spore::shape<8, 400>> x;
#endif
    auto y = fc(x);
    (void)y;
}
