// expect: expressions compute in floating point
#include <cstdint>
#include <spore/spore.hpp>
int main() {
    spore::tensor<std::int32_t, spore::shape<4>> labels;
    auto twice = labels + labels;
    (void)twice;
}
