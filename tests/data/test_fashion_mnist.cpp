// Fashion-MNIST (data/fashion_mnist.hpp): a directory of IDX files, gzip or plain, with errors
// that name the file, and the installed Debian data set when it is there.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <spore/data.hpp>

namespace fs = std::filesystem;
namespace data = spore::data;

namespace {

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const spore::error& e) {
        return e.what();
    }
    return "(no exception)";
}

struct temp_dir {
    fs::path path = fs::temp_directory_path() / ("spore_dataset_" + std::to_string(::getpid()));
    temp_dir() { fs::create_directories(path); }
    ~temp_dir() { fs::remove_all(path); }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::vector<unsigned char> idx_bytes(std::vector<std::uint32_t> extents, std::size_t values) {
    std::vector<unsigned char> out{0, 0, 8, static_cast<unsigned char>(extents.size())};
    for (auto e : extents)
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(e >> shift));
    for (std::size_t i = 0; i < values; ++i) out.push_back(static_cast<unsigned char>(i % 10));
    return out;
}
void write_gzip(const std::string& path, const std::vector<unsigned char>& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f);
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}
void write_plain(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}
// A complete little Fashion-MNIST directory: `train` and `test` images of 4x3.
void write_set(const temp_dir& dir, std::uint32_t train, std::uint32_t test) {
    write_gzip(dir / "train-images-idx3-ubyte.gz", idx_bytes({train, 4, 3}, train * 12));
    write_gzip(dir / "train-labels-idx1-ubyte.gz", idx_bytes({train}, train));
    write_plain(dir / "t10k-images-idx3-ubyte", idx_bytes({test, 4, 3}, test * 12));  // plain files work too
    write_plain(dir / "t10k-labels-idx1-ubyte", idx_bytes({test}, test));
}

}  // namespace

TEST_CASE("fashion_mnist: a directory of IDX files, gzip or plain, errors name the file", "[data][dataset]") {
    temp_dir dir;
    write_set(dir, 7, 3);
    const auto set = data::fashion_mnist(dir.path.string(), {.pad = 1});
    CHECK(set.train.size() == 7);
    CHECK(set.test.size() == 3);
    CHECK(set.train.rows() == 6);
    CHECK(set.train.cols() == 5);
    CHECK(set.test.label(2) == 2);
    CHECK(set.train.source() == dir / "train-images-idx3-ubyte.gz");
    CHECK(set.train.options().normalise.mean == data::fashion_mnist_normalisation.mean);

    const std::string missing = error_of([] { data::fashion_mnist("/nonexistent/fashion"); });
    CHECK(missing.find("/nonexistent/fashion/train-images-idx3-ubyte.gz: cannot open the file") == 0);
    CHECK(missing.find("dataset-fashion-mnist") != std::string::npos);

    write_plain(dir / "t10k-labels-idx1-ubyte", idx_bytes({4}, 4));
    CHECK(error_of([&] { data::fashion_mnist(dir.path.string()); }) ==
          dir / "t10k-images-idx3-ubyte" + " holds 3 images but " + dir / "t10k-labels-idx1-ubyte" + " holds 4 labels");

    auto bytes = idx_bytes({7, 4, 3}, 7 * 12);
    bytes.resize(bytes.size() - 5);
    write_gzip(dir / "train-images-idx3-ubyte.gz", bytes);
    CHECK(error_of([&] { data::fashion_mnist(dir.path.string()); }) ==
          dir / "train-images-idx3-ubyte.gz" + ": truncated: 84 data bytes expected, found 79");
}

TEST_CASE("fashion_mnist: the installed data set, padded to 32x32", "[data][dataset][fashion]") {
    const std::string dir = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(dir + "/train-images-idx3-ubyte.gz")) {
        WARN("dataset-fashion-mnist is not installed; skipping");
        return;
    }
    const auto set = data::fashion_mnist(dir, {.pad = 2});
    CHECK(set.train.size() == 60000);
    CHECK(set.test.size() == 10000);
    CHECK(set.train.rows() == 32);
    CHECK(set.train.cols() == 32);
    const auto stats = data::pixel_statistics(set.train.pixels());
    CHECK(stats.mean == Approx(data::fashion_mnist_normalisation.mean).margin(5e-5));
    CHECK(stats.stddev == Approx(data::fashion_mnist_normalisation.stddev).margin(5e-5));
}
