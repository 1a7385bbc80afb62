// expect: batched matmul needs both operands to have the same batch extent
// expect: check_matmul<spore::shape<3, 4, 5>, spore::shape<2, 5, 6>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4, 5>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<2, 5, 6>> b;
#else
    spore::tensor<float, spore::shape<3, 5, 6>> b;
#endif
    auto c = spore::matmul(a, b);
    (void)c;
}
