// A main() for the fuzz harnesses without libFuzzer: feeds every file named on the command
// line (directories: every file in them, recursively) to LLVMFuzzerTestOneInput once. Built
// with the normal compiler, it replays the seed corpus and the bad inputs as a regression
// test (ctest: fuzz_replay.<target>); a broken invariant aborts, and any exception escaping the
// harness (one not the reader's named error) ends it with a message and exit status 1.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        const fs::path p(argv[i]);
        if (fs::is_directory(p)) {
            for (const auto& e : fs::recursive_directory_iterator(p))
                if (e.is_regular_file()) files.push_back(e.path());
        } else {
            files.push_back(p);
        }
    }
    if (files.empty()) {
        std::fprintf(stderr, "usage: %s <file or directory>...: no input found\n", argv[0]);
        return 2;
    }
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        try {
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: an exception escaped the harness: %s\n", f.string().c_str(), e.what());
            return 1;
        }
    }
    std::printf("%zu inputs replayed\n", files.size());
    return 0;
}
