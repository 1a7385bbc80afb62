#pragma once
// nn::Sequential<L0, L1, ...>: layers (or any cells, Sequentials too) applied in order, as
// torch.nn.Sequential. Its children are named "0", "1", ... as PyTorch names them, so the
// parameters of
//
//   nn::Sequential<nn::Dense<784, 128>, nn::ReLU, nn::Dense<128, 10>> mlp;
//
// are "0.weight", "0.bias", "2.weight", "2.bias" in checkpoints, the summary and ONNX
// initializers, and a state_dict of the same torch.nn.Sequential loads as it is. A Sequential
// lists its children to the field walk itself (child_count, child<I>(), child_name<I>(): the
// protocol of nn/fields.hpp), since Boost.PFR walks no std::tuple and no field is named "0".
//
// Each child is applied with spore::call (its construct(x), else its operator()), so a user's
// cell may be a child; a Sequential is a layer itself: seq(x), also inside another Sequential.
//
//   nn::Sequential<nn::Dense<4, 3>, nn::Dropout> a;                 // default-constructed layers
//   nn::Sequential b{nn::Dense<4, 3>{}, nn::ReLU{}};                 // or from layer values
//   a.child<0>().weight, std::get<0>(a.layers).weight                // child 0

#include <cstddef>
#include <string_view>
#include <tuple>
#include <utility>

#include <spore/nn/call.hpp>
#include <spore/nn/fields.hpp>

namespace spore::nn {

template <class... L>
struct Sequential {
    std::tuple<L...> layers;

    Sequential() = default;
    explicit Sequential(L... children)
        requires(sizeof...(L) > 0)
        : layers(std::move(children)...) {}

    // The field walk's protocol (nn/fields.hpp).
    static constexpr std::size_t child_count = sizeof...(L);
    template <std::size_t I>
    auto& child() noexcept {
        return std::get<I>(layers);
    }
    template <std::size_t I>
    const auto& child() const noexcept {
        return std::get<I>(layers);
    }
    template <std::size_t I>
    static constexpr std::string_view child_name() noexcept {
        return index_name<I>();
    }

    // The children applied in order to x (x itself for an empty Sequential).
    template <class X>
    auto operator()(X&& x) const {
        return record_output(*this, apply<0>(std::forward<X>(x)));
    }

private:
    template <std::size_t I, class X>
    auto apply(X&& x) const {
        if constexpr (I == sizeof...(L)) return std::forward<X>(x);
        else return apply<I + 1>(spore::call(std::get<I>(layers), std::forward<X>(x)));
    }
};

template <class... L>
Sequential(L...) -> Sequential<L...>;

}  // namespace spore::nn
