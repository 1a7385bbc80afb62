#include <array>
#include <cstdio>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <typeinfo>
#include <vector>

#include <zlib.h>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

#include "../support/child_memory.hpp"

namespace fs = std::filesystem;
const fs::path bad_inputs = fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "bad-inputs" / "idx";
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

namespace {

std::string error_type(const std::exception& e) {
    if (dynamic_cast<const data_error*>(&e)) return "data_error";
    return typeid(e).name();
}

// Runs `read` in a child process: it must end in data_error containing `expected`, with its
// peak memory under `limit_mb` more than the child had when it started.
template <class F>
void check_bounded(F&& read, const std::string& expected, double limit_mb = 32) {
    const auto outcome = spore_test::run_in_child(read, error_type);
    INFO(outcome.message);
    REQUIRE(outcome.exited);
    CHECK(outcome.error_type == "data_error");
    CHECK(outcome.message.find(expected) != std::string::npos);
    CHECK(outcome.peak_mb < limit_mb);
}

}  // namespace

// tests/fixtures/bad-inputs/idx: files found by fuzzing (../shared/bad-inputs, issue 18).
TEST_CASE("idx: extents whose product wraps past 2^64 are refused", "[data][idx][bad-inputs]") {
    temp_dir dir;
    // [2^17, 2^17, 2^30]: the product wrapped to 0 and an empty array came back
    const std::string wrap0 = (bad_inputs / "ix12_wrap_to_0_rank3").string();
    check_error([&] { read_idx(wrap0); }, "the header describes more than 16 GiB (extents 131072, 131072, 1073741824)");
    write_plain(dir / "labels_131072", idx_bytes({131072}, std::vector<unsigned char>(131072, 0)));
    check_error([&] { read_idx_images(wrap0, dir / "labels_131072"); }, "more than 16 GiB");
    // [4, 1073807362, 4294705160] with 64 bytes of pixels: wrapped to 64, was accepted, and
    // image_set::write_image read out of bounds
    const std::string wrap64 = (bad_inputs / "ix13_wrap_to_64_images").string();
    const std::string labels4 = (bad_inputs / "ix13_labels_4").string();
    check_error([&] { read_idx(wrap64); }, "more than 16 GiB");
    check_error([&] { read_idx_images(wrap64, labels4); }, "ix13_wrap_to_64_images: the header describes more than 16 GiB");
    // the same checks in image_set, for images assembled by hand
    spore::data::labelled_images forged;
    forged.count = 4;
    forged.rows = 1073807362;
    forged.cols = 4294705160;
    forged.pixels.resize(64);
    forged.labels = {0, 1, 2, 3};
    CHECK_THROWS_AS(spore::data::image_set(forged, {}, 10, "forged"), data_error);
    // a product just under the limit is not refused for its size
    write_plain(dir / "big_claim", idx_bytes({65536, 65536, 4}, {}));
    check_error([&] { read_idx(dir / "big_claim"); }, "truncated: 17179869184 data bytes expected, found 0");
}

TEST_CASE("idx: a claimed size costs memory only as the data arrives", "[data][idx][bad-inputs]") {
    temp_dir dir;
    // 8 bytes claiming 2 GiB: reserved and zero-filled (2.1 GB) before "truncated"
    const std::string claim2 = (bad_inputs / "ix09_claim_2GiB_16bytes").string();
    check_bounded([&] { read_idx(claim2); }, "truncated: 2147483648 data bytes expected, found 0");
    // 16 GiB claimed by a plain file, and inside a small gzip stream: std::bad_alloc before
    const auto claim16 = idx_bytes({16, 1u << 30}, sequence(1000));
    write_plain(dir / "claim16", claim16);
    write_gzip(dir / "claim16.gz", claim16);
    check_bounded([&] { read_idx(dir / "claim16"); }, "truncated: 17179869184 data bytes expected, found 1000");
    check_bounded([&] { read_idx(dir / "claim16.gz"); }, "truncated: 17179869184 data bytes expected, found 1000");
    // a gzip stream holding 64 MB of data claiming 16 GiB: the buffer follows the data, not the claim
    {
        gzFile f = gzopen((dir / "zeros16.gz").c_str(), "wb");
        REQUIRE(f);
        const auto header = idx_bytes({16, 1u << 30}, {});
        gzwrite(f, header.data(), static_cast<unsigned>(header.size()));
        const std::vector<unsigned char> zeros(1 << 20, 0);
        for (int i = 0; i < 64; ++i) gzwrite(f, zeros.data(), static_cast<unsigned>(zeros.size()));
        gzclose(f);
    }
    check_bounded([&] { read_idx(dir / "zeros16.gz"); }, "found 67108864", 2 * 64 + 24);
    // and a file that holds what it claims is read whole, plain or compressed
    const auto data = sequence(3 << 20);
    write_plain(dir / "real", idx_bytes({3, 1024, 1024}, data));
    write_gzip(dir / "real.gz", idx_bytes({3, 1024, 1024}, data));
    CHECK(read_idx(dir / "real").values == data);
    CHECK(read_idx(dir / "real.gz").values == data);
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
