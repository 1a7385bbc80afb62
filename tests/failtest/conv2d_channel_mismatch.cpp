// expect: conv2d: the input's channels differ from the weights'
// expect: check_conv2d<spore::shape<8, 3, 32, 32>, spore::shape<6, 1, 5, 5>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<8, 3, 32, 32>> x;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<6, 1, 5, 5>> w;
#else
    spore::tensor<float, spore::shape<6, 3, 5, 5>> w;
#endif
    spore::tensor<float, spore::shape<6>> b;
    auto y = spore::conv2d(x, w, b);
    (void)y;
}
