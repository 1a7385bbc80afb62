// A temporary tensor would be gone before the lazy expression is evaluated.
// expect: a temporary tensor in an expression would dangle
#include <spore/spore.hpp>
spore::tensor<float, spore::shape<3>> make() { return {}; }
int main() {
    spore::tensor<float, spore::shape<3>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto e = a + make();
#else
    const auto b = make();
    auto e = a + b;
#endif
    (void)e;
}
