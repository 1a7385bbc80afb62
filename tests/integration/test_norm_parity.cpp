// Parity with PyTorch 1.13 for the normalisation layers, in float and in double: BatchNorm1d
// ([N, C] and [N, C, L]) and BatchNorm2d in training mode (output, gradients of input, weight and
// bias, running statistics and num_batches_tracked after the pass) and evaluation mode (output),
// LayerNorm over one and two axes (output and gradients); and a small ResNet-style network with
// BatchNorm whose PyTorch state_dict (num_batches_tracked included) loads as it is: evaluation
// and training logits, loss, every parameter gradient and the state after the training pass.
// The fixtures are made by tests/fixtures/make_norm_fixtures.py (Debian's python3-torch) and
// committed. Errors are relative to the largest magnitude of PyTorch's tensor:
// max |spore - torch| / max |torch|, at most 1e-5 in float and 1e-10 in double.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

namespace fs = std::filesystem;
namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

const fs::path fixtures = fs::path(__FILE__).parent_path().parent_path() / "fixtures";  // tests/fixtures

std::string fixture(const std::string& name) { return (fixtures / name).string(); }

template <class T>
struct precision;
template <>
struct precision<float> {
    static constexpr const char* tag = "f32";
    static constexpr double tolerance = 1e-5;
};
template <>
struct precision<double> {
    static constexpr const char* tag = "f64";
    static constexpr double tolerance = 1e-10;
};

// max |got - expected| / max |expected|
template <class A, class B>
double relative_error(const A& got, const B& expected) {
    REQUIRE(got.size() == expected.size());
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        diff = std::max(diff, std::abs(double(got.data()[i]) - double(expected.data()[i])));
        scale = std::max(scale, std::abs(double(expected.data()[i])));
    }
    REQUIRE(scale > 0);  // a comparison with an all-zero tensor would mean nothing
    return diff / scale;
}

// The largest error of each layer and precision, printed at the end of each test case.
struct error_table {
    std::vector<std::pair<std::string, double>> rows;
    void add(const std::string& what, double error, double tolerance) {
        CAPTURE(what, error);
        CHECK(error <= tolerance);
        rows.emplace_back(what, error);
    }
    void print(const char* title) const {
        std::printf("%s\n", title);
        for (const auto& [what, error] : rows) std::printf("  %-44s %.3g\n", what.c_str(), error);
    }
};

template <class Tensor>
Tensor read(const spore::io::safetensors_file& file, const std::string& key) {
    Tensor t;
    spore::io::copy_tensor(file, key, t);
    return t;
}

// One BatchNorm case: the layer's settings are PyTorch's (set by the caller); its tensors, the
// input and the upstream gradient r (the loss is sum(y * r)) come from the file.
template <class Layer, class InputShape>
void check_batch_norm(const spore::io::safetensors_file& file, const std::string& name, Layer bn, error_table& errors) {
    using T = typename decltype(bn.weight)::value_type;
    using P = precision<T>;
    const std::string prefix = name + "." + P::tag + ".";
    const auto x = read<tensor<T, InputShape>>(file, prefix + "input");
    auto r = read<tensor<T, InputShape>>(file, prefix + "upstream");
    spore::io::copy_tensor(file, prefix + "weight", bn.weight);
    spore::io::copy_tensor(file, prefix + "bias", bn.bias);
    spore::io::copy_tensor(file, prefix + "running_mean", bn.running_mean.value());
    spore::io::copy_tensor(file, prefix + "running_var", bn.running_var.value());
    spore::io::copy_tensor(file, prefix + "num_batches_tracked", bn.num_batches_tracked.value());
    REQUIRE(bn.num_batches_tracked[0] == 3);

    const tensor<T, InputShape> eval_y = spore::eval(bn(spore::input(x)));
    errors.add(prefix + "eval.output", relative_error(eval_y, read<tensor<T, InputShape>>(file, prefix + "eval.output")),
               P::tolerance);

    // one training pass; d/dr sum(y * r) = y gives the training-mode output
    auto program = spore::compile_grad(spore::sum(bn(spore::input(x)) * r), x, bn.weight, bn.bias, r);
    program.run();
    const auto& [dx, dw, db, y] = program.gradients();
    errors.add(prefix + "train.output", relative_error(y, read<tensor<T, InputShape>>(file, prefix + "train.output")), P::tolerance);
    errors.add(prefix + "train.grad_input", relative_error(dx, read<tensor<T, InputShape>>(file, prefix + "train.grad_input")),
               P::tolerance);
    using stats = tensor<T, typename decltype(bn.weight)::shape_type>;
    errors.add(prefix + "train.grad_weight", relative_error(dw, read<stats>(file, prefix + "train.grad_weight")), P::tolerance);
    errors.add(prefix + "train.grad_bias", relative_error(db, read<stats>(file, prefix + "train.grad_bias")), P::tolerance);
    errors.add(prefix + "train.running_mean",
               relative_error(bn.running_mean.value(), read<stats>(file, prefix + "train.running_mean")), P::tolerance);
    errors.add(prefix + "train.running_var", relative_error(bn.running_var.value(), read<stats>(file, prefix + "train.running_var")),
               P::tolerance);
    const auto count = read<tensor<std::int64_t, shape<>>>(file, prefix + "train.num_batches_tracked");
    CHECK(count[0] == 4);
    CHECK(bn.num_batches_tracked[0] == count[0]);
}

