// expect: feed: the tensor's shape differs from the placeholder's
// expect: check_feed<spore::shape<4, 4>, spore::shape<2>
#include <spore/spore.hpp>
int main() {
    struct input;
    auto x = spore::expr::placeholder<input, float, spore::shape<4, 4>>();
    auto program = spore::compile(x * 2.0f);
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<2>> batch;
#else
    spore::tensor<float, spore::shape<4, 4>> batch;
#endif
    program.feed<input>(batch);
}
