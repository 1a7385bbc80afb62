// A minimal LibTorch LeNet-5 on Fashion-MNIST, the LibTorch side of bench/build_time.py: what
// the same program as examples/lenet costs to build with LibTorch. Written the way LibTorch's
// own MNIST example is: torch::data::datasets::MNIST, transforms, a data loader, torch::optim.
// It reads unpacked IDX files (Debian's are gzip):
//
//   mkdir -p /tmp/fm && for f in /usr/share/datasets/fashion-mnist/*.gz; do
//     gunzip -c "$f" > /tmp/fm/"$(basename "$f" .gz)"; done
//   g++ -std=c++20 -O2 -march=native -I/usr/include/torch/csrc/api/include -D_GLIBCXX_USE_CXX11_ABI=1 \
//       bench/torch_lenet.cpp -o torch_lenet -ltorch -ltorch_cpu -lc10
//   ./torch_lenet /tmp/fm 1      # directory, epochs
#include <cstdio>
#include <cstdlib>
#include <string>

#include <torch/torch.h>

struct LeNet5Impl : torch::nn::Module {
    torch::nn::Conv2d conv1{torch::nn::Conv2dOptions(1, 6, 5)};
    torch::nn::Conv2d conv2{torch::nn::Conv2dOptions(6, 16, 5)};
    torch::nn::Linear fc1{16 * 5 * 5, 120};
    torch::nn::Linear fc2{120, 84};
    torch::nn::Linear fc3{84, 10};

    LeNet5Impl() {
        register_module("conv1", conv1);
        register_module("conv2", conv2);
        register_module("fc1", fc1);
        register_module("fc2", fc2);
        register_module("fc3", fc3);
    }
    torch::Tensor forward(torch::Tensor x) {
        x = torch::max_pool2d(torch::relu(conv1->forward(x)), 2);
        x = torch::max_pool2d(torch::relu(conv2->forward(x)), 2);
        x = torch::relu(fc1->forward(x.flatten(1)));
        return fc3->forward(torch::relu(fc2->forward(x)));
    }
};
TORCH_MODULE(LeNet5);

namespace {
auto fashion_mnist(const std::string& dir, torch::data::datasets::MNIST::Mode mode) {
    namespace transforms = torch::data::transforms;
    // padded to 32x32 with black pixels, then normalised by the training set's statistics
    auto pad = transforms::TensorLambda<>([](torch::Tensor x) { return torch::constant_pad_nd(x, {2, 2, 2, 2}, 0.0); });
    return torch::data::datasets::MNIST(dir, mode)
        .map(pad)
        .map(transforms::Normalize<>(0.2860, 0.3530))
        .map(transforms::Stack<>());
}
}  // namespace

int main(int argc, char** argv) try {
    const std::string dir = argc > 1 ? argv[1] : "fashion-mnist";
    const int epochs = argc > 2 ? std::atoi(argv[2]) : 1;
    torch::manual_seed(1);
    auto train = torch::data::make_data_loader<torch::data::samplers::RandomSampler>(
        fashion_mnist(dir, torch::data::datasets::MNIST::Mode::kTrain), torch::data::DataLoaderOptions().batch_size(32));
    auto test = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
        fashion_mnist(dir, torch::data::datasets::MNIST::Mode::kTest), torch::data::DataLoaderOptions().batch_size(256));
    LeNet5 net;
    torch::optim::SGD optimiser(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        net->train();
        double loss_sum = 0;
        std::int64_t images = 0;
        for (auto& batch : *train) {
            optimiser.zero_grad();
            auto loss = torch::nn::functional::cross_entropy(net->forward(batch.data), batch.target);
            loss.backward();
            optimiser.step();
            loss_sum += loss.item<double>() * double(batch.data.size(0));
            images += batch.data.size(0);
        }
        net->eval();
        torch::NoGradGuard no_grad;
        std::int64_t hits = 0, seen = 0;
        for (auto& batch : *test) {
            hits += net->forward(batch.data).argmax(1).eq(batch.target).sum().item<std::int64_t>();
            seen += batch.data.size(0);
        }
        std::printf("epoch %d: train loss %.4f, test accuracy %.4f\n", epoch, loss_sum / double(images),
                    double(hits) / double(seen));
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "torch_lenet: %s\n", e.what());
    return 1;
}
