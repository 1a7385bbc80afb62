// libFuzzer harness: IDX files (MNIST's format) through data::read_idx, each input read as it
// is (plain, or gzip when it starts like one) and compressed with gzip, and through
// read_idx_images with the input split into an image file and a label file. Invariants: only
// data_error is thrown; an accepted array holds exactly the product of its extents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <zlib.h>

#include <spore/data/idx.hpp>
#include <spore/data/image_set.hpp>

#include "fuzz_support.hpp"

namespace {

void check(const spore::data::idx_array& a) {
    std::size_t count = 1;
    for (std::uint32_t e : a.extents) count *= e;
    spore_fuzz::require(!a.extents.empty() && a.values.size() == count, "values and extents disagree");
}

std::vector<unsigned char> gzip(const std::uint8_t* data, std::size_t size) {
    z_stream z{};
    spore_fuzz::require(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
    std::vector<unsigned char> out(deflateBound(&z, static_cast<uLong>(size)) + 32);
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = static_cast<uInt>(size);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    spore_fuzz::require(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static spore_fuzz::memory_file plain("idx_plain"), packed("idx_gzip"), labels("idx_labels");
    try {
        check(spore::data::read_idx(plain.write(data, size)));
    } catch (const spore::data_error&) {
    }
    const std::vector<unsigned char> compressed = gzip(data, size);
    try {
        check(spore::data::read_idx(packed.write(compressed.data(), compressed.size())));
    } catch (const spore::data_error&) {
    }
    // images and labels: the first byte says where the input splits
    if (size > 1) {
        const std::size_t split = 1 + data[0] * (size - 1) / 256;
        plain.write(data + 1, split - 1);
        labels.write(data + split, size - split);
        try {
            const auto set = spore::data::read_idx_images(plain.path(), labels.path());
            spore_fuzz::require(set.pixels.size() == set.count * set.rows * set.cols, "pixels and count disagree");
            spore_fuzz::require(set.labels.size() == set.count, "labels and count disagree");
        } catch (const spore::data_error&) {
        }
    }
    return 0;
}
