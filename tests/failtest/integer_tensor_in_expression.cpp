// expect: expressions compute in floating point
#include <cstdint>
#include <spore/spore.hpp>
int main() {
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<std::int32_t, spore::shape<4>> labels;
#else
    spore::tensor<float, spore::shape<4>> labels;
#endif
    auto twice = labels + labels;
    (void)twice;
}
