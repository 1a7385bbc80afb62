#pragma once
// Batch normalisation per channel, as one heavy node, for an input of any rank >= 2 with the
// channels on axis 1: [N, C] and [N, C, L] (nn::BatchNorm1d), [N, C, H, W] (nn::BatchNorm2d).
// Each channel's statistics run over the batch and the "plane", the axes after 1. In training
// mode (a gradient program) it normalises by the batch's mean and biased variance, updates the
// running statistics with the unbiased variance and counts the batch, as PyTorch does:
//   running = (1 - momentum) * running + momentum * batch statistic;  num_batches_tracked += 1;
// in evaluation mode it normalises by the running statistics. y = x_hat * weight + bias.
// Rule: autodiff/rules/batch_norm.hpp.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/expr/reduce.hpp>

namespace spore::expr {

template <class Channels, class InputShape>
struct check_batch_norm2d {
    static constexpr bool images = InputShape::rank == 4;
    static_assert(images, "spore: nn::BatchNorm2d (batch_norm2d) takes an input [N, C, H, W]; for [N, C] (after a "
                          "Dense layer) or [N, C, L] use nn::BatchNorm1d "
                          "(see check_batch_norm2d<shape<channels>, input shape> above)");
    static constexpr bool ok = images && InputShape::extents[1] == Channels::extents[0];
    static_assert(!images || ok, "spore: nn::BatchNorm2d: batch_norm2d: the input's channels differ from the layer's "
                                 "(see check_batch_norm2d<shape<channels>, input shape> above)");
};

template <class Channels, class InputShape>
struct check_batch_norm1d {
    static constexpr bool rank_ok = InputShape::rank == 2 || InputShape::rank == 3;
    static_assert(rank_ok, "spore: nn::BatchNorm1d (batch_norm1d) takes an input [N, C] or [N, C, L]; for images "
                           "[N, C, H, W] use nn::BatchNorm2d "
                           "(see check_batch_norm1d<shape<channels>, input shape> above)");
    static constexpr bool ok = rank_ok && InputShape::extents[1] == Channels::extents[0];
    static_assert(!rank_ok || ok, "spore: nn::BatchNorm1d: batch_norm1d: the input's channels (axis 1) differ from "
                                  "the layer's (see check_batch_norm1d<shape<channels>, input shape> above)");
};

// The layer an input of this rank belongs to, for run-time messages.
constexpr const char* batch_norm_layer_name(std::size_t rank) {
    return rank <= 3 ? "BatchNorm1d" : rank == 4 ? "BatchNorm2d" : rank == 5 ? "BatchNorm3d" : "batch_norm";
}

template <class Shape>
constexpr std::size_t batch_norm_plane() {
    std::size_t n = 1;
    for (std::size_t i = 2; i < Shape::rank; ++i) n *= Shape::extents[i];
    return n;
}

// a: input [N, C, ...]; b: weight [C]; c: bias [C]. The running statistics (and the count of
// training batches, when not null) are the cell's buffers, by address.
template <class A, class W, class B>
struct batch_norm_node : node_base<typename A::value_type, typename A::shape_type, node_kind::heavy> {
    using T = typename A::value_type;
    static_assert(A::shape_type::rank >= 2, "spore: batch normalisation takes an input [N, C, ...]");
    static constexpr std::size_t batch = A::shape_type::extents[0];
    static constexpr std::size_t channels = A::shape_type::extents[1];
    static constexpr std::size_t plane = batch_norm_plane<typename A::shape_type>();  // values per (sample, channel)
    static constexpr std::size_t count = batch * plane;                               // values per channel
    static constexpr const char* layer = batch_norm_layer_name(A::shape_type::rank);
    A a;
    W b;
    B c;
    T* running_mean = nullptr;
    T* running_var = nullptr;
    std::int64_t* num_batches_tracked = nullptr;
    T momentum = T(0.1);
    T eps = T(1e-5);
    bool operator==(const batch_norm_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* x = read_operand(a, state.a);
        const T* w = read_operand(b, state.b);
        const T* bias = read_operand(c, state.c);
        T* y = state.mutable_value();
        T* mean = state.mean.data();
        T* inv_std = state.inv_std.data();
        if (state.training) {
            if constexpr (count < 2) {
                throw error(spore::detail::concat({"spore::nn::", layer, ": training needs more than one value per channel, found ",
                                                   count, " (input [", spore::detail::joined(A::shape_type::extents), "])"}));
            } else {
                for (std::size_t ch = 0; ch < channels; ++ch) {
                    // two passes (mean, then squared deviations) stay accurate for large planes
                    accumulator<reductions::sum, T> total;
                    for_each_plane(x, ch, [&]<class V>(const T* p, std::size_t j) { total.add(simd::load<V>(p + j)); });
                    const T mu = total.result() / T(count);
                    accumulator<reductions::sum, T> squares;
                    for_each_plane(x, ch, [&]<class V>(const T* p, std::size_t j) {
                        const V d = simd::load<V>(p + j) - simd::splat<V>(mu);
                        squares.add(d * d);
                    });
                    const T variance = squares.result() / T(count);
                    mean[ch] = mu;
                    inv_std[ch] = T(1) / std::sqrt(variance + eps);
                    running_mean[ch] = (T(1) - momentum) * running_mean[ch] + momentum * mu;
                    running_var[ch] = (T(1) - momentum) * running_var[ch] +
                                      momentum * variance * T(count) / T(count - 1);
                }
                if (num_batches_tracked) ++*num_batches_tracked;
            }
        } else {
            for (std::size_t ch = 0; ch < channels; ++ch) {
                mean[ch] = running_mean[ch];
                inv_std[ch] = T(1) / std::sqrt(running_var[ch] + eps);
            }
        }
        for (std::size_t ch = 0; ch < channels; ++ch) {
            const T scale = w[ch] * inv_std[ch], shift = bias[ch] - mean[ch] * scale;
            for (std::size_t n = 0; n < batch; ++n) {
                const std::size_t offset = (n * channels + ch) * plane;
                for_each_batch<T>(plane, [&]<class V>(std::size_t j) {
                    simd::store(y + offset + j, simd::load<V>(x + offset + j) * simd::splat<V>(scale) + simd::splat<V>(shift));
                });
            }
        }
    }

