#pragma once
// The IDX format of MNIST and Fashion-MNIST: a magic number (two zero bytes, a type byte, a
// rank byte), big-endian uint32 extents, then the data. Files may be gzip-compressed; zlib
// reads both kinds. Define SPORE_NO_ZLIB to build without zlib (plain files only).
//
// Every problem (missing file, bad magic, unsupported type, truncated or overlong data,
// image and label counts that differ, a claimed size beyond 16 GiB or beyond the memory
// available) throws spore::data_error naming the file.
//
// The header's claim is not trusted: the extents' product is checked for overflow, and the
// values are read into a buffer that grows as the data arrives (for a plain file, one checked
// against the file's size first), so a small file claiming gigabytes costs little memory.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#if !defined(SPORE_NO_ZLIB)
#include <zlib.h>
#endif

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>

namespace spore {

struct data_error : error {
    using error::error;
};

namespace data {

// An IDX array of unsigned bytes (type 0x08), the type MNIST-format data sets use.
struct idx_array {
    std::vector<std::uint32_t> extents;
    std::vector<std::uint8_t> values;
};

namespace detail {

// a * b into `out`; false (and `out` unchanged) when the product does not fit.
inline bool checked_multiply(std::size_t a, std::size_t b, std::size_t& out) noexcept {
    if (b != 0 && a > SIZE_MAX / b) return false;
    out = a * b;
    return true;
}

// Reads a file, compressed or not, in sequence.
class byte_reader {
public:
    explicit byte_reader(const std::string& path) : path_(path) {
#if defined(SPORE_NO_ZLIB)
        file_ = std::fopen(path.c_str(), "rb");
#else
        file_ = gzopen(path.c_str(), "rb");
#endif
        if (!file_) throw data_error(spore::detail::concat({path, ": cannot open the file"}));
        std::error_code ec;
        if (std::filesystem::is_regular_file(path, ec)) {
            const std::uintmax_t size = std::filesystem::file_size(path, ec);
            if (!ec) file_size_ = size;
        }
    }
    ~byte_reader() {
#if defined(SPORE_NO_ZLIB)
        std::fclose(file_);
#else
        gzclose(file_);
#endif
    }
    byte_reader(const byte_reader&) = delete;
    byte_reader& operator=(const byte_reader&) = delete;

    // Reads up to `count` bytes; returns how many were read.
    std::size_t read(void* out, std::size_t count) {
        std::size_t done = 0;
        auto* bytes = static_cast<unsigned char*>(out);
        while (done < count) {
#if defined(SPORE_NO_ZLIB)
            const std::size_t got = std::fread(bytes + done, 1, count - done, file_);
            if (got == 0) {
                if (std::ferror(file_)) throw data_error(spore::detail::concat({path_, ": read error"}));
                break;
            }
            if (position_ == 0 && done == 0 && got >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
                throw data_error(spore::detail::concat({path_, ": a gzip file, and spore was built without zlib (SPORE_NO_ZLIB)"}));
#else
            const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(count - done, 1u << 30));
            const int got = gzread(file_, bytes + done, chunk);
            if (got < 0) {
                int code = 0;
                const char* message = gzerror(file_, &code);
                throw data_error(spore::detail::concat({path_, ": corrupt data (", message ? message : "zlib error", ")"}));
            }
            if (got == 0) break;
#endif
            done += static_cast<std::size_t>(got);
        }
        position_ += done;
        return done;
    }

