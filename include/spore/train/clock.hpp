#pragma once
// Seconds on a monotonic clock. POSIX clock_gettime where there is one: <chrono> alone adds
// about 0.4 s to every build that includes spore.

#if __has_include(<time.h>) && defined(__unix__)
#include <time.h>
#else
#include <chrono>
#endif

namespace spore::train {

inline double monotonic_seconds() noexcept {
#if __has_include(<time.h>) && defined(__unix__)
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return double(now.tv_sec) + 1e-9 * double(now.tv_nsec);
#else
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
#endif
}

}  // namespace spore::train
