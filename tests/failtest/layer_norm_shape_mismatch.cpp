// expect: nn::LayerNorm (layer_norm): the input's last axes must be the normalised shape
// expect: check_layer_norm<spore::shape<4, 6>, spore::shape<2, 6, 4>
#include <spore/spore.hpp>
int main() {
    spore::nn::LayerNorm<spore::shape<4, 6>> ln;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<float, spore::shape<2, 6, 4>> x;
#else
    spore::tensor<float, spore::shape<2, 4, 6>> x;
#endif
    auto y = ln(spore::input(x));
    (void)y;
}
