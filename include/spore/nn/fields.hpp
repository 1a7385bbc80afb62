#pragma once
// The fields of a cell, and the one walk over them that every other walk is made of
// (nn::parameters, nn::for_each_parameter, nn::init_cell, nn::for_each_buffer, the named walks
// of nn/field_names.hpp, nn::summary, the checkpoint and ONNX writers).
//
// A cell is a plain aggregate struct; Boost.PFR finds its fields, without registration:
//
//   a field that is a tensor                -> a parameter: trained, and saved
//   a field that is an nn::buffer           -> state: saved, never trained (nn/buffer.hpp)
//   an aggregate class that is not a tensor -> a cell, walked in turn (walkable_v)
//   anything else (e.g. Dropout's p, seed)  -> neither
//
// A cell that holds its children in a way Boost.PFR cannot walk (nn::Sequential keeps its layers
// in a std::tuple), or whose children are not named like fields ("0", "1", ... in PyTorch's
// Sequential), lists them itself, and the walk asks it instead of Boost.PFR (lists_children):
//
//   static constexpr std::size_t child_count = N;                 // how many children
//   template <std::size_t I> auto& child();                         // child I, and its const twin
//   template <std::size_t I> const auto& child() const;
//   template <std::size_t I> static constexpr std::string_view child_name();   // e.g. index_name<I>()
//
// Such a cell need not be an aggregate. Its children are walked like fields: tensors are
// parameters, buffers are state, cells are walked in turn, at any depth.
//
// The walk is defined at compile time, as a list of index paths in pre-order (a cell before its
// fields, fields in declaration order), one list per type; nn::parameters(cell) is std::tie over
// that list, and a run of the walk follows the same recursion, so its code is made once per
// type and not once per field of the whole net. Names cost nothing unless asked for: a field's
// dotted path ("block.conv.weight") is joined from the compile-time field names only when a
// visitor calls path.str().
//
// Field names: Boost 1.84 and later name fields themselves (boost::pfr::get_name). Older Boost
// (Debian 12 has 1.81) does not, so the name is read from the signature of a function template
// whose template argument holds the address of that field in an object that is declared but
// never defined: GCC prints `[with auto Field = field_pointer<const X*>{((const X*)(&
// field_name_probe_object<Net>.field_name_probe<Net>::value.Net::conv1))}]`, Clang `[Field =
// field_pointer<...>{&field_name_probe_object.value.conv1}]`, and the member name is the
// identifier at the end. The address is wrapped in a struct because Clang before 18 takes no
// pointer to a subobject as a template argument. Only the names' characters reach the binary.

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

#if BOOST_VERSION >= 108400 && defined(BOOST_PFR_CORE_NAME_ENABLED) && BOOST_PFR_CORE_NAME_ENABLED
#define SPORE_FIELD_NAMES_FROM_PFR 1
#else
#define SPORE_FIELD_NAMES_FROM_PFR 0
#if !defined(__GNUC__) && !defined(__clang__)
#error "spore::nn::field_name needs GCC or Clang (__PRETTY_FUNCTION__), or Boost 1.84 or later"
#endif
#endif

