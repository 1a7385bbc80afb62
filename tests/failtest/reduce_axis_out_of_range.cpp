// expect: reduction axis out of range
// expect: check_axis<spore::expr::reductions::sum, 2, spore::shape<3, 4>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto s = spore::sum<2>(a);
#else
    auto s = spore::sum<1>(a);
#endif
    (void)s;
}
