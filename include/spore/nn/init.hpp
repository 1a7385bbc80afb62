#pragma once
// Initialisation schemes, seeded and reproducible on every platform (core/random.hpp). A layer
// asks its scheme to fill its weight (and bias) given the fans: fan_in = inputs per output
// (In, or In * K * K for a convolution), fan_out = outputs per input.
//
//   spore::init(net, seed);                                 // PyTorch's defaults
//   spore::init(net, seed, nn::init::xavier_uniform{});     // one scheme for every layer
//   spore::init(net.fc3, seed, nn::init::normal{.stddev = 0.01});   // or per cell
//
// The formulas are torch.nn.init's. Every scheme but the default sets biases to zero, as the
// usual `init.xxx_(m.weight); init.zeros_(m.bias)` does.

#include <cmath>
#include <cstddef>

#include <spore/core/random.hpp>

namespace spore::nn::init {

struct fans {
    std::size_t in = 1, out = 1;
};

enum class mode { fan_in, fan_out };
enum class nonlinearity { linear, sigmoid, tanh, relu, leaky_relu };

// torch.nn.init.calculate_gain.
inline double gain(nonlinearity f, double negative_slope = 0.01) {
    switch (f) {
        case nonlinearity::tanh: return 5.0 / 3.0;
        case nonlinearity::relu: return std::sqrt(2.0);
        case nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
        case nonlinearity::linear:
        case nonlinearity::sigmoid: break;
    }
    return 1.0;
}

namespace detail {
template <class Tensor>
void fill_uniform(Tensor& t, random_engine& rng, double bound) {
    using T = typename Tensor::value_type;
    t.fill_uniform(rng, T(-bound), T(bound));
}
template <class Tensor>
void fill_normal(Tensor& t, random_engine& rng, double mean, double stddev) {
    using T = typename Tensor::value_type;
    for (auto& x : t) x = static_cast<T>(rng.normal(mean, stddev));
}
template <class Tensor>
void fill_zero(Tensor& t) {
    t.fill(typename Tensor::value_type(0));
}
}  // namespace detail

// PyTorch's default for Linear and Conv2d: Kaiming-uniform with a = sqrt(5), which is
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and biases from the same range.
// (The bound is computed in the element type, so the draws match spore's earlier releases.)
struct pytorch_default {
    template <class W>
    void weight(W& w, fans f, random_engine& rng) const {
        fill(w, f, rng);
    }
    template <class B>
    void bias(B& b, fans f, random_engine& rng) const {
        fill(b, f, rng);
    }
    template <class Tensor>
    static void fill(Tensor& t, fans f, random_engine& rng) {
        using T = typename Tensor::value_type;
        const T bound = T(1) / std::sqrt(T(f.in));
        t.fill_uniform(rng, -bound, bound);
    }
};

// U(low, high), as torch.nn.init.uniform_ (defaults 0 and 1 there too).
struct uniform {
    double low = 0.0, high = 1.0;
    template <class W>
    void weight(W& w, fans, random_engine& rng) const {
        using T = typename W::value_type;
        w.fill_uniform(rng, T(low), T(high));
    }
    template <class B>
    void bias(B& b, fans, random_engine&) const { detail::fill_zero(b); }
};

// N(mean, stddev^2), as torch.nn.init.normal_.
struct normal {
    double mean = 0.0, stddev = 1.0;
    template <class W>
    void weight(W& w, fans, random_engine& rng) const { detail::fill_normal(w, rng, mean, stddev); }
    template <class B>
    void bias(B& b, fans, random_engine&) const { detail::fill_zero(b); }
};

// Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).
struct xavier_uniform {
    double gain = 1.0;
    template <class W>
    void weight(W& w, fans f, random_engine& rng) const {
        detail::fill_uniform(w, rng, gain * std::sqrt(6.0 / double(f.in + f.out)));
    }
    template <class B>
    void bias(B& b, fans, random_engine&) const { detail::fill_zero(b); }
};

// Glorot: N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)).
struct xavier_normal {
    double gain = 1.0;
    template <class W>
    void weight(W& w, fans f, random_engine& rng) const {
        detail::fill_normal(w, rng, 0.0, gain * std::sqrt(2.0 / double(f.in + f.out)));
    }
    template <class B>
    void bias(B& b, fans, random_engine&) const { detail::fill_zero(b); }
};

// He: U(-b, b) with b = gain * sqrt(3 / fan), gain from the nonlinearity and a (its negative
// slope); torch's defaults a = 0, fan_in, leaky_relu.
struct kaiming_uniform {
    double a = 0.0;
    init::mode mode = init::mode::fan_in;
    init::nonlinearity nonlinearity = init::nonlinearity::leaky_relu;
    template <class W>
    void weight(W& w, fans f, random_engine& rng) const {
        const double fan = double(mode == init::mode::fan_in ? f.in : f.out);
        detail::fill_uniform(w, rng, init::gain(nonlinearity, a) * std::sqrt(3.0 / fan));
    }
    template <class B>
    void bias(B& b, fans, random_engine&) const { detail::fill_zero(b); }
};

// He: N(0, s^2) with s = gain / sqrt(fan).
struct kaiming_normal {
    double a = 0.0;
    init::mode mode = init::mode::fan_in;
    init::nonlinearity nonlinearity = init::nonlinearity::leaky_relu;
    template <class W>
    void weight(W& w, fans f, random_engine& rng) const {
        const double fan = double(mode == init::mode::fan_in ? f.in : f.out);
        detail::fill_normal(w, rng, 0.0, init::gain(nonlinearity, a) / std::sqrt(fan));
    }
    template <class B>
    void bias(B& b, fans, random_engine&) const { detail::fill_zero(b); }
};

// Every element `value` (weights and biases alike), as torch.nn.init.constant_.
struct constant {
    double value = 0.0;
    template <class W>
    void weight(W& w, fans, random_engine&) const { w.fill(typename W::value_type(value)); }
    template <class B>
    void bias(B& b, fans, random_engine&) const { b.fill(typename B::value_type(value)); }
};

}  // namespace spore::nn::init
