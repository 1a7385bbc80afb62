#pragma once
// printf-style text, kept only for printf widths and precisions (nn/summary.hpp's columns, train/'s SVG); messages use detail::concat.

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <string>

namespace spore {

// Appends printf-formatted text to `out`, at any length.
inline void vappend_format(std::string& out, const char* format, va_list args) {
    char buffer[256];
    va_list again;
    va_copy(again, args);
    const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
    if (n > 0 && std::size_t(n) < sizeof buffer) {
        out.append(buffer, std::size_t(n));
    } else if (n > 0) {
        const std::size_t at = out.size();
        out.resize(at + std::size_t(n) + 1);
        std::vsnprintf(out.data() + at, std::size_t(n) + 1, format, again);
        out.resize(at + std::size_t(n));
    }
    va_end(again);
}

[[gnu::format(printf, 2, 3)]] inline void append_format(std::string& out, const char* format, ...) {
    va_list args;
    va_start(args, format);
    vappend_format(out, format, args);
    va_end(args);
}

[[gnu::format(printf, 1, 2)]] inline std::string format(const char* format, ...) {
    std::string out;
    va_list args;
    va_start(args, format);
    vappend_format(out, format, args);
    va_end(args);
    return out;
}

}  // namespace spore
