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
    bool to_u64(std::uint64_t& out) const;
};

// A number as written that is a non-negative integer (no fraction, no exponent) fitting 64 bits.
inline bool to_u64(std::string_view number, std::uint64_t& out) {
    if (number.empty()) return false;
    std::uint64_t n = 0;
    for (char c : number) {
        if (c < '0' || c > '9') return false;
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (n > (UINT64_MAX - digit) / 10) return false;
        n = n * 10 + digit;
    }
    out = n;
    return true;
}

inline bool value::to_u64(std::uint64_t& out) const { return type == kind::number && json::to_u64(text, out); }

// A pull reader: the caller walks the document value by value and keeps only what it needs,
// so reading costs the text plus what the caller keeps (plus 12 bytes a key of each object
// being read, for the duplicate check). parse() builds a whole `value` tree with it; the
// safetensors header reader walks the header with it directly, because a tree costs about
// a hundred bytes a value (60 times the text for an array of small numbers).
//
//   reader r(text);
//   r.begin_object();                       // '{' (a json_error if the next value is not an object)
//   std::string key;
//   while (r.next_member(key)) { ... read or r.skip() the member's value ... }
//   r.begin_array(); while (r.next_element()) { ... }
//   r.finish();                             // nothing but whitespace may follow
class reader {
public:
    explicit reader(std::string_view text) : s_(text) {}
    // A reader of the value at `offset` of `text` (one that offset() gave). `checked`: the text
    // was read whole before, so duplicate keys need no second look.
    reader(std::string_view text, std::size_t offset, bool checked = false) : s_(text), at_(offset), checked_(checked) {}

    // The kind of the next value (after whitespace); a json_error if there is none.
    kind peek() {
        skip_space();
        if (at_ >= s_.size()) fail("expected a value, found the end of the text");
        switch (s_[at_]) {
            case '{': return kind::object;
            case '[': return kind::array;
            case '"': return kind::string;
            case 't':
            case 'f': return kind::boolean;
            case 'n': return kind::null;
            default:
                if (s_[at_] == '-' || (s_[at_] >= '0' && s_[at_] <= '9')) return kind::number;
                fail(spore::detail::concat({"expected a value, found ", describe(at_)}));
        }
    }
    // Where the next value starts (after whitespace), for messages.
    std::size_t offset() {
        skip_space();
        return at_;
    }

    void begin_object() {
        open('{', kind::object);
        frames_.push_back({true, true, keys_.size()});
    }
    // The next member's key and true (the reader then stands before its value), or false at
    // the object's end, which it consumes after checking that no key came twice.
    bool next_member(std::string& key) {
        frame& f = frames_.back();
        skip_space();
        if (!f.first) {
            if (at_ < s_.size() && s_[at_] == '}') return end_object();
            expect(',', "',' or '}' in an object");
            skip_space();
        } else if (at_ < s_.size() && s_[at_] == '}') {
            return end_object();
        }
        f.first = false;
        if (at_ >= s_.size() || s_[at_] != '"') fail(spore::detail::concat({"expected a key (a string), found ", describe(at_)}));
        const std::size_t key_at = at_;
        key.clear();
        read_string(key);
        if (checked_) return expect_colon();
        // a key holds an escape when its text is longer than its value
        keys_.push_back(at_ - key_at - 2 != key.size() ? key_at | escaped_bit : key_at);
        return expect_colon();
    }

    void begin_array() {
        open('[', kind::array);
        frames_.push_back({false, true, 0});
    }
    // True when another element follows (the reader then stands before it), false at the
    // array's end, which it consumes.
    bool next_element() {
        frame& f = frames_.back();
        skip_space();
        if (at_ < s_.size() && s_[at_] == ']' ) {
            ++at_;
            frames_.pop_back();
            return false;
        }
        if (!f.first) expect(',', "',' or ']' in an array");
        f.first = false;
        return true;
    }

    // A string's contents (UTF-8).
    std::string string_value() {
        if (peek() != kind::string) fail(spore::detail::concat({"expected a string, found ", describe(at_)}));
        std::string out;
        read_string(out);
        return out;
    }
    // A number as written (a view into the text).
    std::string_view number_value() {
        if (peek() != kind::number) fail(spore::detail::concat({"expected a number, found ", describe(at_)}));
        const std::size_t begin = at_;
        scan_number();
        return s_.substr(begin, at_ - begin);
    }
    bool boolean_value() {
        if (peek() == kind::boolean) {
            if (literal("true")) return true;
            if (literal("false")) return false;
        }
        fail(spore::detail::concat({"expected a value, found ", describe(at_)}));
    }
    void null_value() {
        if (peek() != kind::null || !literal("null")) fail(spore::detail::concat({"expected a value, found ", describe(at_)}));
    }

    // Reads the next value, checking it as strictly as any other, and keeps nothing of it.
    void skip() {
        const std::size_t depth = frames_.size();
        std::string scratch;
        do {
            if (frames_.size() > depth) {
                const bool more = frames_.back().object ? next_member(scratch) : next_element();
                if (!more) continue;
            }
            switch (peek()) {
                case kind::object: begin_object(); break;
                case kind::array: begin_array(); break;
                case kind::string: scratch.clear(); read_string(scratch); break;
                case kind::number: scan_number(); break;
                case kind::boolean: boolean_value(); break;
                case kind::null: null_value(); break;
            }
        } while (frames_.size() > depth);
    }

