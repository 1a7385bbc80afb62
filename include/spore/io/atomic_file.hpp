#pragma once
// Writing a file so that readers see either the old file or the complete new one, never a
// half-written one: the bytes go to a temporary file next to the target, which is then
// renamed over it (rename is atomic within a file system on POSIX).

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include <spore/core/error.hpp>

namespace spore::io {

namespace detail {
inline std::string temporary_name_for(const std::string& path) {
    static std::atomic<unsigned long> counter{0};
    const auto stamp = static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
    const auto thread = std::hash<std::thread::id>{}(std::this_thread::get_id());
    return path + ".tmp-" + std::to_string(stamp ^ thread) + "-" + std::to_string(counter.fetch_add(1));
}
}  // namespace detail

// Replaces `path` by `bytes`. `what` names the caller in error messages.
inline void write_file_atomically(const std::string& path, std::string_view bytes, std::string_view what) {
    const std::string temporary = detail::temporary_name_for(path);
    auto fail = [&](const std::string& step, int code) {
        std::remove(temporary.c_str());
        throw error(std::string(what) + ": cannot " + step + " '" + path + "': " + std::strerror(code));
    };
    std::FILE* file = std::fopen(temporary.c_str(), "wb");
    if (!file) {
        const int code = errno;
        throw error(std::string(what) + ": cannot create '" + temporary + "' (to write '" + path +
                    "'): " + std::strerror(code));
    }
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    int code = ok ? 0 : errno;
    if (ok && std::fflush(file) != 0) {
        ok = false;
        code = errno;
    }
    if (std::fclose(file) != 0 && ok) {
        ok = false;
        code = errno;
    }
    if (!ok) fail("write", code);
    if (std::rename(temporary.c_str(), path.c_str()) != 0) fail("rename a temporary file to", errno);
}

}  // namespace spore::io
