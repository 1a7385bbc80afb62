// Exported models run by another implementation: OpenCV's DNN module (Debian 12: OpenCV 4.6)
// loads each file and its outputs are compared with spore's on the same inputs, at batch 1 and
// at a larger batch from the one file (the batch axis is symbolic). LeNet-5 is trained for a
// few steps first and evaluated on Fashion-MNIST test images when the data set is installed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <catch2/catch.hpp>

#include <spore/io/onnx.hpp>
#include <spore/spore.hpp>

#include "../support/elementwise_cases.hpp"
#include "../support/onnx_models.hpp"

namespace {

namespace nn = spore::nn;
namespace models = spore_test::onnx_models;
using spore::shape;
using spore::tensor;

constexpr float tolerance = 1e-4f;

struct scratch_file {
    std::filesystem::path path;
    explicit scratch_file(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("spore_test_onnx_opencv_" + name + ".onnx")) {}
    ~scratch_file() { std::filesystem::remove(path); }
};

cv::dnn::Net load(const std::filesystem::path& path) {
    cv::setNumThreads(1);  // the test machines are small and shared
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path.string());
    REQUIRE(!net.empty());
    return net;
}

// The largest difference between spore's output for `x` and OpenCV's; the shapes must agree.
// OpenCV 4.6 reports the output of a reduction with keepdims = 0 with the reduced axis kept
// (extent 1): `exact_shape = false` then compares the element count only.
template <class Cell, class T, std::size_t... Extents>
float max_difference(cv::dnn::Net& opencv, const Cell& net, const tensor<T, shape<Extents...>>& x,
                     bool exact_shape = true) {
    auto program = spore::compile(net.construct(spore::input(x)));
    const auto& expected = program();
    using out_shape = typename std::remove_cvref_t<decltype(expected)>::shape_type;

    std::vector<int> sizes{static_cast<int>(Extents)...};
    cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), CV_32F, const_cast<float*>(x.data()));
    opencv.setInput(blob);
    cv::Mat out = opencv.forward();
    REQUIRE(out.type() == CV_32F);
    REQUIRE(out.isContinuous());
    REQUIRE(out.total() == out_shape::size);
    if (out_shape::rank >= 2 && exact_shape) {
        REQUIRE(out.dims == static_cast<int>(out_shape::rank));
        for (std::size_t d = 0; d < out_shape::rank; ++d) CHECK(out.size[static_cast<int>(d)] == static_cast<int>(out_shape::extents[d]));
    }
    const float* got = out.ptr<float>();
    float worst = 0;
    for (std::size_t i = 0; i < out_shape::size; ++i) {
        REQUIRE(std::isfinite(got[i]));
        worst = std::max(worst, std::abs(got[i] - expected.data()[i]));
    }
    return worst;
}

// Exports `net` once for inputs [N, Item...] and compares OpenCV with spore at batch 1 and
// at batch Batch.
template <std::size_t Batch, std::size_t... Item, class Cell>
float check_model(const std::string& name, const Cell& net, std::uint64_t seed, bool exact_shape = true,
                  float low = -1.0f, float high = 1.0f) {
    scratch_file file(name);
    spore::io::export_onnx<shape<1, Item...>>(net, file.path.string());
    cv::dnn::Net opencv = load(file.path);
    tensor<float, shape<1, Item...>> one;
    tensor<float, shape<Batch, Item...>> many;
    one.fill_uniform(seed, low, high);
    many.fill_uniform(seed + 1000, low, high);
    const float e1 = max_difference(opencv, net, one, exact_shape);
    const float en = max_difference(opencv, net, many, exact_shape);
    std::printf("%-14s max |spore - OpenCV|: batch 1 %.3g, batch %zu %.3g\n", name.c_str(), e1, Batch, en);
    CHECK(e1 <= tolerance);
    CHECK(en <= tolerance);
    return std::max(e1, en);
}

// ---- LeNet-5 on Fashion-MNIST ---------------------------------------------------------
constexpr std::size_t side = 32, classes = 10;

// Normalised and padded from 28x28 to 32x32 as in examples/lenet.
template <std::size_t Batch>
void fill_images(const spore::data::labelled_images& set, std::size_t first, tensor<float, shape<Batch, 1, side, side>>& x) {
    constexpr float mean = 0.2860f, stddev = 0.3530f;
    const std::size_t pad = (side - set.rows) / 2;
    x.fill(-mean / stddev);
    for (std::size_t i = 0; i < Batch; ++i) {
        const std::uint8_t* pixels = set.pixels.data() + (first + i) * set.rows * set.cols;
        for (std::size_t r = 0; r < set.rows; ++r)
            for (std::size_t c = 0; c < set.cols; ++c)
                x(i, 0, r + pad, c + pad) = (pixels[r * set.cols + c] / 255.0f - mean) / stddev;
    }
}