namespace spore::nn {

// A cell that lists its children itself (the protocol above), rather than by its fields.
template <class C>
concept lists_children = std::is_class_v<C> && requires {
    typename std::integral_constant<std::size_t, C::child_count>;
};

// A cell: a field (or a whole net) that the walk descends into.
template <class C>
inline constexpr bool walkable_v =
    std::is_class_v<C> && !is_tensor_v<C> && (lists_children<C> || std::is_aggregate_v<C>);

// ---- field names -------------------------------------------------------------------------------

namespace detail {

#if !SPORE_FIELD_NAMES_FROM_PFR
template <class T>
struct field_name_probe {
    const T value;
};

// Declared, never defined: only the addresses of its fields are used, as template arguments.
// (Clang warns of that, for a type with internal linkage too.)
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wundefined-var-template"
#pragma clang diagnostic ignored "-Wundefined-internal"
#endif
template <class T>
extern const field_name_probe<T> field_name_probe_object;

// The address of field I, in a struct: Clang before 18 takes no pointer to a subobject as a
// template argument.
template <class P>
struct field_pointer {
    P pointer;
};
template <class T, std::size_t I>
consteval auto field_address() {
    const auto* address = &std::get<I>(boost::pfr::structure_tie(field_name_probe_object<T>.value));
    return field_pointer<decltype(address)>{address};
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

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
    while (end > 0 && (signature[end - 1] == ']' || signature[end - 1] == '}' || signature[end - 1] == ')' ||
                       signature[end - 1] == ' '))
        --end;
    std::size_t begin = end;
    while (begin > 0 && is_identifier_char(signature[begin - 1])) --begin;
    return signature.substr(begin, end - begin);
}


template <class T, std::size_t I>
struct field_name_storage {
    static constexpr std::string_view found = trailing_identifier(signature_naming<field_address<T, I>()>());
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

namespace detail {
template <std::size_t I>
struct index_name_storage {
    static constexpr std::size_t digits = [] {
        std::size_t n = 1;
        for (std::size_t v = I; v >= 10; v /= 10) ++n;
        return n;
    }();
    static constexpr std::array<char, digits + 1> chars = [] {
        std::array<char, digits + 1> out{};
        std::size_t v = I;
        for (std::size_t k = digits; k-- > 0; v /= 10) out[k] = static_cast<char>('0' + v % 10);
        return out;
    }();
};
}  // namespace detail

// "0", "1", ..., "12", ...: the names of a Sequential's children, as PyTorch's.
template <std::size_t I>
constexpr std::string_view index_name() noexcept {
    return std::string_view(detail::index_name_storage<I>::chars.data(), detail::index_name_storage<I>::digits);
}

// The name of field I of aggregate T, e.g. field_name<LeNet5, 0>() == "conv1"; for a cell that
// lists its children, the name of child I (field_name<nn::Sequential<...>, 2>() == "2").
template <class T, std::size_t I>
constexpr std::string_view field_name() {
    using type = std::remove_cv_t<T>;
    if constexpr (lists_children<type>) {
        static_assert(I < type::child_count, "spore::nn::field_name: the child index is out of range");
        return type::template child_name<I>();
    } else {
        static_assert(detail::check_field_index<type, I>::value);
#if SPORE_FIELD_NAMES_FROM_PFR
        return boost::pfr::get_name<I, type>();
#else
        constexpr auto& chars = detail::field_name_storage<type, I>::chars;
        return std::string_view(chars.data(), chars.size() - 1);
#endif
    }
}

// ---- which fields ------------------------------------------------------------------------------

// Predicates on (unqualified) field types, for the walk's Select and Stop arguments: a class with
// `template <class F> static constexpr bool test`.
namespace fields {
struct all {
    template <class F>
    static constexpr bool test = true;
};
struct none {
    template <class F>
    static constexpr bool test = false;
};
struct parameters {
    template <class F>
    static constexpr bool test = is_tensor_v<F>;
};
struct cells {
    template <class F>
    static constexpr bool test = walkable_v<F>;
};
}  // namespace fields

// ---- paths -------------------------------------------------------------------------------------

// Where a visited field is: its depth below the cell the walk started from (a compile-time
// constant), its name, and on request its dotted path. A path lives on the walk's stack, as the
// field's name (a compile-time constant) and a pointer to the path of the cell holding it, so it
// is valid during the visitor's call; nothing is joined unless str() is called.
template <std::size_t Depth>
class field_path {
public:
    static constexpr std::size_t depth = Depth;

    constexpr field_path(const field_path<Depth - 1>& parent, std::string_view name) noexcept
        : parent_(&parent), name_(name) {}

