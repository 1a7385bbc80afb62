#pragma once
// Stand-in for nn::for_each_named_parameter (include/spore/nn/field_names.hpp, owned by the
// io-safetensors work) until that header is on main: the same call, so the ONNX exporter
// switches over by replacing `detail::for_each_named_parameter` with
// `nn::for_each_named_parameter`, and then this file goes away.
//
// Boost 1.81's PFR has no field names, so the name of field I of T is read from the signature
// of a function templated on the address of that field inside an object that is declared but
// never defined (GCC prints "[with auto Field = (& object.T::name)]").

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/pfr.hpp>

#include <spore/core/tensor.hpp>

namespace spore::io::detail {

template <class T>
struct declared_only {
    const T value;
};
template <class T>
extern const declared_only<T> declared_object;

template <auto Field>
consteval std::string_view signature_naming() {
    return __PRETTY_FUNCTION__;
}

template <class T, std::size_t I>
consteval std::string_view field_name() {
    constexpr std::string_view text = signature_naming<&boost::pfr::get<I>(declared_object<T>.value)>();
    constexpr std::size_t end = text.rfind(')');
    constexpr std::size_t start = text.rfind("::", end) + 2;
    static_assert(end != std::string_view::npos && start >= 2 && start < end,
                  "spore: cannot read a field name from this compiler's function signatures");
    return text.substr(start, end - start);
}

template <class C>
inline constexpr bool walkable_cell_v = std::is_aggregate_v<C> && std::is_class_v<C> && !is_tensor_v<C>;

template <class C, class F>
void for_each_named_parameter_at(const std::string& path, C& cell, F& f) {
    using plain = std::remove_const_t<C>;
    if constexpr (is_tensor_v<plain>) {
        f(path, cell);
    } else if constexpr (walkable_cell_v<plain>) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (for_each_named_parameter_at(path.empty() ? std::string(field_name<plain, I>())
                                                      : path + "." + std::string(field_name<plain, I>()),
                                         boost::pfr::get<I>(cell), f),
             ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<plain>>{});
    }
}

// Calls f(path, tensor) for every parameter, depth first in field order; paths are the field
// names joined with dots ("conv1.weight").
template <class C, class F>
void for_each_named_parameter(C& cell, F&& f) {
    for_each_named_parameter_at(std::string(), cell, f);
}

}  // namespace spore::io::detail
