// expect: matmul needs the columns of the left operand to equal the rows of the right
// expect: check_matmul<spore::shape<3, 4>, spore::shape<5, 2>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<5, 2>> b;
#else
    spore::tensor<float, spore::shape<4, 2>> b;
#endif
    auto c = spore::matmul(a, b);
    (void)c;
}
