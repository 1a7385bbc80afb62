#pragma once
// Cells: a model is a plain aggregate struct whose fields are layers (or other cells) and
// whose construct(x) builds the forward expression. Boost.PFR walks the fields, so parameters
// are found without registration: a parameter is any tensor field, at any depth.

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>

#include <boost/pfr.hpp>

#include <spore/core/random.hpp>
#include <spore/core/tensor.hpp>
#include <spore/nn/init.hpp>

namespace spore::nn {

template <class C>
inline constexpr bool walkable_v = std::is_aggregate_v<C> && std::is_class_v<C> && !is_tensor_v<C>;

// Calls f(tensor&) for every parameter of `cell`, depth first, in field order.
template <class C, class F>
void for_each_parameter(C& cell, F&& f) {
    if constexpr (is_tensor_v<std::remove_const_t<C>>) {
        f(cell);
    } else if constexpr (walkable_v<std::remove_const_t<C>>) {
        boost::pfr::for_each_field(cell, [&](auto& field) { for_each_parameter(field, f); });
    }
}

// A tuple of references to every parameter, in the same order.
template <class C>
auto parameters(C& cell) {
    if constexpr (is_tensor_v<std::remove_const_t<C>>) {
        return std::tie(cell);
    } else if constexpr (walkable_v<std::remove_const_t<C>>) {
        return std::apply([](auto&... fields) { return std::tuple_cat(parameters(fields)...); },
                          boost::pfr::structure_tie(cell));
    } else {
        return std::tuple<>();
    }
}

template <class C>
std::size_t parameter_count(const C& cell) {
    std::size_t n = 0;
    for_each_parameter(cell, [&](const auto& t) { n += t.size(); });
    return n;
}

// Initialises every layer from one seed with `scheme` (nn/init.hpp): a layer's
// reset_parameters(rng, scheme) when it has one, else a cell's own reset_parameters(rng), else
// the cell's fields in order.
template <class C, class Scheme = init::pytorch_default>
void init_cell(C& cell, random_engine& rng, const Scheme& scheme = {}) {
    if constexpr (requires { cell.reset_parameters(rng, scheme); }) {
        cell.reset_parameters(rng, scheme);
    } else if constexpr (requires { cell.reset_parameters(rng); }) {
        cell.reset_parameters(rng);
    } else if constexpr (walkable_v<C>) {
        boost::pfr::for_each_field(cell, [&](auto& field) { init_cell(field, rng, scheme); });
    }
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
