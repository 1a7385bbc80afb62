// expect: the tensor assigned to must have the expression's shape
// expect: check_assignment<spore::shape<4, 3>, spore::shape<3, 4>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<3, 4>> a;
    spore::tensor<float, spore::shape<4, 3>> b;
    b = a * 2.0f;
}
