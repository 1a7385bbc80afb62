#pragma once
// Replaces the global operator new of the test program that includes this header (once, in
// one file), counting every allocation in `spore_test::allocations`, so a test can prove that
// a call allocates nothing. AddressSanitizer brings its own operator new, so under it the
// counting (and only the counting) is left out: `spore_test::counting_allocations` says which.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace spore_test {
inline std::atomic<long> allocations{0};
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool counting_allocations = false;
#else
inline constexpr bool counting_allocations = true;
#endif
}  // namespace spore_test

#if !defined(__SANITIZE_ADDRESS__)
void* operator new(std::size_t size) {
    ++spore_test::allocations;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
    ++spore_test::allocations;
    const auto a = static_cast<std::size_t>(align);
    if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
    throw std::bad_alloc();
}
// Not inlined: GCC 12, seeing std::free inlined where it knows the pointer came from operator new,
// warns of a mismatch (-Wmismatched-new-delete) that the replacement pair makes correct.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif
