#include <array>
#include <cstdio>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

namespace fs = std::filesystem;
using spore::data_error;
using spore::data::read_idx;
using spore::data::read_idx_images;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("spore_idx_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
    static int& counter() {
        static int n = 0;
        return n;
    }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::vector<unsigned char> idx_bytes(std::vector<std::uint32_t> extents, const std::vector<unsigned char>& data,
                                     unsigned char type = 0x08) {
    std::vector<unsigned char> out{0, 0, type, static_cast<unsigned char>(extents.size())};
    for (auto e : extents)
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(e >> shift));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

void write_plain(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}
void write_gzip(const std::string& path, const std::vector<unsigned char>& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f);
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}

std::vector<unsigned char> sequence(std::size_t n) {
    std::vector<unsigned char> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>(i * 7 % 251);
    return v;
}

template <class F>
void check_error(F&& f, const std::string& expected) {
    try {
        f();
        FAIL("no exception; expected one containing: " << expected);
    } catch (const data_error& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find(expected) != std::string::npos);
    }
}

}  // namespace

TEST_CASE("idx: round trip, plain and gzip-compressed", "[data][idx]") {
    temp_dir dir;
    const auto data = sequence(3 * 4 * 5);
    write_plain(dir / "plain.idx", idx_bytes({3, 4, 5}, data));
    write_gzip(dir / "packed.idx.gz", idx_bytes({3, 4, 5}, data));
    for (const auto& name : {dir / "plain.idx", dir / "packed.idx.gz"}) {
        auto array = read_idx(name);
        CHECK(array.extents == std::vector<std::uint32_t>{3, 4, 5});
        CHECK(array.values == data);
    }
    write_gzip(dir / "images.gz", idx_bytes({2, 3, 3}, sequence(18)));
    write_gzip(dir / "labels.gz", idx_bytes({2}, {7, 3}));
    auto set = read_idx_images(dir / "images.gz", dir / "labels.gz");
    CHECK(set.count == 2);
    CHECK(set.rows == 3);
    CHECK(set.cols == 3);
    CHECK(set.labels == std::vector<std::uint8_t>{7, 3});
    CHECK(set.pixels == sequence(18));
}

TEST_CASE("idx: bad input throws an error naming the file and the problem", "[data][idx]") {
    temp_dir dir;
    check_error([&] { read_idx(dir / "missing.idx"); }, "missing.idx: cannot open");
    write_plain(dir / "short.idx", {0, 0});
    check_error([&] { read_idx(dir / "short.idx"); }, "short.idx: truncated: no IDX header");
    write_plain(dir / "magic.idx", {1, 2, 8, 1, 0, 0, 0, 1, 5});
    check_error([&] { read_idx(dir / "magic.idx"); }, "not an IDX file");
    write_plain(dir / "float.idx", idx_bytes({1}, {0, 0, 0, 0}, 0x0D));
    check_error([&] { read_idx(dir / "float.idx"); }, "element type 13 is not supported");
    auto header_cut = idx_bytes({3, 4}, sequence(12));
    header_cut.resize(6);
    write_plain(dir / "header.idx", header_cut);
    check_error([&] { read_idx(dir / "header.idx"); }, "truncated header");
    auto data_cut = idx_bytes({3, 4}, sequence(12));
    data_cut.pop_back();
    write_gzip(dir / "data.idx.gz", data_cut);
    check_error([&] { read_idx(dir / "data.idx.gz"); }, "truncated: 12 data bytes expected, found 11");
    auto extra = idx_bytes({3, 4}, sequence(12));
    extra.push_back(9);
    write_plain(dir / "extra.idx", extra);
    check_error([&] { read_idx(dir / "extra.idx"); }, "more data than the header describes");
    // a gzip stream cut in the middle
    write_gzip(dir / "whole.gz", idx_bytes({100}, sequence(100)));
    std::ifstream whole(dir / "whole.gz", std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(whole)), {});
    bytes.resize(bytes.size() / 2);
    std::ofstream(dir / "cut.gz", std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    CHECK_THROWS_AS(read_idx(dir / "cut.gz"), data_error);

    write_gzip(dir / "images.gz", idx_bytes({2, 3, 3}, sequence(18)));
    write_gzip(dir / "labels3.gz", idx_bytes({3}, {1, 2, 3}));
    check_error([&] { read_idx_images(dir / "images.gz", dir / "labels3.gz"); }, "holds 2 images but");
    write_gzip(dir / "labels_bad.gz", idx_bytes({2}, {1, 10}));
    check_error([&] { read_idx_images(dir / "images.gz", dir / "labels_bad.gz"); }, "label 10 of item 1 is not below 10");
    check_error([&] { read_idx_images(dir / "labels3.gz", dir / "labels3.gz"); }, "images must have 3 extents");
}

TEST_CASE("idx: Fashion-MNIST from the Debian package, when installed", "[data][idx][fashion-mnist]") {
    const std::string dir = "/usr/share/datasets/fashion-mnist/";
    if (!fs::exists(dir + "t10k-images-idx3-ubyte.gz")) {
        WARN("dataset-fashion-mnist is not installed; skipping the real-data check");
        return;
    }
    auto test = read_idx_images(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
    CHECK(test.count == 10000);
    CHECK(test.rows == 28);
    CHECK(test.cols == 28);
    std::array<int, 10> per_class{};
    for (auto label : test.labels) ++per_class[label];
    for (int n : per_class) CHECK(n == 1000);  // the test set is balanced
}
