// expect: matmul takes two matrices
// expect: check_matmul<spore::shape<4>, spore::shape<4, 2>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<4>> a;
    spore::tensor<float, spore::shape<4, 2>> b;
    auto c = spore::matmul(a, b);
    (void)c;
}
