// expect: slice needs begin < end <= the extent of the axis
// expect: check_slice<1, 2, 6, spore::shape<3, 5>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 5>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto s = spore::slice<1, 2, 6>(a);
#else
    auto s = spore::slice<1, 2, 5>(a);
#endif
    (void)s;
}
