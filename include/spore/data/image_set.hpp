#pragma once
// A labelled image set held in memory as bytes, turned into floats only when a batch is
// filled: Fashion-MNIST's 70,000 images take 55 MB as bytes and would take 220 MB (287 MB
// padded to 32x32) as floats. Padding and normalisation are applied while filling, so they
// cost nothing until a batch is needed and one set can be read at several geometries.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/data/idx.hpp>

namespace spore::data {

// Pixels become (byte / 255 - mean) / stddev, as torchvision's ToTensor then Normalize.
struct normalisation {
    float mean = 0.0f;
    float stddev = 1.0f;
};

struct image_options {
    std::size_t pad = 0;         // black (byte 0) pixels added on every side: 28x28 -> 32x32 with 2
    normalisation normalise{};   // the default keeps byte / 255
};

// Mean and standard deviation of byte / 255 over every pixel of a set.
inline normalisation pixel_statistics(std::span<const std::uint8_t> pixels) {
    std::array<std::size_t, 256> histogram{};
    for (std::uint8_t p : pixels) ++histogram[p];
    double sum = 0, squares = 0;
    for (std::size_t v = 0; v < 256; ++v) {
        const double x = double(v) / 255.0;
        sum += double(histogram[v]) * x;
        squares += double(histogram[v]) * x * x;
    }
    const double n = double(pixels.size() ? pixels.size() : 1);
    const double mean = sum / n;
    return {float(mean), float(std::sqrt(std::max(0.0, squares / n - mean * mean)))};
}

class image_set {
public:
    image_set() = default;
    // `source` names the set in error messages (for a file-backed set, its image file).
    image_set(labelled_images images, image_options options, std::size_t classes, std::string source)
        : images_(std::move(images)), options_(options), classes_(classes), source_(std::move(source)) {
        const char* name = source_.c_str();
        if (!(options_.normalise.stddev > 0.0f) || !std::isfinite(options_.normalise.stddev) ||
            !std::isfinite(options_.normalise.mean))
            throw error(spore::detail::concat({name, ": normalisation needs a finite mean and a positive stddev, found mean ",
                                               options_.normalise.mean, ", stddev ", options_.normalise.stddev}));
        std::size_t pixels = 0;
        if (!detail::checked_multiply(images_.count, images_.rows, pixels) ||
            !detail::checked_multiply(pixels, images_.cols, pixels))
            throw data_error(spore::detail::concat({name, ": ", images_.count, " images of ", images_.rows, 'x', images_.cols,
                                                    " are more pixels than memory can hold"}));
        if (images_.pixels.size() != pixels)
            throw data_error(spore::detail::concat({name, ": ", images_.count, " images of ", images_.rows, 'x', images_.cols,
                                                    " need ", pixels, " pixels, found ", images_.pixels.size()}));
        if (images_.labels.size() != images_.count)
            throw data_error(spore::detail::concat({name, ": ", images_.count, " images but ", images_.labels.size(), " labels"}));
        for (std::size_t i = 0; i < images_.labels.size(); ++i)
            if (images_.labels[i] >= classes_)
                throw data_error(spore::detail::concat({name, ": label ", images_.labels[i], " of item ", i,
                                                        " is not below the class count ", classes_}));
        for (std::size_t v = 0; v < 256; ++v)
            values_[v] = (float(v) / 255.0f - options_.normalise.mean) / options_.normalise.stddev;
    }

    std::size_t size() const noexcept { return images_.count; }
    std::size_t classes() const noexcept { return classes_; }
    static constexpr std::size_t channels() noexcept { return 1; }
    // After padding.
    std::size_t rows() const noexcept { return images_.rows + 2 * options_.pad; }
    std::size_t cols() const noexcept { return images_.cols + 2 * options_.pad; }
    std::size_t image_size() const noexcept { return channels() * rows() * cols(); }
    const image_options& options() const noexcept { return options_; }
    const std::string& source() const noexcept { return source_; }
    std::int32_t label(std::size_t item) const noexcept { return images_.labels[item]; }
    // The stored bytes, unpadded: [size, rows - 2 pad, cols - 2 pad].
    std::span<const std::uint8_t> pixels() const noexcept { return images_.pixels; }
    // The value a byte becomes.
    float value_of(std::uint8_t byte) const noexcept { return values_[byte]; }

    // Writes item `item` as image_size() floats, padded and normalised.
    void write_image(std::size_t item, float* out) const noexcept {
        const std::size_t pad = options_.pad, r = images_.rows, c = images_.cols, width = cols();
        const std::uint8_t* in = images_.pixels.data() + item * r * c;
        const float background = values_[0];
        std::fill_n(out, pad * width, background);
        out += pad * width;
        for (std::size_t y = 0; y < r; ++y, in += c, out += width) {
            std::fill_n(out, pad, background);
            for (std::size_t x = 0; x < c; ++x) out[pad + x] = values_[in[x]];
            std::fill_n(out + pad + c, pad, background);
        }
        std::fill_n(out, pad * width, background);
    }

    // Fills a batch tensor [B, channels, rows, cols] with the items listed (at most B of them)
    // and `labels` (B entries) with their labels. Rows past the items are zero with label -1.
    // Returns how many rows are real.
    template <class Images>
    std::size_t fill_batch(std::span<const std::size_t> items, Images& images, std::span<std::int32_t> labels) const {
        using S = typename Images::shape_type;
        static_assert(S::rank == 4 && !S::has_dynamic_batch,
                      "spore::data::image_set::fill_batch: the batch must be a tensor of shape [B, C, H, W]");
        constexpr std::size_t batch = S::extents[0];
        check_geometry<S>("fill_batch");
        if (items.size() > batch || labels.size() != batch)
            throw error(spore::detail::concat({source_, ": fill_batch: ", items.size(), " items and ", labels.size(),
                                               " labels for a batch of ", batch}));
        float* out = images.data();
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (items[i] >= size()) throw error(spore::detail::concat({source_, ": item ", items[i], " of a set of ", size()}));
            write_image(items[i], out + i * image_size());
            labels[i] = label(items[i]);
        }
        std::fill(out + items.size() * image_size(), out + batch * image_size(), 0.0f);
        std::fill(labels.begin() + std::ptrdiff_t(items.size()), labels.end(), std::int32_t(-1));
        return items.size();
    }

    // Throws unless images of this set fill a batch of shape S ([B, C, H, W]).
    template <class S>
    void check_geometry(const char* who) const {
        check_geometry(who, S::extents[1], S::extents[2], S::extents[3]);
    }
    void check_geometry(const char* who, std::size_t channels_, std::size_t rows_, std::size_t cols_) const {
        if (channels_ != channels() || rows_ != rows() || cols_ != cols())
            throw error(spore::detail::concat({source_, ": ", who, ": the batch holds images of ", channels_, 'x', rows_, 'x', cols_,
                                               ", the set has ", channels(), 'x', rows(), 'x', cols(), " (", images_.rows, 'x',
                                               images_.cols, " padded by ", options_.pad, ")"}));
    }

private:
    labelled_images images_;
    image_options options_;
    std::size_t classes_ = 0;
    std::string source_;
    std::array<float, 256> values_{};
};

}  // namespace spore::data
