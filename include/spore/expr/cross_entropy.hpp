#pragma once
// Softmax cross-entropy as one heavy node: the mean (sum, or each) over rows of logsumexp(x) - x[label]
// (integer labels, -1 = ignore the row) or of sum_j t_j (logsumexp(x) - x_j) (target rows such
// as one-hot vectors). One pass per row computes the row's maximum, its log-sum-exp and, when a
// gradient is wanted, the softmax the backward rule (softmax - target) / rows needs (rule:
// autodiff/rules/cross_entropy.hpp). It has no ONNX export: a loss is not part of a model.

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/expr/reduce.hpp>
#include <spore/kernels/counters.hpp>

namespace spore::expr {

template <class LogitsShape, class TargetShape, bool IntegerLabels>
struct check_cross_entropy {
    static constexpr bool matrix = LogitsShape::rank == 2;
    static_assert(matrix, "spore: SoftmaxCrossEntropy takes logits [batch, classes] "
                          "(see check_cross_entropy<logits shape, labels shape, integer labels> above)");
    static constexpr bool targets_fit = [] {
        if constexpr (!matrix) return true;
        else if constexpr (IntegerLabels) return TargetShape::rank == 1 && TargetShape::extents[0] == LogitsShape::extents[0];
        else return same_shape_v<LogitsShape, TargetShape>;
    }();
    static_assert(!IntegerLabels || targets_fit,
                  "spore: SoftmaxCrossEntropy: integer labels must have the shape <batch> of the logits' rows "
                  "(see check_cross_entropy<logits shape, labels shape, integer labels> above)");
    static_assert(IntegerLabels || targets_fit,
                  "spore: SoftmaxCrossEntropy: target rows (e.g. one-hot) must have the logits' shape "
                  "(see check_cross_entropy<logits shape, targets shape, integer labels> above)");
    static constexpr bool ok = matrix && targets_fit;
};

// A is the logits; Y is an integer label leaf [batch] or a floating-point target operand; R
// reduces the row terms (none: the term of each row, 0 for an ignored one).
template <loss_reduction R, class A, class Y>
struct cross_entropy_node
    : node_base<typename A::value_type, row_loss_shape<R, A::shape_type::extents[0]>, node_kind::heavy> {
    using T = typename A::value_type;
    using label_type = typename Y::value_type;
    static constexpr bool integer_labels = std::is_integral_v<label_type>;
    static constexpr std::size_t rows = A::shape_type::extents[0];
    static constexpr std::size_t classes = A::shape_type::extents[1];
    A a;
    Y b;
    // The target of each row is mixed with the uniform distribution: q = (1 - e) t + e sum(t) / C
    // (for rows that sum to 1, as PyTorch's label_smoothing; it stays linear in t).
    T label_smoothing = T(0);
    bool operator==(const cross_entropy_node&) const = default;

    template <class S>
    void forward(S& state) const {
        kernels::count(kernels::counters.softmax);
        const T* x = read_operand(a, state.a);
        const label_type* y = read_operand(b, state.b);
        T* probabilities = state.needs_grad ? state.probabilities.data() : nullptr;
        T* out = state.mutable_value();
        T total = 0;
        std::size_t counted = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const T* row = x + r * classes;
            if constexpr (integer_labels) {
                const std::int64_t label = y[r];
                if (label < -1 || label >= std::int64_t(classes))
                    throw error(spore::detail::concat({"spore::nn::SoftmaxCrossEntropy: label ", label, " in row ", r,
                                                       " is outside [0, ", classes, "); -1 ignores a row"}));
                if (label == -1) {
                    state.log_sum_exp.data()[r] = T(0);
                    if constexpr (R == loss_reduction::none) out[r] = T(0);
                    continue;
                }
            }
            const T lse = row_log_sum_exp(row, probabilities ? probabilities + r * classes : nullptr);
            state.log_sum_exp.data()[r] = lse;
            T weight = T(1), dot = T(0);  // sum(t) and t . x
            if constexpr (integer_labels) {
                dot = row[y[r]];
            } else {
                accumulator<reductions::sum, T> w, d;
                const T* t = y + r * classes;
                for_each_batch<T>(classes, [&]<class V>(std::size_t j) {
                    const V tj = simd::load<V>(t + j);
                    w.add(tj);
                    d.add(tj * simd::load<V>(row + j));
                });
                weight = w.result();
                dot = d.result();
            }
            T term = lse * weight - dot;
            if (label_smoothing != T(0)) {
                accumulator<reductions::sum, T> sum;
                for_each_batch<T>(classes, [&]<class V>(std::size_t j) { sum.add(simd::load<V>(row + j)); });
                const T mean = sum.result() / T(classes);
                state.row_mean.data()[r] = mean;
                term = lse * weight - ((T(1) - label_smoothing) * dot + label_smoothing * weight * mean);
            }
            if constexpr (R == loss_reduction::none) out[r] = term;
            total += term;
            ++counted;
        }
        state.counted_rows = counted;
        store_row_loss<R>(out, total, counted);  // every row ignored: no loss and no gradient
    }

