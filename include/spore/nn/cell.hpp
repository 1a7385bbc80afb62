#pragma once
// Cells: a model is a plain aggregate struct whose fields are layers (or other cells) and
// whose construct(x) builds the forward expression. The walk of nn/fields.hpp finds the
// parameters without registration: a parameter is any tensor field, at any depth.

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>

#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/nn/fields.hpp>
#include <spore/nn/init.hpp>

namespace spore::nn {

// Calls f(tensor&) for every parameter of `cell` (`cell` itself when it is a tensor), depth
// first, in field order.
template <class C, class F>
void for_each_parameter(C& cell, F&& f) {
    walk_fields<fields::parameters>(cell, [&](auto& parameter, auto) { f(parameter); });
}

// A tuple of references to every parameter, in the same order.
template <class C>
auto parameters(C& cell) {
    return tie_fields<fields::parameters>(cell);
}

template <class C>
std::size_t parameter_count(const C& cell) {
    std::size_t n = 0;
    for_each_parameter(cell, [&](const auto& t) { n += t.size(); });
    return n;
}

namespace detail {

// init_cell does not descend into a cell that initialises itself.
template <class Scheme>
struct resets_itself {
    template <class F>
    static constexpr bool test = requires(F& cell, random_engine& rng, const Scheme& scheme) {
        cell.reset_parameters(rng, scheme);
    } || requires(F& cell, random_engine& rng) { cell.reset_parameters(rng); };
};

}  // namespace detail

// Initialises every layer from one seed with `scheme` (nn/init.hpp): a layer's
// reset_parameters(rng, scheme) when it has one, else a cell's own reset_parameters(rng), else
// the cell's fields in order.
template <class C, class Scheme = init::pytorch_default>
void init_cell(C& cell, random_engine& rng, const Scheme& scheme = {}) {
    walk_fields<fields::all, detail::resets_itself<Scheme>>(cell, [&](auto& field, auto) {
        if constexpr (requires { field.reset_parameters(rng, scheme); }) field.reset_parameters(rng, scheme);
        else if constexpr (requires { field.reset_parameters(rng); }) field.reset_parameters(rng);
    });
}

}  // namespace spore::nn

namespace spore {

// spore::init(net, seed) gives PyTorch's default initialisation; spore::init(net, seed,
// nn::init::xavier_uniform{}) another scheme, for a whole net or any cell inside it.
template <class C, class Scheme = nn::init::pytorch_default>
void init(C& cell, std::uint64_t seed, const Scheme& scheme = {}) {
    random_engine rng(seed);
    nn::init_cell(cell, rng, scheme);
}

}  // namespace spore
