// PGM reader (include/spore/data/pgm.hpp): P5 and P2, 8 and 16 bits, comments; every kind of
// bad input gives a data_error naming the file and the problem.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <typeinfo>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <spore/data/pgm.hpp>

#include "../support/child_memory.hpp"

using spore::data::gray_image;
using spore::data::parse_pgm;

namespace {

std::string error_of(const std::string& bytes) {
    try {
        parse_pgm(bytes, "img.pgm");
    } catch (const spore::data_error& e) {
        return e.what();
    }
    return "(no error)";
}

std::vector<unsigned> samples(const gray_image& image) { return {image.samples.begin(), image.samples.end()}; }

}  // namespace

TEST_CASE("pgm: binary P5, 8 and 16 bits", "[data][pgm]") {
    const std::string p5 = std::string("P5\n3 2\n255\n") + std::string("\x00\x0a\xff\x80\x20\x0d", 6);
    const gray_image image = parse_pgm(p5);
    CHECK(image.width == 3);
    CHECK(image.height == 2);
    CHECK(image.maxval == 255);
    CHECK(samples(image) == std::vector<unsigned>{0, 10, 255, 128, 32, 13});  // 0x20 and 0x0d are data here
    CHECK(image.intensity(0, 2) == 1.0f);
    CHECK(image.intensity(1, 0) == Approx(128.0 / 255));

    const gray_image wide = parse_pgm(std::string("P5 2 1 1000 ") + std::string("\x03\xe8\x01\x02", 4));
    CHECK(wide.maxval == 1000);
    CHECK(samples(wide) == std::vector<unsigned>{1000, 258});  // big-endian
    CHECK(wide.intensity(0, 0) == 1.0f);
}

TEST_CASE("pgm: ASCII P2 with comments, CRLF and free whitespace", "[data][pgm]") {
    const gray_image image = parse_pgm("P2\r\n# made by hand\r\n2 # width\n 2\n#maxval next\n15\n0 15\n  7\t\t3\n\n");
    CHECK(image.width == 2);
    CHECK(image.height == 2);
    CHECK(image.maxval == 15);
    CHECK(samples(image) == std::vector<unsigned>{0, 15, 7, 3});
    CHECK(image.intensity(1, 0) == Approx(7.0 / 15));
    CHECK(samples(parse_pgm("P2 1 1 65535 65535")) == std::vector<unsigned>{65535});
}

TEST_CASE("pgm: bad input names the file and the problem", "[data][pgm]") {
    struct bad_case {
        std::string bytes, expected;
    };
    const std::vector<bad_case> cases{
        {"", "not a PGM file (it must start with P5 or P2)"},
        {"P", "not a PGM file"},
        {"GIF89a", "not a PGM file"},
        {"P7\n", "not a PGM file"},
        {"P6 1 1 255 abc", "a PPM (colour) file, not PGM"},
        {"P4 8 1 \x01", "a PBM (bitmap) file, not PGM"},
        {"P5", "expected whitespace before the width, found the end of the file"},
        {"P51 1 255 a", "expected whitespace before the width, found '1'"},
        {"P5 x 1 255 a", "expected the width (a decimal number), found 'x' at byte 3"},
        {"P5 -1 1 255 a", "expected the width (a decimal number), found '-'"},
        {"P5 28x28 255 a", "expected whitespace after the width, found 'x'"},
        {"P5 2 ", "expected the height (a decimal number), found the end of the file"},
        {"P5 2 2", "expected whitespace before maxval, found the end of the file"},
        {"P5 0 2 255 ", "the image is 0x2, it must not be empty"},
        {"P5 100000 2 255 ", "the image is 100000x2, larger than spore reads"},
        {"P5 99999999999 2 255 ", "the width is too large"},
        {"P5 1 1 0 a", "maxval is 0, it must be 1 to 65535"},
        {"P5 1 1 65536 ab", "maxval is 65536, it must be 1 to 65535"},
        {"P5 2 2 255", "truncated: no raster after the header"},
        {"P5 2 2 255#x\nabcd", "expected one whitespace byte after maxval, found '#'"},
        {"P5 2 2 255\nabc", "truncated: the raster of 2x2 needs 4 bytes, found 3"},
        {std::string("P5 2 1 300\n\x01\x00\x01", 14), "truncated: the raster of 2x1 needs 4 bytes, found 3"},
        {"P5 2 1 100\n\x10\x65", "sample 1 is 101, above maxval 100"},
        {"P5 1 1 255\nab", "1 bytes of unexpected data after the image, at byte 12"},
        {"P2 2 1 255\n1", "truncated: 2 samples expected, found 1"},
        {"P2 2 1 255\n1 256", "sample 1 is 256, above maxval 255"},
        {"P2 2 1 255\n1 -2", "expected a sample (a decimal number), found '-'"},
        {"P2 2 1 255\n1 2x", "1 bytes of unexpected data after the image"},
        {"P2 3 1 255\n1 2x3", "expected whitespace between samples, found 'x'"},
        {"P2 2 1 255\n1 # two\n2", "expected a sample (a decimal number), found '#'"},
        {"P2 1 1 255\n1\n2\n", "2 bytes of unexpected data after the image"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.bytes);
        const std::string message = error_of(c.bytes);
        CAPTURE(message);
        CHECK(message.rfind("img.pgm: ", 0) == 0);
        CHECK(message.find(c.expected) != std::string::npos);
    }
}

