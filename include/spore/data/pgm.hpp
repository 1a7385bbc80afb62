#pragma once
// PGM (Netpbm graymap) images: binary P5 and ASCII P2, 8 or 16 bits per sample
// (https://netpbm.sourceforge.net/doc/pgm.html). Strict: the header is the magic number, width,
// height and maxval separated by whitespace and comments; P5 has exactly one whitespace byte
// before its raster; every sample is at most maxval; only whitespace may follow the image
// (one image per file). Every problem throws spore::data_error naming the file.
//
// The header's size is not trusted: the samples are allocated only once the bytes after the
// header are known to be able to hold them (a P5 raster's exact size; for P2, at least two
// bytes a sample), so a short file claiming a large image costs little memory, and read_pgm
// reads no more than a regular file's size (at most 1 GiB).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/data/idx.hpp>  // spore::data_error

namespace spore::data {

struct gray_image {
    std::size_t width = 0, height = 0;
    unsigned maxval = 0;
    std::vector<std::uint16_t> samples;  // row-major, each in [0, maxval]

    // The sample at (row, col) scaled to [0, 1].
    float intensity(std::size_t row, std::size_t col) const {
        return static_cast<float>(samples[row * width + col]) / static_cast<float>(maxval);
    }
};

namespace detail {

using spore::detail::concat;

class pgm_parser {
public:
    pgm_parser(std::string_view bytes, const std::string& name) : s_(bytes), name_(name) {}

    gray_image parse() {
        if (s_.size() < 2 || s_[0] != 'P')
            fail("not a PGM file (it must start with P5 or P2)");
        const char kind = s_[1];
        if (kind == '1' || kind == '4') fail("a PBM (bitmap) file, not PGM: convert it to grayscale (P5 or P2)");
        if (kind == '3' || kind == '6') fail("a PPM (colour) file, not PGM: convert it to grayscale (P5 or P2)");
        if (kind != '5' && kind != '2') fail("not a PGM file (it must start with P5 or P2)");
        at_ = 2;
        gray_image image;
        image.width = header_number("the width");
        image.height = header_number("the height");
        const std::size_t maxval = header_number("maxval");
        if (image.width == 0 || image.height == 0)
            fail(concat({"the image is ", image.width, "x", image.height, ", it must not be empty"}));
        if (image.width > max_side || image.height > max_side || image.width * image.height > max_samples)
            fail(concat({"the image is ", image.width, "x", image.height, ", larger than spore reads (at most ", max_side,
                         " pixels a side and ", max_samples, " in all)"}));
        if (maxval == 0 || maxval > 65535) fail(concat({"maxval is ", maxval, ", it must be 1 to 65535"}));
        image.maxval = static_cast<unsigned>(maxval);
        try {
            if (kind == '5') binary_raster(image);
            else ascii_raster(image);
        } catch (const std::bad_alloc&) {
            fail(concat({"not enough memory for the ", image.width, "x", image.height, " image"}));
        }
        while (at_ < s_.size() && is_space(s_[at_])) ++at_;
        if (at_ < s_.size())
            fail(concat({s_.size() - at_, " bytes of unexpected data after the image, at byte ", at_,
                         " (spore reads one image per file)"}));
        return image;
    }

private:
    static constexpr std::size_t max_side = 1 << 16, max_samples = std::size_t(1) << 28;

    [[noreturn]] void fail(const std::string& problem) const { throw data_error(concat({name_, ": ", problem})); }

    static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    // Whitespace and comments (from '#' to the end of the line) before a header number; at
    // least one separator is required.
    void skip_header_space(const char* what) {
        const std::size_t start = at_;
        for (;;) {
            if (at_ < s_.size() && is_space(s_[at_])) {
                ++at_;
            } else if (at_ < s_.size() && s_[at_] == '#') {
                while (at_ < s_.size() && s_[at_] != '\n' && s_[at_] != '\r') ++at_;
            } else {
                break;
            }
        }
        if (at_ == start) fail(concat({"expected whitespace before ", what, ", found ", describe()}));
    }

    std::string describe() const {
        if (at_ >= s_.size()) return "the end of the file";
        const unsigned char c = static_cast<unsigned char>(s_[at_]);
        if (c >= 0x20 && c < 0x7f) return concat({'\'', static_cast<char>(c), "' at byte ", at_});
        return concat({"byte ", unsigned(c), " at byte ", at_});
    }

    std::size_t number(const char* what) {
        if (at_ >= s_.size() || !is_digit(s_[at_])) fail(concat({"expected ", what, " (a decimal number), found ", describe()}));
        std::size_t n = 0;
        while (at_ < s_.size() && is_digit(s_[at_])) {
            n = n * 10 + static_cast<std::size_t>(s_[at_] - '0');
            if (n > (std::size_t(1) << 32)) fail(concat({what, " is too large"}));
            ++at_;
        }
        return n;
    }

