#pragma once
// Losses, as cells with no parameters, with PyTorch's names, formulas and reductions:
//   nn::SoftmaxCrossEntropy<>{}(logits, labels)     torch.nn.CrossEntropyLoss (label_smoothing)
//   nn::NLLLoss<>{}(log_probabilities, labels)      torch.nn.NLLLoss
//   nn::BCEWithLogitsLoss<>{}(logits, targets)      torch.nn.BCEWithLogitsLoss
//   nn::MSE<>{}, nn::L1Loss<>{}, nn::HuberLoss<>{.delta}, nn::SmoothL1Loss<>{.beta}
//                                                   (prediction, target), elementwise losses
// The template argument is the reduction (nn::reduction::mean, the default, sum or none); `none`
// gives the loss of each element (or row) as a tensor expression. Hyper-parameters are run-time
// fields. Each returns an expression to differentiate (reduce a `none` loss first).

#include <type_traits>
#include <utility>

#include <spore/expr/cross_entropy.hpp>
#include <spore/expr/elementwise_ops.hpp>
#include <spore/expr/nll.hpp>
#include <spore/expr/reduce.hpp>

namespace spore::nn {

using reduction = expr::loss_reduction;

// Mean cross-entropy of logits [batch, classes], stable for any logits (log-sum-exp through
// each row's maximum), as one fused node. Labels are either integer class indices of shape
// <batch> (std::int32_t; -1 ignores a row and the mean is over the others, so a partial last
// batch trains with a static batch size) or target rows [batch, classes] such as one-hot.
// label_smoothing in [0, 1] mixes each target with the uniform distribution, as PyTorch's.
template <reduction R = reduction::mean>
struct SoftmaxCrossEntropy {
    double label_smoothing = 0.0;
    template <class Logits, class Labels>
    auto operator()(Logits&& logits, Labels&& labels) const {
        return spore::softmax_cross_entropy<R>(std::forward<Logits>(logits), std::forward<Labels>(labels), label_smoothing);
    }
};

// -x[n, label n] of log-probabilities [batch, classes] (e.g. log_softmax's), integer labels
// <batch> (-1 ignores a row; the mean is over the others).
template <reduction R = reduction::mean>
struct NLLLoss {
    template <class LogProbabilities, class Labels>
    auto operator()(LogProbabilities&& x, Labels&& labels) const {
        return spore::nll_loss<R>(std::forward<LogProbabilities>(x), std::forward<Labels>(labels));
    }
};

template <class Loss, class PredictionShape, class TargetShape>
struct check_loss_shapes {
    static_assert(same_shape_v<PredictionShape, TargetShape>,
                  "spore: this loss needs the prediction and the target of the same shape "
                  "(see check_loss_shapes<loss, prediction shape, target shape> above)");
    static constexpr bool ok = same_shape_v<PredictionShape, TargetShape>;
};

template <reduction R, class E>
auto reduce_loss(E&& terms) {
    if constexpr (R == reduction::mean) return spore::mean(std::forward<E>(terms));
    else if constexpr (R == reduction::sum) return spore::sum(std::forward<E>(terms));
    else return expr::as_expression(terms);
}

// The shared shape of an elementwise loss: terms(prediction - target), reduced.
template <class Loss, reduction R, class P, class T, class Terms>
auto elementwise_loss(P&& prediction, T&& target, Terms&& terms) {
    using PS = typename expr::expression_of<P>::shape_type;
    using TS = typename expr::expression_of<T>::shape_type;
    if constexpr (check_loss_shapes<Loss, PS, TS>::ok)
        return reduce_loss<R>(terms(std::forward<P>(prediction) - std::forward<T>(target)));
}

// (prediction - target)^2, as torch.nn.MSELoss.
template <reduction R = reduction::mean>
struct MSE {
    template <class P, class T>
    auto operator()(P&& prediction, T&& target) const {
        return elementwise_loss<MSE, R>(std::forward<P>(prediction), std::forward<T>(target),
                                        [](auto d) { return spore::square(d); });
    }
};

// |prediction - target|, as torch.nn.L1Loss.
template <reduction R = reduction::mean>
struct L1Loss {
    template <class P, class T>
    auto operator()(P&& prediction, T&& target) const {
        return elementwise_loss<L1Loss, R>(std::forward<P>(prediction), std::forward<T>(target),
                                           [](auto d) { return spore::abs(d); });
    }
};

// |d| < beta ? d^2 / (2 beta) : |d| - beta / 2 of d = prediction - target, as
// torch.nn.SmoothL1Loss (beta >= 0; 0 is the L1 loss).
template <reduction R = reduction::mean>
struct SmoothL1Loss {
    double beta = 1.0;
    template <class P, class T>
    auto operator()(P&& prediction, T&& target) const {
        return elementwise_loss<SmoothL1Loss, R>(std::forward<P>(prediction), std::forward<T>(target),
                                                 [&](auto d) { return spore::smooth_l1(d, beta); });
    }
};

// |d| < delta ? d^2 / 2 : delta (|d| - delta / 2), as torch.nn.HuberLoss (delta > 0).
template <reduction R = reduction::mean>
struct HuberLoss {
    double delta = 1.0;
    template <class P, class T>
    auto operator()(P&& prediction, T&& target) const {
        if (!(delta > 0)) throw error(spore::detail::concat({"spore::nn::HuberLoss: delta must be positive, found ", delta}));
        return elementwise_loss<HuberLoss, R>(std::forward<P>(prediction), std::forward<T>(target),
                                              [&](auto d) { return spore::smooth_l1(d, delta) * delta; });
    }
};

// Binary cross-entropy of logits x against targets t in [0, 1]: log(1 + e^x) - x t, computed
// stably (softplus), as torch.nn.BCEWithLogitsLoss.
template <reduction R = reduction::mean>
struct BCEWithLogitsLoss {
    template <class X, class T>
    auto operator()(X&& logits, T&& targets) const {
        using XS = typename expr::expression_of<X>::shape_type;
        using TS = typename expr::expression_of<T>::shape_type;
        if constexpr (check_loss_shapes<BCEWithLogitsLoss, XS, TS>::ok) {
            auto x = expr::operand_expression<X, X>(std::forward<X>(logits));
            return reduce_loss<R>(spore::softplus(x) - x * std::forward<T>(targets));
        }
    }
};

}  // namespace spore::nn
