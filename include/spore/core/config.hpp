#pragma once
// Version and the few macros every layer shares.

#define SPORE_VERSION_MAJOR 0
#define SPORE_VERSION_MINOR 1
#define SPORE_VERSION_PATCH 0

#if defined(__GNUC__) || defined(__clang__)
#define SPORE_ALWAYS_INLINE inline __attribute__((always_inline))
#define SPORE_NOINLINE __attribute__((noinline))
#define SPORE_RESTRICT __restrict__
#else
#define SPORE_ALWAYS_INLINE inline
#define SPORE_NOINLINE
#define SPORE_RESTRICT
#endif

#include <cstddef>

namespace spore {
// Storage is aligned for the widest vector unit we target (AVX-512) and a cache line.
inline constexpr std::size_t storage_alignment = 64;
}  // namespace spore
