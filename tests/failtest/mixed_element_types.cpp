// expect: both operands of an elementwise operation must have the same element type
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3>> a;
    spore::tensor<double, spore::shape<3>> b;
    auto e = a * b;
    (void)e;
}
