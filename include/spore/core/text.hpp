#pragma once
// Messages built from strings, characters and integers: concat("key ", name, ": ", 3). Not
// `"text" + std::to_string(n)`: once inlined into a user's code, GCC 12 reports a false
// -Wrestrict for that pattern.

#include <string>
#include <string_view>
#include <type_traits>

namespace spore::detail {

inline void append_piece(std::string& out, std::string_view piece) { out += piece; }
inline void append_piece(std::string& out, char c) { out += c; }
template <class N>
    requires(std::is_integral_v<N> && !std::is_same_v<N, char> && !std::is_same_v<N, bool>)
void append_piece(std::string& out, N n) {
    out += std::to_string(n);
}

template <class... P>
std::string concat(const P&... pieces) {
    std::string out;
    (append_piece(out, pieces), ...);
    return out;
}

}  // namespace spore::detail
