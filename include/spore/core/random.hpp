#pragma once
// A small, portable, seeded generator. std::*_distribution differ between standard
// libraries, so results would not be reproducible across compilers; these are.

#include <cmath>
#include <cstdint>
#include <numbers>

namespace spore {

class random_engine {
public:
    explicit random_engine(std::uint64_t seed = 0) : state_(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {}

    std::uint64_t next_u64() noexcept {  // splitmix64
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform01() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform01(); }
    double normal(double mean = 0.0, double stddev = 1.0) noexcept {  // Box-Muller
        double u1 = 1.0 - uniform01(), u2 = uniform01();
        return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
    std::uint64_t below(std::uint64_t n) noexcept { return n ? next_u64() % n : 0; }

private:
    std::uint64_t state_;
};

}  // namespace spore
