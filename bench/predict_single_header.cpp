// The single-header inference program of issue 5 (its build time is measured by
// bench/build_time.py; target < 15 s at -O2): LeNet-5 from a checkpoint, spore::predict on
// Fashion-MNIST test images one at a time. It includes nothing of spore but the amalgamated
// header:
//
//   g++ -std=c++20 -O2 -march=native -Isingle_include bench/predict_single_header.cpp -lz -o predict
//   ./predict [weights.safetensors|- [fashion-mnist dir]]   # weights from spore_example_lenet --save
//
// Without weights (or with -) it uses spore::init's (seed 1), so the accuracy is chance.
#include <cstdio>
#include <string>

#include <spore/spore.hpp>

namespace nn = spore::nn;

struct LeNet5 {
    nn::Conv2d<1, 6, 5> conv1;
    nn::Conv2d<6, 16, 5> conv2;
    nn::Dense<16 * 5 * 5, 120> fc1;
    nn::Dense<120, 84> fc2;
    nn::Dense<84, 10> fc3;

    auto construct(auto x) const {
        auto h1 = nn::max_pool2d<2, 2>(nn::relu(conv1(x)));
        auto h2 = nn::max_pool2d<2, 2>(nn::relu(conv2(h1)));
        auto h3 = nn::relu(fc1(nn::flatten(h2)));
        return fc3(nn::relu(fc2(h3)));
    }
};

struct image_tag;

// spore::predict (found through the tensor's namespace) when the single header has it; for an
// older header, the evaluation program it wraps.
template <class Net, class Images>
constexpr bool header_has_predict = requires(const Net& net, const Images& images) { predict(net, images); };

template <class Net, class Images>
const auto& logits_of(const Net& net, const Images& images) {
    if constexpr (header_has_predict<Net, Images>) {
        return predict(net, images);
    } else {
        using S = typename Images::shape_type;
        static auto program = spore::compile(net.construct(spore::expr::placeholder<image_tag, float, S>()));
        program.template feed<image_tag>(images);
        return program();
    }
}

int main(int argc, char** argv) try {
    LeNet5 net;
    const bool trained = argc > 1 && std::string(argv[1]) != "-";
    if (trained) spore::load(net, argv[1]);
    else spore::init(net, 1);
    const auto data = spore::data::fashion_mnist(argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist", {.pad = 2});
    spore::tensor<float, spore::shape<1, 1, 32, 32>> image;
    std::int32_t label[1];
    std::size_t hits = 0;
    const std::size_t count = 1000;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t item[1] = {i};
        data.test.fill_batch(std::span<const std::size_t>(item), image, std::span<std::int32_t>(label));
        const auto& logits = logits_of(net, image);
        std::size_t best = 0;
        for (std::size_t c = 1; c < 10; ++c)
            if (logits.data()[c] > logits.data()[best]) best = c;
        hits += best == std::size_t(label[0]);
    }
    std::printf("%s: accuracy %.3f on the first %zu test images, one at a time, by %s\n",
                trained ? argv[1] : "random weights (seed 1)", double(hits) / double(count), count,
                header_has_predict<LeNet5, decltype(image)> ? "spore::predict" : "spore::compile (no predict in this header)");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "predict: %s\n", e.what());
    return 1;
}
