#pragma once
// Fashion-MNIST (or MNIST: the same files) from a directory holding the four IDX files, gzip-
// compressed (as Debian's dataset-fashion-mnist installs them) or not.

#include <cstddef>
#include <cstdio>
#include <string>

#include <spore/core/text.hpp>
#include <spore/data/idx.hpp>
#include <spore/data/image_set.hpp>

namespace spore::data {

struct image_split {
    image_set train;
    image_set test;
};

// Statistics of Fashion-MNIST's training pixels (byte / 255), as torchvision recipes use.
inline constexpr normalisation fashion_mnist_normalisation{0.2860f, 0.3530f};

struct fashion_mnist_options {
    std::size_t pad = 0;
    normalisation normalise = fashion_mnist_normalisation;
};

namespace detail {
inline bool readable(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f) std::fclose(f);
    return f != nullptr;
}
// `name` with .gz if that file exists, else the plain file.
inline std::string idx_file(const std::string& dir, const std::string& name) {
    const char* const slash = dir.empty() || dir.back() == '/' ? "" : "/";
    const std::string packed = spore::detail::concat({dir, slash, name, ".gz"}), plain = spore::detail::concat({dir, slash, name});
    if (readable(packed)) return packed;
    if (readable(plain)) return plain;
    throw data_error(spore::detail::concat({packed, ": cannot open the file (nor ", plain,
                                            "); on Debian, apt-get install dataset-fashion-mnist puts Fashion-MNIST in "
                                            "/usr/share/datasets/fashion-mnist"}));
}
inline image_set idx_image_set(const std::string& dir, const std::string& images, const std::string& labels,
                               const image_options& options) {
    const std::string images_path = idx_file(dir, images), labels_path = idx_file(dir, labels);
    return image_set(read_idx_images(images_path, labels_path, 10), options, 10, images_path);
}
}  // namespace detail

inline image_split fashion_mnist(const std::string& dir, fashion_mnist_options options = {}) {
    const image_options o{.pad = options.pad, .normalise = options.normalise};
    return {detail::idx_image_set(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", o),
            detail::idx_image_set(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", o)};
}

}  // namespace spore::data
