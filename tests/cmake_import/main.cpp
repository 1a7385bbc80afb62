#include <spore/spore.hpp>

#include <cstdio>

int main() {
    spore::tensor<float, spore::shape<4>> x{1, 2, 3, 4};
    auto [value, dx] = spore::value_and_grad(spore::sum(x * x), x);
    std::printf("value %g, gradient %g %g %g %g\n", value, dx[0], dx[1], dx[2], dx[3]);
    return value == 30.0f && dx[3] == 8.0f ? 0 : 1;
}
