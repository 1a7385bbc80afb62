#pragma once
// When is a gradient final? The backward pass is a fixed sequence of steps: step 0 is the
// root's region (gradient.hpp: the fused sum/mean loop, or the region of an elementwise root),
// then each heavy node that is not an alias is one step, in the order backward_pass visits
// them. A heavy node's step writes the gradients of the leaves in its operands' regions (the
// subtrees down to the next heavy nodes), so a leaf's gradient is final after the last step
// whose regions reach it. Communication can start on it then, while later steps still run
// (parallel/mpi.hpp overlaps the gradient allreduce with the backward pass this way).
//
// The walks below mirror gradient_program's evaluation and backward_pass exactly; they run
// once per program, only when someone asks (nothing here runs per step).

#include <cstddef>

#include <spore/expr/node.hpp>
#include <spore/expr/state.hpp>

namespace spore::autodiff {

// record(sink) for every gradient sink a region loop rooted at `node` writes.
template <class E, class S, class Record>
void record_region_sinks(const E& node, S& state, Record&& record) {
    if constexpr (E::kind == expr::node_kind::leaf) {
        if (state.grad) record(state.grad);
    } else if constexpr (E::kind == expr::node_kind::elementwise) {
        expr::for_each_child(node, state, [&](const auto& child, auto& child_state) {
            record_region_sinks(child, child_state, record);
        });
    }
    // A heavy node is a boundary: the region writes its adjoint, and it runs its own step.
}

// record(step, sink) for every gradient sink written by the heavy steps at and below `node`;
// `step` is the number of the last step taken so far.
template <class E, class S, class Record>
void record_backward_steps(const E& node, S& state, std::size_t& step, Record&& record) {
    if constexpr (E::kind == expr::node_kind::heavy) {
        if (state.alias) return;  // no step of its own; the leaves below it have no sinks
        const std::size_t mine = ++step;
        expr::for_each_child(node, state, [&](const auto& child, auto& child_state) {
            record_region_sinks(child, child_state, [&](auto* sink) { record(mine, sink); });
        });
    }
    expr::for_each_child_reversed(node, state, [&](const auto& child, auto& child_state) {
        record_backward_steps(child, child_state, step, record);
    });
}

}  // namespace spore::autodiff
