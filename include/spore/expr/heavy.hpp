#pragma once
// Shared by heavy nodes: reading an operand as dense memory. A tensor or another heavy node
// already is; any other subtree is evaluated once into its slot's copy.

#include <spore/expr/cursor.hpp>
#include <spore/expr/node.hpp>
#include <spore/expr/state.hpp>

namespace spore::expr {

// The operand's values for this forward pass; the slot remembers them for the backward pass.
template <class E>
const typename E::value_type* read_operand(const E& node, operand_slot<E>& slot) {
    if constexpr (E::kind == node_kind::leaf) slot.values = node.data;
    else if constexpr (E::kind == node_kind::heavy) slot.values = slot.value;
    else if constexpr (E::kind == node_kind::constant) slot.values = &node.value;
    else {
        evaluate_region(node, slot, slot.copy.data());
        slot.values = slot.copy.data();
    }
    return slot.values;
}

}  // namespace spore::expr