    // f.template operator()<V>(plane_start, j) over every value of channel ch.
    template <class F>
    static void for_each_plane(const T* x, std::size_t ch, F&& f) {
        for (std::size_t n = 0; n < batch; ++n) {
            const T* p = x + (n * channels + ch) * plane;
            for_each_batch<T>(plane, [&]<class V>(std::size_t j) { f.template operator()<V>(p, j); });
        }
    }

    struct scratch {
        bool training = false;
        aligned_buffer<T> mean, inv_std;     // per channel, as used
        aligned_buffer<T> sum_dy, sum_dy_xhat;  // per channel, for the backward pass
        template <class Planner>
        void prepare(const Planner& p, bool needs_grad) {
            training = p.training;
            mean = aligned_buffer<T>(channels);
            inv_std = aligned_buffer<T>(channels);
            if (!needs_grad) return;
            sum_dy = aligned_buffer<T>(channels);
            sum_dy_xhat = aligned_buffer<T>(channels);
        }
    };

    // Evaluation mode: normalisation by the running statistics (buffers, named by field path).
    // BatchNormalization takes [N, C, D1, ..., Dk] for any k >= 0.
    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        using stats = shape<channels>;
        const auto x = graph.emit(a);
        const auto scale = graph.emit(b);
        const auto shift = graph.emit(c);
        graph.require_leading_batch("BatchNormalization", x);
        graph.require_unbatched("BatchNormalization", "scale", scale);
        graph.require_unbatched("BatchNormalization", "bias", shift);
        std::vector<std::string> inputs{x.name, scale.name, shift.name,
                                        graph.template pointer_input<stats>(static_cast<const T*>(running_mean)),
                                        graph.template pointer_input<stats>(static_cast<const T*>(running_var))};
        // ONNX's momentum weighs the old running value, PyTorch's (and spore's) the new one
        return {graph.node("BatchNormalization", std::move(inputs),
                           {graph.real("epsilon", static_cast<float>(eps)),
                            graph.real("momentum", static_cast<float>(T(1) - momentum))}),
                x.batch_axis};
    }
};

}  // namespace spore::expr

namespace spore {

namespace expr {
template <template <class, class> class Check, class X, class W, class B, class T>
constexpr auto make_batch_norm(X&& x, W&& weight, B&& bias, T* running_mean, T* running_var, T momentum, T eps,
                               std::int64_t* num_batches_tracked) {
    auto a = operand_expression<X, X>(std::forward<X>(x));
    auto w = operand_expression<W, W>(std::forward<W>(weight));
    auto b = operand_expression<B, B>(std::forward<B>(bias));
    using EA = decltype(a);
    using EW = decltype(w);
    using EB = decltype(b);
    static_assert(std::is_same_v<typename EA::value_type, T> && std::is_same_v<typename EW::value_type, T> &&
                      std::is_same_v<typename EB::value_type, T>,
                  "spore: batch normalisation: operands and running statistics must have the same element type");
    static_assert(EW::shape_type::rank == 1 && same_shape_v<typename EW::shape_type, typename EB::shape_type>,
                  "spore: batch normalisation: weight and bias must have the shape <channels>");
    if constexpr (Check<typename EW::shape_type, typename EA::shape_type>::ok)
        return batch_norm_node<EA, EW, EB>{{}, a, w, b, running_mean, running_var, num_batches_tracked, momentum, eps};
}
}  // namespace expr

// batch_norm2d(x, weight, bias, running_mean, running_var, momentum, eps, num_batches_tracked)
// for x [N, C, H, W]; batch_norm1d(...) the same for x [N, C] or [N, C, L]. See
// nn::BatchNorm2d and nn::BatchNorm1d, which own the running statistics; num_batches_tracked
// may be null.
template <expr::non_scalar_operand X, expr::non_scalar_operand W, expr::non_scalar_operand B, class T>
constexpr auto batch_norm2d(X&& x, W&& weight, B&& bias, T* running_mean, T* running_var, T momentum = T(0.1),
                            T eps = T(1e-5), std::int64_t* num_batches_tracked = nullptr) {
    return expr::make_batch_norm<expr::check_batch_norm2d>(std::forward<X>(x), std::forward<W>(weight), std::forward<B>(bias),
                                                           running_mean, running_var, momentum, eps, num_batches_tracked);
}
template <expr::non_scalar_operand X, expr::non_scalar_operand W, expr::non_scalar_operand B, class T>
constexpr auto batch_norm1d(X&& x, W&& weight, B&& bias, T* running_mean, T* running_var, T momentum = T(0.1),
                            T eps = T(1e-5), std::int64_t* num_batches_tracked = nullptr) {
    return expr::make_batch_norm<expr::check_batch_norm1d>(std::forward<X>(x), std::forward<W>(weight), std::forward<B>(bias),
                                                           running_mean, running_var, momentum, eps, num_batches_tracked);
}

}  // namespace spore
