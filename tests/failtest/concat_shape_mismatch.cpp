// expect: concat needs operands of equal rank whose extents agree on every axis but the concatenation axis
// expect: check_concat<1, spore::shape<3, 4>, spore::shape<2, 5>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<2, 5>> b;
#else
    spore::tensor<float, spore::shape<3, 5>> b;
#endif
    auto c = spore::concat<1>(a, b);
    (void)c;
}
