// An elementwise operation on shapes that do not broadcast names the operation and both shapes.
// expect: cannot be broadcast together
// expect: check_broadcastable<spore::expr::ops::add, spore::shape<3, 4>, spore::shape<5>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<5>> b;
#else
    spore::tensor<float, spore::shape<4>> b;
#endif
    auto c = a + b;
    (void)c;
}