    // After the document's value: only whitespace may follow.
    void finish() {
        skip_space();
        if (at_ < s_.size()) fail(spore::detail::concat({"unexpected ", describe(at_), " after the JSON value"}));
    }

    [[noreturn]] void fail(const std::string& problem) const { throw json_error(at_, problem); }
    // A json_error at `offset` (a value's start, from offset()).
    [[noreturn]] void fail_at(std::size_t offset, const std::string& problem) const { throw json_error(offset, problem); }

    static constexpr std::size_t max_depth = 64;

private:
    struct frame {
        bool object;
        bool first;              // no member or element read yet
        std::size_t first_key;   // an object's first entry in keys_
    };

    void open(char c, kind k) {
        if (peek() != k) fail(spore::detail::concat({"expected ", kind_name(k), ", found ", describe(at_)}));
        if (frames_.size() >= max_depth) fail(spore::detail::concat({"nesting deeper than ", max_depth}));
        (void)c;
        ++at_;
    }

    bool expect_colon() {
        skip_space();
        expect(':', "':' after a key");
        return true;
    }

    bool end_object() {
        if (!checked_) check_unique_keys(frames_.back().first_key);
        keys_.resize(frames_.back().first_key);
        frames_.pop_back();
        ++at_;  // '}'
        return false;
    }

