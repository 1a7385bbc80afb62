// io::atomic_file: the target holds the old complete file or the new complete one, whatever
// happens while the new one is written, including the writer being killed.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
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
    using kind = spore::io::atomic_file::temporary_kind;
    const kind k = GENERATE(kind::unnamed_if_possible, kind::named);
    {
        spore::io::atomic_file file(target, "test", nullptr, k);
        // hidden, next to the target (an unnamed one gets its name at commit)
        const std::string hidden = (dir.path / (".weights.bin.tmp-" + std::to_string(::getpid()) + "-")).string();
#if defined(__linux__)
        CHECK(file.temporary_path().empty() == (k == kind::unnamed_if_possible));
        if (k == kind::unnamed_if_possible) CHECK(dir.entries() == 1);  // nothing to see
#endif
        if (!file.temporary_path().empty()) CHECK(file.temporary_path().rfind(hidden, 0) == 0);
        CHECK(file.target_path() == target);
        file.write("second ");
        CHECK(read(target) == "first version");  // not yet in place
        file.write(std::string(100000, 'x'));
        file.commit();
        CHECK(file.temporary_path().rfind(hidden, 0) == 0);
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

TEST_CASE("atomic_file: a writer killed mid-write leaves the old file complete, and no temporary for long",
          "[io][atomic]") {
    using kind = spore::io::atomic_file::temporary_kind;
    const auto [k, left] = GENERATE(std::pair{kind::unnamed_if_possible, std::size_t(0)}, std::pair{kind::named, std::size_t(1)});
    CAPTURE(k == kind::named);
    scratch_directory dir;
    const std::string target = (dir.path / "weights.bin").string();
    const std::string old_bytes(50000, 'o');
    spore::io::write_file_atomically(target, old_bytes);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // the writer: half the new file, then killed without warning
        spore::io::atomic_file file(target, "test", nullptr, k);
        file.write(std::string(30000, 'n'));
        ::raise(SIGKILL);
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(read(target) == old_bytes);
    // an unnamed temporary went with the process; a named one is left, torn, beside the target
    std::size_t torn = 0;
    for (const auto& entry : fs::directory_iterator(dir.path))
        if (entry.path().string() != target) {
            ++torn;
            CHECK(read(entry.path()) == std::string(30000, 'n'));
        }
#if defined(__linux__)
    CHECK(torn == left);
#endif
    // the next writer of the same file removes it: its process is gone and nobody holds it
    spore::io::write_file_atomically(target, "after the crash");
    CHECK(read(target) == "after the crash");
    CHECK(dir.entries() == 1);
}

TEST_CASE("atomic_file: temporaries of live writers and other files are left alone", "[io][atomic]") {
    scratch_directory dir;
    const std::string target = (dir.path / "w.bin").string();
    // a live writer in another process, holding its named temporary
    int ready[2], finish[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(finish) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        spore::io::atomic_file file(target, "test", nullptr, spore::io::atomic_file::temporary_kind::named);
        file.write("live");
        char c = 0;
        if (::write(ready[1], "r", 1) != 1 || ::read(finish[0], &c, 1) != 1) ::_exit(1);
        file.commit();
        ::_exit(0);
    }
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    // names that look like temporaries but are not a dead writer's
    const fs::path dead_pid_other_target = dir.path / ".other.bin.tmp-999999999-0";
    const fs::path not_a_number = dir.path / ".w.bin.tmp-12ab-0";
    const fs::path plain = dir.path / "w.bin.tmp-999999999-0";
    for (const auto& p : {dead_pid_other_target, not_a_number, plain}) std::ofstream(p) << "keep";
    // a dead process's temporary that someone holds locked (a writer in another PID namespace)
    const fs::path locked = dir.path / ".w.bin.tmp-999999998-0";
    std::ofstream(locked) << "locked";
    const int lock_fd = ::open(locked.c_str(), O_RDONLY);
    REQUIRE(::flock(lock_fd, LOCK_EX) == 0);
    // and one that nobody holds: removed
    const fs::path stale = dir.path / ".w.bin.tmp-999999997-3";
    std::ofstream(stale) << "stale";

    spore::io::write_file_atomically(target, "mine");
    CHECK(read(target) == "mine");
    CHECK(!fs::exists(stale));
    for (const auto& p : {dead_pid_other_target, not_a_number, plain, locked}) CHECK(fs::exists(p));
    ::close(lock_fd);
    std::size_t live = 0;
    for (const auto& entry : fs::directory_iterator(dir.path))
        if (entry.path().filename().string().rfind(".w.bin.tmp-" + std::to_string(child) + "-", 0) == 0) ++live;
    CHECK(live == 1);
    REQUIRE(::write(finish[1], "f", 1) == 1);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(read(target) == "live");
    for (int fd : {ready[0], ready[1], finish[0], finish[1]}) ::close(fd);
}

// 50 writers killed with SIGKILL at random moments of a 4 MB save: the target is always one
// complete version, and no full-size temporary outlives the next save.
TEST_CASE("atomic_file: 50 writers killed at random moments", "[io][atomic][kill]") {
    using kind = spore::io::atomic_file::temporary_kind;
    const kind k = GENERATE(kind::unnamed_if_possible, kind::named);
    CAPTURE(k == kind::named);
    scratch_directory dir;
    const std::string target = (dir.path / "net.safetensors").string();
    const std::size_t size = 4 << 20;
    spore::io::write_file_atomically(target, std::string(size, 'a'));
    std::mt19937 random(12345);
    std::size_t seen_after_kills = 0, most_at_once = 0, killed_mid_save = 0;
    for (int round = 0; round < 50; ++round) {
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {  // saves version after version until killed
            for (unsigned v = 0;; ++v) {
                spore::io::atomic_file file(target, "test", nullptr, k);
                const std::string chunk(size / 8, static_cast<char>('b' + (v + static_cast<unsigned>(round)) % 20));
                for (int i = 0; i < 8; ++i) file.write(chunk);
                file.commit();
            }
        }
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(random)));
        ::kill(child, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        const std::string now = read(target);
        REQUIRE(now.size() == size);
        CHECK(now.find_first_not_of(now[0]) == std::string::npos);  // one version, whole
        std::size_t temporaries = 0;
        for (const auto& entry : fs::directory_iterator(dir.path))
            if (entry.path().string() != target) ++temporaries;
        if (temporaries > 0) ++killed_mid_save;
        seen_after_kills += temporaries;
        most_at_once = std::max(most_at_once, temporaries);
    }
    // each writer removed the one before it left; the last one's goes with the next save
    CHECK(most_at_once <= 1);
    spore::io::write_file_atomically(target, "done");
    CHECK(dir.entries() == 1);
    WARN("kill test (" << (k == kind::named ? "named" : "unnamed") << " temporaries): 50 kills, a temporary left after "
                       << killed_mid_save << " of them, at most " << most_at_once
                       << " at once, none after the next save; the target always one complete version");
    (void)seen_after_kills;
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
    const auto named = spore::io::atomic_file::temporary_kind::named;
    std::string abandoned;
    {
        spore::io::atomic_file file(target, "test", nullptr, named);
        abandoned = file.temporary_path();
    }
    // the next two names, as another writer (or a crashed one) might have left them
    const std::size_t dash = abandoned.rfind('-');
    const unsigned n = unsigned(std::stoul(abandoned.substr(dash + 1)));
    const std::string base = abandoned.substr(0, dash + 1);
    for (unsigned k : {n + 1, n + 2}) std::ofstream(base + std::to_string(k)) << "someone else's";
    spore::io::atomic_file file(target, "test", nullptr, named);
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
        file.write("run 7, new");
        file.commit();
        CHECK(fs::path(file.temporary_path()).parent_path() == dir.path / "runs" / "7");  // beside the real file
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
