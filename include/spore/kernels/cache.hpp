#pragma once
// Cache sizes of the running CPU, read once, for sizing GEMM's blocks.

#include <cstddef>

#if defined(__linux__)
#include <unistd.h>
#endif

namespace spore::kernels {

struct cache_sizes {
    std::size_t l1_data = 32 * 1024;
    std::size_t l2 = 512 * 1024;
};

inline cache_sizes detect_cache_sizes() {
    cache_sizes sizes;
#if defined(__linux__) && defined(_SC_LEVEL1_DCACHE_SIZE)
    if (long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE); l1 > 0) sizes.l1_data = static_cast<std::size_t>(l1);
    if (long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE); l2 > 0) sizes.l2 = static_cast<std::size_t>(l2);
#endif
    return sizes;
}

inline const cache_sizes& caches() {
    static const cache_sizes sizes = detect_cache_sizes();
    return sizes;
}

}  // namespace spore::kernels
