#pragma once
// Per-evaluation state of a node: the buffers of heavy nodes and where gradients go.
// An expression is a pure description; a state tree mirrors it and owns every buffer, so
// one expression (or one net) can be evaluated by several programs at once.

#include <algorithm>
#include <cstddef>
#include <tuple>

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

// Default for nodes with children: a state per child; heavy nodes specialise further.
template <class A>
struct unary_state {
    state_t<A> a;
};
template <class A, class B>
struct binary_state {
    state_t<A> a;
    state_t<B> b;
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
