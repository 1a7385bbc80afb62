#pragma once
// The protocol-buffers wire format, write side only: enough to serialise a message whose
// schema is known at compile time (ONNX). A message is written into a byte string; a nested
// message is written into its own string first, since its length prefix comes before it.
//
// Wire types: 0 varint (int32/int64/uint64/bool/enum), 1 fixed 64 bits (double), 2 length-
// delimited (string, bytes, nested messages, packed repeated fields), 5 fixed 32 bits (float).
// Negative int32 and int64 values are varints of their 64-bit two's complement (ten bytes),
// as protoc writes them; multi-byte fixed values are little-endian whatever the host order.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace spore::io::protobuf {

enum class wire_type : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

class writer {
public:
    // The encoded bytes so far.
    const std::string& bytes() const { return bytes_; }
    std::string take() { return std::move(bytes_); }
    std::size_t size() const { return bytes_.size(); }

    void raw_varint(std::uint64_t value) {
        while (value >= 0x80) {
            bytes_.push_back(static_cast<char>((value & 0x7f) | 0x80));
            value >>= 7;
        }
        bytes_.push_back(static_cast<char>(value));
    }
    void raw_fixed32(std::uint32_t value) {
        for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    }
    void raw_fixed64(std::uint64_t value) {
        for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    }
    void raw_bytes(std::string_view data) { bytes_.append(data); }

    void tag(std::uint32_t field, wire_type type) {
        raw_varint((static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(type));
    }

    // Scalar fields.
    void uint64_field(std::uint32_t field, std::uint64_t value) {
        tag(field, wire_type::varint);
        raw_varint(value);
    }
    void int64_field(std::uint32_t field, std::int64_t value) {
        uint64_field(field, static_cast<std::uint64_t>(value));
    }
    void int32_field(std::uint32_t field, std::int32_t value) {
        // sign-extended to 64 bits first, so -1 is ten bytes as in every protobuf implementation
        int64_field(field, static_cast<std::int64_t>(value));
    }
    void bool_field(std::uint32_t field, bool value) { uint64_field(field, value ? 1 : 0); }
    void float_field(std::uint32_t field, float value) {
        tag(field, wire_type::fixed32);
        raw_fixed32(std::bit_cast<std::uint32_t>(value));
    }
    void double_field(std::uint32_t field, double value) {
        tag(field, wire_type::fixed64);
        raw_fixed64(std::bit_cast<std::uint64_t>(value));
    }

    // Length-delimited fields: strings, bytes, and nested messages already encoded.
    void bytes_field(std::uint32_t field, std::string_view data) {
        tag(field, wire_type::length_delimited);
        raw_varint(data.size());
        raw_bytes(data);
    }
    void string_field(std::uint32_t field, std::string_view text) { bytes_field(field, text); }
    void message_field(std::uint32_t field, const writer& message) { bytes_field(field, message.bytes()); }

    // Packed repeated fields: one length-delimited record holding the values back to back; an
    // empty list is no record at all, as protoc writes it.
    void packed_int64_field(std::uint32_t field, std::span<const std::int64_t> values) {
        if (values.empty()) return;
        writer body;
        for (std::int64_t v : values) body.raw_varint(static_cast<std::uint64_t>(v));
        bytes_field(field, body.bytes());
    }
    void packed_float_field(std::uint32_t field, std::span<const float> values) {
        if (values.empty()) return;
        writer body;
        for (float v : values) body.raw_fixed32(std::bit_cast<std::uint32_t>(v));
        bytes_field(field, body.bytes());
    }
    void packed_double_field(std::uint32_t field, std::span<const double> values) {
        if (values.empty()) return;
        writer body;
        for (double v : values) body.raw_fixed64(std::bit_cast<std::uint64_t>(v));
        bytes_field(field, body.bytes());
    }

private:
    std::string bytes_;
};

}  // namespace spore::io::protobuf
