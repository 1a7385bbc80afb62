// The first thing to try: a small network's loss, its value and its gradients, with the
// backward pass derived at compile time. Until the LeNet example lands this is the main job.
#include <iostream>

#include <spore/spore.hpp>

int main() {
    using spore::shape;
    using spore::tensor;

    // The product sketch's example.
    tensor<float, shape<3, 4>> a, b;
    a.fill_uniform(/*seed=*/1);
    b.fill_uniform(/*seed=*/2);
    auto f = spore::sum(spore::tanh(a * b + 1.0f));
    auto [value, da, db] = spore::value_and_grad(f, a, b);
    std::cout << "f = sum(tanh(a * b + 1)) = " << value << "\n"
              << "df/da = " << da << "\n"
              << "df/db = " << db << "\n\n";

    // A two-layer classifier trained with plain gradient descent. The gradient program is
    // built once; each step reuses its buffers and allocates nothing.
    tensor<float, shape<64, 2>> x;
    tensor<float, shape<64, 2>> onehot;
    x.fill_uniform(3, -1.0f, 1.0f);
    for (std::size_t i = 0; i < 64; ++i) {  // class 1 inside the circle of radius 0.7
        const bool inside = x(i, 0) * x(i, 0) + x(i, 1) * x(i, 1) < 0.49f;
        onehot(i, 0) = inside ? 0.0f : 1.0f;
        onehot(i, 1) = inside ? 1.0f : 0.0f;
    }
    tensor<float, shape<2, 16>> w1;
    tensor<float, shape<16>> b1;
    tensor<float, shape<16, 2>> w2;
    tensor<float, shape<2>> b2;
    w1.fill_normal(4, 0.0f, 1.0f);
    w2.fill_normal(5, 0.0f, 0.5f);

    auto logits = spore::matmul(spore::tanh(spore::matmul(x, w1) + b1), w2) + b2;
    auto loss = -spore::mean(spore::sum<1>(spore::log_softmax(logits) * onehot));
    auto step = spore::compile_grad(loss, w1, b1, w2, b2);
    for (int epoch = 0; epoch <= 500; ++epoch) {
        auto [l, dw1, db1, dw2, db2] = step();
        w1 = w1 - 0.5f * dw1;  // evaluates elementwise into w1 (reads before writes, same index)
        b1 = b1 - 0.5f * db1;
        w2 = w2 - 0.5f * dw2;
        b2 = b2 - 0.5f * db2;
        if (epoch % 100 == 0) std::cout << "epoch " << epoch << "  cross-entropy " << l << "\n";
    }
    tensor<float, shape<64, 2>> p = spore::softmax(logits);
    int correct = 0;
    for (std::size_t i = 0; i < 64; ++i) correct += (p(i, 1) > p(i, 0)) == (onehot(i, 1) > 0.5f);
    std::cout << "training accuracy " << correct << "/64\n";
    return 0;
}
