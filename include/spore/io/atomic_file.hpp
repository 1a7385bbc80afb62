#pragma once
// Writing a whole file so that a reader, and a crash at any moment (a killed process, a job
// torn down because another rank died), sees either the old complete file or the new complete
// one, never a torn mix. Every whole-file write of spore goes through here: checkpoints
// (spore::save), ONNX models (io::export_onnx), training charts (train::SvgChartWriter) and
// CSV logs (train::CsvLogger, the whole file again at each epoch's end).
//
// - The bytes go to a temporary in the target's directory (so on the same file system). On
//   Linux it is an unnamed file (open(2) with O_TMPFILE): a writer killed while writing leaves
//   nothing behind, the kernel frees it. commit() flushes it to disk, gives it a hidden name,
//   `.<name>.tmp-<pid>-<n>` (linkat(2) of /proc/self/fd/<fd>), renames that over the target
//   (rename(2) replaces a name atomically) and flushes the directory, so that the rename
//   survives a crash too. Where O_TMPFILE is missing (other systems, file systems without it,
//   no /proc) the temporary is that named file from the start, created exclusively (another
//   name when one exists).
// - Either way the file has mode 0666 less the umask, as any new file, and its writer holds a
//   lock on it (flock(2)). A temporary left by a killed writer (only between the link and the
//   rename for an unnamed one) is removed by the next atomic_file for the same target: one of
//   the same name pattern whose process is gone (kill(pid, 0) says so) and that nobody holds
//   locked. Live writers' temporaries, and other files, are never touched.
// - A target that is a symbolic link is written through: the file the link leads to is
//   replaced (its directory holds the temporary), and the link stays. A dangling link's end
//   is created, as open(2) would; a loop of links is an error.
// - An atomic_file destroyed without commit() removes its temporary.
// - Without POSIX (or with SPORE_ATOMIC_FILE_POSIX defined to 0): std::ofstream and
//   std::filesystem::rename, without the flushes to disk, the locks and the clean-up.

#include <atomic>
#include <cctype>
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
#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
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

    // The temporary: unnamed where the system has O_TMPFILE (the default), or always named.
    enum class temporary_kind { unnamed_if_possible, named };

    // Errors read "<what>: <path>: <problem>"; `what` names the caller (e.g. "spore::save").
    explicit atomic_file(std::string path, std::string what = "spore::io::atomic_file", raise_function raise = nullptr,
                         temporary_kind kind = temporary_kind::unnamed_if_possible)
        : path_(std::move(path)), what_(std::move(what)), raise_(raise) {
        target_ = follow_links();
        remove_stale_temporaries();
        create_temporary(kind);
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
            if (n < 0) fail_system([&] { return spore::detail::concat({"writing ", temporary_name(), " failed"}); });
            if (n == 0) fail(spore::detail::concat({"writing ", temporary_name(), " failed (no progress)"}));
            bytes += n;
            size -= static_cast<std::size_t>(n);
        }
#else
        out_.write(bytes, static_cast<std::streamsize>(size));
        if (!out_) fail(spore::detail::concat({"writing ", temporary_name(), " failed"}));
