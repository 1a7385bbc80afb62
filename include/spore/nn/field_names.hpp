#pragma once
// Walks of a cell that pass each field's path ("conv1.weight", "block.conv.bias"): the keys of
// checkpoints and exported graphs. No registration macro: the walk and the compile-time field
// names (nn::field_name) are those of nn/fields.hpp.

#include <string>
#include <type_traits>

#include <spore/core/tensor.hpp>
#include <spore/nn/buffer.hpp>
#include <spore/nn/cell.hpp>
#include <spore/nn/fields.hpp>

namespace spore::nn {

// Calls f(const std::string& path, field&) for every field at every depth, cells and tensors
// alike, in pre-order (a cell before its fields), fields in declaration order.
template <class C, class F>
void for_each_named_field(C& cell, F&& f) {
    static_assert(walkable_v<std::remove_const_t<C>>,
                  "spore::nn::for_each_named_field: the argument must be a cell (an aggregate struct of fields)");
    walk_fields(cell, [&](auto& field, auto path) {
        if constexpr (decltype(path)::depth > 0) {
            const std::string name = path.str();
            f(name, field);
        }
    });
}

// Calls f(const std::string& path, tensor&) for every parameter (every tensor field, at any
// depth), depth first in field order: the order of nn::for_each_parameter and nn::parameters.
template <class C, class F>
void for_each_named_parameter(C& cell, F&& f) {
    static_assert(is_tensor_v<std::remove_const_t<C>> || walkable_v<std::remove_const_t<C>>,
                  "spore::nn::for_each_named_parameter: the argument must be a cell or a tensor");
    walk_fields<fields::parameters>(cell, [&](auto& parameter, auto path) {
        const std::string name = path.str();
        f(name, parameter);
    });
}

// Calls f(const std::string& path, tensor&) for everything a checkpoint holds: every parameter
// and the tensor of every nn::buffer (BatchNorm2d's running statistics), in field order.
template <class C, class F>
void for_each_named_state(C& cell, F&& f) {
    static_assert(walkable_v<std::remove_const_t<C>>,
                  "spore::nn::for_each_named_state: the argument must be a cell (an aggregate struct of fields)");
    walk_fields<fields::state>(cell, [&](auto& field, auto path) {
        const std::string name = path.str();
        if constexpr (is_buffer_v<std::remove_cvref_t<decltype(field)>>) f(name, field.value());
        else f(name, field);
    });
}

}  // namespace spore::nn
