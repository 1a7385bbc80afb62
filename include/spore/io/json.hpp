#pragma once
// A small strict JSON reader (RFC 8259), enough for the headers of checkpoint files. spore is
// shipped as one header that users copy into their projects, so it brings its own reader
// instead of a dependency. Strict: no comments, no trailing commas, no leading zeros, no
// unescaped control characters, valid UTF-8 only, no duplicate keys, nesting at most 64 deep,
// nothing but whitespace after the value. Errors throw spore::json_error with the byte offset.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>

namespace spore {

struct json_error : error {
    json_error(std::size_t at, const std::string& problem)
        : error(detail::concat({"at byte ", at, ": ", problem})), offset(at) {}
    std::size_t offset;
};

namespace io::json {

enum class kind { null, boolean, number, string, array, object };

inline const char* kind_name(kind k) {
    switch (k) {
        case kind::null: return "null";
        case kind::boolean: return "a boolean";
        case kind::number: return "a number";
        case kind::string: return "a string";
        case kind::array: return "an array";
        case kind::object: return "an object";
    }
    return "?";
}

struct value {
    kind type = kind::null;
    bool boolean = false;
    std::string text;               // a string's contents (UTF-8), or a number as written
    std::vector<value> items;       // an array's elements, or an object's member values
    std::vector<std::string> keys;  // an object's keys, in document order (items[i] is keys[i]'s value)

    // The member named `key` of an object, or nullptr.
    const value* find(std::string_view key) const {
        for (std::size_t i = 0; i < keys.size(); ++i)
            if (keys[i] == key) return &items[i];
        return nullptr;
    }
    // A number that is a non-negative integer (no fraction, no exponent) fitting 64 bits.
    bool to_u64(std::uint64_t& out) const {
        if (type != kind::number || text.empty()) return false;
        std::uint64_t n = 0;
        for (char c : text) {
            if (c < '0' || c > '9') return false;
            const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
            if (n > (UINT64_MAX - digit) / 10) return false;
            n = n * 10 + digit;
        }
        out = n;
        return true;
    }
};

namespace detail {

using spore::detail::concat;

class parser {
public:
    explicit parser(std::string_view text) : s_(text) {}

    value parse_document() {
        skip_space();
        value v = parse_value(0);
        skip_space();
        if (at_ < s_.size()) fail(concat({"unexpected ", describe(at_), " after the JSON value"}));
        return v;
    }

private:
    static constexpr int max_depth = 64;

    [[noreturn]] void fail(const std::string& problem) const { throw json_error(at_, problem); }

    std::string describe(std::size_t i) const {
        if (i >= s_.size()) return "end of the text";
        const unsigned char c = static_cast<unsigned char>(s_[i]);
        if (c >= 0x20 && c < 0x7f) return concat({'\'', static_cast<char>(c), '\''});
        static const char* hex = "0123456789abcdef";
        return concat({"byte 0x", hex[c >> 4], hex[c & 15]});
    }

    void skip_space() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    }

    void expect(char c, const char* what) {
        if (at_ >= s_.size() || s_[at_] != c) fail(concat({"expected ", what, ", found ", describe(at_)}));
        ++at_;
    }

    value parse_value(int depth) {
        if (at_ >= s_.size()) fail("expected a value, found the end of the text");
        const char c = s_[at_];
        if (c == '{' || c == '[') {
            if (depth >= max_depth) fail(concat({"nesting deeper than ", max_depth}));
            return c == '{' ? parse_object(depth + 1) : parse_array(depth + 1);
        }
        value v;
        if (c == '"') {
            v.type = kind::string;
            v.text = parse_string();
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            v.type = kind::number;
            v.text = parse_number();
        } else if (literal("true")) {
            v.type = kind::boolean;
            v.boolean = true;
        } else if (literal("false")) {
            v.type = kind::boolean;
        } else if (literal("null")) {
            v.type = kind::null;
        } else {
            fail(concat({"expected a value, found ", describe(at_)}));
        }
        return v;
    }

    bool literal(std::string_view word) {
        if (s_.substr(at_, word.size()) != word) return false;
        at_ += word.size();
        return true;
    }

    value parse_object(int depth) {
        value v;
        v.type = kind::object;
        ++at_;  // '{'
        skip_space();
        if (at_ < s_.size() && s_[at_] == '}') {
            ++at_;
            return v;
        }
        for (;;) {
            skip_space();
            if (at_ >= s_.size() || s_[at_] != '"') fail(concat({"expected a key (a string), found ", describe(at_)}));
            const std::size_t key_at = at_;
            std::string key = parse_string();
            skip_space();
            expect(':', "':' after a key");
            skip_space();
            v.items.push_back(parse_value(depth));
            v.keys.push_back(std::move(key));
            key_offsets_.push_back(key_at);
            skip_space();
            if (at_ < s_.size() && s_[at_] == ',') {
                ++at_;
                continue;
            }
            expect('}', "',' or '}' in an object");
            break;
        }
        check_unique_keys(v);
        return v;
    }

    void check_unique_keys(const value& v) {
        // key_offsets_ holds this object's keys at its end (nested objects popped theirs)
        const std::size_t first = key_offsets_.size() - v.keys.size();
        std::vector<std::size_t> order(v.keys.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return v.keys[a] != v.keys[b] ? v.keys[a] < v.keys[b] : a < b;
        });
        for (std::size_t i = 1; i < order.size(); ++i)
            if (v.keys[order[i]] == v.keys[order[i - 1]]) {
                at_ = key_offsets_[first + order[i]];
                fail(concat({"duplicate key \"", v.keys[order[i]], '"'}));
            }
        key_offsets_.resize(first);
    }

