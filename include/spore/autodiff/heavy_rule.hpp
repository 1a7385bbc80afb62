#pragma once
// The vector-Jacobian rule of a heavy node is a specialisation of heavy_rule<Node>, in the
// node's own rule header (autodiff/rules/); the backward pass finds it by type, so adding an
// operation edits no list here. A rule has
//   static void vjp(const Node& node, State& state)
// which reads the node's adjoint (complete by the time it runs), its forward value and what
// its forward pass kept, and pushes adjoints into its operands: through push_gradient (dense
// gradients a kernel computes) or backprop_region (an elementwise loop over the operand).
// A rule may also have
//   static T forward_backward(const Node& node, State& state)
// for a root whose seed is known before its forward pass (sum, mean): value and backward in
// one loop (gradient.hpp).

#include <cstddef>

#include <spore/autodiff/region.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/expr/plan.hpp>

namespace spore::autodiff {

template <class Node>
struct heavy_rule {
    static_assert(sizeof(Node) == 0,
                  "spore: this heavy node has no gradient rule: include the header of its rule "
                  "(spore/autodiff/rules/...) or spore/spore.hpp (see heavy_rule<node type> above)");
};

template <class E, class S>
expr::sink<typename E::value_type>* sink_of(const E&, S& state) {
    if constexpr (E::kind == node_kind::leaf) return state.grad;
    else return state.adjoint;
}

// Delivers an operand's gradient that compute(out, accumulate) writes (or adds) in full:
// straight into the sink of a dense operand, else into the slot's gradient scratch, which
// then seeds the operand's region.
template <class E, class S, class Compute>
void push_gradient(const E& node, S& slot, Compute&& compute) {
    using T = typename E::value_type;
    if (!expr::needs_grad(node, slot)) return;
    if constexpr (expr::is_dense_v<E>) {
        auto* target = sink_of(node, slot);
        compute(target->data, !target->begin_write(true));
    } else {
        T* scratch = slot.gradient.data();
        compute(scratch, false);
        backprop_region(node, slot, [&](std::size_t base) { return buffer_seed<T>{scratch + base}; });
    }
}

// For dense gradients formed by a loop: out[i] = d(i) or out[i] += d(i), SIMD batches of d.
template <class T, class D>
void store_or_add(T* out, std::size_t size, bool accumulate, D&& d) {
    simd::for_each_batch<T>(size, [&]<class V>(std::size_t j) {
        V value = d.template operator()<V>(j);
        if (accumulate) value = value + simd::load<V>(out + j);
        simd::store(out + j, value);
    });
}

}  // namespace spore::autodiff
