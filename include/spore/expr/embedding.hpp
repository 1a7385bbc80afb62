#pragma once
// embedding(table, indices): the rows of table [V, D] picked by integer indices of any shape
// [I...], as [I..., D] (torch.nn.functional.embedding). An index outside [0, V) is an error
// naming it. With a padding index, that row's gradient stays zero, as PyTorch's padding_idx.
// Rule: autodiff/rules/embedding.hpp.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>

namespace spore::expr {

template <class TableShape>
struct check_embedding {
    static constexpr bool ok = TableShape::rank == 2;
    static_assert(ok, "spore: embedding takes a table [rows, dimension] (see check_embedding<table shape> above)");
};

template <class IndexShape, std::size_t Dimension>
struct embedding_shape;
template <std::size_t... I, std::size_t Dimension>
struct embedding_shape<shape<I...>, Dimension> {
    using type = shape<I..., Dimension>;
};

inline constexpr std::size_t no_padding_index = std::numeric_limits<std::size_t>::max();

template <class A, class Y>
struct embedding_node
    : node_base<typename A::value_type,
                typename embedding_shape<typename Y::shape_type, A::shape_type::extents[1]>::type, node_kind::heavy> {
    using T = typename A::value_type;
    static constexpr std::size_t rows = A::shape_type::extents[0];
    static constexpr std::size_t dimension = A::shape_type::extents[1];
    static constexpr std::size_t lookups = Y::shape_type::size;
    A a;  // the table
    Y b;  // the indices
    std::size_t padding_index = no_padding_index;
    bool operator==(const embedding_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const T* table = read_operand(a, state.a);
        const auto* indices = read_operand(b, state.b);
        T* out = state.mutable_value();
        for (std::size_t i = 0; i < lookups; ++i) {
            const std::int64_t index = indices[i];
            if (index < 0 || index >= std::int64_t(rows))
                throw error(spore::detail::concat({"spore::nn::Embedding: index ", index, " at position ", i,
                                                   " is outside [0, ", rows, ")"}));
            std::memcpy(out + i * dimension, table + std::size_t(index) * dimension, dimension * sizeof(T));
        }
    }

    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        const auto table = graph.emit(a);
        const auto indices = graph.emit(b);
        return {graph.node("Gather", {table.name, indices.name}, {graph.integer("axis", 0)}), indices.batch_axis};
    }
};

}  // namespace spore::expr

namespace spore {

// The rows of `table` [V, D] at `indices` (an integer tensor or placeholder of any shape).
template <expr::non_scalar_operand Table, class Indices>
auto embedding(Table&& table, Indices&& indices, std::size_t padding_index = expr::no_padding_index) {
    static_assert(!(is_tensor_v<std::remove_cvref_t<Indices>> && std::is_rvalue_reference_v<Indices&&>),
                  "spore: a temporary tensor in an expression would dangle; give it a name first");
    static_assert(std::is_integral_v<typename expr::expression_of<Indices>::value_type> &&
                      expr::expression_of<Indices>::kind == expr::node_kind::leaf,
                  "spore: Embedding: the indices must be an integer tensor or placeholder");
    auto a = expr::operand_expression<Table, Table>(std::forward<Table>(table));
    auto b = expr::as_expression(indices);
    using A = decltype(a);
    if constexpr (expr::check_embedding<typename A::shape_type>::ok) {
        if (padding_index != expr::no_padding_index && padding_index >= A::shape_type::extents[0])
            throw error(spore::detail::concat({"spore::nn::Embedding: padding_idx ", padding_index, " is outside [0, ",
                                               A::shape_type::extents[0], ")"}));
        return expr::embedding_node<A, decltype(b)>{{}, a, b, padding_index};
    }
}

}  // namespace spore
