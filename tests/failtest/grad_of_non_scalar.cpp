// expect: grad needs a scalar-valued expression
// expect: check_scalar_output<spore::shape<3, 4>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto g = spore::grad(spore::tanh(a), a);
#else
    auto g = spore::grad(spore::sum(spore::tanh(a)), a);
#endif
    (void)g;
}
