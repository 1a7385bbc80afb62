// Image sets (data/image_set.hpp): batches filled with zero padding and normalisation, partial
// last batches, errors that say what was expected, and pixel statistics.
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/core/tensor.hpp>
#include <spore/data.hpp>

namespace data = spore::data;
using spore::shape;
using spore::tensor;

namespace {

// Images whose pixel (y, x) of item i is 10 i + 3 y + x, labels i % classes.
data::labelled_images generated(std::size_t count, std::size_t rows, std::size_t cols, std::size_t classes = 10) {
    data::labelled_images set;
    set.count = count;
    set.rows = rows;
    set.cols = cols;
    for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t y = 0; y < rows; ++y)
            for (std::size_t x = 0; x < cols; ++x) set.pixels.push_back(std::uint8_t(10 * i + 3 * y + x));
        set.labels.push_back(std::uint8_t(i % classes));
    }
    return set;
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const spore::error& e) {
        return e.what();
    }
    return "(no exception)";
}

}  // namespace

TEST_CASE("image set: zero padding and normalisation while a batch is filled", "[data][dataset]") {
    const data::image_set set(generated(3, 2, 3), {.pad = 2, .normalise = {.mean = 0.5f, .stddev = 0.25f}}, 10, "generated");
    CHECK(set.size() == 3);
    CHECK(set.rows() == 6);
    CHECK(set.cols() == 7);
    tensor<float, shape<2, 1, 6, 7>> images;
    images.fill(123.0f);
    std::array<std::int32_t, 2> labels{};
    const std::array<std::size_t, 2> items{2, 0};
    CHECK(set.fill_batch(items, images, labels) == 2);
    CHECK(labels == std::array<std::int32_t, 2>{2, 0});
    auto expected = [](double byte) { return float((byte / 255.0 - 0.5) / 0.25); };
    for (std::size_t row = 0; row < 2; ++row)
        for (std::size_t y = 0; y < 6; ++y)
            for (std::size_t x = 0; x < 7; ++x) {
                const std::size_t item = items[row];
                const bool inside = y >= 2 && y < 4 && x >= 2 && x < 5;
                const double byte = inside ? double(10 * item + 3 * (y - 2) + (x - 2)) : 0.0;
                INFO("row " << row << " y " << y << " x " << x);
                CHECK(images(row, 0, y, x) == Approx(expected(byte)).epsilon(1e-6));
            }
    CHECK(images(0, 0, 2, 2) == Approx(expected(20)).epsilon(1e-6));  // item 2's first pixel
    CHECK(images(0, 0, 0, 0) == Approx(-2.0f));                       // padding is black, normalised
}

TEST_CASE("image set: the default keeps byte / 255", "[data][dataset]") {
    const data::image_set set(generated(1, 2, 2), {}, 10, "generated");
    tensor<float, shape<1, 1, 2, 2>> images;
    std::array<std::int32_t, 1> labels{};
    set.fill_batch(std::array<std::size_t, 1>{0}, images, labels);
    CHECK(images[0] == 0.0f);
    CHECK(images[3] == Approx(4.0 / 255.0));
    CHECK(set.value_of(255) == 1.0f);
}

TEST_CASE("image set: a partial last batch reports its real rows", "[data][dataset]") {
    const data::image_set set(generated(5, 2, 2), {}, 10, "generated");
    tensor<float, shape<4, 1, 2, 2>> images;
    images.fill(9.0f);
    std::array<std::int32_t, 4> labels{};
    std::vector<std::size_t> order{4, 3, 2, 1, 0};
    CHECK(set.fill_batch(std::span(order).subspan(0, 4), images, labels) == 4);
    CHECK(labels == std::array<std::int32_t, 4>{4, 3, 2, 1});
    images.fill(9.0f);
    CHECK(set.fill_batch(std::span(order).subspan(4), images, labels) == 1);
    CHECK(labels == std::array<std::int32_t, 4>{0, -1, -1, -1});
    CHECK(images[3] == Approx(4.0 / 255.0));  // item 0, pixel (1, 1)
    for (std::size_t i = 4; i < images.size(); ++i) CHECK(images[i] == 0.0f);
}

TEST_CASE("image set: bad arguments are errors that say what was expected", "[data][dataset]") {
    const data::image_set set(generated(5, 2, 2), {.pad = 1}, 10, "generated");
    std::array<std::int32_t, 4> labels{};
    tensor<float, shape<4, 1, 2, 2>> unpadded;
    CHECK(error_of([&] { set.fill_batch(std::array<std::size_t, 1>{0}, unpadded, labels); }) ==
          "generated: fill_batch: the batch holds images of 1x2x2, the set has 1x4x4 (2x2 padded by 1)");
    tensor<float, shape<4, 1, 4, 4>> images;
    CHECK(error_of([&] { set.fill_batch(std::array<std::size_t, 1>{5}, images, labels); }) ==
          "generated: item 5 of a set of 5");
    CHECK(error_of([&] { set.fill_batch(std::array<std::size_t, 5>{}, images, labels); }) ==
          "generated: fill_batch: 5 items and 4 labels for a batch of 4");
    CHECK(error_of([] { data::image_set(generated(2, 2, 2), {.normalise = {0.1f, 0.0f}}, 10, "s"); }) ==
          "s: normalisation needs a finite mean and a positive stddev, found mean 0.1, stddev 0");
    CHECK(error_of([] { data::image_set(generated(4, 2, 2), {}, 3, "s"); }) ==
          "s: label 3 of item 3 is not below the class count 3");
    auto short_labels = generated(3, 2, 2);
    short_labels.labels.pop_back();
    CHECK(error_of([&] { data::image_set(short_labels, {}, 10, "s"); }) == "s: 3 images but 2 labels");
}

TEST_CASE("pixel statistics: mean and standard deviation of byte / 255", "[data][dataset]") {
    const auto set = generated(4, 3, 5);
    double sum = 0, squares = 0;
    for (auto p : set.pixels) {
        sum += p / 255.0;
        squares += (p / 255.0) * (p / 255.0);
    }
    const double n = double(set.pixels.size()), mean = sum / n;
    const auto stats = data::pixel_statistics(set.pixels);
    CHECK(stats.mean == Approx(mean).epsilon(1e-6));
    CHECK(stats.stddev == Approx(std::sqrt(squares / n - mean * mean)).epsilon(1e-6));
}
