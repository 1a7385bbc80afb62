#pragma once
// Shared by the fuzz harnesses (tests/fuzz/fuzz_*.cpp): the readers take paths, so each input
// is written to a file that lives in memory (memfd on Linux, a temporary file elsewhere) and
// read back through its path. `require` stops the run (a crash the fuzzer reports) when an
// invariant of the reader does not hold.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace spore_fuzz {

inline void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
        std::abort();
    }
}

// A path for a file of this process in the temporary directory ($TMPDIR, else /tmp), removed
// at exit.
inline std::string scratch_path(const char* name) {
    const char* dir = std::getenv("TMPDIR");
    static std::string path;
    path = std::string(dir && *dir ? dir : "/tmp") + "/spore_fuzz_" + name + "_" + std::to_string(::getpid());
    std::atexit([] { ::unlink(path.c_str()); });
    return path;
}

// A file whose contents are replaced by each write(); path() names it for the readers.
class memory_file {
public:
    explicit memory_file(const char* name) {
#if defined(__linux__)
        fd_ = ::memfd_create(name, MFD_CLOEXEC);
        path_ = "/proc/self/fd/" + std::to_string(fd_);
#else
        path_ = std::string("/tmp/spore_fuzz_") + name + "_" + std::to_string(::getpid());
        fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
#endif
        require(fd_ >= 0, "cannot create the in-memory file");
    }
    ~memory_file() {
        ::close(fd_);
#if !defined(__linux__)
        ::unlink(path_.c_str());
#endif
    }
    memory_file(const memory_file&) = delete;
    memory_file& operator=(const memory_file&) = delete;

    const std::string& write(const void* data, std::size_t size) {
        require(::ftruncate(fd_, 0) == 0, "ftruncate");
        const auto* bytes = static_cast<const unsigned char*>(data);
        std::size_t done = 0;
        while (done < size) {
            const ::ssize_t n = ::pwrite(fd_, bytes + done, size - done, static_cast<off_t>(done));
            require(n > 0, "pwrite");
            done += static_cast<std::size_t>(n);
        }
        return path_;
    }
    const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

}  // namespace spore_fuzz
