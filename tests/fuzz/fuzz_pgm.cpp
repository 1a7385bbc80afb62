// libFuzzer harness: PGM images (P2 and P5) through data::parse_pgm and data::read_pgm.
// Invariants: only data_error is thrown; both accept the same inputs; an accepted image has
// width x height samples, each at most maxval.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <spore/data/pgm.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static spore_fuzz::memory_file file("pgm");
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    bool parsed = false, read = false;
    try {
        const auto image = spore::data::parse_pgm(bytes, "fuzz.pgm");
        spore_fuzz::require(image.samples.size() == image.width * image.height, "samples and size disagree");
        for (auto s : image.samples) spore_fuzz::require(s <= image.maxval, "a sample above maxval");
        parsed = true;
    } catch (const spore::data_error&) {
    }
    try {
        const auto image = spore::data::read_pgm(file.write(data, size));
        spore_fuzz::require(image.samples.size() == image.width * image.height, "samples and size disagree");
        read = true;
    } catch (const spore::data_error&) {
    }
    spore_fuzz::require(parsed == read, "parse_pgm and read_pgm disagree");
    return 0;
}
