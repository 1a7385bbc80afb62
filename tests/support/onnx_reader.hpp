#pragma once
// Test helper: a small protobuf reader and an ONNX model decoded into plain structs, so tests
// can look at what the exporter wrote without a protobuf library. It is written from the wire
// format, independently of spore's writer, and refuses malformed input.

#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spore_test::onnx_reader {

struct field {
    std::uint32_t number = 0;
    int wire = 0;
    std::uint64_t scalar = 0;  // varint, fixed32 or fixed64 value
    std::string bytes;         // length-delimited payload
};

inline std::uint64_t read_varint(std::string_view data, std::size_t& at) {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (at >= data.size()) throw std::runtime_error("truncated varint");
        const auto byte = static_cast<unsigned char>(data[at++]);
        value |= std::uint64_t(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return value;
    }
    throw std::runtime_error("varint longer than ten bytes");
}

inline std::vector<field> parse(std::string_view data) {
    std::vector<field> fields;
    std::size_t at = 0;
    while (at < data.size()) {
        const std::uint64_t key = read_varint(data, at);
        field f;
        f.number = static_cast<std::uint32_t>(key >> 3);
        f.wire = static_cast<int>(key & 7);
        if (f.number == 0) throw std::runtime_error("field number 0");
        auto fixed = [&](std::size_t n) {
            if (at + n > data.size()) throw std::runtime_error("truncated fixed-width field");
            std::uint64_t v = 0;
            for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(static_cast<unsigned char>(data[at + i])) << (8 * i);
            at += n;
            return v;
        };
        switch (f.wire) {
            case 0: f.scalar = read_varint(data, at); break;
            case 1: f.scalar = fixed(8); break;
            case 5: f.scalar = fixed(4); break;
            case 2: {
                const std::uint64_t n = read_varint(data, at);
                if (n > data.size() - at) throw std::runtime_error("length past the end of the message");
                f.bytes = std::string(data.substr(at, n));
                at += n;
                break;
            }
            default: throw std::runtime_error("unknown wire type " + std::to_string(f.wire));
        }
        fields.push_back(std::move(f));
    }
    return fields;
}

inline std::vector<field> all(std::string_view message, std::uint32_t number) {
    std::vector<field> out;
    for (auto& f : parse(message))
        if (f.number == number) out.push_back(std::move(f));
    return out;
}
inline std::vector<std::string> messages(std::string_view message, std::uint32_t number) {
    std::vector<std::string> out;
    for (auto& f : all(message, number)) out.push_back(std::move(f.bytes));
    return out;
}
inline std::string text(std::string_view message, std::uint32_t number) {
    auto fs = all(message, number);
    return fs.empty() ? std::string() : fs.back().bytes;
}
inline std::int64_t integer(std::string_view message, std::uint32_t number, std::int64_t otherwise = 0) {
    auto fs = all(message, number);
    return fs.empty() ? otherwise : static_cast<std::int64_t>(fs.back().scalar);
}
// Repeated int64, packed or not (a parser must accept both).
inline std::vector<std::int64_t> integers(std::string_view message, std::uint32_t number) {
    std::vector<std::int64_t> out;
    for (const auto& f : all(message, number)) {
        if (f.wire == 0) {
            out.push_back(static_cast<std::int64_t>(f.scalar));
        } else {
            std::size_t at = 0;
            while (at < f.bytes.size()) out.push_back(static_cast<std::int64_t>(read_varint(f.bytes, at)));
        }
    }
    return out;
}

// ---- ONNX --------------------------------------------------------------------------------
struct attribute {
    std::int64_t type = 0;
    std::int64_t i = 0;
    float f = 0;
    std::vector<std::int64_t> ints;
};
struct node {
    std::string name, op_type;
    std::vector<std::string> inputs, outputs;
    std::map<std::string, attribute> attributes;
};
struct tensor {
    std::string name;
    std::int64_t data_type = 0;
    std::vector<std::int64_t> dims;
    std::string raw_data;
    std::vector<std::int64_t> int64_data;
};
struct value_info {
    std::string name;
    std::int64_t elem_type = 0;
    std::vector<std::string> dims;  // "N" for a symbolic dimension, else the number
};
struct model {
    std::int64_t ir_version = 0;
    std::string producer_name, graph_name;
    std::vector<std::pair<std::string, std::int64_t>> opsets;
    std::vector<node> nodes;
    std::vector<tensor> initializers;
    std::vector<value_info> inputs, outputs;

    const tensor* initializer(const std::string& name) const {
        for (const auto& t : initializers)
            if (t.name == name) return &t;
        return nullptr;
    }
    std::vector<std::string> op_types() const {
        std::vector<std::string> out;
        for (const auto& n : nodes) out.push_back(n.op_type);
        return out;
    }
    // The node that produces `value`.
    const node* producer(const std::string& value) const {
        for (const auto& n : nodes)
            for (const auto& o : n.outputs)
                if (o == value) return &n;
        return nullptr;
    }
};

inline value_info decode_value_info(std::string_view bytes) {
    value_info v;
    v.name = text(bytes, 1);
    const std::string type = text(bytes, 2);
    const std::string tensor_type = text(type, 1);
    v.elem_type = integer(tensor_type, 1);
    for (const auto& dim : messages(text(tensor_type, 2), 1)) {
        if (!all(dim, 2).empty()) v.dims.push_back(text(dim, 2));
        else v.dims.push_back(std::to_string(integer(dim, 1)));
    }
    return v;
}

inline model decode(std::string_view bytes) {
    model m;
    m.ir_version = integer(bytes, 1);
    m.producer_name = text(bytes, 2);
    for (const auto& o : messages(bytes, 8)) m.opsets.emplace_back(text(o, 1), integer(o, 2));
    const std::string graph = text(bytes, 7);
    m.graph_name = text(graph, 2);
    for (const auto& nb : messages(graph, 1)) {
        node n;
        for (auto& f : all(nb, 1)) n.inputs.push_back(f.bytes);
        for (auto& f : all(nb, 2)) n.outputs.push_back(f.bytes);
        n.name = text(nb, 3);
        n.op_type = text(nb, 4);
        for (const auto& ab : messages(nb, 5)) {
            attribute a;
            a.type = integer(ab, 20);
            a.i = integer(ab, 3);
            if (auto fs = all(ab, 2); !fs.empty()) {
                const auto bits = static_cast<std::uint32_t>(fs.back().scalar);
                std::memcpy(&a.f, &bits, 4);
            }
            a.ints = integers(ab, 8);
            n.attributes[text(ab, 1)] = a;
        }
        m.nodes.push_back(std::move(n));
    }
    for (const auto& tb : messages(graph, 5)) {
        tensor t;
        t.dims = integers(tb, 1);
        t.data_type = integer(tb, 2);
        t.int64_data = integers(tb, 7);
        t.name = text(tb, 8);
        t.raw_data = text(tb, 9);
        m.initializers.push_back(std::move(t));
    }
    for (const auto& vb : messages(graph, 11)) m.inputs.push_back(decode_value_info(vb));
    for (const auto& vb : messages(graph, 12)) m.outputs.push_back(decode_value_info(vb));
    return m;
}

}  // namespace spore_test::onnx_reader
