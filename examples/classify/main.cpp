// Classifies images with LeNet-5 weights from a safetensors checkpoint: one saved by
// examples/lenet (--save), or a PyTorch state_dict of the same model (the keys are conv1.weight,
// ..., fc3.bias in both). Prints the three most likely Fashion-MNIST classes of each image.
//
//   spore_example_classify --weights lenet.safetensors --idx t10k-images-idx3-ubyte.gz
//                          [--labels t10k-labels-idx1-ubyte.gz] [--count N]
//   spore_example_classify --weights lenet.safetensors shirt.pgm boot.pgm ...
//
// Images are grayscale, light object on a dark background as in Fashion-MNIST; PGM files may be
// binary (P5) or ASCII (P2), of any size up to 32x32 (28x28 expected). Each is centred on a
// 32x32 canvas and normalised exactly as examples/lenet does for training.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include <spore/spore.hpp>

#include "../lenet/lenet5.hpp"

using spore::shape;
using spore::tensor;

namespace {

constexpr std::size_t batch = 8, classes = 10, side = 32;
constexpr float mean = 0.2860f, stddev = 0.3530f;  // as examples/lenet
constexpr std::array<const char*, classes> class_names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
struct images_tag;

struct options {
    std::string weights = "lenet.safetensors", idx, labels;
    std::size_t count = 10;
    bool count_given = false;
    std::vector<std::string> pgm_files;
};

const char* usage =
    "usage: spore_example_classify --weights FILE (--idx IMAGES [--labels LABELS] [--count N] | IMAGE.pgm ...)";

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw spore::error("missing value after " + arg + "\n" + usage);
            return argv[++i];
        };
        if (arg == "--weights") o.weights = value();
        else if (arg == "--idx") o.idx = value();
        else if (arg == "--labels") o.labels = value();
        else if (arg == "--count") {
            const std::string text = value();
            std::size_t used = 0;
            const unsigned long n = std::stoul(text, &used);
            if (used != text.size() || n == 0) throw spore::error("--count needs a positive number, found " + text);
            o.count = n;
            o.count_given = true;
        } else if (arg == "--help" || arg == "-h") {
            std::puts(usage);
            std::exit(0);
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw spore::error("unknown option " + arg + "\n" + usage);
        } else {
            o.pgm_files.push_back(arg);
        }
    }
    if (o.idx.empty() == o.pgm_files.empty())
        throw spore::error(std::string(o.idx.empty() ? "no images given" : "give either --idx or PGM files, not both") +
                           "\n" + usage);
    if (o.idx.empty() && (!o.labels.empty() || o.count_given))
        throw spore::error(std::string("--labels and --count go with --idx\n") + usage);
    return o;
}

// One image centred on the 32x32 canvas, normalised like the training data.
struct prepared {
    std::string name;
    std::array<float, side * side> pixels;
    int label = -1;
};

template <class Intensity>
prepared centre(std::string name, std::size_t rows, std::size_t cols, Intensity&& at) {
    if (rows > side || cols > side)
        throw spore::error(name + " is " + std::to_string(cols) + "x" + std::to_string(rows) +
                           "; LeNet-5 takes images up to 32x32 (28x28, as Fashion-MNIST)");
    prepared p{std::move(name), {}, -1};
    p.pixels.fill(-mean / stddev);  // the padding is normalised black, as in training
    const std::size_t top = (side - rows) / 2, left = (side - cols) / 2;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) p.pixels[(top + r) * side + left + c] = (at(r, c) - mean) / stddev;
    return p;
}

std::vector<prepared> load_images(const options& o) {
    std::vector<prepared> images;
    if (!o.pgm_files.empty()) {
        for (const auto& path : o.pgm_files) {
            const auto image = spore::data::read_pgm(path);
            images.push_back(centre(path, image.height, image.width,
                                    [&](std::size_t r, std::size_t c) { return image.intensity(r, c); }));
        }
        return images;
    }
    spore::data::labelled_images set;
    if (!o.labels.empty()) {
        set = spore::data::read_idx_images(o.idx, o.labels, classes);
    } else {
        auto array = spore::data::read_idx(o.idx);
        if (array.extents.size() != 3)
            throw spore::error(o.idx + ": images must have 3 extents [count, rows, cols], found " +
                               std::to_string(array.extents.size()));
        set.count = array.extents[0];
        set.rows = array.extents[1];
        set.cols = array.extents[2];
        set.pixels = std::move(array.values);
    }
    const std::size_t count = std::min(o.count, set.count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t* pixels = set.pixels.data() + i * set.rows * set.cols;
        images.push_back(centre("image " + std::to_string(i), set.rows, set.cols,
                                [&](std::size_t r, std::size_t c) { return pixels[r * set.cols + c] / 255.0f; }));
        if (!set.labels.empty()) images.back().label = set.labels[i];
    }
    return images;
}

}  // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    LeNet5 net;
    spore::load(net, opt.weights);  // every key, dtype and shape checked; nothing is guessed
    const std::vector<prepared> images = load_images(opt);

    auto x = spore::expr::placeholder<images_tag, float, shape<batch, 1, side, side>>();
    auto probabilities = spore::compile(spore::softmax(net.construct(x)));
    tensor<float, shape<batch, 1, side, side>> bx;
    probabilities.feed<images_tag>(bx);

    std::size_t labelled = 0, correct = 0;
    for (std::size_t first = 0; first < images.size(); first += batch) {
        const std::size_t count = std::min(batch, images.size() - first);
        bx.fill(-mean / stddev);
        for (std::size_t i = 0; i < count; ++i)
            std::copy(images[first + i].pixels.begin(), images[first + i].pixels.end(), bx.data() + i * side * side);
        const auto& out = probabilities();
        for (std::size_t i = 0; i < count; ++i) {
            const prepared& image = images[first + i];
            const float* row = out.data() + i * classes;
            std::array<std::size_t, classes> order;
            std::iota(order.begin(), order.end(), 0);
            std::partial_sort(order.begin(), order.begin() + 3, order.end(),
                              [&](std::size_t a, std::size_t b) { return row[a] > row[b]; });
            std::printf("%s:", image.name.c_str());
            for (std::size_t k = 0; k < 3; ++k)
                std::printf("  %zu. %s %.1f%%", k + 1, class_names[order[k]], 100.0 * row[order[k]]);
            if (image.label >= 0) {
                ++labelled;
                const bool right = order[0] == std::size_t(image.label);
                correct += right;
                std::printf("   (label: %s%s)", class_names[image.label], right ? "" : ", missed");
            }
            std::printf("\n");
        }
    }
    if (labelled)
        std::printf("top-1 accuracy: %zu of %zu = %.4f\n", correct, labelled, double(correct) / labelled);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "classify: %s\n", e.what());
    return 1;
}
