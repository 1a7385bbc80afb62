// Writes the test models as ONNX files into the directory given as the only argument, for
// tests/onnx/check_models.py (onnx.checker with full shape inference) to validate.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <spore/io/onnx.hpp>
#include <spore/spore.hpp>

#include "../support/onnx_models.hpp"

namespace models = spore_test::onnx_models;
using spore::shape;

int main(int argc, char** argv) try {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    for (const auto& old : std::filesystem::directory_iterator(dir))
        if (old.path().extension() == ".onnx") std::filesystem::remove(old.path());
    auto path = [&](const char* name) { return (dir / name).string(); };

    models::LeNet5 lenet;
    spore::init(lenet, 1);
    spore::io::export_onnx<shape<1, 1, 32, 32>>(lenet, path("lenet.onnx"));
    spore::io::export_onnx<shape<8, 1, 32, 32>>(lenet, path("lenet_batch8.onnx"), {.symbolic_batch = false});

    models::ConvStridePad conv;
    spore::init(conv, 2);
    spore::io::export_onnx<shape<1, 3, 9, 9>>(conv, path("conv_stride_pad.onnx"));
    spore::io::export_onnx<shape<1, 2, 6, 6>>(models::AvgPool{}, path("avg_pool.onnx"));
    models::SigmoidTanh activations;
    spore::init(activations, 3);
    spore::io::export_onnx<shape<1, 7>>(activations, path("sigmoid_tanh.onnx"));
    models::Activations activation_cells;
    spore::init(activation_cells, 8);
    spore::io::export_onnx<shape<1, 7>>(activation_cells, path("activations.onnx"));
    models::TokenClassifier tokens;
    spore::init(tokens, 9);
    spore::io::export_onnx<shape<1, 5>, std::int32_t>(tokens, path("embedding.onnx"));
    models::DenseChain chain;
    spore::init(chain, 4);
    spore::io::export_onnx<shape<1, 20>>(chain, path("dense_chain.onnx"));
    models::SmallCnn cnn;
    spore::init(cnn, 5);
    spore::io::export_onnx<shape<1, 4, 6, 6>>(cnn, path("small_cnn.onnx"));
    models::ConvBatchNormDropout bn;
    spore::init(bn, 7);
    spore::io::export_onnx<shape<1, 2, 6, 6>>(bn, path("conv_batchnorm_dropout.onnx"));
    models::Elementwise elementwise;
    spore::init(elementwise, 6);
    spore::io::export_onnx<shape<1, 6>>(elementwise, path("elementwise.onnx"));
    spore::io::export_onnx<shape<1, 3, 5>>(models::Reductions{}, path("reductions.onnx"));
    std::printf("wrote 12 models to %s\n", dir.string().c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "export_models: %s\n", e.what());
    return 1;
}
