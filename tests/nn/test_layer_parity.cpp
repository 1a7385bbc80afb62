// Parity with PyTorch 1.13 of every activation, every loss with each reduction, and Embedding:
// outputs and gradients in float and double against tests/fixtures/layers.safetensors, made by
// tests/fixtures/make_layer_fixtures.py (CI has no torch: the file is committed).
// Errors are relative to the largest magnitude of PyTorch's tensor.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "../support/check.hpp"

namespace fs = std::filesystem;
namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

const spore::io::safetensors_file& fixture() {
    static const spore::io::safetensors_file file = spore::io::read_safetensors(
        (fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "layers.safetensors").string());
    return file;
}

template <class T>
std::string key(const std::string& name) {
    return (std::is_same_v<T, float> ? "f32." : "f64.") + name;
}

template <class Tensor>
Tensor fixture_tensor(const std::string& name) {
    Tensor t;
    spore::io::copy_tensor(fixture(), key<typename Tensor::value_type>(name), t);
    return t;
}

// Labels and indices (I32; spore's copy_tensor reads the floating-point types of checkpoints only).
template <class Tensor>
Tensor fixture_integers(const std::string& name) {
    const auto* entry = fixture().find("f32." + name);
    REQUIRE(entry != nullptr);
    REQUIRE(entry->dtype == "I32");
    Tensor t;
    REQUIRE(entry->end - entry->begin == t.size() * sizeof(std::int32_t));
    std::memcpy(t.data(), fixture().data.data() + entry->begin, t.size() * sizeof(std::int32_t));
    return t;
}

template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-10;

template <class A, class B>
double relative_error(const A& ours, const B& theirs) {
    double scale = 0;
    for (auto v : theirs) scale = std::max(scale, double(std::abs(v)));
    return spore::max_abs_diff(ours, theirs) / std::max(scale, 1e-30);
}

// Checks one output or gradient, and says how close it came.
template <class T, class A, class B>
void check_parity(const std::string& what, const A& ours, const B& theirs) {
    const double error = relative_error(ours, theirs);
    std::printf("parity %s %-40s relative error %.2e\n", std::is_same_v<T, float> ? "float " : "double", what.c_str(), error);
    INFO(what << ": relative error " << error);
    CHECK(error <= tolerance<T>);
}

template <class T, class Activation>
void check_activation(const std::string& name, Activation&& activation) {
    using X = tensor<T, shape<4, 6>>;
    X x = fixture_tensor<X>("x");
    const X upstream = fixture_tensor<X>("upstream");
    const X out = activation(x);
    check_parity<T>(name + " output", out, fixture_tensor<X>(name + ".out"));
    auto [value, grad] = spore::value_and_grad(spore::sum(activation(x) * upstream), x);
    (void)value;
    check_parity<T>(name + " gradient", grad, fixture_tensor<X>(name + ".grad"));
}

// A loss with each reduction: `make<R>()` gives the loss cell, applied to (first, second).
template <class T, class First, class Second, class Weights, class MakeLoss>
void check_loss(const std::string& name, First& first, const Second& second, const Weights& weights, MakeLoss make) {
    auto with = [&]<nn::reduction R>(const char* reduction) {
        const std::string what = name + "." + reduction;
        auto loss = make.template operator()<R>();
        if constexpr (R == nn::reduction::none) {
            const Weights terms = loss(first, second);
            check_parity<T>(what + " value", terms, fixture_tensor<Weights>(what + ".value"));
            auto [value, grad] = spore::value_and_grad(spore::sum(loss(first, second) * weights), first);
            (void)value;
            check_parity<T>(what + " gradient", grad, fixture_tensor<First>(what + ".grad"));
        } else {
            auto [value, grad] = spore::value_and_grad(loss(first, second), first);
            tensor<T, shape<>> ours;
            ours[0] = value;
            check_parity<T>(what + " value", ours, fixture_tensor<tensor<T, shape<>>>(what + ".value"));
            check_parity<T>(what + " gradient", grad, fixture_tensor<First>(what + ".grad"));
        }
    };
    with.template operator()<nn::reduction::mean>("mean");
    with.template operator()<nn::reduction::sum>("sum");
    with.template operator()<nn::reduction::none>("none");
}