    // log(sum(exp(row))) through the row's maximum; writes softmax(row) when `softmax` is set.
    static T row_log_sum_exp(const T* row, T* softmax) {
        accumulator<reductions::max, T> maximum;
        for_each_batch<T>(classes, [&]<class V>(std::size_t j) { maximum.add(simd::load<V>(row + j)); });
        const T top = maximum.result();
        accumulator<reductions::sum, T> total;
        for_each_batch<T>(classes, [&]<class V>(std::size_t j) {
            const V e = simd::exp(simd::load<V>(row + j) - simd::splat<V>(top));
            if (softmax) simd::store(softmax + j, e);
            total.add(e);
        });
        const T sum = total.result();
        if (softmax) {
            const T scale = T(1) / sum;
            for_each_batch<T>(classes, [&]<class V>(std::size_t j) {
                simd::store(softmax + j, simd::load<V>(softmax + j) * simd::splat<V>(scale));
            });
        }
        return top + std::log(sum);
    }

    struct scratch {
        std::size_t counted_rows = 0;
        aligned_buffer<T> log_sum_exp;    // per row
        aligned_buffer<T> row_mean;       // per row, with label smoothing
        aligned_buffer<T> probabilities;  // softmax of the logits, when a gradient is wanted
        template <class Planner>
        void prepare(const Planner&, bool needs_grad) {
            log_sum_exp = aligned_buffer<T>(rows);
            row_mean = aligned_buffer<T>(rows);
            if (needs_grad) probabilities = aligned_buffer<T>(rows * classes);
        }
    };
};

}  // namespace spore::expr

namespace spore {

// softmax_cross_entropy<R>(logits [B, C], labels) with labels an integer tensor (or placeholder)
// of shape <B> (-1 ignores a row; the mean is over the other rows), or target rows [B, C];
// label_smoothing in [0, 1] as PyTorch's.
template <expr::loss_reduction R = expr::loss_reduction::mean, expr::non_scalar_operand L, class Y>
auto softmax_cross_entropy(L&& logits, Y&& labels, double label_smoothing = 0.0) {
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
        throw error(spore::detail::concat({"spore::nn::SoftmaxCrossEntropy: label_smoothing must lie in [0, 1], found ",
                                    label_smoothing}));
    auto a = expr::operand_expression<L, L>(std::forward<L>(logits));
    using A = decltype(a);
    using label_type = typename expr::expression_of<Y>::value_type;
    constexpr bool integer = std::is_integral_v<label_type>;
    if constexpr (integer) {
        static_assert(!(is_tensor_v<std::remove_cvref_t<Y>> && std::is_rvalue_reference_v<Y&&>),
                      "spore: a temporary tensor in an expression would dangle; give it a name first");
        static_assert(expr::expression_of<Y>::kind == expr::node_kind::leaf,
                      "spore: SoftmaxCrossEntropy: integer labels must be a tensor or a placeholder");
        auto b = expr::as_expression(labels);
        using B = decltype(b);
        if constexpr (expr::check_cross_entropy<typename A::shape_type, typename B::shape_type, true>::ok)
            return expr::cross_entropy_node<R, A, B>{{}, a, b, typename A::value_type(label_smoothing)};
    } else {
        auto b = expr::operand_expression<Y, Y>(std::forward<Y>(labels));
        using B = decltype(b);
        static_assert(std::is_same_v<typename A::value_type, typename B::value_type>,
                      "spore: SoftmaxCrossEntropy: logits and targets must have the same element type");
        if constexpr (expr::check_cross_entropy<typename A::shape_type, typename B::shape_type, false>::ok)
            return expr::cross_entropy_node<R, A, B>{{}, a, b, typename A::value_type(label_smoothing)};
    }
}

}  // namespace spore
