// The protobuf wire-format writer and the ONNX messages, against bytes worked out by hand from
// the encoding rules (https://protobuf.dev/programming-guides/encoding/) and onnx.proto.
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <spore/io/onnx_proto.hpp>
#include <spore/io/protobuf.hpp>

namespace {

using spore::io::protobuf::wire_type;
using spore::io::protobuf::writer;

std::string bytes(std::initializer_list<unsigned> values) {
    std::string out;
    for (unsigned v : values) out.push_back(static_cast<char>(v));
    return out;
}

std::string varint(std::uint64_t value) {
    writer w;
    w.raw_varint(value);
    return w.take();
}

}  // namespace

TEST_CASE("protobuf: varints take 7 bits a byte, low group first, high bit set on all but the last") {
    CHECK(varint(0) == bytes({0x00}));
    CHECK(varint(1) == bytes({0x01}));
    CHECK(varint(127) == bytes({0x7f}));
    CHECK(varint(128) == bytes({0x80, 0x01}));
    CHECK(varint(300) == bytes({0xac, 0x02}));
    CHECK(varint(16384) == bytes({0x80, 0x80, 0x01}));
    CHECK(varint(std::uint64_t(1) << 63) == bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}));
    CHECK(varint(std::numeric_limits<std::uint64_t>::max()) ==
          bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST_CASE("protobuf: a tag is the field number shifted past the 3-bit wire type") {
    writer w;
    w.tag(1, wire_type::varint);
    w.tag(2, wire_type::length_delimited);
    w.tag(4, wire_type::fixed32);
    w.tag(1, wire_type::fixed64);
    w.tag(20, wire_type::varint);  // 160: two bytes
    CHECK(w.bytes() == bytes({0x08, 0x12, 0x25, 0x09, 0xa0, 0x01}));
}

TEST_CASE("protobuf: negative int64 and int32 are ten-byte varints of the two's complement") {
    writer w;
    w.int64_field(1, -1);
    CHECK(w.bytes() == bytes({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
    writer w2;
    w2.int64_field(1, -2);
    CHECK(w2.bytes() == bytes({0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
    writer w3;
    w3.int32_field(2, -1);  // sign-extended, not 5 bytes
    CHECK(w3.bytes() == bytes({0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
    writer w4;
    w4.int64_field(1, std::numeric_limits<std::int64_t>::min());
    CHECK(w4.bytes() == bytes({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}));
    writer w5;
    w5.int64_field(3, 150);
    w5.bool_field(4, true);
    CHECK(w5.bytes() == bytes({0x18, 0x96, 0x01, 0x20, 0x01}));
}

TEST_CASE("protobuf: floats and doubles are fixed-width little-endian") {
    writer w;
    w.float_field(2, 1.0f);
    w.float_field(2, -2.5f);
    w.double_field(1, 1.0);
    CHECK(w.bytes() == bytes({0x15, 0x00, 0x00, 0x80, 0x3f, 0x15, 0x00, 0x00, 0x20, 0xc0,  //
                              0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f}));
}

TEST_CASE("protobuf: strings and nested messages are length-delimited") {
    writer w;
    w.string_field(2, "hi");
    w.string_field(3, "");
    CHECK(w.bytes() == bytes({0x12, 0x02, 'h', 'i', 0x1a, 0x00}));

    writer inner;  // the encoding guide's example: field 1 = 150, nested as field 3
    inner.uint64_field(1, 150);
    writer outer;
    outer.message_field(3, inner);
    CHECK(outer.bytes() == bytes({0x1a, 0x03, 0x08, 0x96, 0x01}));

    writer long_string;  // a length past 127 takes a two-byte varint
    long_string.bytes_field(1, std::string(300, 'x'));
    CHECK(long_string.size() == 1 + 2 + 300);
    CHECK(long_string.bytes().substr(0, 3) == bytes({0x0a, 0xac, 0x02}));
    CHECK(long_string.bytes().substr(3) == std::string(300, 'x'));
}

TEST_CASE("protobuf: packed repeated fields are one record of the values back to back") {
    const std::vector<float> floats{1.0f, -2.5f};
    writer w;
    w.packed_float_field(4, floats);
    CHECK(w.bytes() == bytes({0x22, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0}));

    const std::vector<std::int64_t> ints{3, 270, -1};
    writer wi;
    wi.packed_int64_field(7, ints);
    CHECK(wi.bytes() == bytes({0x3a, 0x0d, 0x03, 0x8e, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));

    const std::vector<double> doubles{-1.0};
    writer wd;
    wd.packed_double_field(10, doubles);
    CHECK(wd.bytes() == bytes({0x52, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0xbf}));

    writer empty;  // protoc writes no record for an empty packed list
    empty.packed_float_field(4, std::vector<float>{});
    empty.packed_int64_field(7, std::vector<std::int64_t>{});
    CHECK(empty.bytes().empty());
}

TEST_CASE("onnx messages: attributes, tensors, value infos, nodes and opsets by their onnx.proto field numbers") {
    using namespace spore::io::onnx;
    {
        writer w;  // name = 1, i = 3, type = 20 (INT = 2)
        attribute::integer("axis", 1).encode(w);
        CHECK(w.bytes() == bytes({0x0a, 0x04, 'a', 'x', 'i', 's', 0x18, 0x01, 0xa0, 0x01, 0x02}));
    }
    {
        writer w;  // ints = 8, unpacked as protoc writes proto2 repeated scalars; INTS = 7
        attribute::integers("perm", {1, 0}).encode(w);
        CHECK(w.bytes() == bytes({0x0a, 0x04, 'p', 'e', 'r', 'm', 0x40, 0x01, 0x40, 0x00, 0xa0, 0x01, 0x07}));
    }
    {
        writer w;  // f = 2 (fixed32), FLOAT = 1; s = 4, STRING = 3
        attribute::real("alpha", 0.5f).encode(w);
        attribute::text("mode", "ab").encode(w);
        CHECK(w.bytes() == bytes({0x0a, 0x05, 'a', 'l', 'p', 'h', 'a', 0x15, 0x00, 0x00, 0x00, 0x3f, 0xa0, 0x01, 0x01,
                                  0x0a, 0x04, 'm', 'o', 'd', 'e', 0x22, 0x02, 'a', 'b', 0xa0, 0x01, 0x03}));
    }
    {
        writer w;  // dims = 1, data_type = 2, name = 8, raw_data = 9
        tensor t;
        t.dims = {2};
        t.type = data_type::float32;
        t.name = "w";
        t.raw_data = bytes({0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40});
        t.encode(w);
        CHECK(w.bytes() == bytes({0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 'w', 0x4a, 0x08,  //
                                  0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40}));
    }
    {
        writer w;  // int64_data = 7, packed
        tensor t;
        t.dims = {2};
        t.type = data_type::int64;
        t.int64_data = {0, -1};
        t.name = "s";
        t.encode(w);
        CHECK(w.bytes() == bytes({0x08, 0x02, 0x10, 0x07, 0x3a, 0x0b, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0x01, 0x42, 0x01, 's'}));
    }
    {
        // ValueInfoProto{name = 1, type = 2: TypeProto{tensor_type = 1: {elem_type = 1,
        // shape = 2: TensorShapeProto{dim = 1: {dim_param = 2 | dim_value = 1}}}}}
        writer w;
        value_info{"x", data_type::float32, {{std::nullopt, "N"}, {3, {}}}}.encode(w);
        CHECK(w.bytes() == bytes({0x0a, 0x01, 'x', 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09,  //
                                  0x0a, 0x03, 0x12, 0x01, 'N', 0x0a, 0x02, 0x08, 0x03}));
    }
    {
        writer w;  // input = 1, output = 2, name = 3, op_type = 4, attribute = 5
        node n;
        n.inputs = {"a", "b"};
        n.outputs = {"c"};
        n.name = "n";
        n.op_type = "Add";
        n.attributes = {attribute::integer("k", 2)};
        n.encode(w);
        CHECK(w.bytes() == bytes({0x0a, 0x01, 'a', 0x0a, 0x01, 'b', 0x12, 0x01, 'c', 0x1a, 0x01, 'n', 0x22, 0x03, 'A',
                                  'd', 'd', 0x2a, 0x08, 0x0a, 0x01, 'k', 0x18, 0x02, 0xa0, 0x01, 0x02}));
    }
    {
        writer w;  // domain = 1, version = 2
        opset_id{"", 13}.encode(w);
        CHECK(w.bytes() == bytes({0x0a, 0x00, 0x10, 0x0d}));
    }
    {
        // ModelProto{ir_version = 1, producer_name = 2, producer_version = 3, graph = 7,
        // opset_import = 8}; GraphProto{node = 1, name = 2, initializer = 5, input = 11, output = 12}
        model m;
        m.ir_version = 7;
        m.producer_name = "p";
        m.producer_version = "1";
        m.main_graph.name = "g";
        m.opset_import = {{"", 13}};
        CHECK(m.serialize() == bytes({0x08, 0x07, 0x12, 0x01, 'p', 0x1a, 0x01, '1', 0x3a, 0x03, 0x12, 0x01, 'g', 0x42,
                                      0x04, 0x0a, 0x00, 0x10, 0x0d}));
    }
}