template <class Layer, class InputShape>
void check_layer_norm(const spore::io::safetensors_file& file, const std::string& name, Layer ln, error_table& errors) {
    using T = typename decltype(ln.weight)::value_type;
    using P = precision<T>;
    using params = tensor<T, typename decltype(ln.weight)::shape_type>;
    const std::string prefix = name + "." + P::tag + ".";
    const auto x = read<tensor<T, InputShape>>(file, prefix + "input");
    auto r = read<tensor<T, InputShape>>(file, prefix + "upstream");
    spore::io::copy_tensor(file, prefix + "weight", ln.weight);
    spore::io::copy_tensor(file, prefix + "bias", ln.bias);
    const auto expected = read<tensor<T, InputShape>>(file, prefix + "output");

    const tensor<T, InputShape> y = spore::eval(ln(spore::input(x)));
    errors.add(prefix + "output", relative_error(y, expected), P::tolerance);
    auto program = spore::compile_grad(spore::sum(ln(spore::input(x)) * r), x, ln.weight, ln.bias, r);
    program.run();
    const auto& [dx, dw, db, y_train] = program.gradients();
    CHECK(spore::max_abs_diff(y_train, y) == 0);  // the same in training and evaluation
    errors.add(prefix + "grad_input", relative_error(dx, read<tensor<T, InputShape>>(file, prefix + "grad_input")), P::tolerance);
    errors.add(prefix + "grad_weight", relative_error(dw, read<params>(file, prefix + "grad_weight")), P::tolerance);
    errors.add(prefix + "grad_bias", relative_error(db, read<params>(file, prefix + "grad_bias")), P::tolerance);
}

template <class T>
void check_layers(const spore::io::safetensors_file& file, error_table& errors) {
    check_batch_norm<nn::BatchNorm1d<5, T>, shape<6, 5>>(file, "bn1d_nc", {}, errors);
    check_batch_norm<nn::BatchNorm1d<3, T>, shape<4, 3, 7>>(file, "bn1d_ncl", {.eps = 1e-3, .momentum = 0.2}, errors);
    check_batch_norm<nn::BatchNorm2d<3, T>, shape<2, 3, 5, 4>>(file, "bn2d", {}, errors);
    check_layer_norm<nn::LayerNorm<shape<6>, T>, shape<4, 3, 6>>(file, "ln_last", {}, errors);
    check_layer_norm<nn::LayerNorm<shape<3, 6>, T>, shape<4, 3, 6>>(file, "ln_two", {.eps = 1e-4}, errors);
}

// tests/fixtures/make_norm_fixtures.py: Block and ResNet, field for field.
template <class T>
struct ResBlock {
    nn::Conv2d<8, 8, 3, 1, nn::padding::same, T, false> conv1;
    nn::BatchNorm2d<8, T> bn1;
    nn::Conv2d<8, 8, 3, 1, nn::padding::same, T, false> conv2;
    nn::BatchNorm2d<8, T> bn2;
    auto construct(auto h) const { return bn2(conv2(nn::relu(bn1(conv1(h))))); }
};

template <class T>
struct ResNet {
    nn::Conv2d<1, 8, 3, 1, nn::padding::same, T> stem;
    ResBlock<T> block;
    nn::Dense<8, 10, T> fc;
    auto construct(auto x) const {
        auto h = nn::relu(stem(x));
        return fc(spore::global_avg_pool2d(nn::relu(block.construct(h) + h)));
    }
};

