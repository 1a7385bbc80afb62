#pragma once
// nn::Embedding<Rows, Dimension>: a table of Rows vectors, looked up by integer indices of any
// shape, as torch.nn.Embedding (parameter `weight` [Rows, Dimension], initialised N(0, 1); an
// optional padding_idx whose row starts at zero and is never trained).

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/expr/embedding.hpp>
#include <spore/nn/call.hpp>
#include <spore/nn/init.hpp>

namespace spore::nn {

template <std::size_t Rows, std::size_t Dimension, class T = float>
struct Embedding {
    tensor<T, shape<Rows, Dimension>> weight{};  // {}: so designated initializers may omit it
    std::optional<std::size_t> padding_idx;

    template <class Indices>
    auto operator()(Indices&& indices) const {
        return record_output(*this, spore::embedding(weight, std::forward<Indices>(indices),
                                                     padding_idx.value_or(expr::no_padding_index)));
    }
    // PyTorch's default is N(0, 1); another scheme sees the fans PyTorch computes for a 2-D
    // weight [Rows, Dimension] (in = Dimension, out = Rows).
    template <class Scheme = init::pytorch_default>
    void reset_parameters(random_engine& rng, const Scheme& scheme = {}) {
        if constexpr (std::is_same_v<Scheme, init::pytorch_default>) init::detail::fill_normal(weight, rng, 0.0, 1.0);
        else scheme.weight(weight, {Dimension, Rows}, rng);
        if (padding_idx && *padding_idx < Rows)
            for (std::size_t j = 0; j < Dimension; ++j) weight(*padding_idx, j) = T(0);
    }
};

}  // namespace spore::nn
