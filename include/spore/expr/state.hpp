#pragma once
// Per-evaluation state of a node: the buffers of heavy nodes and where gradients go.
// An expression is a pure description; a state tree mirrors it and owns every buffer, so
// one expression (or one net) can be evaluated by several programs at once.
//
// Every heavy node gets the same state, heavy_state<Node>: its value and adjoint
// (heavy_state_base), one slot per operand, and the node's own `scratch` struct when it
// declares one (batch statistics, a dropout mask, ...). Nodes write no state boilerplate.

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include <spore/core/aligned_buffer.hpp>
#include <spore/expr/node.hpp>

namespace spore::expr {

// Where a gradient (or a heavy node's adjoint) accumulates during one backward pass.
// `written` lets the first writer store instead of add, which saves a pass over memory.
template <class T>
struct sink {
    T* data = nullptr;
    std::size_t size = 0;
    bool written = false;

    // Called once per loop that writes here; returns true when the loop may overwrite
    // (it covers every element exactly once and nobody wrote before).
    bool begin_write(bool covers_each_element_once) {
        if (written) return false;
        written = true;
        if (covers_each_element_once) return true;
        std::fill_n(data, size, T(0));
        return false;
    }
};

enum class write_mode : unsigned char { skip, assign, accumulate };

template <class T>
inline write_mode begin_write(sink<T>* target, bool covers_each_element_once) {
    if (!target) return write_mode::skip;
    return target->begin_write(covers_each_element_once) ? write_mode::assign : write_mode::accumulate;
}

// Every heavy node's state starts with this. `value` and `adjoint` point at the node's own
// buffers, or, when an identical node was met earlier in the graph, at that node's.
template <class T, class Shape>
struct heavy_state_base {
    aligned_buffer<T> own_value;
    aligned_buffer<T> own_adjoint_storage;
    sink<T> own_adjoint;
    const T* value = nullptr;
    sink<T>* adjoint = nullptr;
    bool alias = false;
    bool needs_grad = false;
    write_mode mode = write_mode::skip;  // how the loop being run writes into `adjoint`
    // Occurrences of the node whose parent reads its value; a node that every parent reads
    // in place (a matmul reads the tensor under a transpose) is not computed. Aliases count
    // on the first occurrence's counter.
    std::size_t own_value_readers = 0;
    std::size_t* value_readers = &own_value_readers;

    void allocate(bool with_adjoint) {
        own_value = aligned_buffer<T>(Shape::size);
        value = own_value.data();
        if (with_adjoint) {
            own_adjoint_storage = aligned_buffer<T>(Shape::size);
            own_adjoint = {own_adjoint_storage.data(), Shape::size, false};
            adjoint = &own_adjoint;
        }
    }
    T* mutable_value() { return own_value.data(); }
    bool value_is_read() const { return *value_readers != 0; }
};

template <class E>
struct state_of;
template <class E>
using state_t = typename state_of<E>::type;

template <class T, class S, class Tag>
struct leaf_state {
    sink<T>* grad = nullptr;
    write_mode mode = write_mode::skip;
};
template <class T, class S, class Tag>
struct state_of<tensor_ref<T, S, Tag>> {
    using type = leaf_state<T, S, Tag>;
};

struct constant_state {};
template <class T>
struct state_of<constant<T>> {
    using type = constant_state;
};

// Leaves and heavy nodes are dense memory already; a constant is a register; the rest is an
// elementwise subtree, which a heavy node that needs dense memory evaluates once into a slot.
template <class E>
inline constexpr bool is_dense_v = E::kind == node_kind::leaf || E::kind == node_kind::heavy;
template <class E>
inline constexpr bool needs_copy_v = E::kind == node_kind::elementwise;

// The state of an operand that a heavy node reads as dense memory: the operand's own state,
// plus its values materialised when it is an elementwise subtree, plus the scratch its
// gradient is formed in before it seeds that subtree. `values` is where the last forward
// pass read it (the backward pass reads the same memory).
template <class E>
struct operand_slot : state_t<E> {
    using value_type = typename E::value_type;
    aligned_buffer<value_type> copy;
    aligned_buffer<value_type> gradient;
    const value_type* values = nullptr;