template <class T>
void check_all() {
    check_activation<T>("silu", [](const auto& x) { return nn::SiLU{}(x); });
    check_activation<T>("gelu", [](const auto& x) { return nn::GELU{}(x); });
    check_activation<T>("gelu_tanh", [](const auto& x) { return nn::GELU<nn::approximate::tanh>{}(x); });
    check_activation<T>("leaky_relu", [](const auto& x) { return nn::LeakyReLU{0.2}(x); });
    check_activation<T>("elu", [](const auto& x) { return nn::ELU{0.7}(x); });
    check_activation<T>("softplus", [](const auto& x) { return nn::Softplus{}(x); });

    using Rows = tensor<T, shape<5, 7>>;
    using Elements = tensor<T, shape<3, 4>>;
    Rows logits = fixture_tensor<Rows>("logits"), log_probabilities = fixture_tensor<Rows>("log_probabilities");
    const Rows soft = fixture_tensor<Rows>("soft");
    const auto labels = fixture_integers<tensor<std::int32_t, shape<5>>>("labels");
    const auto row_weights = fixture_tensor<tensor<T, shape<5>>>("row_weights");
    Elements prediction = fixture_tensor<Elements>("prediction");
    const Elements target = fixture_tensor<Elements>("target"), probability = fixture_tensor<Elements>("probability"),
                   weights = fixture_tensor<Elements>("weights");

    check_loss<T>("cross_entropy", logits, labels, row_weights,
                  []<nn::reduction R>() { return nn::SoftmaxCrossEntropy<R>{}; });
    check_loss<T>("cross_entropy_smoothed", logits, labels, row_weights,
                  []<nn::reduction R>() { return nn::SoftmaxCrossEntropy<R>{.label_smoothing = 0.1}; });
    check_loss<T>("cross_entropy_soft_smoothed", logits, soft, row_weights,
                  []<nn::reduction R>() { return nn::SoftmaxCrossEntropy<R>{.label_smoothing = 0.1}; });
    check_loss<T>("nll", log_probabilities, labels, row_weights, []<nn::reduction R>() { return nn::NLLLoss<R>{}; });
    check_loss<T>("bce_with_logits", prediction, probability, weights,
                  []<nn::reduction R>() { return nn::BCEWithLogitsLoss<R>{}; });
    check_loss<T>("mse", prediction, target, weights, []<nn::reduction R>() { return nn::MSE<R>{}; });
    check_loss<T>("l1", prediction, target, weights, []<nn::reduction R>() { return nn::L1Loss<R>{}; });
    check_loss<T>("smooth_l1", prediction, target, weights,
                  []<nn::reduction R>() { return nn::SmoothL1Loss<R>{.beta = 0.5}; });
    check_loss<T>("huber", prediction, target, weights, []<nn::reduction R>() { return nn::HuberLoss<R>{.delta = 0.7}; });

    nn::Embedding<10, 4, T> embed{.padding_idx = 2};
    embed.weight = fixture_tensor<tensor<T, shape<10, 4>>>("embedding.weight");
    const auto indices = fixture_integers<tensor<std::int32_t, shape<3, 5>>>("embedding.indices");
    using Out = tensor<T, shape<3, 5, 4>>;
    const Out embedded = embed(indices);
    check_parity<T>("embedding output", embedded, fixture_tensor<Out>("embedding.out"));
    const Out upstream = fixture_tensor<Out>("embedding.upstream");
    auto [value, grad] = spore::value_and_grad(spore::sum(embed(indices) * upstream), embed.weight);
    (void)value;
    check_parity<T>("embedding gradient", grad, fixture_tensor<tensor<T, shape<10, 4>>>("embedding.grad"));
}

}  // namespace

TEST_CASE("PyTorch parity: activations, losses with every reduction, Embedding, in float", "[nn][parity]") { check_all<float>(); }

TEST_CASE("PyTorch parity: activations, losses with every reduction, Embedding, in double", "[nn][parity]") { check_all<double>(); }