    // e.g. "weight"
    constexpr std::string_view name() const noexcept { return name_; }
    // e.g. "block.conv.weight"
    std::string str() const {
        std::string path;
        append_to(path);
        return path;
    }
    void append_to(std::string& path) const {
        if constexpr (Depth > 1) {
            parent_->append_to(path);
            path += '.';
        }
        path += name_;
    }

private:
    const field_path<Depth - 1>* parent_;
    std::string_view name_;
};

// The cell the walk started from: "".
template <>
class field_path<0> {
public:
    static constexpr std::size_t depth = 0;
    constexpr std::string_view name() const noexcept { return {}; }
    std::string str() const { return {}; }
    void append_to(std::string&) const noexcept {}
};

// ---- the walk ----------------------------------------------------------------------------------

namespace fields_detail {

// A cell's fields (or the children it lists): how many, field I, and its type.
template <class C>
constexpr std::size_t field_count() noexcept {
    if constexpr (lists_children<C>) return C::child_count;
    else return boost::pfr::tuple_size_v<C>;
}

template <std::size_t I, class C>
constexpr auto& get_field(C& cell) noexcept {
    if constexpr (lists_children<std::remove_cv_t<C>>) return cell.template child<I>();
    else return boost::pfr::get<I>(cell);
}

template <class C, std::size_t I, bool = lists_children<C>>
struct field_type_of {
    using type = std::remove_cv_t<boost::pfr::tuple_element_t<I, C>>;
};
template <class C, std::size_t I>
struct field_type_of<C, I, true> {
    using type = std::remove_cvref_t<decltype(std::declval<C&>().template child<I>())>;
};
template <class C, std::size_t I>
using field_type = typename field_type_of<C, I>::type;

// The walk of nn::walk_fields<Select, Stop> from a field of type C visits it when Select accepts
// it, and then, when C is a cell that Stop does not accept, walks each of its fields in order.
template <class C, class Select>
inline constexpr bool visits_v = Select::template test<C>;
template <class C, class Stop>
inline constexpr bool descends_v = walkable_v<C> && !Stop::template test<C>;

// That walk at compile time: the index paths of the fields it visits, in order (C itself is the
// empty path). One list per (type, Select, Stop), shared by every net that holds the type; each
// concatenation is over one cell's fields (Clang allows a fold expression 256 operands).
template <class... P>
struct path_list {
    static constexpr std::size_t size = sizeof...(P);
};

template <class... A, class... B>
constexpr path_list<A..., B...> operator+(path_list<A...>, path_list<B...>) noexcept {
    return {};
}

template <std::size_t I, std::size_t... J>
constexpr std::index_sequence<I, J...> prepend(std::index_sequence<J...>) noexcept {
    return {};
}
template <std::size_t I, class... P>
constexpr path_list<decltype(prepend<I>(P{}))...> prepend_all(path_list<P...>) noexcept {
    return {};
}

template <class C, class Select, class Stop>
constexpr auto make_paths() noexcept;
template <class C, class Select, class Stop>
using paths_t = decltype(make_paths<C, Select, Stop>());

template <class C, class Select, class Stop, std::size_t... I>
constexpr auto paths_below(std::index_sequence<I...>) noexcept {
    return (path_list<>{} + ... + prepend_all<I>(paths_t<field_type<C, I>, Select, Stop>{}));
}

template <class C, class Select, class Stop>
constexpr auto make_paths() noexcept {
    using self = std::conditional_t<visits_v<C, Select>, path_list<std::index_sequence<>>, path_list<>>;
    if constexpr (descends_v<C, Stop>)
        return self{} + paths_below<C, Select, Stop>(std::make_index_sequence<field_count<C>()>{});
    else
        return self{};
}

// The field at an index path, const when the cell is.
template <class C>
constexpr C& field_at(C& cell, std::index_sequence<>) noexcept {
    return cell;
}
template <class C, std::size_t I, std::size_t... J>
constexpr auto& field_at(C& cell, std::index_sequence<I, J...>) noexcept {
    return field_at(get_field<I>(cell), std::index_sequence<J...>{});
}

// The same walk at run time, made once per (type, depth) rather than once per path: it skips a
// field whose list is empty, so it visits exactly the list's fields, in the list's order.
template <class Select, class Stop, std::size_t I, class C, class V, class Path>
constexpr void walk_field(C& cell, V& visitor, const Path& path);

template <class Select, class Stop, class C, class V, class Path>
constexpr void walk(C& cell, V& visitor, const Path& path) {
    using type = std::remove_cv_t<C>;
    if constexpr (visits_v<type, Select>) visitor(cell, path);
    if constexpr (descends_v<type, Stop>)
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (walk_field<Select, Stop, I>(cell, visitor, path), ...);
        }(std::make_index_sequence<field_count<type>()>{});
}

template <class Select, class Stop, std::size_t I, class C, class V, class Path>
constexpr void walk_field(C& cell, V& visitor, const Path& path) {
    using type = std::remove_cv_t<C>;
    if constexpr (paths_t<field_type<type, I>, Select, Stop>::size > 0) {
        constexpr std::string_view name = field_name<type, I>();
        walk<Select, Stop>(get_field<I>(cell), visitor, field_path<Path::depth + 1>(path, name));
    }
}

}  // namespace fields_detail

// Calls visitor(field&, path) for `cell` itself (depth 0, path "") and then for every field at
// every depth, in pre-order: a cell before its fields, fields in declaration order; `path` is a
// field_path<depth>. Select (a predicate of nn::fields) keeps only some fields, e.g.
// fields::parameters; a cell that Stop accepts is not descended into (and still visited, if
// Select accepts it). The fields are const when the cell is.
template <class Select = fields::all, class Stop = fields::none, class C, class V>
constexpr void walk_fields(C& cell, V&& visitor) {
    fields_detail::walk<Select, Stop>(cell, visitor, field_path<0>{});
}

// std::tie of the fields walk_fields<Select, Stop> visits, in the same order: a tuple of exact
// reference types (const when the cell is), from the walk's list at compile time.
template <class Select = fields::all, class Stop = fields::none, class C>
constexpr auto tie_fields(C& cell) noexcept {
    return [&]<class... P>(fields_detail::path_list<P...>) {
        return std::tie(fields_detail::field_at(cell, P{})...);
    }(fields_detail::paths_t<std::remove_cv_t<C>, Select, Stop>{});
}

}  // namespace spore::nn