    void allocate_slot(bool with_gradient) {
        if constexpr (needs_copy_v<E>) {
            copy = aligned_buffer<value_type>(E::shape_type::size);
            if (with_gradient) gradient = aligned_buffer<value_type>(E::shape_type::size);
        }
    }
};
template <class S>
inline constexpr bool is_operand_slot_v = requires(S& s) { s.allocate_slot(true); };

// A heavy node reads its operands through fused loops (reductions) when it declares
// `fuses_operands`; else as dense memory, through slots.
template <class Node>
inline constexpr bool fuses_operands_v = requires { requires Node::fuses_operands; };
template <class Node, class E>
using operand_state_t = std::conditional_t<fuses_operands_v<Node>, state_t<E>, operand_slot<E>>;

template <class Node, class = void>
struct operand_states;
template <class Node>
    requires unary_node<Node>
struct operand_states<Node> {
    operand_state_t<Node, decltype(Node::a)> a;
};
template <class Node>
    requires binary_node<Node>
struct operand_states<Node> {
    operand_state_t<Node, decltype(Node::a)> a;
    operand_state_t<Node, decltype(Node::b)> b;
};
template <class Node>
    requires ternary_node<Node>
struct operand_states<Node> {
    operand_state_t<Node, decltype(Node::a)> a;
    operand_state_t<Node, decltype(Node::b)> b;
    operand_state_t<Node, decltype(Node::c)> c;
};

struct no_scratch {};
template <class Node>
struct scratch_of {
    using type = no_scratch;
};
template <class Node>
    requires requires { typename Node::scratch; }
struct scratch_of<Node> {
    using type = typename Node::scratch;
};

// A node's scratch may have `prepare(planner, needs_grad)`, called once when the program is
// planned (after its operands): the place to read the mode and size its buffers.
template <class Node>
struct heavy_state : heavy_state_base<typename Node::value_type, typename Node::shape_type>,
                     operand_states<Node>,
                     scratch_of<Node>::type {};

// Default for nodes with children: a state per child; every heavy node gets heavy_state.
template <class A>
struct unary_state {
    state_t<A> a;
};
template <class A, class B>
struct binary_state {
    state_t<A> a;
    state_t<B> b;
};

template <class E>
    requires(E::kind == node_kind::heavy)
struct state_of<E> {
    using type = heavy_state<E>;
};
template <class E>
    requires(E::kind == node_kind::elementwise && unary_node<E>)
struct state_of<E> {
    using type = unary_state<decltype(E::a)>;
};
template <class E>
    requires(E::kind == node_kind::elementwise && binary_node<E>)
struct state_of<E> {
    using type = binary_state<decltype(E::a), decltype(E::b)>;
};

// Visits children of a node (members a, b, c) together with their states.
template <class E, class S, class F>
void for_each_child(E& node, S& state, F&& f) {
    if constexpr (ternary_node<std::remove_const_t<E>>) {
        f(node.a, state.a);
        f(node.b, state.b);
        f(node.c, state.c);
    } else if constexpr (binary_node<std::remove_const_t<E>>) {
        f(node.a, state.a);
        f(node.b, state.b);
    } else if constexpr (unary_node<std::remove_const_t<E>>) {
        f(node.a, state.a);
    }
}
// The same in reverse order, as a reverse pass wants.
template <class E, class S, class F>
void for_each_child_reversed(E& node, S& state, F&& f) {
    if constexpr (ternary_node<std::remove_const_t<E>>) {
        f(node.c, state.c);
        f(node.b, state.b);
        f(node.a, state.a);
    } else if constexpr (binary_node<std::remove_const_t<E>>) {
        f(node.b, state.b);
        f(node.a, state.a);
    } else if constexpr (unary_node<std::remove_const_t<E>>) {
        f(node.a, state.a);
    }
}

}  // namespace spore::expr
