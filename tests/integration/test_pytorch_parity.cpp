// Parity with PyTorch 1.13: LeNet-5 weights written by PyTorch (tests/fixtures, made by
// tests/fixtures/make_lenet_fixture.py) load into the spore cell, and spore computes the same
// logits, loss and weight gradients on the same batch. The other direction: a cell spore writes
// (tests/fixtures/spore_written.safetensors) is loaded by the same script into PyTorch, which
// must compute the output stored next to the weights. CI has no torch: the files are committed.
//
// Regenerate: /usr/bin/python3 tests/fixtures/make_lenet_fixture.py (PyTorch side), and
// SPORE_WRITE_FIXTURES=1 build/release/tests/test_pytorch_parity (spore side), then run the
// script with --check.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <utility>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

#include "../../examples/lenet/lenet5.hpp"

namespace fs = std::filesystem;
namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

const fs::path fixtures = fs::path(__FILE__).parent_path().parent_path() / "fixtures";  // tests/fixtures

std::string fixture(const char* name) { return (fixtures / name).string(); }

struct Features {
    nn::Conv2d<1, 2, 3> conv;
};

// A small cell with a nested block, its input and the output spore computes for it: all saved
// in one file, which PyTorch loads (the script strips input and output before load_state_dict).
struct SporeWritten {
    Features features;
    nn::Dense<8, 3> head;
    tensor<float, shape<2, 1, 6, 6>> input;
    tensor<float, shape<2, 3>> output;

    auto construct(auto x) const {
        return head(nn::flatten(nn::max_pool2d<2, 2>(nn::relu(features.conv(x)))));
    }
};

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("PyTorch parity: LeNet-5 logits, loss and every weight gradient", "[io][parity]") {
    LeNet5 net;
    spore::load(net, fixture("lenet_weights.safetensors"));  // strict: every key, dtype and shape

    const auto batch = spore::io::read_safetensors(fixture("lenet_batch.safetensors"));
    tensor<float, shape<4, 1, 32, 32>> images;
    tensor<float, shape<4, 10>> onehot, torch_logits;
    tensor<float, shape<>> torch_loss;
    spore::io::copy_tensor(batch, "images", images);
    spore::io::copy_tensor(batch, "onehot", onehot);
    spore::io::copy_tensor(batch, "logits", torch_logits);
    spore::io::copy_tensor(batch, "loss", torch_loss);
    // the integer labels agree with the one-hot rows
    const auto* labels = batch.find("labels");
    REQUIRE(labels != nullptr);
    REQUIRE(labels->dtype == "I64");
    for (std::size_t i = 0; i < 4; ++i) {
        std::int64_t label;
        std::memcpy(&label, batch.data.data() + labels->begin + 8 * i, 8);
        REQUIRE(label >= 0);
        REQUIRE(label < 10);
        CHECK(onehot(i, label) == 1.0f);
    }

    const tensor<float, shape<4, 10>> logits = net.construct(spore::input(images));
    const double logits_error = spore::max_abs_diff(logits, torch_logits);

    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(spore::input(images)), spore::input(onehot));
    auto result = std::apply([&](auto&... p) { return spore::value_and_grad(loss, p...); }, nn::parameters(net));
    const double loss_error = std::abs(double(std::get<0>(result)) - double(torch_loss[0]));

    LeNet5 torch_grads;  // PyTorch's gradients, under the weights' keys
    spore::load(torch_grads, fixture("lenet_grads.safetensors"));
    double grad_error = 0, grad_scale = 0;
    std::size_t compared = 0;
    auto expected = nn::parameters(torch_grads);
    auto compare = [&](const auto& spore_grad, const auto& torch_grad) {
        grad_error = std::max(grad_error, spore::max_abs_diff(spore_grad, torch_grad));
        for (float g : torch_grad) grad_scale = std::max(grad_scale, double(std::abs(g)));
        ++compared;
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (compare(std::get<I + 1>(result), std::get<I>(expected)), ...);
    }(std::make_index_sequence<10>{});

    std::printf("PyTorch parity (LeNet-5, 4 images): max |error| logits %.3g, loss %.3g, gradients %.3g "
                "(largest gradient %.3g), over %zu tensors\n",
                logits_error, loss_error, grad_error, grad_scale, compared);
    CHECK(compared == 10);
    CHECK(logits_error <= 1e-4);
    CHECK(loss_error <= 1e-4);
    CHECK(grad_error <= 1e-4);
    CHECK(grad_scale > 1e-3);  // the gradients are not all zero, so the comparison means something
}

TEST_CASE("PyTorch parity: the file spore writes for PyTorch is current", "[io][parity]") {
    SporeWritten cell;
    spore::init(cell, 11);
    cell.input.fill_uniform(12, -1.0f, 1.0f);
    cell.output = cell.construct(spore::input(cell.input));

    const fs::path scratch = fs::temp_directory_path() / ("spore_parity_" + std::to_string(::getpid()));
    fs::create_directories(scratch);
    const std::string written = (scratch / "spore_written.safetensors").string();
    spore::save(cell, written, {{"producer", "spore tests/integration/test_pytorch_parity.cpp"}});
    if (std::getenv("SPORE_WRITE_FIXTURES")) {
        fs::copy_file(written, fixture("spore_written.safetensors"), fs::copy_options::overwrite_existing);
        WARN("wrote " << fixture("spore_written.safetensors") << ": check it with make_lenet_fixture.py --check");
    }

    // the committed file is what spore writes today: the same header and weights, and an output
    // equal up to the last bits (other instruction sets round the convolution differently)
    const std::string now = read_bytes(written), committed = read_bytes(fixture("spore_written.safetensors"));
    fs::remove_all(scratch);
    REQUIRE(committed.size() == now.size());
    const std::size_t output_bytes = sizeof(float) * 6, rest = now.size() - output_bytes;
    CHECK(committed.compare(0, rest, now, 0, rest) == 0);
    SporeWritten loaded;
    spore::load(loaded, fixture("spore_written.safetensors"));
    CHECK(spore::max_abs_diff(loaded.output, cell.output) <= 1e-6);
    CHECK(loaded.head.weight(2, 7) == cell.head.weight(2, 7));
}
