#pragma once
// Rule of a materialised reshape: the adjoint, read in the operand's layout, seeds its region.
// (A reshape of a flat subtree is elementwise: the region's loop passes through it.)

#include <cstddef>

#include <spore/autodiff/heavy_rule.hpp>
#include <spore/expr/reshape.hpp>

namespace spore::autodiff {

template <class Shape, class A>
struct heavy_rule<expr::reshape_node<Shape, A>> {
    template <class S>
    static void vjp(const expr::reshape_node<Shape, A>& node, S& state) {
        using T = typename A::value_type;
        backprop_region(node.a, state.a, [&](std::size_t base) { return buffer_seed<T>{state.adjoint->data + base}; });
    }
};

}  // namespace spore::autodiff