// A few steps of plain SGD, so the weights are not just their initial values.
void train_a_little(models::LeNet5& net, const spore::data::labelled_images* train) {
    constexpr std::size_t batch = 32;
    struct images_tag;
    struct labels_tag;
    auto x = spore::expr::placeholder<images_tag, float, shape<batch, 1, side, side>>();
    auto y = spore::expr::placeholder<labels_tag, float, shape<batch, classes>>();
    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(x), y);
    auto params = nn::parameters(net);
    auto step = std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, params);
    tensor<float, shape<batch, 1, side, side>> bx;
    tensor<float, shape<batch, classes>> by;
    step.feed<images_tag>(bx);
    step.feed<labels_tag>(by);
    spore::random_engine rng(42);
    for (std::size_t s = 0; s < 100; ++s) {
        by.fill(0.0f);
        if (train) {
            fill_images(*train, s * batch, bx);
            for (std::size_t i = 0; i < batch; ++i) by(i, train->labels[s * batch + i]) = 1.0f;
        } else {
            bx.fill_uniform(rng, -1.0f, 1.0f);
            for (std::size_t i = 0; i < batch; ++i) by(i, rng.below(classes)) = 1.0f;
        }
        const float loss_value = step.run();
        REQUIRE(std::isfinite(loss_value));
        if (s == 0 || s == 99) std::printf("LeNet-5 training step %zu: loss %.4f\n", s + 1, loss_value);
        const auto& grads = step.gradients();
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (
                [&](auto& p, const auto& g) {
                    for (std::size_t k = 0; k < p.size(); ++k) p.data()[k] -= 0.1f * g.data()[k];
                }(std::get<I>(params), std::get<I>(grads)),
                ...);
        }(std::make_index_sequence<std::tuple_size_v<decltype(params)>>{});
    }
}

std::string fashion_mnist_dir() {
    const char* dir = std::getenv("SPORE_FASHION_MNIST");
    return dir ? dir : "/usr/share/datasets/fashion-mnist";
}

}  // namespace

