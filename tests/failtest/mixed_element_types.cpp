// expect: both operands of an elementwise operation must have the same element type
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<double, spore::shape<3>> b;
#else
    spore::tensor<float, spore::shape<3>> b;
#endif
    auto e = a * b;
    (void)e;
}
