// expect: the tensor assigned to must have the expression's shape
// expect: check_assignment<spore::shape<4, 3>, spore::shape<3, 4>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4>> a;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<4, 3>> b;
#else
    spore::tensor<float, spore::shape<3, 4>> b;
#endif
    b = a * 2.0f;
}
