// An exported graph has one input: an expression reading another placeholder is refused.
// expect: reads a placeholder other than the cell's input
#include <spore/spore.hpp>
struct other;
struct Cell {
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto construct(auto x) const { return x + spore::expr::placeholder<other, float, spore::shape<1, 4>>(); }
#else
    auto construct(auto x) const { return x + x; }
#endif
};
int main() { spore::io::export_onnx<spore::shape<1, 4>>(Cell{}, "unused.onnx"); }
