#pragma once
// Writing a file so that a reader, and a crash at any moment (a killed process, a job torn
// down because another rank died), sees either the old complete file or the new complete
// one, never a torn mix: the bytes go to a temporary file next to the target (the same file
// system), which is flushed to disk and then renamed over the target, and rename(2) replaces
// a name atomically. A process killed before commit() leaves only its temporary behind
// (`<path>.tmp.<pid>.<n>`), which the next successful write does not need or touch.
//
// POSIX (Linux, macOS); checkpoints are written through this.

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spore/core/error.hpp>

namespace spore::io {

class atomic_file {
public:
    // `what` names the caller in error messages (e.g. "spore::io::export_onnx").
    explicit atomic_file(std::string path, std::string what = "spore::io::atomic_file")
        : path_(std::move(path)), what_(std::move(what)) {
        static std::atomic<unsigned> counter{0};
        temporary_ = path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
        fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0) fail("cannot create the temporary file '" + temporary_ + "'");
    }
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    // Not committed (an exception while writing, say): the target keeps its old contents.
    ~atomic_file() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(temporary_.c_str());
    }

    void write(const void* data, std::size_t size) {
        check_open("write to");
        const char* bytes = static_cast<const char*>(data);
        while (size > 0) {
            const ::ssize_t n = ::write(fd_, bytes, size);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) fail("cannot write to '" + temporary_ + "'");
            bytes += n;
            size -= static_cast<std::size_t>(n);
        }
    }
    void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

    // Flushes to disk and puts the file in place; after this the target holds the new bytes.
    void commit() {
        check_open("commit");
        if (::fsync(fd_) != 0) fail("cannot flush '" + temporary_ + "' to disk");
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) fail("cannot close '" + temporary_ + "'");
        if (::rename(temporary_.c_str(), path_.c_str()) != 0) fail("cannot rename '" + temporary_ + "' to '" + path_ + "'");
        committed_ = true;
        sync_directory();
    }

    const std::string& path() const noexcept { return path_; }
    const std::string& temporary_path() const noexcept { return temporary_; }

private:
    void check_open(const char* what) const {
        if (fd_ < 0)
            throw error(what_ + ": cannot " + what + " '" + path_ + "': the file was already committed");
    }
    [[noreturn]] void fail(const std::string& what) const {
        throw error(what_ + ": " + what + ": " + std::strerror(errno));
    }
    // Makes the rename itself durable; a failure here leaves a complete file in place, so it
    // is not an error worth reporting.
    void sync_directory() const {
        const auto slash = path_.find_last_of('/');
        const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path_.substr(0, slash);
        const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            ::fsync(fd);
            ::close(fd);
        }
    }

    std::string path_, what_, temporary_;
    int fd_ = -1;
    bool committed_ = false;
};

// The whole file in one call.
inline void write_file_atomically(const std::string& path, std::string_view bytes,
                                  std::string what = "spore::io::atomic_file") {
    atomic_file file(path, std::move(what));
    file.write(bytes);
    file.commit();
}

}  // namespace spore::io
