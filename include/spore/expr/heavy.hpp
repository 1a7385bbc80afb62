#pragma once
// Shared by heavy nodes: reading an operand as dense memory. A tensor or another heavy node
// already is; any other subtree is evaluated once into a buffer the state owns.

#include <cstddef>

#include <spore/core/aligned_buffer.hpp>
#include <spore/expr/cursor.hpp>
#include <spore/expr/node.hpp>
#include <spore/expr/state.hpp>

namespace spore::expr {

template <class E>
inline constexpr bool is_dense_v = E::kind == node_kind::leaf || E::kind == node_kind::heavy;

// Storage for an operand that must be materialised; empty when the operand is dense.
template <class E>
struct operand_buffer {
    aligned_buffer<typename E::value_type> values;
    void allocate() {
        if constexpr (!is_dense_v<E>) values = aligned_buffer<typename E::value_type>(E::shape_type::size);
    }
};

template <class E, class S>
const typename E::value_type* operand_values(const E& node, S& state, operand_buffer<E>& buffer) {
    if constexpr (E::kind == node_kind::leaf) {
        return node.data;
    } else if constexpr (E::kind == node_kind::heavy) {
        return state.value;
    } else {
        evaluate_region(node, state, buffer.values.data());
        return buffer.values.data();
    }
}

}  // namespace spore::expr