template <class T>
void check_resnet(error_table& errors) {
    using P = precision<T>;
    const std::string tag = P::tag;
    ResNet<T> net;
    spore::load(net, fixture("resnet_state." + tag + ".safetensors"));  // strict: num_batches_tracked included
    REQUIRE(net.block.bn1.num_batches_tracked[0] == 17);
    REQUIRE(net.block.bn2.num_batches_tracked[0] == 17);

    const auto batch = spore::io::read_safetensors(fixture("resnet_batch.safetensors"));
    const auto images = read<tensor<T, shape<4, 1, 8, 8>>>(batch, tag + ".images");
    const auto onehot = read<tensor<T, shape<4, 10>>>(batch, tag + ".onehot");
    using logits_t = tensor<T, shape<4, 10>>;

    const logits_t eval_logits = spore::eval(net.construct(spore::input(images)));
    errors.add("resnet." + tag + ".eval_logits", relative_error(eval_logits, read<logits_t>(batch, tag + ".eval_logits")),
               P::tolerance);

    {  // the training-mode logits, from a copy (its training pass updates the copy's statistics)
        ResNet<T> probe = net;
        logits_t r;
        auto program = spore::compile_grad(spore::sum(probe.construct(spore::input(images)) * r), r);
        program.run();
        errors.add("resnet." + tag + ".train_logits", relative_error(std::get<0>(program.gradients()), read<logits_t>(batch, tag + ".logits")),
                   P::tolerance);
    }

    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(spore::input(images)), spore::input(onehot));
    auto program = std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, nn::parameters(net));
    const T value = program.run();
    const auto torch_loss = read<tensor<T, shape<>>>(batch, tag + ".loss");
    errors.add("resnet." + tag + ".loss", std::abs(double(value) - double(torch_loss[0])) / std::abs(double(torch_loss[0])),
               P::tolerance);

    // PyTorch's gradients under the parameters' keys: a checkpoint without the buffers, loaded
    // non-strictly into a cell of the same type
    ResNet<T> torch_grads;
    const spore::load_report report = spore::load(torch_grads, fixture("resnet_grads." + tag + ".safetensors"), {.strict = false});
    CHECK(report.unexpected.empty());
    CHECK(report.missing == std::vector<std::string>{"block.bn1.running_mean", "block.bn1.running_var",
                                                     "block.bn1.num_batches_tracked", "block.bn2.running_mean",
                                                     "block.bn2.running_var", "block.bn2.num_batches_tracked"});
    std::vector<std::string> names;
    nn::for_each_named_parameter(torch_grads, [&](const std::string& name, const auto&) { names.push_back(name); });
    REQUIRE(names.size() == std::tuple_size_v<std::remove_cvref_t<decltype(program.gradients())>>);
    std::size_t i = 0;
    const auto expected = nn::parameters(torch_grads);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((errors.add("resnet." + tag + ".grad " + names[I], relative_error(std::get<I>(program.gradients()), std::get<I>(expected)),
                     P::tolerance),
          ++i),
         ...);
    }(std::make_index_sequence<std::tuple_size_v<decltype(expected)>>{});
    CHECK(i == 10);

    // the state after the training pass: running statistics, and the count one higher
    ResNet<T> after;
    spore::load(after, fixture("resnet_after." + tag + ".safetensors"));
    CHECK(after.block.bn1.num_batches_tracked[0] == 18);
    CHECK(net.block.bn1.num_batches_tracked[0] == 18);
    CHECK(net.block.bn2.num_batches_tracked[0] == 18);
    errors.add("resnet." + tag + ".bn1.running_mean", relative_error(net.block.bn1.running_mean.value(), after.block.bn1.running_mean.value()),
               P::tolerance);
    errors.add("resnet." + tag + ".bn1.running_var", relative_error(net.block.bn1.running_var.value(), after.block.bn1.running_var.value()),
               P::tolerance);
    errors.add("resnet." + tag + ".bn2.running_mean", relative_error(net.block.bn2.running_mean.value(), after.block.bn2.running_mean.value()),
               P::tolerance);
    errors.add("resnet." + tag + ".bn2.running_var", relative_error(net.block.bn2.running_var.value(), after.block.bn2.running_var.value()),
               P::tolerance);

    // the other direction: what spore saves has PyTorch's keys, order, dtypes and shapes (the
    // count an I64 of shape []), so load_state_dict(strict=True) takes it
    const fs::path saved = fs::temp_directory_path() / ("spore_norm_parity_" + tag + "_" + std::to_string(::getpid()) + ".safetensors");
    spore::save(net, saved.string());
    const auto mine = spore::io::read_safetensors(saved.string());
    const auto theirs = spore::io::read_safetensors(fixture("resnet_after." + tag + ".safetensors"));
    fs::remove(saved);
    REQUIRE(mine.tensors.size() == theirs.tensors.size());
    for (std::size_t k = 0; k < mine.tensors.size(); ++k) {
        CHECK(mine.tensors[k].name == theirs.tensors[k].name);
        CHECK(mine.tensors[k].dtype == theirs.tensors[k].dtype);
        CHECK(mine.tensors[k].shape == theirs.tensors[k].shape);
    }
    const auto* count = mine.find("block.bn2.num_batches_tracked");
    REQUIRE(count != nullptr);
    std::int64_t saved_count = 0;
    std::memcpy(&saved_count, mine.data.data() + count->begin, sizeof saved_count);
    CHECK(saved_count == 18);
}

}  // namespace

TEST_CASE("PyTorch parity: BatchNorm1d, BatchNorm2d and LayerNorm in float and double", "[io][parity][norm]") {
    const auto file = spore::io::read_safetensors(fixture("norm_layers.safetensors"));
    error_table errors;
    check_layers<float>(file, errors);
    check_layers<double>(file, errors);
    errors.print("PyTorch parity, max |spore - torch| / max |torch|:");
    CHECK(errors.rows.size() == 2 * (3 * 7 + 2 * 4));
}

TEST_CASE("PyTorch parity: a ResNet-style network with BatchNorm, from PyTorch's state_dict", "[io][parity][norm]") {
    error_table errors;
    check_resnet<float>(errors);
    check_resnet<double>(errors);
    errors.print("PyTorch parity (ResNet block with BatchNorm, 4 images 1x8x8), max |spore - torch| / max |torch|:");
    CHECK(errors.rows.size() == 2 * (3 + 10 + 4));
}