#endif
    }
    void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

    // Flushes to disk and puts the file in place; after this the target holds the new bytes.
    void commit() {
        check_open("commit");
#if SPORE_ATOMIC_FILE_POSIX
        if (::fsync(fd_) != 0) fail_system([&] { return spore::detail::concat({"flushing ", temporary_name(), " to disk failed"}); });
        if (unnamed_) link_temporary();
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

    // The path as given; the file written (the end of its symbolic links); the temporary (for
    // an unnamed one, empty until commit() names it).
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

    // For messages.
    std::string temporary_name() const {
        if (!unnamed_) return temporary_;
        return spore::detail::concat({"the unnamed temporary file in ", target_directory()});
    }
    std::string temporary_prefix() const {
        return spore::detail::concat({'.', std::filesystem::path(target_).filename().string(), ".tmp-", process_tag(), '-'});
    }
    std::string next_temporary_name() const {
        static std::atomic<unsigned> counter{0};
        return (std::filesystem::path(target_).parent_path() / spore::detail::concat({temporary_prefix(), counter.fetch_add(1)}))
            .string();
    }

    // The directory that holds the target ("." for a bare name); built whole, since assigning
    // "." to an emptied string makes GCC 12 warn -Wrestrict (a false positive).
    std::string target_directory() const {
        const std::filesystem::path parent = std::filesystem::path(target_).parent_path();
        return parent.empty() ? std::string(".") : parent.string();
    }

    void create_temporary([[maybe_unused]] temporary_kind kind) {
#if SPORE_ATOMIC_FILE_POSIX && defined(O_TMPFILE)
        if (kind == temporary_kind::unnamed_if_possible && ::access("/proc/self/fd", X_OK) == 0) {
            const std::string directory = target_directory();
            fd_ = ::open(directory.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);  // the umask applies
            if (fd_ >= 0) {
                ::flock(fd_, LOCK_EX | LOCK_NB);
                unnamed_ = open_ = true;
                return;
            }
            // EOPNOTSUPP, EISDIR, EINVAL (a file system or kernel without it): a named one; other
            // errors (no such directory, no permission) come again below, with the file's name
        }
#endif
        for (int attempt = 0; attempt < 100; ++attempt) {
            temporary_ = next_temporary_name();
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
        ::flock(fd_, LOCK_EX | LOCK_NB);  // a new file nobody else has: the lock is free
#else
        if (!out_.is_open() && errno != 0) fail_system([&] { return spore::detail::concat({"cannot create the temporary file ", temporary_}); });
        if (!out_.is_open()) fail(spore::detail::concat({"cannot create the temporary file ", temporary_}));
#endif
        open_ = true;
    }

#if SPORE_ATOMIC_FILE_POSIX
    // Gives the unnamed temporary a name beside the target, to rename it over the target.
    void link_temporary() {
        const std::string self = spore::detail::concat({"/proc/self/fd/", fd_});
        for (int attempt = 0; attempt < 100; ++attempt) {
            temporary_ = next_temporary_name();
            if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temporary_.c_str(), AT_SYMLINK_FOLLOW) == 0) {
                unnamed_ = false;
                return;
            }
            if (errno != EEXIST) break;
        }
        fail_system([&] { return spore::detail::concat({"cannot name the temporary file ", temporary_}); });
    }

    // Temporaries of this target left by writers that were killed: the name pattern with
    // another process's id, that process gone, and the file locked by nobody.
    void remove_stale_temporaries() const {
        namespace fs = std::filesystem;
        const fs::path target(target_);
        const std::string prefix = spore::detail::concat({'.', target.filename().string(), ".tmp-"});
        fs::path directory = target.parent_path();
        if (directory.empty()) directory = ".";
        std::error_code ec;
        fs::directory_iterator it(directory, ec), end;
        for (; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (name.compare(0, prefix.size(), prefix) != 0) continue;
            // <pid>-<n>, both decimal
            const std::size_t dash = name.find('-', prefix.size());
            if (dash == std::string::npos || dash == prefix.size() || dash + 1 == name.size() || dash - prefix.size() > 9) continue;
            bool digits = true;
            for (std::size_t i = prefix.size(); i < name.size(); ++i)
                if (i != dash && !std::isdigit(static_cast<unsigned char>(name[i]))) digits = false;
            if (!digits) continue;
            const long pid = std::stol(name.substr(prefix.size(), dash - prefix.size()));
            if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
            if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to ask
            const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0) continue;
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(it->path().c_str());
            ::close(fd);
        }
    }

    static std::string process_tag() { return spore::detail::concat({::getpid()}); }
    void close_temporary() { ::close(fd_); }
    void remove_temporary() {
        if (!unnamed_) ::unlink(temporary_.c_str());  // an unnamed one goes with its descriptor
    }
    // Makes the rename itself durable; a failure here leaves a complete file in place, so it
    // is not an error worth reporting.
    void sync_directory() const {
        const std::string directory = target_directory();
        const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            ::fsync(fd);
            ::close(fd);
        }
    }
#else
    void link_temporary() {}
    void remove_stale_temporaries() const {}
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
    bool unnamed_ = false;  // an O_TMPFILE file, not yet linked
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
