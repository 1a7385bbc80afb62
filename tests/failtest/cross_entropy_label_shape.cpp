// expect: SoftmaxCrossEntropy: integer labels must have the shape <batch> of the logits' rows
// expect: check_cross_entropy<spore::shape<8, 10>, spore::shape<6>, true>
#include <cstdint>
#include <spore/spore.hpp>
int main() {
    spore::tensor<float, spore::shape<8, 10>> logits;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    spore::tensor<std::int32_t, spore::shape<6>> labels;
#else
    spore::tensor<std::int32_t, spore::shape<8>> labels;
#endif
    auto loss = spore::nn::SoftmaxCrossEntropy{}(logits, labels);
    (void)loss;
}