    std::size_t header_number(const char* what) {
        skip_header_space(what);
        const std::size_t n = number(what);
        if (at_ < s_.size() && !is_space(s_[at_]) && s_[at_] != '#')
            fail(concat({"expected whitespace after ", what, ", found ", describe()}));
        return n;
    }

    void check_sample(std::size_t value, std::size_t index, unsigned maxval) const {
        if (value > maxval)
            fail(concat({"sample ", index, " is ", value, ", above maxval ", maxval}));
    }

    void binary_raster(gray_image& image) {
        if (at_ >= s_.size()) fail("truncated: no raster after the header");
        if (!is_space(s_[at_])) fail(concat({"expected one whitespace byte after maxval, found ", describe()}));
        ++at_;  // exactly one: the raster may start with a byte that looks like whitespace
        const std::size_t bytes_per_sample = image.maxval < 256 ? 1 : 2;
        const std::size_t needed = image.width * image.height * bytes_per_sample;
        if (s_.size() - at_ < needed)
            fail(concat({"truncated: the raster of ", image.width, "x", image.height, " needs ", needed, " bytes, found ",
                         s_.size() - at_}));
        image.samples.resize(image.width * image.height);  // the raster is there: allocate
        for (std::size_t i = 0; i < image.samples.size(); ++i) {
            std::size_t value = static_cast<unsigned char>(s_[at_]);
            if (bytes_per_sample == 2) value = value << 8 | static_cast<unsigned char>(s_[at_ + 1]);  // big-endian
            check_sample(value, i, image.maxval);
            image.samples[i] = static_cast<std::uint16_t>(value);
            at_ += bytes_per_sample;
        }
    }

    void ascii_raster(gray_image& image) {
        // every sample takes at least two bytes (whitespace, a digit): no more can be there
        const std::size_t count = image.width * image.height;
        image.samples.reserve(std::min(count, (s_.size() - at_) / 2));
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t before = at_;
            while (at_ < s_.size() && is_space(s_[at_])) ++at_;
            if (at_ >= s_.size())
                fail(concat({"truncated: ", count, " samples expected, found ", i}));
            if (at_ == before) fail(concat({"expected whitespace between samples, found ", describe()}));
            const std::size_t value = number("a sample");
            check_sample(value, i, image.maxval);
            image.samples.push_back(static_cast<std::uint16_t>(value));
        }
    }

    std::string_view s_;
    const std::string& name_;
    std::size_t at_ = 0;
};

struct pgm_file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace detail

// Parses PGM bytes; `name` prefixes error messages.
inline gray_image parse_pgm(std::string_view bytes, const std::string& name = "PGM data") {
    return detail::pgm_parser(bytes, name).parse();
}

inline gray_image read_pgm(const std::string& path) {
    std::unique_ptr<std::FILE, detail::pgm_file_closer> in(std::fopen(path.c_str(), "rb"));
    if (!in) throw data_error(spore::detail::concat({path, ": cannot open the file"}));
    constexpr std::size_t limit = std::size_t(1) << 30;
    auto too_large = [&] { return data_error(spore::detail::concat({path, ": larger than 1 GiB, not a PGM spore reads"})); };
    std::string bytes;
    try {
        // a regular file: its size, checked, in one buffer; a stream (a pipe, a device): as it comes
        std::error_code ec;
        if (std::filesystem::is_regular_file(path, ec)) {
            const std::uintmax_t size = std::filesystem::file_size(path, ec);
            if (!ec && size > limit) throw too_large();
            if (!ec) bytes.reserve(static_cast<std::size_t>(size) + 1);
        }
        char chunk[1 << 16];
        for (;;) {
            const std::size_t got = std::fread(chunk, 1, sizeof chunk, in.get());
            if (bytes.size() + got > limit) throw too_large();
            if (bytes.capacity() - bytes.size() < got) bytes.reserve(std::min(limit, std::max(2 * bytes.capacity(), bytes.size() + got)));
            bytes.append(chunk, got);
            if (bytes.size() >= 2 && bytes.size() == got && (bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '2')))
                break;  // not a PGM file: parse_pgm says which, without reading the rest
            if (got < sizeof chunk) {
                if (std::ferror(in.get())) throw data_error(spore::detail::concat({path, ": read error"}));
                break;
            }
        }
    } catch (const std::bad_alloc&) {
        throw data_error(spore::detail::concat({path, ": not enough memory to read the file"}));
    }
    return parse_pgm(bytes, path);
}

}  // namespace spore::data
