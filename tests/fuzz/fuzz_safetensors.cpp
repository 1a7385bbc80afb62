// libFuzzer harness: safetensors checkpoints through the real spore::load of a real cell
// (convolution, dense layers, a nested cell, a scalar tensor), and io::read_safetensors.
// Invariants: only checkpoint_error is thrown; when load throws, the cell is unchanged; when it
// succeeds, read_safetensors accepts the file too, and saving the cell and loading that gives
// the same values.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <spore/io/safetensors.hpp>
#include <spore/nn/layers.hpp>

#include "fuzz_support.hpp"

namespace {

struct Block {
    spore::nn::Dense<4, 3> fc;
    spore::tensor<float, spore::shape<>> gain;
};

struct Net {
    spore::nn::Conv2d<1, 2, 3> conv;
    Block block;
    spore::nn::Dense<3, 2, double> head;
};

template <class C>
std::string state_bytes(const C& cell) {
    std::string bytes;
    spore::nn::for_each_named_state(cell, [&](const std::string& name, const auto& t) {
        bytes += name;
        bytes.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(t.data()[0]));
    });
    return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static spore_fuzz::memory_file input("safetensors_input");
    // spore::save writes through atomic_file, which needs a real directory (not a memfd)
    static const std::string resaved = spore_fuzz::scratch_path("safetensors_resaved");
    static Net net = [] {
        Net n;
        n.conv.weight.fill_uniform(1);
        n.block.fc.weight.fill_uniform(2);
        n.head.weight.fill_uniform(3);
        return n;
    }();
    const std::string& path = input.write(data, size);
    const std::string before = state_bytes(net);
    bool loaded = false;
    try {
        spore::load(net, path);
        loaded = true;
    } catch (const spore::checkpoint_error&) {
        spore_fuzz::require(state_bytes(net) == before, "a failed load changed the cell");
    }
    bool read = false;
    try {
        const spore::io::safetensors_file file = spore::io::read_safetensors(path);
        spore_fuzz::require(file.data.size() <= size, "more data than the file holds");
        read = true;
    } catch (const spore::checkpoint_error&) {
    }
    if (loaded) {
        spore_fuzz::require(read, "load accepted a file read_safetensors refuses");
        // the values loaded survive a save and a load
        const std::string after = state_bytes(net);
        spore::save(net, resaved);
        Net again;
        spore::load(again, resaved);
        spore_fuzz::require(state_bytes(again) == after, "save then load changed the values");
    }
    return 0;
}
