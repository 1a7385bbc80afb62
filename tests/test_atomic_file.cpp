// io::atomic_file: the target holds the old complete file or the new complete one, whatever
// happens while the new one is written, including the writer being killed.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <spore/io/atomic_file.hpp>

namespace fs = std::filesystem;

namespace {

struct scratch_directory {
    fs::path path;
    scratch_directory() : path(fs::temp_directory_path() / ("spore_atomic_" + std::to_string(::getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~scratch_directory() { fs::remove_all(path); }
    std::size_t entries() const { return std::distance(fs::directory_iterator(path), fs::directory_iterator()); }
};

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("atomic_file: creates and replaces, leaving no temporary", "[io][atomic]") {
    scratch_directory dir;
    const std::string target = (dir.path / "weights.bin").string();
    spore::io::write_file_atomically(target, "first version");
    CHECK(read(target) == "first version");
    {
        spore::io::atomic_file file(target);
        CHECK(file.temporary_path().rfind(target + ".tmp.", 0) == 0);
        file.write("second ");
        CHECK(read(target) == "first version");  // not yet in place
        file.write(std::string(100000, 'x'));
        file.commit();
        CHECK_THROWS_WITH(file.write("more"), Catch::Contains("already committed"));
        CHECK_THROWS_WITH(file.commit(), Catch::Contains("already committed"));
    }
    CHECK(read(target) == "second " + std::string(100000, 'x'));
    CHECK(dir.entries() == 1);
}

TEST_CASE("atomic_file: abandoned without commit, the old file stays and the temporary goes", "[io][atomic]") {
    scratch_directory dir;
    const std::string target = (dir.path / "weights.bin").string();
    spore::io::write_file_atomically(target, "old and complete");
    try {
        spore::io::atomic_file file(target);
        file.write("new but torn");
        throw std::runtime_error("writer failed halfway");
    } catch (const std::runtime_error&) {
    }
    CHECK(read(target) == "old and complete");
    CHECK(dir.entries() == 1);
}

TEST_CASE("atomic_file: a writer killed mid-write leaves the old file complete", "[io][atomic]") {
    scratch_directory dir;
    const std::string target = (dir.path / "weights.bin").string();
    const std::string old_bytes(50000, 'o');
    spore::io::write_file_atomically(target, old_bytes);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // the writer: half the new file, then killed without warning
        spore::io::atomic_file file(target);
        file.write(std::string(30000, 'n'));
        ::raise(SIGKILL);
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(read(target) == old_bytes);
    // its torn temporary is left behind, next to the intact target
    std::size_t torn = 0;
    for (const auto& entry : fs::directory_iterator(dir.path))
        if (entry.path().string() != target) {
            ++torn;
            CHECK(read(entry.path()) == std::string(30000, 'n'));
        }
    CHECK(torn == 1);
    spore::io::write_file_atomically(target, "after the crash");  // and writing goes on
    CHECK(read(target) == "after the crash");
}

TEST_CASE("atomic_file: errors name the file and the reason", "[io][atomic]") {
    scratch_directory dir;
    const std::string missing = (dir.path / "no" / "such" / "dir" / "x.bin").string();
    CHECK_THROWS_AS(spore::io::atomic_file(missing), spore::error);
    CHECK_THROWS_WITH(spore::io::write_file_atomically(missing, "x"),
                      Catch::Contains("cannot create the temporary file") && Catch::Contains(missing) &&
                          Catch::Contains("No such file or directory"));
    // the target is a directory: the rename fails, the temporary is removed
    fs::create_directories(dir.path / "a_directory" / "inside");
    CHECK_THROWS_WITH(spore::io::write_file_atomically((dir.path / "a_directory").string(), "x"),
                      Catch::Contains("cannot rename") && Catch::Contains("a_directory"));
    CHECK(dir.entries() == 1);
}
