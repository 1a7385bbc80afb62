// A tensor is copied only when asked for: `auto c = t;` (copy-initialisation) is refused with
// the message, `tensor<T, S> c(t);` (direct initialisation) is the explicit copy.
// expect: spore::tensor is not copied implicitly
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3>> t{1, 2, 3};
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto c = t;
#else
    spore::tensor<float, spore::shape<3>> c(t);
#endif
    (void)c;
}
