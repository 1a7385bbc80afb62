// expect: spore::Model: give the shape of one input after the batch
// expect: spore::input_shape<1, 32, 32>
#include <spore/spore.hpp>
namespace nn = spore::nn;
struct Net {
    nn::Dense<4, 2> fc;
    auto construct(auto x) const { return fc(nn::flatten(x)); }
};
int main() {
    Net net;
#ifdef SPORE_FAILTEST_SHOULD_FAIL
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{}, spore::batch<8>);
#else
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{}, spore::batch<8>,
                              spore::input_shape<1, 2, 2>);
#endif
}
