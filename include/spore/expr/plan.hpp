#pragma once
// Planning, done once when a program is built: heavy nodes that are equal (same type, same
// operands) share one buffer, so a subexpression used twice is computed once; gradient sinks
// are attached to the leaves being differentiated; buffers are allocated. Nothing here runs
// per evaluation, and nothing here knows any particular operation.

#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <spore/expr/node.hpp>
#include <spore/expr/state.hpp>
#include <spore/kernels/instruction_set.hpp>

namespace spore::expr {

template <class E>
inline constexpr char type_key = 0;  // its address identifies the type E

template <class T>
struct planner {
    struct heavy_entry {
        const void* type;
        const void* node;
        void* state;
    };
    std::vector<heavy_entry> heavy;
    std::vector<std::pair<const T*, sink<T>*>> gradient_targets;  // by the tensor's address
    std::vector<sink<T>*> sinks;                                  // reset before each backward pass
    bool with_gradients = false;
    // Training mode (a gradient program) or evaluation mode (spore::compile, spore::eval):
    // read by the nodes whose forward pass depends on it (dropout, batch normalisation).
    bool training = false;
    std::uint64_t random_streams = 0;  // handed out to random nodes, one stream each

    // Every program starts here, so the first one a process builds says whether it was
    // compiled without an instruction-set flag on a CPU that has better (kernels/instruction_set.hpp).
    planner() { kernels::notice_instruction_set_once(); }
};

// A heavy node that reads an operand of type Child in place, without its value (a matmul
// reading the tensor under a transpose), says so with `reads_in_place<Child>`.
template <class Node, class Child>
inline constexpr bool reads_in_place_v = requires { requires Node::template reads_in_place<Child>; };

template <class E, class S>
bool needs_grad(const E& node, const S& state) {
    if constexpr (E::kind == node_kind::leaf) return state.grad != nullptr;
    else if constexpr (E::kind == node_kind::constant) return false;
    else if constexpr (E::kind == node_kind::heavy) return state.needs_grad;
    else {
        bool any = false;
        for_each_child(node, state, [&](const auto& child, const auto& child_state) { any = any || needs_grad(child, child_state); });
        return any;
    }
}

// `value_read`: whether the parent reads this node's value (else it reads in place).
template <class E, class S, class T>
void plan(const E& node, S& state, planner<T>& p, bool value_read = true) {
    if constexpr (E::kind == node_kind::leaf) {
        if constexpr (std::is_same_v<typename E::value_type, T>)  // integer labels get no gradient
            for (auto [address, target] : p.gradient_targets)
                if (address == node.data) state.grad = target;
    } else if constexpr (E::kind == node_kind::heavy) {
        for (const auto& entry : p.heavy) {
            if (entry.type == &type_key<E> && *static_cast<const E*>(entry.node) == node) {
                S& canonical = *static_cast<S*>(entry.state);
                state.alias = true;
                state.value = canonical.value;
                state.adjoint = canonical.adjoint;
                state.needs_grad = canonical.needs_grad;
                state.value_readers = canonical.value_readers;
                *state.value_readers += value_read;
                return;
            }
        }
        state.value_readers = &state.own_value_readers;
        state.own_value_readers = value_read;
        for_each_child(node, state, [&](const auto& child, auto& child_state) {
            plan(child, child_state, p, !reads_in_place_v<E, std::remove_cvref_t<decltype(child)>>);
        });
        bool grad = false;
        for_each_child(node, state, [&](const auto& child, const auto& child_state) { grad = grad || needs_grad(child, child_state); });
        state.needs_grad = p.with_gradients && grad;
        state.allocate(state.needs_grad);
        for_each_child(node, state, [&](const auto& child, auto& child_state) {
            if constexpr (is_operand_slot_v<std::remove_cvref_t<decltype(child_state)>>)
                child_state.allocate_slot(p.with_gradients && needs_grad(child, child_state));
        });
        if constexpr (requires { state.prepare(p, true); }) state.prepare(p, state.needs_grad);
        if (state.adjoint) p.sinks.push_back(state.adjoint);
        p.heavy.push_back({&type_key<E>, &node, &state});
    } else {
        for_each_child(node, state, [&](const auto& child, auto& child_state) { plan(child, child_state, p); });
    }
}

// Computes every heavy node below and including `node`, children first. Aliases were
// computed where they first appeared; a node that every parent reads in place is skipped.
template <class E, class S>
void run_forward(const E& node, S& state) {
    if constexpr (E::kind == node_kind::heavy) {
        if (state.alias) return;
        for_each_child(node, state, [](const auto& child, auto& child_state) { run_forward(child, child_state); });
        if (state.value_is_read()) node.forward(state);
    } else {
        for_each_child(node, state, [](const auto& child, auto& child_state) { run_forward(child, child_state); });
    }
}

template <class PlaceholderShape, class TensorShape>
struct check_feed {
    static_assert(same_shape_v<PlaceholderShape, TensorShape>,
                  "spore: feed: the tensor's shape differs from the placeholder's "
                  "(see check_feed<placeholder shape, tensor shape> above)");
};

// Points every placeholder leaf tagged Tag at `data`, a tensor of shape S.
template <class Tag, class S, class E, class T>
void bind_placeholder(E& node, const T* data) {
    if constexpr (E::kind == node_kind::leaf) {
        if constexpr (std::is_same_v<typename E::tag, Tag>) {
            static_assert(std::is_same_v<T, typename E::value_type>, "spore: feed: element types differ");
            (void)check_feed<typename E::shape_type, S>{};
            node.data = data;
        }
    } else {
        for_each_child(node, node, [&](auto& child, auto&) { bind_placeholder<Tag, S>(child, data); });
    }
}

}  // namespace spore::expr
