#pragma once
// LayerNorm<shape<D1, ..., DK>, T>: layer normalisation over the last K axes of its input, as
// torch.nn.LayerNorm(normalized_shape=[D1, ..., DK]) with elementwise_affine: weight (ones) and
// bias (zeros) of that shape are parameters; there are no buffers, and training and evaluation
// compute the same. eps is a run-time field (PyTorch's name and default, 1e-5), checked to be
// positive when the expression is built: `nn::LayerNorm<shape<64>> ln{.eps = 1e-6}`.

#include <cstddef>
#include <utility>

#include <spore/core/error.hpp>
#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/layer_norm.hpp>
#include <spore/nn/call.hpp>

namespace spore::nn {

template <class NormalizedShape, class T = float>
struct LayerNorm {
    static_assert(NormalizedShape::rank >= 1, "spore: nn::LayerNorm: the normalised shape needs at least one axis");
    tensor<T, NormalizedShape> weight = ones();
    tensor<T, NormalizedShape> bias{};  // {}: so designated initializers omit it without a warning
    double eps = 1e-5;                  // added to the variance

    template <class X>
    auto operator()(X&& x) const {
        if (!(eps > 0.0)) throw error(spore::detail::concat({"spore::nn::LayerNorm: eps must be positive, found ", eps}));
        return record_output(*this, spore::layer_norm(std::forward<X>(x), weight, bias, T(eps)));
    }
    // PyTorch's reset: weight 1, bias 0, whatever the scheme.
    template <class Scheme>
    void reset_parameters(random_engine&, const Scheme&) {
        weight.fill(T(1));
        bias.fill(T(0));
    }
    void reset_parameters(random_engine& rng) { reset_parameters(rng, 0); }

private:
    static tensor<T, NormalizedShape> ones() {
        tensor<T, NormalizedShape> t;
        t.fill(T(1));
        return t;
    }
};

}  // namespace spore::nn
