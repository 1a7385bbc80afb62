#pragma once
// The subset of ONNX's messages (onnx/onnx.proto, proto2) that an inference graph needs,
// as plain structs that serialise themselves with the protobuf writer. Field numbers are the
// official ones; fields are written in field-number order, and proto2's unpacked repeated
// scalars (dims, ints, floats) one record per value, as protoc does.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <spore/io/protobuf.hpp>

namespace spore::io::onnx {

// TensorProto.DataType
enum class data_type : std::int32_t {
    undefined = 0,
    float32 = 1,
    uint8 = 2,
    int8 = 3,
    int32 = 6,
    int64 = 7,
    boolean = 9,
    float64 = 11,
};

// TensorProto: a constant (an initializer). Values are little-endian bytes in raw_data, or
// int64_data for small integer tensors (shapes, axes).
struct tensor {
    std::vector<std::int64_t> dims;
    data_type type = data_type::float32;
    std::vector<std::int64_t> int64_data;
    std::string name;
    std::string raw_data;

    void encode(protobuf::writer& out) const {
        for (std::int64_t d : dims) out.int64_field(1, d);
        out.int32_field(2, static_cast<std::int32_t>(type));
        out.packed_int64_field(7, int64_data);
        out.string_field(8, name);
        if (!raw_data.empty()) out.bytes_field(9, raw_data);
    }
};

// TensorShapeProto.Dimension: a fixed extent or a named, symbolic one.
struct dimension {
    std::optional<std::int64_t> value;
    std::string param;

    void encode(protobuf::writer& out) const {
        if (value) out.int64_field(1, *value);
        else out.string_field(2, param);
    }
};

// ValueInfoProto with a TypeProto.Tensor type: a graph input or output.
struct value_info {
    std::string name;
    data_type elem_type = data_type::float32;
    std::vector<dimension> shape;

    void encode(protobuf::writer& out) const {
        protobuf::writer shape_proto;  // TensorShapeProto
        for (const dimension& d : shape) {
            protobuf::writer dim;
            d.encode(dim);
            shape_proto.message_field(1, dim);
        }
        protobuf::writer tensor_type;  // TypeProto.Tensor
        tensor_type.int32_field(1, static_cast<std::int32_t>(elem_type));
        tensor_type.message_field(2, shape_proto);
        protobuf::writer type;  // TypeProto
        type.message_field(1, tensor_type);
        out.string_field(1, name);
        out.message_field(2, type);
    }
};

// AttributeProto.AttributeType
enum class attribute_type : std::int32_t { undefined = 0, float32 = 1, int64 = 2, string = 3, floats = 6, ints = 7 };

struct attribute {
    std::string name;
    attribute_type type = attribute_type::undefined;
    float f = 0;
    std::int64_t i = 0;
    std::string s;
    std::vector<float> floats;
    std::vector<std::int64_t> ints;

    static attribute integer(std::string name, std::int64_t value) {
        attribute a;
        a.name = std::move(name);
        a.type = attribute_type::int64;
        a.i = value;
        return a;
    }
    static attribute integers(std::string name, std::vector<std::int64_t> values) {
        attribute a;
        a.name = std::move(name);
        a.type = attribute_type::ints;
        a.ints = std::move(values);
        return a;
    }
    static attribute real(std::string name, float value) {
        attribute a;
        a.name = std::move(name);
        a.type = attribute_type::float32;
        a.f = value;
        return a;
    }
    static attribute text(std::string name, std::string value) {
        attribute a;
        a.name = std::move(name);
        a.type = attribute_type::string;
        a.s = std::move(value);
        return a;
    }

    void encode(protobuf::writer& out) const {
        out.string_field(1, name);
        switch (type) {
            case attribute_type::float32: out.float_field(2, f); break;
            case attribute_type::int64: out.int64_field(3, i); break;
            case attribute_type::string: out.bytes_field(4, s); break;
            case attribute_type::floats:
                for (float v : floats) out.float_field(7, v);
                break;
            case attribute_type::ints:
                for (std::int64_t v : ints) out.int64_field(8, v);
                break;
            case attribute_type::undefined: break;
        }
        out.int32_field(20, static_cast<std::int32_t>(type));
    }
};

// NodeProto: one operator application; values are connected by name.
struct node {
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    std::string name;
    std::string op_type;
    std::vector<attribute> attributes;

    void encode(protobuf::writer& out) const {
        for (const std::string& in : inputs) out.string_field(1, in);
        for (const std::string& o : outputs) out.string_field(2, o);
        out.string_field(3, name);
        out.string_field(4, op_type);
        for (const attribute& a : attributes) {
            protobuf::writer body;
            a.encode(body);
            out.message_field(5, body);
        }
    }
};

struct graph {
    std::vector<node> nodes;
    std::string name;
    std::vector<tensor> initializers;
    std::string doc_string;
    std::vector<value_info> inputs;
    std::vector<value_info> outputs;

    void encode(protobuf::writer& out) const {
        for (const node& n : nodes) {
            protobuf::writer body;
            n.encode(body);
            out.message_field(1, body);
        }
        out.string_field(2, name);
        for (const tensor& t : initializers) {
            protobuf::writer body;
            t.encode(body);
            out.message_field(5, body);
        }
        if (!doc_string.empty()) out.string_field(10, doc_string);
        for (const value_info& v : inputs) {
            protobuf::writer body;
            v.encode(body);
            out.message_field(11, body);
        }
        for (const value_info& v : outputs) {
            protobuf::writer body;
            v.encode(body);
            out.message_field(12, body);
        }
    }
};

// OperatorSetIdProto: the empty domain is the default operator set, ai.onnx.
struct opset_id {
    std::string domain;
    std::int64_t version = 0;

    void encode(protobuf::writer& out) const {
        out.string_field(1, domain);
        out.int64_field(2, version);
    }
};

struct model {
    std::int64_t ir_version = 0;
    std::string producer_name;
    std::string producer_version;
    std::string doc_string;
    graph main_graph;
    std::vector<opset_id> opset_import;

    void encode(protobuf::writer& out) const {
        out.int64_field(1, ir_version);
        out.string_field(2, producer_name);
        out.string_field(3, producer_version);
        if (!doc_string.empty()) out.string_field(6, doc_string);
        protobuf::writer g;
        main_graph.encode(g);
        out.message_field(7, g);
        for (const opset_id& o : opset_import) {
            protobuf::writer body;
            o.encode(body);
            out.message_field(8, body);
        }
    }
    std::string serialize() const {
        protobuf::writer out;
        encode(out);
        return out.take();
    }
};

}  // namespace spore::io::onnx
