// expect: reshape must keep the number of elements
// expect: check_reshape<spore::shape<3, 4>, spore::shape<5>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto r = spore::reshape<spore::shape<5>>(a);
#else
    auto r = spore::reshape<spore::shape<12>>(a);
#endif
    (void)r;
}