TEST_CASE("pgm: read_pgm reads files, a missing file is an error naming it", "[data][pgm]") {
    const auto path = std::filesystem::temp_directory_path() / ("spore_test_pgm_" + std::to_string(::getpid()) + ".pgm");
    {
        std::ofstream out(path, std::ios::binary);
        out << "P5\n# 28x28 like Fashion-MNIST\n28 28\n255\n";
        for (int i = 0; i < 28 * 28; ++i) out.put(static_cast<char>(i % 256));
    }
    const gray_image image = spore::data::read_pgm(path.string());
    std::filesystem::remove(path);
    CHECK(image.width == 28);
    CHECK(image.height == 28);
    CHECK(image.samples[27 * 28 + 27] == (28 * 28 - 1) % 256);
    CHECK_THROWS_WITH(spore::data::read_pgm(path.string()), Catch::Contains(path.string() + ": cannot open the file"));
}

// tests/fixtures/bad-inputs/pgm: files found by fuzzing (../shared/bad-inputs, issue 18).
TEST_CASE("pgm: a header claiming a large image costs memory only when its raster is there", "[data][pgm][bad-inputs]") {
    const auto fixtures = std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "bad-inputs" / "pgm";
    auto type_of = [](const std::exception& e) -> std::string {
        return dynamic_cast<const spore::data_error*>(&e) ? "data_error" : typeid(e).name();
    };
    struct bad_file {
        std::string path, expected;
    };
    // 20-byte headers of 16384x16384 images with no raster: 527 MB were allocated first
    const std::vector<bad_file> files{
        {(fixtures / "pg06_16384x16384_no_raster").string(), "truncated: the raster of 16384x16384 needs 536870912 bytes, found 0"},
        {(fixtures / "pg06b_P2_16384x16384_no_raster").string(), "truncated: 268435456 samples expected, found 0"},
        // a device that never ends: it peaked at 2.1 GB before "larger than 1 GiB"
        {"/dev/zero", "/dev/zero: not a PGM file"},
    };
    for (const auto& file : files) {
        CAPTURE(file.path);
        const auto outcome = spore_test::run_in_child([&] { spore::data::read_pgm(file.path); }, type_of);
        CAPTURE(outcome.message);
        REQUIRE(outcome.exited);
        CHECK(outcome.error_type == "data_error");
        CHECK(outcome.message.find(file.expected) != std::string::npos);
        CHECK(outcome.peak_mb < 16);
    }
    // a P2 raster claims at most half its bytes as samples, whatever its header says
    std::string p2 = "P2 16384 16384 65535\n";
    for (int i = 0; i < 100000; ++i) p2 += "1 ";
    const auto outcome = spore_test::run_in_child([&] { parse_pgm(p2, "p2.pgm"); }, type_of);
    CHECK(outcome.message.find("truncated: 268435456 samples expected, found 100000") != std::string::npos);
    CHECK(outcome.peak_mb < 16);
}
