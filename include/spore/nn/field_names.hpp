#pragma once
// Field names of aggregates at compile time, and walks of a cell that pass each field's path
// ("conv1.weight", "block.conv.bias"): the keys of checkpoints and exported graphs. No
// registration macro: Boost.PFR finds the fields, and the names come from the compiler.
//
// Boost 1.84 and later name fields themselves (boost::pfr::get_name). Older Boost (Debian 12
// has 1.81) does not, so the name is read from the signature of a function template whose
// template argument is the address of that field in an object that is declared but never
// defined: GCC prints `[with auto Field = (& object<T>.probe<T>::value.T::conv1)]`, Clang
// `[Field = &object<T>.value.conv1]`, and the member name is the identifier at the end.
// Only the name's characters reach the binary.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/pfr.hpp>
#include <boost/version.hpp>

#include <spore/core/tensor.hpp>
#include <spore/nn/buffer.hpp>
#include <spore/nn/cell.hpp>

#if BOOST_VERSION >= 108400 && defined(BOOST_PFR_CORE_NAME_ENABLED) && BOOST_PFR_CORE_NAME_ENABLED
#define SPORE_FIELD_NAMES_FROM_PFR 1
#else
#define SPORE_FIELD_NAMES_FROM_PFR 0
#if !defined(__GNUC__) && !defined(__clang__)
#error "spore::nn::field_name needs GCC or Clang (__PRETTY_FUNCTION__), or Boost 1.84 or later"
#endif
#endif

namespace spore::nn {

namespace detail {

#if !SPORE_FIELD_NAMES_FROM_PFR
template <class T>
struct field_name_probe {
    const T value;
};

// Declared, never defined: only the addresses of its fields are used, as template arguments.
template <class T>
extern const field_name_probe<T> field_name_probe_object;

template <auto Field>
consteval auto signature_naming() {
    return std::string_view(__PRETTY_FUNCTION__);
}

consteval bool is_identifier_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;  // UTF-8 identifiers
}

consteval std::string_view trailing_identifier(std::string_view signature) {
    std::size_t end = signature.size();
    while (end > 0 && (signature[end - 1] == ']' || signature[end - 1] == ')' || signature[end - 1] == ' ')) --end;
    std::size_t begin = end;
    while (begin > 0 && is_identifier_char(signature[begin - 1])) --begin;
    return signature.substr(begin, end - begin);
}

template <class T, std::size_t I>
struct field_name_storage {
    static constexpr std::string_view found = trailing_identifier(
        signature_naming<&std::get<I>(boost::pfr::structure_tie(field_name_probe_object<T>.value))>());
    static_assert(!found.empty() && !(found[0] >= '0' && found[0] <= '9'),
                  "spore::nn::field_name: could not read the field name from the compiler's signature");
    static constexpr auto chars = [] {
        std::array<char, found.size() + 1> out{};
        for (std::size_t i = 0; i < found.size(); ++i) out[i] = found[i];
        return out;
    }();
};
#endif

template <class C, std::size_t I>
struct check_field_index {
    static_assert(std::is_aggregate_v<C> && std::is_class_v<C>,
                  "spore::nn::field_name: the type must be an aggregate struct (a cell)");
    static_assert(I < boost::pfr::tuple_size_v<C>, "spore::nn::field_name: the field index is out of range");
    static constexpr bool value = true;
};

}  // namespace detail

// The name of field I of aggregate T, e.g. field_name<LeNet5, 0>() == "conv1".
template <class T, std::size_t I>
constexpr std::string_view field_name() {
    using type = std::remove_cv_t<T>;
    static_assert(detail::check_field_index<type, I>::value);
#if SPORE_FIELD_NAMES_FROM_PFR
    return boost::pfr::get_name<I, type>();
#else
    constexpr auto& chars = detail::field_name_storage<type, I>::chars;
    return std::string_view(chars.data(), chars.size() - 1);
#endif
}

namespace detail {

inline std::string join_path(const std::string& prefix, std::string_view name) {
    std::string path;
    path.reserve(prefix.size() + 1 + name.size());
    path += prefix;
    if (!prefix.empty()) path += '.';
    path += name;
    return path;
}

enum class visiting;
template <visiting What, class C, class F>
void walk_named(C& cell, const std::string& prefix, F& f);

enum class visiting { fields, parameters, state };

template <visiting What, std::size_t I, class C, class F>
void visit_named(C& cell, const std::string& prefix, F& f) {
    auto& field = boost::pfr::get<I>(cell);
    using field_type = std::remove_cvref_t<decltype(field)>;
    const std::string path = join_path(prefix, field_name<std::remove_const_t<C>, I>());
    if constexpr (What == visiting::fields || is_tensor_v<field_type>) f(path, field);
    else if constexpr (What == visiting::state && is_buffer_v<field_type>) f(path, field.value());
    if constexpr (walkable_v<field_type>) walk_named<What>(field, path, f);
}

template <visiting What, class C, class F>
void walk_named(C& cell, const std::string& prefix, F& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (visit_named<What, I>(cell, prefix, f), ...);
    }(std::make_index_sequence<boost::pfr::tuple_size_v<std::remove_const_t<C>>>{});
}

}  // namespace detail

// Calls f(const std::string& path, field&) for every field at every depth, cells and tensors
// alike, in pre-order (a cell before its fields), fields in declaration order.
template <class C, class F>
void for_each_named_field(C& cell, F&& f) {
    static_assert(walkable_v<std::remove_const_t<C>>,
                  "spore::nn::for_each_named_field: the argument must be a cell (an aggregate struct of fields)");
    detail::walk_named<detail::visiting::fields>(cell, std::string(), f);
}

// Calls f(const std::string& path, tensor&) for every parameter (every tensor field, at any
// depth), depth first in field order: the order of nn::for_each_parameter and nn::parameters.
template <class C, class F>
void for_each_named_parameter(C& cell, F&& f) {
    if constexpr (is_tensor_v<std::remove_const_t<C>>) {
        f(std::string(), cell);
    } else {
        static_assert(walkable_v<std::remove_const_t<C>>,
                      "spore::nn::for_each_named_parameter: the argument must be a cell or a tensor");
        detail::walk_named<detail::visiting::parameters>(cell, std::string(), f);
    }
}

// Calls f(const std::string& path, tensor&) for everything a checkpoint holds: every parameter
// and the tensor of every nn::buffer (BatchNorm2d's running statistics), in field order.
template <class C, class F>
void for_each_named_state(C& cell, F&& f) {
    static_assert(walkable_v<std::remove_const_t<C>>,
                  "spore::nn::for_each_named_state: the argument must be a cell (an aggregate struct of fields)");
    detail::walk_named<detail::visiting::state>(cell, std::string(), f);
}

}  // namespace spore::nn
