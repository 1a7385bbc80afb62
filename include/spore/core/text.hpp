#pragma once
// The one builder of spore's messages, and of any other text it makes from pieces:
//   concat({"key ", name, ": shape [", joined(extents), "], found ", 2.5})
//   append(out, {", ", n});  // the same, added to the end of `out`
// A piece is a string (std::string, std::string_view, const char*), a char, an integer (bool is
// refused; signed and unsigned char are numbers, as with std::to_string), a floating-point
// number (written as printf's %g), or joined(values[, separator]): the elements of a range or of
// (pointer, count), each a piece, separated by ", " unless told otherwise.
//
// The braces make the pieces an array of small views, handed to one function compiled once and
// never inlined: a message instantiates no template and costs a call's worth of code and of
// build time where it is written. Not `"text" + std::to_string(n)`: once inlined into a user's
// code, GCC 12 reports a false -Wrestrict for that pattern.

#include <concepts>
#include <cstddef>
#include <cstdio>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>

namespace spore::detail {

// joined(...): `size` elements from `data`, each written by `write`.
struct joined_piece {
    const void* data;
    std::size_t size;
    std::string_view separator;
    void (*write)(std::string& out, const void* data, std::size_t index);
};

// One piece, as a view: nothing is copied or formatted until append() writes it.
struct text_piece {
    enum class kind : unsigned char { text, character, signed_integer, unsigned_integer, floating, joined };

    text_piece(std::string_view s) noexcept : type(kind::text), text(s) {}
    text_piece(const char* s) noexcept : type(kind::text), text(s ? std::string_view(s) : std::string_view()) {}
    text_piece(const std::string& s) noexcept : type(kind::text), text(s) {}
    text_piece(char c) noexcept : type(kind::character), character(c) {}
    text_piece(bool) = delete;
    template <std::signed_integral N>
    text_piece(N n) noexcept : type(kind::signed_integer), signed_value(n) {}
    template <std::unsigned_integral N>
    text_piece(N n) noexcept : type(kind::unsigned_integer), unsigned_value(n) {}
    template <std::floating_point F>
    text_piece(F x) noexcept : type(kind::floating), real(static_cast<double>(x)) {}
    text_piece(const joined_piece& j) noexcept : type(kind::joined), list(j) {}

    kind type;
    union {
        std::string_view text;
        char character;
        long long signed_value;
        unsigned long long unsigned_value;
        double real;
        joined_piece list;
    };
};

// Adds the pieces to the end of `out`. Compiled once, never inlined into a call site.
[[gnu::noinline]] inline void append(std::string& out, std::initializer_list<text_piece> pieces) {
    using kind = text_piece::kind;
    for (const text_piece& p : pieces) {
        switch (p.type) {
            case kind::text: out.append(p.text.data(), p.text.size()); break;
            case kind::character: out.push_back(p.character); break;
            case kind::signed_integer:
            case kind::unsigned_integer: {
                const bool negative = p.type == kind::signed_integer && p.signed_value < 0;
                unsigned long long n = p.type == kind::unsigned_integer ? p.unsigned_value
                                       : negative ? 0ull - static_cast<unsigned long long>(p.signed_value)
                                                  : static_cast<unsigned long long>(p.signed_value);
                char digits[24];
                char* at = digits + sizeof digits;
                do *--at = static_cast<char>('0' + n % 10);
                while ((n /= 10) != 0);
                if (negative) *--at = '-';
                out.append(at, static_cast<std::size_t>(digits + sizeof digits - at));
                break;
            }
            case kind::floating: {
                char digits[32];
                const int n = std::snprintf(digits, sizeof digits, "%g", p.real);
                if (n > 0) out.append(digits, std::size_t(n) < sizeof digits ? std::size_t(n) : sizeof digits - 1);
                break;
            }
            case kind::joined:
                for (std::size_t k = 0; k < p.list.size; ++k) {
                    if (k) out.append(p.list.separator.data(), p.list.separator.size());
                    p.list.write(out, p.list.data, k);
                }
                break;
        }
    }
}

// The pieces, one after another, as a string.
[[gnu::noinline]] inline std::string concat(std::initializer_list<text_piece> pieces) {
    std::string out;
    append(out, pieces);
    return out;
}

template <class T>
void write_joined_element(std::string& out, const void* data, std::size_t index) {
    append(out, {text_piece(static_cast<const T*>(data)[index])});
}

// The elements of a range or of (data, count), separated by `separator`: "1, 2, 3".
template <class T>
joined_piece joined(const T* data, std::size_t count, std::string_view separator = ", ") noexcept {
    return {data, count, separator, &write_joined_element<T>};
}
template <class Range>
joined_piece joined(const Range& range, std::string_view separator = ", ") noexcept {
    return joined(std::data(range), std::size(range), separator);
}

}  // namespace spore::detail
