// io::atomic_file: the target holds the old complete file or the new complete one, whatever
// happens while the new one is written, including the writer being killed.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <sys/stat.h>

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
        // hidden, next to the target
        const std::string hidden = (dir.path / (".weights.bin.tmp-" + std::to_string(::getpid()) + "-")).string();
        CHECK(file.temporary_path().rfind(hidden, 0) == 0);
        CHECK(file.target_path() == target);
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

TEST_CASE("atomic_file: the new file's mode is 0666 less the umask, as for any new file", "[io][atomic]") {
    scratch_directory dir;
    const std::string target = (dir.path / "chart.svg").string();
    const ::mode_t saved = ::umask(022);
    spore::io::write_file_atomically(target, "a");
    struct ::stat info {};
    REQUIRE(::stat(target.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0644);
    ::umask(077);
    spore::io::write_file_atomically(target, "b");
    REQUIRE(::stat(target.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    ::umask(saved);
}

TEST_CASE("atomic_file: a temporary name that exists already is skipped, not reused", "[io][atomic]") {
    scratch_directory dir;
    const std::string target = (dir.path / "w.bin").string();
    std::string abandoned;
    {
        spore::io::atomic_file file(target);
        abandoned = file.temporary_path();
    }
    // the next two names, as another writer (or a crashed one) might have left them
    const std::size_t dash = abandoned.rfind('-');
    const unsigned n = unsigned(std::stoul(abandoned.substr(dash + 1)));
    const std::string base = abandoned.substr(0, dash + 1);
    for (unsigned k : {n + 1, n + 2}) std::ofstream(base + std::to_string(k)) << "someone else's";
    spore::io::atomic_file file(target);
    CHECK(file.temporary_path() == base + std::to_string(n + 3));
    file.write("mine");
    file.commit();
    CHECK(read(target) == "mine");
    CHECK(read(base + std::to_string(n + 1)) == "someone else's");
    CHECK(dir.entries() == 3);
}

TEST_CASE("atomic_file: through a symbolic link, the file it leads to is replaced and the link stays",
          "[io][atomic]") {
    scratch_directory dir;
    fs::create_directories(dir.path / "runs" / "7");
    const fs::path real = dir.path / "runs" / "7" / "weights.bin";
    spore::io::write_file_atomically(real.string(), "run 7, old");
    const fs::path link = dir.path / "latest.bin";
    fs::create_symlink("runs/7/weights.bin", link);  // relative to the link's directory

    SECTION("a relative link") {
        spore::io::atomic_file file(link.string());
        CHECK(file.target_path() == (dir.path / "runs/7/weights.bin").string());
        CHECK(fs::path(file.temporary_path()).parent_path() == dir.path / "runs" / "7");  // beside the real file
        file.write("run 7, new");
        file.commit();
        CHECK(fs::is_symlink(link));
        CHECK(fs::read_symlink(link) == "runs/7/weights.bin");
        CHECK(read(real) == "run 7, new");
        CHECK(dir.entries() == 2);  // runs and the link
        CHECK(std::distance(fs::directory_iterator(real.parent_path()), fs::directory_iterator()) == 1);
    }
    SECTION("a chain of links, the last one absolute") {
        const fs::path absolute = dir.path / "absolute.bin", chained = dir.path / "chained.bin";
        fs::create_symlink(real, absolute);
        fs::create_symlink("absolute.bin", chained);
        spore::io::write_file_atomically(chained.string(), "through two links");
        CHECK(fs::is_symlink(chained));
        CHECK(fs::is_symlink(absolute));
        CHECK(read(real) == "through two links");
    }
    SECTION("a dangling link: the file it names is created") {
        const fs::path dangling = dir.path / "next.bin";
        fs::create_symlink("runs/7/next_weights.bin", dangling);
        spore::io::write_file_atomically(dangling.string(), "created");
        CHECK(fs::is_symlink(dangling));
        CHECK(read(dir.path / "runs" / "7" / "next_weights.bin") == "created");
    }
    SECTION("a loop of links is an error") {
        fs::create_symlink("b.bin", dir.path / "a.bin");
        fs::create_symlink("a.bin", dir.path / "b.bin");
        CHECK_THROWS_WITH(spore::io::write_file_atomically((dir.path / "a.bin").string(), "x"),
                          Catch::Contains("a.bin: too many levels of symbolic links"));
    }
    CHECK(fs::is_symlink(link));
}

TEST_CASE("atomic_file: errors go through the caller's exception type when it gives one", "[io][atomic]") {
    struct own_error : spore::error {
        using spore::error::error;
    };
    scratch_directory dir;
    const std::string missing = (dir.path / "no" / "x.bin").string();
    CHECK_THROWS_AS(spore::io::write_file_atomically(missing, "x", "my::writer",
                                                     [](const std::string& m) { throw own_error(m); }),
                    own_error);
    CHECK_THROWS_WITH(spore::io::write_file_atomically(missing, "x", "my::writer"),
                      Catch::StartsWith("my::writer: " + missing + ": cannot create the temporary file"));
}
