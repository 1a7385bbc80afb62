// Exporting an expression with an operation that has no ONNX operator (here a user-defined
// elementwise operation) fails at compile time, naming the node type.
// expect: has no ONNX operator
// expect: unsupported_onnx_node<spore::expr::unary<softsign
#include <spore/spore.hpp>
struct softsign {
    template <class V>
    static V apply(const V& x) {
        return x;
    }
};
struct Cell {
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto construct(auto x) const { return spore::expr::make_unary<softsign>(x); }
#else
    auto construct(auto x) const { return spore::expr::make_unary<spore::expr::ops::tanh>(x); }
#endif
};
int main() { spore::io::export_onnx<spore::shape<1, 4>>(Cell{}, "unused.onnx"); }
