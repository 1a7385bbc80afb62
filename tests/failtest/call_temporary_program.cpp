// Calling a temporary gradient program would return references into it.
// expect: deleted function
// expect: operator()() &&
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto [v, da] = spore::compile_grad(spore::sum(a * a), a)();
#else
    auto program = spore::compile_grad(spore::sum(a * a), a);
    auto [v, da] = program();
#endif
    (void)v;
}
