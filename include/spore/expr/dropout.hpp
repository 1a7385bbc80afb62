#pragma once
// dropout(x, p, seed) as a heavy node. In training mode (a gradient program) each element is
// zeroed with probability p and the others scaled by 1 / (1 - p), with a fresh mask on every
// run; in evaluation mode it is the identity. p is a run-time value (a floating-point template
// argument would shut out Clang before 18), checked to lie in [0, 1) when the node is made. The mask of a run depends only on the seed, the
// node's stream (its place among the program's random nodes) and the run's number, so a
// program is reproducible from the seed and two programs built alike draw alike.
// Rule: autodiff/rules/dropout.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <spore/core/error.hpp>
#include <spore/core/random.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>

namespace spore::expr {

// splitmix64's finaliser: neighbouring inputs give unrelated outputs.
constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The probability of zeroing, refused outside [0, 1) (and NaN) with a spore::error naming it.
inline double checked_dropout_probability(double p) {
    if (!(p >= 0.0 && p < 1.0))
        throw error(detail::concat({"spore::dropout: the probability of zeroing must lie in [0, 1), got ", p}));
    return p;
}

template <class A>
struct dropout_node : node_base<typename A::value_type, typename A::shape_type, node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr std::size_t size = A::shape_type::size;
    A a;
    double probability = 0.0;  // in [0, 1): checked by spore::dropout
    std::uint64_t seed = 0;
    bool operator==(const dropout_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* x = read_operand(a, state.a);
        T* y = state.mutable_value();
        const double p = probability;
        if (!state.training || p == 0.0) {
            std::copy_n(x, size, y);
            return;
        }
        const std::uint64_t run = state.runs++;
        random_engine rng(mix64(mix64(seed ^ mix64(state.stream + 1)) + run));
        // keep when a 64-bit draw is at least p * 2^64: probability exactly 1 - p up to 2^-64
        const std::uint64_t threshold = static_cast<std::uint64_t>(p * 18446744073709551616.0);
        const T scale = T(1) / T(1.0 - p);
        T* mask = state.needs_grad ? state.mask.data() : nullptr;
        for (std::size_t i = 0; i < size; ++i) {
            const T m = rng.next_u64() >= threshold ? scale : T(0);
            if (mask) mask[i] = m;
            y[i] = x[i] * m;
        }
    }

    struct scratch {
        bool training = false;
        std::uint64_t stream = 0;  // this node's place among the program's random nodes
        std::uint64_t runs = 0;    // training forward passes so far
        aligned_buffer<T> mask;    // 0 or 1 / (1 - p) per element, for the backward pass
        template <class Planner>
        void prepare(Planner& p, bool needs_grad) {
            training = p.training;
            stream = p.random_streams++;
            if (training && needs_grad) mask = aligned_buffer<T>(size);
        }
    };

    // Evaluation mode: dropout passes its input through.
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        return graph.emit(a);
    }
};

}  // namespace spore::expr

namespace spore {

// dropout(x, p, seed): see the node above; nn::Dropout keeps p and the seed in a cell. Throws
// spore::error when p is not in [0, 1).
template <expr::non_scalar_operand X>
constexpr auto dropout(X&& x, double p, std::uint64_t seed) {
    const double probability = expr::checked_dropout_probability(p);
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    return expr::dropout_node<decltype(a)>{{}, a, probability, seed};
}

}  // namespace spore
