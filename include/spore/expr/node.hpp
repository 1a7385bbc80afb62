#pragma once
// What every expression node has in common, and the leaves.
//
// A node is a small value type: its children are members `a` (and `b`), its output shape is
// `shape_type`, and `kind` says how it is evaluated:
//   leaf        - a tensor (by address) or an input placeholder bound later
//   constant    - a scalar, broadcast everywhere
//   elementwise - computed on the fly inside a fused loop (never stored)
//   heavy       - materialised into a buffer once per evaluation (matmul, reductions, ...)

#include <cstddef>
#include <type_traits>

#include <spore/core/shape.hpp>
#include <spore/core/tensor.hpp>

namespace spore::expr {

enum class node_kind { leaf, constant, elementwise, heavy };

template <class E>
concept expression = requires {
    E::is_spore_expression;
    typename E::value_type;
    typename E::shape_type;
    E::kind;
};

template <class E>
inline constexpr bool is_heavy_v = E::kind == node_kind::heavy;
template <class E>
inline constexpr bool is_leaf_v = E::kind == node_kind::leaf;

template <class E>
concept unary_node = requires(const E& e) { e.a; } && !requires(const E& e) { e.b; };
template <class E>
concept binary_node = requires(const E& e) {
    e.a;
    e.b;
} && !requires(const E& e) { e.c; };
template <class E>
concept ternary_node = requires(const E& e) {
    e.a;
    e.b;
    e.c;
};

// Base of every node type: the marker the core's `tensor = expression` looks for.
template <class T, class Shape, node_kind Kind>
struct node_base {
    static constexpr bool is_spore_expression = true;
    static constexpr node_kind kind = Kind;
    using value_type = T;
    using shape_type = Shape;
    bool operator==(const node_base&) const = default;
};

// A tensor taken by address. Tag distinguishes input placeholders (bound by a program).
template <class T, class Shape, class Tag = void>
struct tensor_ref : node_base<T, Shape, node_kind::leaf> {
    static_assert(!Shape::has_dynamic_batch,
                  "spore: expressions need static extents; a tensor with a run-time batch extent cannot "
                  "take part in an expression yet (use tensor_view with a static batch)");
    using tag = Tag;
    const T* data = nullptr;
    bool operator==(const tensor_ref&) const = default;
};

template <class T>
struct constant : node_base<T, shape<>, node_kind::constant> {
    T value{};
    bool operator==(const constant&) const = default;
};

// An input fed at run time: `auto x = spore::placeholder<struct image, float, shape<1, 28, 28>>();`
template <class Tag, class T, class Shape>
constexpr tensor_ref<T, Shape, Tag> placeholder() {
    return {};
}

// Leaves from user values. Tensors are taken by address, so a temporary tensor is refused.
template <class T, class S>
constexpr tensor_ref<T, S> as_expression(const tensor<T, S>& t) {
    tensor_ref<T, S> ref;
    ref.data = t.data();
    return ref;
}
template <class T, class S>
constexpr tensor_ref<T, S> as_expression(const tensor_view<T, S>& t) {
    tensor_ref<T, S> ref;
    ref.data = t.data();
    return ref;
}
template <class T, class S>
constexpr tensor_ref<T, S> as_expression(const tensor_view<const T, S>& t) {
    tensor_ref<T, S> ref;
    ref.data = t.data();
    return ref;
}
template <class T, class S>
void as_expression(const tensor<T, S>&&) = delete;  // would dangle: name the tensor first
template <expression E>
constexpr const E& as_expression(const E& e) {
    return e;
}

}  // namespace spore::expr

namespace spore {
// A tensor as an expression leaf. Pass this, not the tensor, to a function that takes its
// argument by value (such as a cell's construct(auto x)): a tensor passed by value is a copy
// that dies with the call.
template <class T, class S>
constexpr expr::tensor_ref<T, S> input(const tensor<T, S>& t) {
    return expr::as_expression(t);
}
template <class T, class S>
void input(const tensor<T, S>&&) = delete;
}  // namespace spore

namespace spore::expr {

template <class X>
concept operand = expression<X> || is_tensor_v<std::remove_cvref_t<X>> ||
                  requires(const X& x) { as_expression(x); };

template <class X>
using expression_of = std::remove_cvref_t<decltype(as_expression(std::declval<const X&>()))>;

// A subtree is flat when a single running index addresses every leaf it reads: then a fused
// loop may treat it as one long row. Broadcasting (other than of a single value) breaks that.
template <class E>
struct is_flat : std::true_type {};
template <class E>
inline constexpr bool is_flat_v = is_flat<E>::value;

}  // namespace spore::expr
