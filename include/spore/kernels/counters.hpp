#pragma once
// Counts of heavy kernel calls. Tests use them to prove that a subexpression used twice is
// computed once; the cost is one relaxed increment per kernel call, never per element.

#include <atomic>
#include <cstdint>

namespace spore::kernels {

struct call_counters {
    std::atomic<std::uint64_t> gemm{0};
    std::atomic<std::uint64_t> reduce{0};
    std::atomic<std::uint64_t> softmax{0};
    std::atomic<std::uint64_t> transpose{0};
    std::atomic<std::uint64_t> conv{0};
    std::atomic<std::uint64_t> pool{0};

    void reset() noexcept {
        gemm = 0;
        reduce = 0;
        softmax = 0;
        transpose = 0;
        conv = 0;
        pool = 0;
    }
};

inline call_counters counters;

inline void count(std::atomic<std::uint64_t>& counter) noexcept { counter.fetch_add(1, std::memory_order_relaxed); }

}  // namespace spore::kernels
