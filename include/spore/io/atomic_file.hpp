#pragma once
// Writing a whole file so that a reader, and a crash at any moment (a killed process, a job
// torn down because another rank died), sees either the old complete file or the new complete
// one, never a torn mix. Every whole-file write of spore goes through here: checkpoints
// (spore::save), ONNX models (io::export_onnx) and training charts (train::SvgChartWriter).
//
// - The bytes go to a hidden temporary next to the target (so on the same file system),
//   `.<name>.tmp-<pid>-<n>`, created exclusively (another name when one exists) with mode
//   0666 less the umask, as any new file.
// - commit() flushes it to disk, renames it over the target (rename(2) replaces a name
//   atomically) and flushes the directory, so that the rename survives a crash too.
// - A target that is a symbolic link is written through: the file the link leads to is
//   replaced, and the link stays.
// - A process killed before commit() leaves only its temporary behind, which later writes
//   neither need nor touch; an atomic_file destroyed without commit() removes it.
// - Without POSIX (or with SPORE_ATOMIC_FILE_POSIX defined to 0): std::ofstream and
//   std::filesystem::rename, without the flushes to disk.

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#ifndef SPORE_ATOMIC_FILE_POSIX
#if defined(__unix__) || defined(__APPLE__)
#define SPORE_ATOMIC_FILE_POSIX 1
#else
#define SPORE_ATOMIC_FILE_POSIX 0
#endif
#endif

#if SPORE_ATOMIC_FILE_POSIX
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#else
#include <fstream>
#include <random>
#endif

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>

namespace spore::io {

class atomic_file {
public:
    // Throws the exception for a message; without one, atomic_file throws spore::error.
    using raise_function = void (*)(const std::string& message);

    // Errors read "<what>: <path>: <problem>"; `what` names the caller (e.g. "spore::save").
    explicit atomic_file(std::string path, std::string what = "spore::io::atomic_file", raise_function raise = nullptr)
        : path_(std::move(path)), what_(std::move(what)), raise_(raise) {
        target_ = follow_links();
        create_temporary();
    }
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    // Not committed (an exception while writing, say): the target keeps its old contents.
    ~atomic_file() {
        if (open_) close_temporary();
        if (!committed_) remove_temporary();
    }

    void write(const void* data, std::size_t size) {
        check_open("write to");
        const char* bytes = static_cast<const char*>(data);
#if SPORE_ATOMIC_FILE_POSIX
        while (size > 0) {
            const ::ssize_t n = ::write(fd_, bytes, size);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail_system([&] { return spore::detail::concat({"writing ", temporary_, " failed"}); });
            if (n == 0) fail(spore::detail::concat({"writing ", temporary_, " failed (no progress)"}));
            bytes += n;
            size -= static_cast<std::size_t>(n);
        }
#else
        out_.write(bytes, static_cast<std::streamsize>(size));
        if (!out_) fail(spore::detail::concat({"writing ", temporary_, " failed"}));
#endif
    }
    void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

    // Flushes to disk and puts the file in place; after this the target holds the new bytes.
    void commit() {
        check_open("commit");
#if SPORE_ATOMIC_FILE_POSIX
        if (::fsync(fd_) != 0) fail_system([&] { return spore::detail::concat({"flushing ", temporary_, " to disk failed"}); });
        open_ = false;
        if (::close(fd_) != 0) fail_system([&] { return spore::detail::concat({"closing ", temporary_, " failed"}); });
        if (::rename(temporary_.c_str(), target_.c_str()) != 0)
            fail_system([&] { return spore::detail::concat({"cannot replace the file: cannot rename ", temporary_, " to ", target_}); });
        committed_ = true;
        sync_directory();
#else
        open_ = false;
        out_.close();
        if (!out_) fail(spore::detail::concat({"closing ", temporary_, " failed"}));
        std::error_code ec;
        std::filesystem::rename(temporary_, target_, ec);
        if (ec) fail(spore::detail::concat({"cannot replace the file: cannot rename ", temporary_, " to ", target_, " (", ec.message(), ")"}));
        committed_ = true;
#endif
    }

    // The path as given; the file written (the end of its symbolic links); the temporary.
    const std::string& path() const noexcept { return path_; }
    const std::string& target_path() const noexcept { return target_; }
    const std::string& temporary_path() const noexcept { return temporary_; }

private:
    [[noreturn]] void fail(const std::string& problem) const {
        const std::string message = spore::detail::concat({what_, ": ", path_, ": ", problem});
        if (raise_) raise_(message);
        throw error(message);
    }
    static std::string system_message() { return std::strerror(errno); }
    // "<problem()> (<errno's reason>)", errno read before problem() builds its string.
    template <class Problem>
    [[noreturn]] void fail_system(const Problem& problem) const {
        const std::string reason = system_message();
        fail(spore::detail::concat({problem(), " (", reason, ")"}));
    }
    void check_open(const char* action) const {
        if (!open_) fail(spore::detail::concat({"cannot ", action, " the file: it was already committed"}));
    }

    // Where a chain of symbolic links from path_ ends (a dangling link's end is created, as
    // open(2) would); path_ itself when it is not a link.
    std::string follow_links() const {
        namespace fs = std::filesystem;
        fs::path at(path_);
        for (int hops = 0; hops < 40; ++hops) {
            std::error_code ec;
            if (!fs::is_symlink(fs::symlink_status(at, ec)) || ec) return at.string();
            const fs::path next = fs::read_symlink(at, ec);
            if (ec) fail(spore::detail::concat({"cannot read the symbolic link ", at.string(), " (", ec.message(), ")"}));
            at = next.is_absolute() ? next : at.parent_path() / next;
        }
        fail("too many levels of symbolic links");
    }

    void create_temporary() {
        static std::atomic<unsigned> counter{0};
        const std::filesystem::path target(target_);
        const std::string prefix = spore::detail::concat({'.', target.filename().string(), ".tmp-", process_tag(), '-'});
        for (int attempt = 0; attempt < 100; ++attempt) {
            temporary_ = (target.parent_path() / spore::detail::concat({prefix, counter.fetch_add(1)})).string();
#if SPORE_ATOMIC_FILE_POSIX
            fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);  // the umask applies
            if (fd_ >= 0) break;
            if (errno != EEXIST) break;
#else
            std::error_code ec;
            if (std::filesystem::exists(temporary_, ec) || ec) continue;
            errno = 0;  // the C libraries behind std::ofstream set it, though the standard does not ask them to
            out_.open(temporary_, std::ios::binary | std::ios::trunc);
            break;
#endif
        }
#if SPORE_ATOMIC_FILE_POSIX
        if (fd_ < 0) fail_system([&] { return spore::detail::concat({"cannot create the temporary file ", temporary_}); });
#else
        if (!out_.is_open() && errno != 0) fail_system([&] { return spore::detail::concat({"cannot create the temporary file ", temporary_}); });
        if (!out_.is_open()) fail(spore::detail::concat({"cannot create the temporary file ", temporary_}));
#endif
        open_ = true;
    }

#if SPORE_ATOMIC_FILE_POSIX
    static std::string process_tag() { return spore::detail::concat({::getpid()}); }
    void close_temporary() { ::close(fd_); }
    void remove_temporary() { ::unlink(temporary_.c_str()); }
    // Makes the rename itself durable; a failure here leaves a complete file in place, so it
    // is not an error worth reporting.
    void sync_directory() const {
        std::string directory = std::filesystem::path(target_).parent_path().string();
        if (directory.empty()) directory = ".";
        const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            ::fsync(fd);
            ::close(fd);
        }
    }
#else
    static std::string process_tag() {
        static const std::string tag = spore::detail::concat({std::random_device{}()});
        return tag;
    }
    void close_temporary() { out_.close(); }
    void remove_temporary() {
        std::error_code ec;
        std::filesystem::remove(temporary_, ec);
    }
#endif

    std::string path_, what_, target_, temporary_;
    raise_function raise_ = nullptr;
#if SPORE_ATOMIC_FILE_POSIX
    int fd_ = -1;
#else
    std::ofstream out_;
#endif
    bool open_ = false;
    bool committed_ = false;
};

// The whole file in one call.
inline void write_file_atomically(const std::string& path, std::string_view bytes,
                                  std::string what = "spore::io::atomic_file",
                                  atomic_file::raise_function raise = nullptr) {
    atomic_file file(path, std::move(what), raise);
    file.write(bytes);
    file.commit();
}

}  // namespace spore::io