    // The keys of the object being closed, keys_[first..]: sorted by value, neighbours differ.
    // Compared by their values as they are decoded, so a check costs 12 bytes a key.
    void check_unique_keys(std::size_t first) {
        const std::size_t n = keys_.size() - first;
        if (n < 2) return;
        if (n > UINT32_MAX) fail("more than 2^32 keys in an object");
        std::vector<std::uint32_t> order(n);
        for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
        auto compare = [&](std::uint32_t a, std::uint32_t b) {
            const std::size_t ka = keys_[first + a], kb = keys_[first + b];
            if (!((ka | kb) & escaped_bit)) {  // both values are their text
                const std::size_t ea = s_.find('"', ka + 1), eb = s_.find('"', kb + 1);
                const int c = s_.substr(ka + 1, ea - ka - 1).compare(s_.substr(kb + 1, eb - kb - 1));
                return c < 0 ? -1 : c > 0 ? 1 : 0;
            }
            key_cursor x{s_, (ka & ~escaped_bit) + 1}, y{s_, (kb & ~escaped_bit) + 1};
            for (;;) {
                const int cx = x.next(), cy = y.next();
                if (cx != cy) return cx < cy ? -1 : 1;
                if (cx < 0) return 0;
            }
        };
        std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
            const int c = compare(a, b);
            return c != 0 ? c < 0 : a < b;
        });
        std::size_t repeated = SIZE_MAX;  // the first repeated key in document order
        for (std::size_t i = 1; i < n; ++i)
            if (compare(order[i], order[i - 1]) == 0) repeated = std::min<std::size_t>(repeated, order[i]);
        if (repeated != SIZE_MAX) {
            at_ = keys_[first + repeated] & ~escaped_bit;
            reader again(s_, at_);
            std::string key;
            again.read_string(key);
            fail(spore::detail::concat({"duplicate key \"", key, '"'}));
        }
    }

    // The bytes of a string's value, one at a time, from its text (checked already): -1 at
    // its closing quote.
    struct key_cursor {
        std::string_view s;
        std::size_t i;  // after the opening quote
        unsigned char pending[4] = {};
        int count = 0, next_pending = 0;

        unsigned hex4() {
            unsigned code = 0;
            for (int k = 0; k < 4; ++k) {
                const char c = s[i++];
                code = code * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            }
            return code;
        }
        int next() {
            if (next_pending < count) return pending[next_pending++];
            const char c = s[i];
            if (c == '"') return -1;
            ++i;
            if (c != '\\') return static_cast<unsigned char>(c);
            const char e = s[i++];
            switch (e) {
                case 'b': return '\b';
                case 'f': return '\f';
                case 'n': return '\n';
                case 'r': return '\r';
                case 't': return '\t';
                case 'u': break;
                default: return static_cast<unsigned char>(e);  // '"', '\\', '/'
            }
            unsigned code = hex4();
            if (code >= 0xd800 && code <= 0xdbff) {
                i += 2;  // "\\u"
                code = 0x10000 + ((code - 0xd800) << 10) + (hex4() - 0xdc00);
            }
            count = static_cast<int>(encode_utf8(pending, code));
            next_pending = 1;
            return pending[0];
        }
    };

    std::string describe(std::size_t i) const {
        if (i >= s_.size()) return "end of the text";
        const unsigned char c = static_cast<unsigned char>(s_[i]);
        if (c >= 0x20 && c < 0x7f) return spore::detail::concat({'\'', static_cast<char>(c), '\''});
        static const char* hex = "0123456789abcdef";
        return spore::detail::concat({"byte 0x", hex[c >> 4], hex[c & 15]});
    }

    void skip_space() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    }

    void expect(char c, const char* what) {
        if (at_ >= s_.size() || s_[at_] != c) fail(spore::detail::concat({"expected ", what, ", found ", describe(at_)}));
        ++at_;
    }

    bool literal(std::string_view word) {
        if (s_.substr(at_, word.size()) != word) return false;
        at_ += word.size();
        return true;
    }

    bool digit_at(std::size_t i) const { return i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; }

    void scan_number() {
        if (s_[at_] == '-') ++at_;
        if (!digit_at(at_)) fail(spore::detail::concat({"expected a digit in a number, found ", describe(at_)}));
        if (s_[at_] == '0') {
            ++at_;
            if (digit_at(at_)) fail("a number with a leading zero");
        } else {
            while (digit_at(at_)) ++at_;
        }
        if (at_ < s_.size() && s_[at_] == '.') {
            ++at_;
            if (!digit_at(at_)) fail(spore::detail::concat({"expected a digit after the decimal point, found ", describe(at_)}));
            while (digit_at(at_)) ++at_;
        }
        if (at_ < s_.size() && (s_[at_] == 'e' || s_[at_] == 'E')) {
            ++at_;
            if (at_ < s_.size() && (s_[at_] == '+' || s_[at_] == '-')) ++at_;
            if (!digit_at(at_)) fail(spore::detail::concat({"expected a digit in the exponent, found ", describe(at_)}));
            while (digit_at(at_)) ++at_;
        }
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
            else fail(spore::detail::concat({"a \\u escape needs four hex digits, found ", describe(at_)}));
            code = code * 16 + d;
        }
        return code;
    }

    // The UTF-8 bytes of a code point into `out`; their count.
    static std::size_t encode_utf8(unsigned char* out, unsigned code) {
        if (code < 0x80) {
            out[0] = static_cast<unsigned char>(code);
            return 1;
        }
        if (code < 0x800) {
            out[0] = static_cast<unsigned char>(0xc0 | (code >> 6));
            out[1] = static_cast<unsigned char>(0x80 | (code & 0x3f));
            return 2;
        }
        if (code < 0x10000) {
            out[0] = static_cast<unsigned char>(0xe0 | (code >> 12));
            out[1] = static_cast<unsigned char>(0x80 | ((code >> 6) & 0x3f));
            out[2] = static_cast<unsigned char>(0x80 | (code & 0x3f));
            return 3;
        }
        out[0] = static_cast<unsigned char>(0xf0 | (code >> 18));
        out[1] = static_cast<unsigned char>(0x80 | ((code >> 12) & 0x3f));
        out[2] = static_cast<unsigned char>(0x80 | ((code >> 6) & 0x3f));
        out[3] = static_cast<unsigned char>(0x80 | (code & 0x3f));
        return 4;
    }
    static void append_utf8(std::string& out, unsigned code) {
        unsigned char bytes[4];
        out.append(reinterpret_cast<const char*>(bytes), encode_utf8(bytes, code));
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

    // Appends the value of the string at at_ (its opening quote) to `out`.
    void read_string(std::string& out) {
        ++at_;  // '"'

        for (;;) {
            if (at_ >= s_.size()) fail("a string is not closed");
            const unsigned char c = static_cast<unsigned char>(s_[at_]);
            if (c == '"') {
                ++at_;
                return;
            }
            if (c < 0x20) fail(spore::detail::concat({"an unescaped control character (", describe(at_), ") in a string"}));
            if (c >= 0x80) {
                const std::size_t length = utf8_sequence(at_);
                if (length == 0) fail(spore::detail::concat({"invalid UTF-8 (", describe(at_), ") in a string"}));
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
                default: --at_; fail(spore::detail::concat({"an unknown escape \\", describe(at_)}));
            }
        }
    }

    std::string_view s_;
    std::size_t at_ = 0;
    std::vector<frame> frames_;
    // where the keys of the objects being read start (outermost first), the top bit set for a
    // key with an escape
    std::vector<std::size_t> keys_;
    bool checked_ = false;
    static constexpr std::size_t escaped_bit = std::size_t(1) << (sizeof(std::size_t) * 8 - 1);
};

namespace detail {

inline value read_value(reader& r) {
    value v;
    v.type = r.peek();
    switch (v.type) {
        case kind::object: {
            r.begin_object();
            std::string key;
            while (r.next_member(key)) {
                v.items.push_back(read_value(r));
                v.keys.push_back(key);
            }
            break;
        }
        case kind::array:
            r.begin_array();
            while (r.next_element()) v.items.push_back(read_value(r));
            break;
        case kind::string: v.text = r.string_value(); break;
        case kind::number: v.text = std::string(r.number_value()); break;
        case kind::boolean: v.boolean = r.boolean_value(); break;
        case kind::null: r.null_value(); break;
    }
    return v;
}

}  // namespace detail

// The whole document as a tree of values (about a hundred bytes a value).
inline value parse(std::string_view text) {
    reader r(text);
    value v = detail::read_value(r);
    r.finish();
    return v;
}

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
