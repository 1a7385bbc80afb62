// expect: matmul takes two matrices
// expect: check_matmul<spore::shape<4>, spore::shape<4, 2>
#include <spore/spore.hpp>
int main() {
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<4>> a;
#else
    spore::tensor<float, spore::shape<1, 4>> a;
#endif
    spore::tensor<float, spore::shape<4, 2>> b;
    auto c = spore::matmul(a, b);
    (void)c;
}
