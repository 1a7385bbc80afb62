#pragma once
// nll_loss<R>(log_probabilities [N, C], labels <N>): the negative log-likelihood of the labels,
// -x[n, label n], as torch.nn.NLLLoss: the mean over the rows not ignored (label -1), their sum,
// or each row's term (reduction none: [N], 0 for an ignored row). Labels are an integer tensor
// or placeholder; a label outside [-1, C) is an error naming it. Rule: autodiff/rules/nll.hpp.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/expr/reduce.hpp>

namespace spore::expr {

template <class InputShape, class LabelShape>
struct check_nll {
    static constexpr bool matrix = InputShape::rank == 2;
    static_assert(matrix, "spore: NLLLoss takes log-probabilities [batch, classes] "
                          "(see check_nll<input shape, labels shape> above)");
    static constexpr bool ok = matrix && LabelShape::rank == 1 && LabelShape::extents[0] == InputShape::extents[0];
    static_assert(!matrix || ok, "spore: NLLLoss: the labels must have the shape <batch> of the input's rows "
                                 "(see check_nll<input shape, labels shape> above)");
};

template <loss_reduction R, class A, class Y>
struct nll_node : node_base<typename A::value_type, row_loss_shape<R, A::shape_type::extents[0]>, node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr std::size_t rows = A::shape_type::extents[0];
    static constexpr std::size_t classes = A::shape_type::extents[1];
    A a;
    Y b;
    bool operator==(const nll_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* x = read_operand(a, state.a);
        const auto* y = read_operand(b, state.b);
        T* out = state.mutable_value();
        T total = 0;
        std::size_t counted = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const std::int64_t label = y[r];
            if (label < -1 || label >= std::int64_t(classes))
                throw error(spore::detail::concat({"spore::nn::NLLLoss: label ", label, " in row ", r, " is outside [0, ", classes,
                                            "); -1 ignores a row"}));
            const T term = label == -1 ? T(0) : -x[r * classes + std::size_t(label)];
            if constexpr (R == loss_reduction::none) out[r] = term;
            total += term;
            counted += label != -1;
        }
        state.counted_rows = counted;
        store_row_loss<R>(out, total, counted);
    }

    struct scratch {
        std::size_t counted_rows = 0;
    };
};

}  // namespace spore::expr

namespace spore {

template <expr::loss_reduction R = expr::loss_reduction::mean, expr::non_scalar_operand L, class Y>
constexpr auto nll_loss(L&& log_probabilities, Y&& labels) {
    static_assert(!(is_tensor_v<std::remove_cvref_t<Y>> && std::is_rvalue_reference_v<Y&&>),
                  "spore: a temporary tensor in an expression would dangle; give it a name first");
    static_assert(std::is_integral_v<typename expr::expression_of<Y>::value_type> &&
                      expr::expression_of<Y>::kind == expr::node_kind::leaf,
                  "spore: NLLLoss: the labels must be an integer tensor or placeholder");
    auto a = expr::operand_expression<L, L>(std::forward<L>(log_probabilities));
    auto b = expr::as_expression(labels);
    using A = decltype(a);
    using B = decltype(b);
    if constexpr (expr::check_nll<typename A::shape_type, typename B::shape_type>::ok)
        return expr::nll_node<R, A, B>{{}, a, b};
}

}  // namespace spore