    value parse_array(int depth) {
        value v;
        v.type = kind::array;
        ++at_;  // '['
        skip_space();
        if (at_ < s_.size() && s_[at_] == ']') {
            ++at_;
            return v;
        }
        for (;;) {
            skip_space();
            v.items.push_back(parse_value(depth));
            skip_space();
            if (at_ < s_.size() && s_[at_] == ',') {
                ++at_;
                continue;
            }
            expect(']', "',' or ']' in an array");
            break;
        }
        return v;
    }

    bool digit_at(std::size_t i) const { return i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; }

    std::string parse_number() {
        const std::size_t begin = at_;
        if (s_[at_] == '-') ++at_;
        if (!digit_at(at_)) fail(concat({"expected a digit in a number, found ", describe(at_)}));
        if (s_[at_] == '0') {
            ++at_;
            if (digit_at(at_)) fail("a number with a leading zero");
        } else {
            while (digit_at(at_)) ++at_;
        }
        if (at_ < s_.size() && s_[at_] == '.') {
            ++at_;
            if (!digit_at(at_)) fail(concat({"expected a digit after the decimal point, found ", describe(at_)}));
            while (digit_at(at_)) ++at_;
        }
        if (at_ < s_.size() && (s_[at_] == 'e' || s_[at_] == 'E')) {
            ++at_;
            if (at_ < s_.size() && (s_[at_] == '+' || s_[at_] == '-')) ++at_;
            if (!digit_at(at_)) fail(concat({"expected a digit in the exponent, found ", describe(at_)}));
            while (digit_at(at_)) ++at_;
        }
        return std::string(s_.substr(begin, at_ - begin));
    }

    unsigned hex4() {
        unsigned code = 0;
        for (int i = 0; i < 4; ++i, ++at_) {
            if (at_ >= s_.size()) fail("a \\u escape needs four hex digits");
            const char c = s_[at_];
            unsigned d;
            if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
            else fail(concat({"a \\u escape needs four hex digits, found ", describe(at_)}));
            code = code * 16 + d;
        }
        return code;
    }

    static void append_utf8(std::string& out, unsigned code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xc0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3f));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xe0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (code & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (code & 0x3f));
        }
    }

    // Length of the valid UTF-8 sequence starting at i (lead byte >= 0x80), or 0.
    std::size_t utf8_sequence(std::size_t i) const {
        auto byte = [&](std::size_t k) { return k < s_.size() ? static_cast<unsigned char>(s_[k]) : 0u; };
        const unsigned lead = byte(i);
        std::size_t length;
        unsigned code, min;
        if (lead >= 0xc2 && lead <= 0xdf) length = 2, code = lead & 0x1f, min = 0x80;
        else if (lead >= 0xe0 && lead <= 0xef) length = 3, code = lead & 0x0f, min = 0x800;
        else if (lead >= 0xf0 && lead <= 0xf4) length = 4, code = lead & 0x07, min = 0x10000;
        else return 0;
        for (std::size_t k = 1; k < length; ++k) {
            const unsigned b = byte(i + k);
            if ((b & 0xc0) != 0x80) return 0;
            code = (code << 6) | (b & 0x3f);
        }
        if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
        return length;
    }

    std::string parse_string() {
        ++at_;  // '"'
        std::string out;
        for (;;) {
            if (at_ >= s_.size()) fail("a string is not closed");
            const unsigned char c = static_cast<unsigned char>(s_[at_]);
            if (c == '"') {
                ++at_;
                return out;
            }
            if (c < 0x20) fail(concat({"an unescaped control character (", describe(at_), ") in a string"}));
            if (c >= 0x80) {
                const std::size_t length = utf8_sequence(at_);
                if (length == 0) fail(concat({"invalid UTF-8 (", describe(at_), ") in a string"}));
                out.append(s_.substr(at_, length));
                at_ += length;
                continue;
            }
            if (c != '\\') {
                out += static_cast<char>(c);
                ++at_;
                continue;
            }
            ++at_;
            if (at_ >= s_.size()) fail("a string is not closed");
            const char e = s_[at_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    unsigned code = hex4();
                    if (code >= 0xdc00 && code <= 0xdfff) fail("a lone low surrogate in a \\u escape");
                    if (code >= 0xd800 && code <= 0xdbff) {
                        if (s_.substr(at_, 2) != "\\u") fail("a high surrogate without its low surrogate");
                        at_ += 2;
                        const unsigned low = hex4();
                        if (low < 0xdc00 || low > 0xdfff) fail("a high surrogate without its low surrogate");
                        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                    }
                    append_utf8(out, code);
                    break;
                }
                default: --at_; fail(concat({"an unknown escape \\", describe(at_)}));
            }
        }
    }

    std::string_view s_;
    std::size_t at_ = 0;
    std::vector<std::size_t> key_offsets_;
};

}  // namespace detail

inline value parse(std::string_view text) { return detail::parser(text).parse_document(); }

// `text` as a JSON string literal, quotes included.
inline std::string quote(std::string_view text) {
    static const char* hex = "0123456789abcdef";
    std::string out = "\"";
    for (char ch : text) {
        const unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
    return out;
}

}  // namespace io::json
}  // namespace spore