TEST_CASE("opencv: LeNet-5 on Fashion-MNIST test images, batch 1 and batch 100, from one file") {
    const std::string dir = fashion_mnist_dir();
    const bool have_data = std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz");
    models::LeNet5 net;
    spore::init(net, 1);
    if (!have_data) {
        WARN("Fashion-MNIST not found in " << dir << " (Debian: dataset-fashion-mnist): comparing on random images only");
        train_a_little(net, nullptr);
        check_model<100, 1, side, side>("lenet-random", net, 5);
        return;
    }
    const auto train = spore::data::read_idx_images(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
    const auto test = spore::data::read_idx_images(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
    train_a_little(net, &train);

    scratch_file file("lenet");
    spore::io::export_onnx<shape<1, 1, side, side>>(net, file.path.string());
    cv::dnn::Net opencv = load(file.path);

    tensor<float, shape<1, 1, side, side>> one;
    fill_images(test, 0, one);
    const float e1 = max_difference(opencv, net, one);

    static tensor<float, shape<100, 1, side, side>> hundred;  // 400 KB: not on the stack
    fill_images(test, 100, hundred);
    const float e100 = max_difference(opencv, net, hundred);

    // the classes OpenCV predicts are the ones spore predicts
    opencv.setInput(cv::Mat(4, std::vector<int>{100, 1, int(side), int(side)}.data(), CV_32F, hundred.data()));
    const cv::Mat logits = opencv.forward().clone();
    auto program = spore::compile(net.construct(spore::input(hundred)));
    const auto& expected = program();
    std::size_t agree = 0, correct = 0;
    for (std::size_t i = 0; i < 100; ++i) {
        const float* row = logits.ptr<float>() + i * classes;
        const float* ref = expected.data() + i * classes;
        const auto guess = std::max_element(row, row + classes) - row;
        agree += guess == std::max_element(ref, ref + classes) - ref;
        correct += static_cast<std::size_t>(guess) == test.labels[100 + i];
    }
    std::printf("LeNet-5 (100 SGD steps) max |spore - OpenCV| on Fashion-MNIST test logits: batch 1 %.3g, batch 100 %.3g; "
                "same class for %zu/100 images, %zu/100 correct\n",
                e1, e100, agree, correct);
    CHECK(e1 <= tolerance);
    CHECK(e100 <= tolerance);
    CHECK(agree == 100);
}

namespace {
struct GlobalPoolHead {  // input [N, 3, 5, 5]
    nn::Conv2d<3, 4, 3> conv;
    nn::Dense<4, 2> head;
    auto construct(auto x) const { return head(spore::global_avg_pool2d(nn::relu(conv(x)))); }
};
}  // namespace

TEST_CASE("opencv: single-operator models at batch 1 and a larger batch") {
    models::ConvStridePad conv;
    spore::init(conv, 11);
    check_model<5, 3, 9, 9>("conv-stride-pad", conv, 1);

    check_model<3, 2, 6, 6>("avg-pool", models::AvgPool{}, 2);

    models::SigmoidTanh activations;
    spore::init(activations, 12);
    check_model<6, 7>("sigmoid-tanh", activations, 3);

    models::Activations activation_cells;
    spore::init(activation_cells, 16);
    check_model<6, 7>("activations", activation_cells, 7);

    models::DenseChain chain;
    spore::init(chain, 13);
    check_model<9, 20>("dense-chain", chain, 4);

    models::SmallCnn cnn;
    spore::init(cnn, 14);
    check_model<4, 4, 6, 6>("small-cnn", cnn, 5);

    models::ConvBatchNormDropout bn;
    spore::init(bn, 15);
    check_model<4, 2, 6, 6>("conv-bn-dropout", bn, 6);

    GlobalPoolHead pooled;
    spore::init(pooled, 16);
    check_model<3, 3, 5, 5>("global-avg-pool", pooled, 7);
}

namespace {
struct Arithmetic {  // input [N, 6]
    spore::tensor<float, shape<6, 4>> w;
    spore::tensor<float, shape<4>> scale;
    auto construct(auto x) const {
        auto a = spore::matmul(x, w);
        auto b = spore::sqrt(spore::square(a) + 1.0f) - spore::abs(a) * 0.5f;
        return spore::log(spore::exp(-b) + 2.0f) / scale;
    }
};
// OpenCV 4.6 builds Max and Min only from two computed values (not from a constant or an
// initializer operand), and cannot run reductions to a scalar (rank 0): those models pass
// onnx.checker (tests/onnx/check_models.py) but are not run here.
struct MaxMinComputed {  // input [N, 4]
    auto construct(auto x) const { return spore::maximum(nn::relu(x), nn::tanh(x)) + spore::minimum(nn::sigmoid(x), -x); }
};
struct PowConstant {  // input [N, 4]
    auto construct(auto x) const { return spore::pow(spore::abs(x) + 1.0f, 1.5f); }
};
struct TransposeReshape {  // input [N, 4]
    auto construct(auto x) const {
        auto t = spore::transpose(spore::transpose(x));
        constexpr std::size_t batch = decltype(t)::shape_type::extents[0];
        return spore::reshape<shape<batch, 2, 2>>(t) * 1.0f;
    }
};
struct AxisReductions {  // input [N, 3, 5]
    auto construct(auto x) const { return spore::sum<2>(x) + spore::mean<2>(x) * spore::max<2>(x); }
};
}  // namespace

TEST_CASE("opencv: the remaining elementwise operators, constants, reductions, matmul, transpose, reshape") {
    Arithmetic arithmetic;
    arithmetic.w.fill_uniform(1, -1.0f, 1.0f);
    arithmetic.scale.fill_uniform(2, 0.5f, 1.5f);
    check_model<5, 6>("arithmetic", arithmetic, 6);
    check_model<5, 4>("max-min", MaxMinComputed{}, 8);
    check_model<5, 4>("pow", PowConstant{}, 9);
    check_model<5, 4>("transpose", TransposeReshape{}, 10);
    check_model<4, 3, 5>("axis-reduce", AxisReductions{}, 11, false);

}

namespace {
namespace cases = spore_test::elementwise;
template <class Case>
struct unary_model {  // input [N, 7]
    auto construct(auto x) const { return Case::apply(x); }
};
template <class Case>
struct binary_model {  // input [N, 7], and a tensor as the right operand
    tensor<float, shape<7>> y;
    auto construct(auto x) const { return Case::apply(x, y); }
};
}  // namespace

TEST_CASE("opencv: every elementwise operation that OpenCV runs, from tests/support/elementwise_cases.hpp") {
    cases::for_each_case<cases::unary_cases>([]<class Case>(Case) {
        if constexpr (Case::opencv)
            check_model<5, 7>(Case::name, unary_model<Case>{}, 20, true, float(Case::domain.low), float(Case::domain.high));
    });
    cases::for_each_case<cases::binary_cases>([]<class Case>(Case) {
        if constexpr (Case::opencv) {
            binary_model<Case> model;
            model.y.fill_uniform(21, float(Case::right_domain.low), float(Case::right_domain.high));
            check_model<5, 7>(Case::name, model, 22, true, float(Case::left_domain.low), float(Case::left_domain.high));
        }
    });
}

TEST_CASE("opencv: a graph exported with a fixed batch") {
    models::SmallCnn cnn;
    spore::init(cnn, 15);
    scratch_file file("fixed-batch");
    spore::io::export_onnx<shape<4, 4, 6, 6>>(cnn, file.path.string(), {.symbolic_batch = false});
    cv::dnn::Net opencv = load(file.path);
    tensor<float, shape<4, 4, 6, 6>> x;
    x.fill_uniform(7, -1.0f, 1.0f);
    CHECK(max_difference(opencv, cnn, x) <= tolerance);
}