    // How many bytes a plain (uncompressed) regular file still holds, at most; SIZE_MAX when
    // unknown (a compressed file, a pipe). Call after the first read.
    std::size_t plain_bytes_left() const {
#if !defined(SPORE_NO_ZLIB)
        if (!gzdirect(file_)) return SIZE_MAX;
#endif
        if (file_size_ == SIZE_MAX) return SIZE_MAX;
        return file_size_ > position_ ? static_cast<std::size_t>(file_size_ - position_) : 0;
    }

private:
    std::string path_;
    std::uintmax_t file_size_ = SIZE_MAX;
    std::uintmax_t position_ = 0;
#if defined(SPORE_NO_ZLIB)
    std::FILE* file_ = nullptr;
#else
    gzFile file_ = nullptr;
#endif
};

}  // namespace detail

inline idx_array read_idx(const std::string& path) {
    detail::byte_reader in(path);
    unsigned char magic[4];
    if (in.read(magic, 4) != 4) throw data_error(spore::detail::concat({path, ": truncated: no IDX header (4 bytes expected)"}));
    if (magic[0] != 0 || magic[1] != 0)
        throw data_error(spore::detail::concat({path, ": not an IDX file (the magic number must start with two zero bytes, found ",
                                                magic[0], " ", magic[1], ")"}));
    if (magic[2] != 0x08)
        throw data_error(spore::detail::concat({path, ": IDX element type ", magic[2], " is not supported (only 8, unsigned bytes)"}));
    const std::size_t rank = magic[3];
    if (rank == 0) throw data_error(spore::detail::concat({path, ": IDX rank 0"}));
    idx_array array;
    std::size_t count = 1;
    constexpr std::size_t limit = std::size_t(1) << 34;
    for (std::size_t i = 0; i < rank; ++i) {
        unsigned char b[4];
        if (in.read(b, 4) != 4)
            throw data_error(spore::detail::concat({path, ": truncated header: ", rank, " extents expected, found ", i}));
        const std::uint32_t extent = std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
        if (extent == 0) throw data_error(spore::detail::concat({path, ": extent ", i, " is 0"}));
        array.extents.push_back(extent);
        if (!detail::checked_multiply(count, extent, count) || count > limit)
            throw data_error(spore::detail::concat({path, ": the header describes more than 16 GiB (extents ",
                                                    spore::detail::joined(array.extents), ")"}));
    }
    // Memory follows the data, not the claim: a plain file is checked against its size before
    // the buffer is made; a compressed one (or a pipe) grows its buffer as the data arrives.
    const std::size_t left = in.plain_bytes_left();
    if (left != SIZE_MAX && left < count)
        throw data_error(spore::detail::concat({path, ": truncated: ", count, " data bytes expected, found ", left}));
    std::size_t got = 0;
    try {
        if (left != SIZE_MAX) {
            array.values.resize(count);
            got = in.read(array.values.data(), count);
        } else {
            // Capacity doubles (capped at the claim) and only bytes that arrived are written, so
            // the pages of capacity not yet reached are never touched.
            std::vector<unsigned char> chunk(std::min<std::size_t>(count, std::size_t(1) << 20));
            while (got < count) {
                const std::size_t step = in.read(chunk.data(), std::min(chunk.size(), count - got));
                if (step == 0) break;
                if (array.values.capacity() - got < step)
                    array.values.reserve(std::min(count, std::max(2 * array.values.capacity(), got + step)));
                array.values.insert(array.values.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(step));
                got += step;
            }
        }
    } catch (const std::bad_alloc&) {
        throw data_error(spore::detail::concat({path, ": not enough memory for the ", count, " data bytes the header describes"}));
    }
    if (got != count)
        throw data_error(spore::detail::concat({path, ": truncated: ", count, " data bytes expected, found ", got}));
    unsigned char extra;
    if (in.read(&extra, 1) != 0) throw data_error(spore::detail::concat({path, ": more data than the header describes"}));
    return array;
}

// Images [count, rows, cols] as bytes, and one label per image.
struct labelled_images {
    std::size_t count = 0, rows = 0, cols = 0;
    std::vector<std::uint8_t> pixels;
    std::vector<std::uint8_t> labels;
};

inline labelled_images read_idx_images(const std::string& images_path, const std::string& labels_path,
                                       std::size_t classes = 10) {
    idx_array images = read_idx(images_path);
    idx_array labels = read_idx(labels_path);
    if (images.extents.size() != 3)
        throw data_error(spore::detail::concat({images_path, ": images must have 3 extents [count, rows, cols], found ",
                                                images.extents.size()}));
    if (labels.extents.size() != 1)
        throw data_error(spore::detail::concat({labels_path, ": labels must have 1 extent [count], found ", labels.extents.size()}));
    if (images.extents[0] != labels.extents[0])
        throw data_error(spore::detail::concat({images_path, " holds ", images.extents[0], " images but ", labels_path, " holds ",
                                                labels.extents[0], " labels"}));
    for (std::size_t i = 0; i < labels.values.size(); ++i)
        if (labels.values[i] >= classes)
            throw data_error(spore::detail::concat({labels_path, ": label ", labels.values[i], " of item ", i, " is not below ",
                                                    classes}));
    labelled_images out;
    out.count = images.extents[0];
    out.rows = images.extents[1];
    out.cols = images.extents[2];
    out.pixels = std::move(images.values);
    out.labels = std::move(labels.values);
    return out;
}

}  // namespace data
}  // namespace spore
