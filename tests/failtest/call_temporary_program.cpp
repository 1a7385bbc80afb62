// Calling a temporary gradient program would return references into it.
// expect: use of deleted function
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3>> a;
    auto [v, da] = spore::compile_grad(spore::sum(a * a), a)();
    (void)v;
}
