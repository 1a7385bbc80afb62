// `auto z = net.construct(x);` with a named tensor x and `construct(auto x)`: the parameter
// would be a copy that dies with the call while z keeps its address (issue 18). A tensor is
// not copied implicitly, so this does not compile; the twin passes spore::input(x).
// expect: spore::tensor is not copied implicitly
// expect: net.construct(spore::input(x))
#include <spore/spore.hpp>
struct Net {
    spore::nn::Dense<4, 2> fc;
    auto construct(auto x) const { return fc(x); }
};
int main() {
    Net net;
    spore::tensor<float, spore::shape<3, 4>> x;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto z = net.construct(x);
#else
    auto z = net.construct(spore::input(x));
#endif
    spore::tensor<float, spore::shape<3, 2>> out = z;
    (void)out;
}
