#pragma once
// Losses, as cells with no parameters: nn::SoftmaxCrossEntropy{}(logits, labels) and
// nn::MSE{}(prediction, target). Each returns a scalar expression to differentiate.

#include <type_traits>
#include <utility>

#include <spore/expr/cross_entropy.hpp>
#include <spore/expr/elementwise_ops.hpp>
#include <spore/expr/reduce.hpp>

namespace spore::nn {

// Mean cross-entropy of logits [batch, classes], stable for any logits (log-sum-exp through
// each row's maximum), as one fused node. Labels are either integer class indices of shape
// <batch> (std::int32_t; -1 ignores a row and the mean is over the others, so a partial last
// batch trains with a static batch size) or target rows [batch, classes] such as one-hot.
struct SoftmaxCrossEntropy {
    template <class Logits, class Labels>
    auto operator()(Logits&& logits, Labels&& labels) const {
        return spore::softmax_cross_entropy(std::forward<Logits>(logits), std::forward<Labels>(labels));
    }
};

template <class PredictionShape, class TargetShape>
struct check_mse {
    static_assert(same_shape_v<PredictionShape, TargetShape>,
                  "spore: MSE: the prediction and the target must have the same shape "
                  "(see check_mse<prediction shape, target shape> above)");
    static constexpr bool ok = same_shape_v<PredictionShape, TargetShape>;
};

// Mean squared error over every element, as torch.nn.MSELoss (reduction "mean").
struct MSE {
    template <class Prediction, class Target>
    auto operator()(Prediction&& prediction, Target&& target) const {
        using P = typename expr::expression_of<Prediction>::shape_type;
        using T = typename expr::expression_of<Target>::shape_type;
        if constexpr (check_mse<P, T>::ok)
            return spore::mean(spore::square(std::forward<Prediction>(prediction) - std::forward<Target>(target)));
    }
};

}  // namespace spore::nn
