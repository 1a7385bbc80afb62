// global_avg_pool2d: the forward pass against a naive loop on odd sizes, in float and double;
// the gradient against central differences, with a dense operand and with an elementwise
// subtree as the operand; the ONNX nodes it exports as.
#include <cmath>
#include <string>
#include <vector>

#include "../support/check.hpp"
#include "../support/onnx_reader.hpp"

using spore::shape;
using spore::tensor;
using spore_test::check_gradients;

namespace {

template <class T, std::size_t N, std::size_t C, std::size_t H, std::size_t W>
void check_forward() {
    tensor<T, shape<N, C, H, W>> x;
    x.fill_uniform(31, T(-2), T(2));
    const tensor<T, shape<N, C>> y = spore::global_avg_pool2d(x);
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c) {
            double total = 0;
            for (std::size_t i = 0; i < H; ++i)
                for (std::size_t j = 0; j < W; ++j) total += double(x(n, c, i, j));
            INFO("plane " << n << ", " << c << " of " << (shape<N, C, H, W>::to_string()));
            CHECK(double(y(n, c)) == Approx(total / double(H * W)).epsilon(1e-5).margin(1e-6));
        }
}

}  // namespace

TEST_CASE("global_avg_pool2d: forward against a naive loop", "[expr][pooling]") {
    check_forward<float, 1, 1, 1, 1>();
    check_forward<float, 2, 3, 5, 7>();
    check_forward<float, 3, 16, 7, 7>();
    check_forward<float, 2, 4, 17, 3>();
    check_forward<double, 3, 2, 9, 11>();
}

TEST_CASE("global_avg_pool2d: gradients against finite differences", "[autodiff][pooling]") {
    tensor<double, shape<2, 3, 5, 7>> x;
    tensor<double, shape<2, 3>> w;
    x.fill_uniform(32, -1, 1);
    w.fill_uniform(132, -1, 1);
    check_gradients(spore::sum(spore::global_avg_pool2d(x) * w), x, w);              // a dense operand
    check_gradients(spore::sum(spore::global_avg_pool2d(spore::tanh(x) * x) * w), x);  // a region below
    check_gradients(spore::sum(spore::square(spore::global_avg_pool2d(x) + spore::global_avg_pool2d(x))), x);
}

namespace {
struct GlobalPoolHead {  // input [N, 3, 5, 5]
    spore::nn::Conv2d<3, 4, 3> conv;
    spore::nn::Dense<4, 2> head;
    auto construct(auto x) const { return head(spore::global_avg_pool2d(spore::nn::relu(conv(x)))); }
};
}  // namespace

TEST_CASE("global_avg_pool2d: exported as GlobalAveragePool and Flatten, batch axis symbolic", "[io][onnx]") {
    GlobalPoolHead net;
    spore::init(net, 33);
    const auto m = spore_test::onnx_reader::decode(spore::io::onnx_model_bytes<shape<1, 3, 5, 5>>(net));
    CHECK(m.op_types() == std::vector<std::string>{"Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm"});
}
