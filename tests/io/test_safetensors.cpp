// safetensors checkpoints (include/spore/io/safetensors.hpp): bit-exact round trips, the file
// layout, every kind of bad file (crafted byte by byte here), and the temporary file that
// protects the previous checkpoint. The JSON reader under them: tests/io/test_json.cpp.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <spore/io/safetensors.hpp>
#include <spore/nn/batch_norm.hpp>
#include <spore/nn/layers.hpp>

#include "../../examples/lenet/lenet5.hpp"
#include "../support/child_memory.hpp"

namespace fs = std::filesystem;
namespace nn = spore::nn;
using spore::shape;
using spore::tensor;

namespace {

struct Small {
    nn::Dense<3, 2> fc;  // weight [2, 3], bias [2]
    tensor<float, shape<4>> scale;
};

struct SmallDouble {
    nn::Dense<3, 2, double> fc;
    tensor<double, shape<4>> scale;
};

struct Normalised {  // buffers (running statistics) are state: saved and loaded, never trained
    spore::nn::Conv2d<1, 2, 3> conv;
    spore::nn::BatchNorm2d<2> bn;
};

struct Outer {  // nested cells, a scalar-shaped tensor
    Small block;
    tensor<float, shape<>> gain;
};

// A fresh directory, removed with everything in it at the end of the test.
struct scratch_dir {
    fs::path path;
    scratch_dir() {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("spore_test_safetensors_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
};

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s;
}

template <class T>
std::string raw(const std::vector<T>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A whole file: the length, the header as given (no padding), the data.
std::string craft(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape_json, std::uint64_t begin,
                  std::uint64_t end) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape_json + ",\"data_offsets\":[" +
           std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// A valid file for Small with its tensors stored in reverse order: scale, fc.bias, fc.weight.
const std::vector<float> weight_values{1, 2, 3, 4, 5, 6}, bias_values{-1, -2}, scale_values{0.5f, 0.25f, 8, 16};
std::string small_reversed() {
    const std::string header = "{" + entry("scale", "F32", "[4]", 0, 16) + "," + entry("fc.bias", "F32", "[2]", 16, 24) +
                               "," + entry("fc.weight", "F32", "[2,3]", 24, 48) + ",\"__metadata__\":{\"k\":\"v\"}}";
    return craft(header, raw(scale_values) + raw(bias_values) + raw(weight_values));
}

template <class C>
std::string parameter_bytes(const C& cell) {
    std::string bytes;
    nn::for_each_named_parameter(cell, [&](const std::string&, const auto& t) {
        bytes.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(t[0]));
    });
    return bytes;
}

template <class C>
std::string load_error(C& net, const std::string& path) {
    try {
        spore::load(net, path);
    } catch (const spore::checkpoint_error& e) {
        return e.what();
    }
    return "(no error)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("safetensors: LeNet-5 round trip is bit exact, keys are the field paths", "[io][safetensors]") {
    scratch_dir dir;
    const std::string path = dir.file("lenet.safetensors");
    LeNet5 net;
    spore::init(net, 1);
    net.fc3.bias[0] = std::numeric_limits<float>::quiet_NaN();  // any bit pattern survives
    net.fc3.bias[1] = -0.0f;
    net.fc3.bias[2] = std::numeric_limits<float>::denorm_min();
    net.fc3.bias[3] = -std::numeric_limits<float>::infinity();
    spore::save(net, path);

    LeNet5 other;
    spore::init(other, 2);
    REQUIRE(parameter_bytes(other) != parameter_bytes(net));
    spore::load(other, path);
    CHECK(parameter_bytes(other) == parameter_bytes(net));
    CHECK(dir.entries() == std::vector<std::string>{"lenet.safetensors"});  // no temporary left

    // the layout: 8-byte length, a space-padded header, the data at a multiple of 8
    const std::string bytes = read_bytes(path);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    CHECK((8 + n) % 8 == 0);
    const std::size_t data_size = nn::parameter_count(net) * sizeof(float);
    CHECK(bytes.size() == 8 + n + data_size);
    const std::string header = bytes.substr(8, n);
    CHECK(header.front() == '{');
    CHECK(header.find_last_not_of(' ') == header.find_last_of('}'));
    CHECK(contains(header, "\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[6,1,5,5],\"data_offsets\":[0,600]}"));
    CHECK(contains(header, "\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[120,400]"));  // [out, in], as torch.nn.Linear
    CHECK(contains(header, "\"__metadata__\":{\"format\":\"pt\"}"));
    CHECK(std::memcmp(bytes.data() + 8 + n, net.conv1.weight.data(), 600) == 0);

    const auto file = spore::io::read_safetensors(path);
    std::vector<std::string> keys;
    for (const auto& e : file.tensors) keys.push_back(e.name);
    CHECK(keys == std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                                           "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"});
    CHECK(file.find("conv2.weight")->shape == std::vector<std::uint64_t>{16, 6, 5, 5});
    CHECK(file.find("fc3.bias")->dtype == "F32");
    CHECK(file.metadata == spore::io::metadata{{"format", "pt"}});
}

TEST_CASE("safetensors: double cells are F64, nested cells and scalar tensors", "[io][safetensors]") {
    scratch_dir dir;
    SmallDouble a, b;
    a.fc.weight.fill_uniform(1);
    a.fc.bias.fill_uniform(2);
    a.scale.fill_uniform(3);
    spore::save(a, dir.file("d.safetensors"));
    spore::load(b, dir.file("d.safetensors"));
    CHECK(parameter_bytes(a) == parameter_bytes(b));
    CHECK(spore::io::read_safetensors(dir.file("d.safetensors")).find("fc.weight")->dtype == "F64");

    Outer o, p;
    o.block.fc.weight.fill_uniform(4);
    o.block.fc.bias.fill_uniform(5);
    o.block.scale.fill_uniform(6);
    o.gain[0] = 3.5f;
    spore::save(o, dir.file("o.safetensors"), {{"epoch", "7"}, {"note", "quote \" backslash \\ tab \t \xc3\xa9"}});
    spore::load(p, dir.file("o.safetensors"));
    CHECK(parameter_bytes(o) == parameter_bytes(p));
    const auto file = spore::io::read_safetensors(dir.file("o.safetensors"));
    CHECK(file.find("block.fc.bias") != nullptr);
    CHECK(file.find("gain")->shape.empty());
    CHECK(file.metadata ==
          spore::io::metadata{{"format", "pt"}, {"epoch", "7"}, {"note", "quote \" backslash \\ tab \t \xc3\xa9"}});
}

TEST_CASE("safetensors: BatchNorm2d's running statistics are saved and loaded with the parameters", "[io][safetensors]") {
    scratch_dir dir;
    Normalised a, b;
    spore::init(a, 1);
    a.bn.running_mean.value().fill_uniform(2);
    a.bn.running_var.value().fill_uniform(3, 0.5f, 2.0f);
    spore::save(a, dir.file("bn.safetensors"));
    const auto file = spore::io::read_safetensors(dir.file("bn.safetensors"));
    CHECK(file.find("bn.running_mean") != nullptr);
    CHECK(file.find("bn.running_var") != nullptr);
    CHECK(file.find("bn.weight") != nullptr);
    spore::load(b, dir.file("bn.safetensors"));
    CHECK(parameter_bytes(a) == parameter_bytes(b));
    for (std::size_t c = 0; c < 2; ++c) {
        CHECK(b.bn.running_mean[c] == a.bn.running_mean[c]);
        CHECK(b.bn.running_var[c] == a.bn.running_var[c]);
    }
}

TEST_CASE("safetensors: BatchNorm's num_batches_tracked is I64 of rank 0 after running_var, as PyTorch writes it",
          "[io][safetensors]") {
    scratch_dir dir;
    Normalised a, b;
    spore::init(a, 1);
    CHECK(a.bn.num_batches_tracked[0] == 0);
    a.bn.num_batches_tracked[0] = std::int64_t(1) << 40;  // more than 32 bits survive
    spore::save(a, dir.file("bn.safetensors"));
    const auto file = spore::io::read_safetensors(dir.file("bn.safetensors"));
    std::vector<std::string> keys;
    for (const auto& e : file.tensors) keys.push_back(e.name);
    CHECK(keys == std::vector<std::string>{"conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                           "bn.running_var", "bn.num_batches_tracked"});
    const auto* count = file.find("bn.num_batches_tracked");
    REQUIRE(count != nullptr);
    CHECK(count->dtype == "I64");
    CHECK(count->shape.empty());
    CHECK(count->end - count->begin == 8);
    spore::load(b, dir.file("bn.safetensors"));
    CHECK(b.bn.num_batches_tracked[0] == std::int64_t(1) << 40);
}

TEST_CASE("safetensors: non-strict loading reports missing and unexpected keys and loads the rest", "[io][safetensors]") {
    scratch_dir dir;
    const std::string path = dir.file("partial.safetensors");
    // fc.bias is missing; "extra" and "block.gain" are not the cell's
    write_bytes(path, craft("{" + entry("scale", "F32", "[4]", 0, 16) + "," + entry("extra", "F32", "[1]", 16, 20) + "," +
                                entry("fc.weight", "F32", "[2,3]", 20, 44) + "," + entry("block.gain", "I64", "[]", 44, 52) +
                                "}",
                            raw(scale_values) + "abcd" + raw(weight_values) + std::string(8, '\0')));
    Small net;
    net.fc.bias.fill(7.0f);
    const std::string before = parameter_bytes(net);
    CHECK(contains(load_error(net, path), "key \"fc.bias\" is missing (expected F32 [2])"));  // strict by default
    CHECK(parameter_bytes(net) == before);

    const spore::load_report report = spore::load(net, path, {.strict = false});
    CHECK(report.missing == std::vector<std::string>{"fc.bias"});
    CHECK(report.unexpected == std::vector<std::string>{"extra", "block.gain"});
    CHECK_FALSE(report.complete());
    CHECK(std::vector<float>(net.fc.weight.begin(), net.fc.weight.end()) == weight_values);
    CHECK(std::vector<float>(net.scale.begin(), net.scale.end()) == scale_values);
    CHECK(net.fc.bias[0] == 7.0f);  // missing: unchanged
    CHECK(net.fc.bias[1] == 7.0f);

    // a complete file: the report is empty, strict or not
    Small full;
    write_bytes(path, small_reversed());
    CHECK(spore::load(full, path).complete());
    CHECK(spore::load(full, path, {.strict = false}).complete());

    // a dtype or shape that differs is an error even when not strict, and nothing is loaded
    write_bytes(path, craft("{" + entry("fc.weight", "F32", "[3,2]", 0, 24) + "," + entry("scale", "F32", "[4]", 24, 40) + "}",
                            raw(weight_values) + raw(scale_values)));
    const std::string kept = parameter_bytes(full);
    try {
        spore::load(full, path, {.strict = false});
        FAIL("no error");
    } catch (const spore::checkpoint_error& e) {
        const std::string message = e.what();
        CHECK(contains(message, "key \"fc.weight\": expected shape [2, 3], found [3, 2]"));
        CHECK_FALSE(contains(message, "missing"));
    }
    CHECK(parameter_bytes(full) == kept);
}

TEST_CASE("safetensors: keys in another order, and a header JSON with whitespace, load", "[io][safetensors]") {
    scratch_dir dir;
    Small net;
    write_bytes(dir.file("r.safetensors"), small_reversed());
    spore::load(net, dir.file("r.safetensors"));
    CHECK(std::vector<float>(net.fc.weight.begin(), net.fc.weight.end()) == weight_values);
    CHECK(std::vector<float>(net.fc.bias.begin(), net.fc.bias.end()) == bias_values);
    CHECK(std::vector<float>(net.scale.begin(), net.scale.end()) == scale_values);

    const std::string spaced =
        "{ \"scale\" : { \"data_offsets\" : [ 0 , 16 ] , \"shape\" : [ 4 ] , \"dtype\" : \"F32\" } ,\n"
        "\t\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},\r\n" +
        entry("fc.weight", "F32", "[2,3]", 24, 48) + "}      ";
    Small again;
    write_bytes(dir.file("s.safetensors"), craft(spaced, raw(scale_values) + raw(bias_values) + raw(weight_values)));
    spore::load(again, dir.file("s.safetensors"));
    CHECK(parameter_bytes(again) == parameter_bytes(net));
}

TEST_CASE("safetensors: mismatches with the cell name the file, the key, expected and found", "[io][safetensors]") {
    scratch_dir dir;
    Small net;
    net.fc.weight.fill_uniform(1);
    net.fc.bias.fill_uniform(2);
    net.scale.fill_uniform(3);
    const std::string before = parameter_bytes(net);
    const std::string path = dir.file("m.safetensors");
    const std::string data48(48, '\x01');

    struct bad_case {
        const char* what;
        std::string header;
        std::string data;
        std::vector<std::string> expected;
    };
    const std::vector<bad_case> cases{
        {"missing key",
         "{" + entry("fc.weight", "F32", "[2,3]", 0, 24) + "," + entry("scale", "F32", "[4]", 24, 40) + "}",
         data48.substr(0, 40),
         {"key \"fc.bias\" is missing (expected F32 [2])"}},
        {"unexpected key",
         "{" + entry("fc.weight", "F32", "[2,3]", 0, 24) + "," + entry("fc.bias", "F32", "[2]", 24, 32) + "," +
             entry("scale", "F32", "[4]", 32, 48) + "," + entry("extra", "F32", "[1]", 48, 52) + "}",
         data48 + "abcd",
         {"unexpected key \"extra\" (F32 [1]), which the cell does not have"}},
        {"wrong dtype",
         "{" + entry("fc.weight", "F32", "[2,3]", 0, 24) + "," + entry("fc.bias", "F64", "[2]", 24, 40) + "," +
             entry("scale", "F32", "[4]", 40, 56) + "}",
         data48 + "12345678",
         {"key \"fc.bias\": expected dtype F32, found F64"}},
        {"wrong shape (transposed weight)",
         "{" + entry("fc.weight", "F32", "[3,2]", 0, 24) + "," + entry("fc.bias", "F32", "[2]", 24, 32) + "," +
             entry("scale", "F32", "[4]", 32, 48) + "}",
         data48,
         {"key \"fc.weight\": expected shape [2, 3], found [3, 2]"}},
        {"wrong rank",
         "{" + entry("fc.weight", "F32", "[2,3]", 0, 24) + "," + entry("fc.bias", "F32", "[2]", 24, 32) + "," +
             entry("scale", "F32", "[1,4]", 32, 48) + "}",
         data48,
         {"key \"scale\": expected shape [4], found [1, 4]"}},
        {"several problems at once",
         "{" + entry("fc.weight", "F32", "[2,3]", 0, 24) + "," + entry("other", "I32", "[2]", 24, 32) + "}",
         data48.substr(0, 32),
         {"key \"fc.bias\" is missing", "key \"scale\" is missing", "unexpected key \"other\" (I32 [2])"}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        write_bytes(path, craft(c.header, c.data));
        const std::string message = load_error(net, path);
        CAPTURE(message);
        CHECK(contains(message, path + ": "));
        for (const auto& part : c.expected) CHECK(contains(message, part));
        CHECK(parameter_bytes(net) == before);
    }

    // a double checkpoint into a float cell
    SmallDouble d;
    spore::save(d, path);
    const std::string message = load_error(net, path);
    CHECK(contains(message, "key \"fc.weight\": expected dtype F32, found F64"));
    CHECK(parameter_bytes(net) == before);
}

TEST_CASE("safetensors: malformed files are refused before the cell is touched", "[io][safetensors]") {
    scratch_dir dir;
    Small net;
    net.fc.weight.fill_uniform(1);
    net.fc.bias.fill_uniform(2);
    net.scale.fill_uniform(3);
    const std::string before = parameter_bytes(net);
    const std::string path = dir.file("bad.safetensors");
    const std::string data = raw(weight_values) + raw(bias_values) + raw(scale_values);
    const std::string w = entry("fc.weight", "F32", "[2,3]", 0, 24), b = entry("fc.bias", "F32", "[2]", 24, 32),
                      s = entry("scale", "F32", "[4]", 32, 48);
    const std::string good = "{" + w + "," + b + "," + s + "}";
    {  // the baseline is valid, so each case below fails for its own reason only
        Small ok;
        write_bytes(path, craft(good, data));
        spore::load(ok, path);
        CHECK(std::vector<float>(ok.scale.begin(), ok.scale.end()) == scale_values);
    }

    struct bad_case {
        const char* what;
        std::string bytes;
        std::string expected;
    };
    const std::string full = craft(good, data);
    const std::vector<bad_case> cases{
        {"empty file", "", "truncated: the file has 0 bytes"},
        {"shorter than the length field", std::string("\x10\0\0", 3), "truncated: the file has 3 bytes"},
        {"header length past the end", le64(1000) + good, "the header length 1000 runs past the end of the file"},
        {"header length over 100 MB", le64(200'000'000) + good, "the header length 200000000 is beyond the limit"},
        {"header length of 2^64 - 1", le64(UINT64_MAX) + good, "is beyond the limit of 100000000 bytes"},
        {"data cut short", full.substr(0, full.size() - 5),
         "key \"scale\": data_offsets [32, 48] run past the end of the data (43 bytes"},
        {"empty header", craft("", data), "malformed header: it must be a JSON object"},
        {"header not an object", craft("[1,2]", data), "malformed header: it must be a JSON object"},
        {"leading space", craft(" " + good, data), "malformed header: it must be a JSON object"},
        {"trailing comma", craft("{" + w + "," + b + "," + s + ",}", data), "malformed header JSON at byte"},
        {"missing brace", craft("{" + w + "," + b + "," + s, data), "expected ',' or '}' in an object"},
        {"unquoted key", craft("{" + w + ",fc:1}", data), "expected a key (a string), found 'f'"},
        {"text after the object", craft(good + "x", data), "unexpected 'x' after the JSON value"},
        {"two objects", craft(good + "{}", data), "after the JSON value"},
        {"bad escape", craft("{\"a\\q\":1}", data), "an unknown escape \\'q'"},
        {"invalid UTF-8", craft("{\"a\xff\":1}", data), "invalid UTF-8 (byte 0xff)"},
        {"overlong UTF-8", craft("{\"a\xc0\xaf\":1}", data), "invalid UTF-8"},
        {"control character", craft("{\"a\nb\":1}", data), "an unescaped control character"},
        {"lone surrogate", craft("{\"\\ud800\":1}", data), "a high surrogate without its low surrogate"},
        {"duplicate key", craft("{" + w + "," + b + "," + s + "," + b + "}", data), "duplicate key \"fc.bias\""},
        {"leading zero", craft("{" + entry("fc.weight", "F32", "[02,3]", 0, 24) + "}", data),
         "a number with a leading zero"},
        {"deep nesting", craft("{\"__metadata__\":" + std::string(100, '[') + std::string(100, ']') + "}", data),
         "nesting deeper than 64"},
        {"NUL padding", craft(good + std::string(3, '\0'), data), "unexpected byte 0x00 after the JSON value"},
        {"entry not an object", craft("{\"fc.weight\":[1,2]}", data),
         "key \"fc.weight\": expected an object with dtype, shape and data_offsets, found an array"},
        {"unknown field",
         craft("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],\"x\":1}}", data),
         "key \"fc.weight\": unexpected field \"x\""},
        {"no dtype", craft("{\"fc.weight\":{\"shape\":[2,3],\"data_offsets\":[0,24]}}", data),
         "key \"fc.weight\": no dtype"},
        {"dtype not a string", craft("{\"fc.weight\":{\"dtype\":4,\"shape\":[2,3],\"data_offsets\":[0,24]}}", data),
         "key \"fc.weight\": dtype: expected a string, found a number"},
        {"unknown dtype", craft("{" + entry("fc.weight", "F33", "[2,3]", 0, 24) + "}", data),
         "key \"fc.weight\": unknown dtype \"F33\""},
        {"no shape", craft("{\"fc.weight\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}}", data),
         "key \"fc.weight\": no shape"},
        {"negative extent", craft("{" + entry("fc.weight", "F32", "[-2,3]", 0, 24) + "}", data),
         "key \"fc.weight\": shape: expected non-negative integers, found -2"},
        {"fractional extent", craft("{" + entry("fc.weight", "F32", "[2.0,3]", 0, 24) + "}", data),
         "shape: expected non-negative integers, found 2.0"},
        {"extent overflow", craft("{" + entry("fc.weight", "F32", "[18446744073709551616]", 0, 24) + "}", data),
         "shape: expected non-negative integers, found 18446744073709551616"},
        {"shape too large", craft("{" + entry("fc.weight", "F32", "[4294967296,4294967296]", 0, 24) + "}", data),
         "key \"fc.weight\": shape [4294967296, 4294967296] is too large"},
        {"no data_offsets", craft("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3]}}", data),
         "key \"fc.weight\": no data_offsets"},
        {"three offsets", craft("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24,48]}}", data),
         "data_offsets: expected [begin, end]"},
        {"end before begin", craft("{" + entry("fc.weight", "F32", "[2,3]", 24, 0) + "}", data),
         "key \"fc.weight\": data_offsets [24, 0] end before they begin"},
        {"offsets and shape disagree", craft("{" + entry("fc.weight", "F32", "[2,3]", 0, 20) + "}", data),
         "key \"fc.weight\": data_offsets [0, 20] hold 20 bytes, but shape [2, 3] of F32 needs 24"},
        {"overlap",
         craft("{" + w + "," + entry("fc.bias", "F32", "[2]", 20, 28) + "," + entry("scale", "F32", "[4]", 28, 44) + "}",
               data.substr(0, 44)),
         "key \"fc.bias\": data_offsets [20, 28] overlap those of \"fc.weight\" [0, 24]"},
        {"hole in the middle",
         craft("{" + w + "," + entry("fc.bias", "F32", "[2]", 28, 36) + "," + entry("scale", "F32", "[4]", 36, 52) + "}",
               data + "0000"),
         "bytes 24 to 28 of the data belong to no tensor (a hole before \"fc.bias\")"},
        {"hole at the start", craft("{" + entry("fc.weight", "F32", "[2,3]", 8, 32) + "}", data.substr(0, 32)),
         "bytes 0 to 8 of the data belong to no tensor"},
        {"bytes after the last tensor", craft(good, data + "tail"),
         "bytes 48 to 52 of the data belong to no tensor (the file is longer than its tensors)"},
        {"offsets past the end", craft("{" + w + "," + b + "," + s + "}", data.substr(0, 40)),
         "key \"scale\": data_offsets [32, 48] run past the end of the data (40 bytes after the header)"},
        {"metadata not an object", craft("{\"__metadata__\":[]," + w + "," + b + "," + s + "}", data),
         "__metadata__: expected an object of strings, found an array"},
        {"metadata value not a string", craft("{\"__metadata__\":{\"epoch\":3}," + w + "," + b + "," + s + "}", data),
         "__metadata__: \"epoch\": expected a string, found a number"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        write_bytes(path, c.bytes);
        const std::string message = load_error(net, path);
        CAPTURE(message);
        CHECK(contains(message, path + ": "));
        CHECK(contains(message, c.expected));
        CHECK(parameter_bytes(net) == before);
    }
    const std::string missing = load_error(net, dir.file("absent.safetensors"));
    CHECK(contains(missing, dir.file("absent.safetensors") + ": cannot read the file"));
    CHECK(parameter_bytes(net) == before);
}

TEST_CASE("safetensors: a failed save leaves the previous checkpoint intact", "[io][safetensors]") {
    scratch_dir dir;
    const std::string path = dir.file("net.safetensors");
    LeNet5 first, second;
    spore::init(first, 1);
    spore::init(second, 2);
    spore::save(first, path);
    const std::string old_bytes = read_bytes(path);

    SECTION("saving over it replaces it") {
        spore::save(second, path);
        LeNet5 loaded;
        spore::load(loaded, path);
        CHECK(parameter_bytes(loaded) == parameter_bytes(second));
        CHECK(dir.entries() == std::vector<std::string>{"net.safetensors"});
    }
    SECTION("a write that fails part way (file size limit): the error names the file, no temporary is left") {
        rlimit saved{};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
        auto* previous = std::signal(SIGXFSZ, SIG_IGN);  // so write() reports EFBIG instead of a signal
        rlimit small = saved;
        small.rlim_cur = 4096;  // far below LeNet's 247 kB
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        std::string message = "(no error)";
        try {
            spore::save(second, path);
        } catch (const spore::checkpoint_error& e) {
            message = e.what();
        }
        ::setrlimit(RLIMIT_FSIZE, &saved);
        std::signal(SIGXFSZ, previous);
        CAPTURE(message);
        CHECK(contains(message, path + ": writing "));
        CHECK(contains(message, "File too large"));
        CHECK(read_bytes(path) == old_bytes);
        CHECK(dir.entries() == std::vector<std::string>{"net.safetensors"});
    }
    SECTION("the target is a directory: the rename fails, the temporary is removed") {
        const std::string target = dir.file("adir");
        fs::create_directory(target);
        fs::create_directory(target + "/inside");  // not empty, so rename() cannot replace it
        CHECK_THROWS_WITH(spore::save(second, target), Catch::Contains(target + ": cannot replace the file"));
        CHECK(dir.entries() == std::vector<std::string>{"adir", "net.safetensors"});
        CHECK(read_bytes(path) == old_bytes);
    }
    SECTION("a missing directory") {
        const std::string target = dir.file("no/such/dir/x.safetensors");
        CHECK_THROWS_WITH(spore::save(second, target),
                          Catch::Contains(target + ": cannot create the temporary file") && Catch::Contains("No such file"));
    }
    SECTION("a read-only directory") {
        // root writes anywhere, so as root the save runs as the user nobody (the effective id only)
        const bool as_root = ::geteuid() == 0;
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                      fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec,
                        fs::perm_options::replace);
        if (as_root && ::seteuid(65534) != 0) {
            WARN("running as root and cannot switch to the user nobody: case skipped");
        } else {
            std::string message = "(no error)";
            try {
                spore::save(second, path);
            } catch (const spore::checkpoint_error& e) {
                message = e.what();
            }
            if (as_root) REQUIRE(::seteuid(0) == 0);
            CAPTURE(message);
            CHECK(contains(message, path + ": cannot create the temporary file"));
            CHECK(contains(message, "Permission denied"));
        }
        fs::permissions(dir.path, fs::perms::owner_all, fs::perm_options::replace);
        CHECK(read_bytes(path) == old_bytes);
        CHECK(dir.entries() == std::vector<std::string>{"net.safetensors"});
    }
    SECTION("invalid metadata is refused before anything is written") {
        CHECK_THROWS_WITH(spore::save(second, path, {{"note", "\xff"}}), Catch::Contains("would not be valid JSON"));
        CHECK_THROWS_WITH(spore::save(second, path, {{"a", "1"}, {"a", "2"}}),
                          Catch::Contains("the metadata key \"a\" is given twice"));
        CHECK(read_bytes(path) == old_bytes);
        CHECK(dir.entries() == std::vector<std::string>{"net.safetensors"});
    }
}

TEST_CASE("safetensors: saving to a symbolic link replaces the file it leads to and keeps the link",
          "[io][safetensors]") {
    scratch_dir dir;
    fs::create_directory(dir.path / "epoch_3");
    const std::string real = dir.file("epoch_3/net.safetensors"), link = dir.file("latest.safetensors");
    LeNet5 first, second, loaded;
    spore::init(first, 1);
    spore::init(second, 2);
    spore::save(first, real);
    fs::create_symlink("epoch_3/net.safetensors", link);
    spore::save(second, link);
    CHECK(fs::is_symlink(link));
    spore::load(loaded, real);
    CHECK(parameter_bytes(loaded) == parameter_bytes(second));
    CHECK(dir.entries() == std::vector<std::string>{"epoch_3", "latest.safetensors"});
}

TEST_CASE("safetensors: writing to a stream gives the file's bytes, a failing stream throws", "[io][safetensors]") {
    scratch_dir dir;
    Small net;
    net.fc.weight.fill_uniform(1);
    net.fc.bias.fill_uniform(2);
    net.scale.fill_uniform(3);
    spore::save(net, dir.file("n.safetensors"), {{"epoch", "1"}});
    std::ostringstream out;
    spore::io::write_safetensors(out, net, {{"epoch", "1"}});
    CHECK(out.str() == read_bytes(dir.file("n.safetensors")));

    std::ostringstream failing;
    failing.setstate(std::ios::badbit);
    CHECK_THROWS_AS(spore::io::write_safetensors(failing, net), spore::checkpoint_error);
}

TEST_CASE("safetensors: copy_tensor reads single tensors with the same checks", "[io][safetensors]") {
    scratch_dir dir;
    write_bytes(dir.file("r.safetensors"), small_reversed());
    const auto file = spore::io::read_safetensors(dir.file("r.safetensors"));
    CHECK(file.metadata == spore::io::metadata{{"k", "v"}});
    tensor<float, shape<2, 3>> w;
    spore::io::copy_tensor(file, "fc.weight", w);
    CHECK(std::vector<float>(w.begin(), w.end()) == weight_values);
    tensor<float, shape<3, 2>> wrong;
    CHECK_THROWS_WITH(spore::io::copy_tensor(file, "fc.weight", wrong),
                      Catch::Contains("key \"fc.weight\": expected shape [3, 2], found [2, 3]"));
    tensor<double, shape<2, 3>> wide;
    CHECK_THROWS_WITH(spore::io::copy_tensor(file, "fc.weight", wide), Catch::Contains("expected dtype F64, found F32"));
    CHECK_THROWS_WITH(spore::io::copy_tensor(file, "nope", w), Catch::Contains("key \"nope\" is missing"));
}

// ---------------------------------------------------------------------------------------------
// The fuzzing finds of issue 18 (../shared/bad-inputs/safetensors/make.py), made here at a
// smaller size: memory a small multiple of the header, and load() reads no data before the
// keys match.
// ---------------------------------------------------------------------------------------------
namespace {

using spore::detail::concat;

// AddressSanitizer's redzones and quarantine of freed blocks add to the peak: the memory bounds
// are checked in the other builds.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool under_address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool under_address_sanitizer = true;
#else
constexpr bool under_address_sanitizer = false;
#endif
#else
constexpr bool under_address_sanitizer = false;
#endif

std::string error_type(const std::exception& e) {
    if (dynamic_cast<const spore::checkpoint_error*>(&e)) return "checkpoint_error";
    if (dynamic_cast<const std::bad_alloc*>(&e)) return "bad_alloc";
    return typeid(e).name();
}

// A file of `header` padded to 8 bytes, then `data_bytes` of data (a hole: sparse on disk).
void write_header_file(const std::string& path, std::string header, std::uint64_t data_bytes) {
    header.append((8 - header.size() % 8) % 8, ' ');
    write_bytes(path, le64(header.size()) + header);
    if (data_bytes > 0) fs::resize_file(path, 8 + header.size() + data_bytes);
}

std::string many(const std::string& first, std::size_t bytes, const std::function<std::string(std::size_t)>& item,
                 const std::string& last) {
    std::string text = first;
    for (std::size_t i = 0; text.size() < bytes; ++i) {
        if (i) text += ',';
        text += item(i);
    }
    return text + last;
}

}  // namespace

TEST_CASE("safetensors: a header costs a small multiple of its size, and no tree of JSON values",
          "[io][safetensors][bad-inputs]") {
    scratch_dir dir;
    const std::size_t size = 4'000'000;
    struct form {
        const char* what;
        std::string header;
        std::string expected;
        double load_factor, read_factor;  // peak memory over the header's size, at most
    };
    const std::vector<form> forms{
        // st35 at 4 MB: an array of zeros in __metadata__ took 59 times the header (5.9 GB for 100 MB)
        {"an array of small numbers", many("{\"__metadata__\":{\"x\":[", size, [](std::size_t) { return "0"; }, "]}}"),
         "__metadata__: \"x\": expected a string, found an array", 1.6, 1.6},
        {"many metadata strings",
         many("{\"__metadata__\":{", size, [](std::size_t i) { return concat({'"', i, "\":\"\""}); }, "}}"),
         "key \"fc.weight\" is missing", 3, 12},  // read_safetensors keeps them: 64 bytes a pair
        {"many escaped keys",
         many("{\"__metadata__\":{", size, [](std::size_t i) { return concat({"\"\\u00e9", i, "\":\"\""}); }, "}}"),
         "key \"fc.weight\" is missing", 3, 12},
        {"many entries",
         many("{", size,
              [](std::size_t i) { return concat({"\"t", i, "\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}"}); },
              "}"),
         "unexpected key \"t0\" (U8 [0]), which the cell does not have", 6, 6},
        {"a shape of a million extents",
         many("{\"x\":{\"dtype\":\"U8\",\"shape\":[", size, [](std::size_t) { return "0"; }, "],\"data_offsets\":[0,0]}}"),
         "key \"x\": shape: more than 64 extents", 1.6, 1.6},
    };
    for (const auto& f : forms) {
        CAPTURE(f.what);
        const std::string path = dir.file("big.safetensors");
        write_header_file(path, f.header, 0);
        const double header_mb = static_cast<double>(f.header.size()) / (1 << 20);
        Small net;
        const auto loaded = spore_test::run_in_child([&] { spore::load(net, path); }, error_type);
        CAPTURE(loaded.message.substr(0, 300), loaded.peak_mb, header_mb);
        REQUIRE(loaded.exited);
        CHECK(loaded.error_type == "checkpoint_error");
        CHECK(contains(loaded.message, f.expected));
        if (!under_address_sanitizer) CHECK(loaded.peak_mb < f.load_factor * header_mb + 4);
        CHECK(loaded.message.size() < 4000);  // the first 20 problems, then "and N more"
        const auto read = spore_test::run_in_child([&] { (void)spore::io::read_safetensors(path); }, error_type);
        CAPTURE(read.peak_mb);
        REQUIRE(read.exited);
        if (!under_address_sanitizer) CHECK(read.peak_mb < f.read_factor * header_mb + 4);
    }
}

TEST_CASE("safetensors: running out of memory while reading a header is a checkpoint_error",
          "[io][safetensors][bad-inputs]") {
    if (under_address_sanitizer) {
        WARN("skipped: an address-space limit and AddressSanitizer's shadow memory do not mix");
        return;
    }
    scratch_dir dir;
    const std::string path = dir.file("meta.safetensors");
    // 8 MB of metadata pairs: read_safetensors keeps them, about 64 bytes each (~100 MB)
    write_header_file(path, many("{\"__metadata__\":{", 8'000'000, [](std::size_t i) { return concat({'"', i, "\":\"\""}); }, "}}"), 0);
    const auto outcome = spore_test::run_in_child(
        [&] {
            long pages = 0;
            if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
                if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
                std::fclose(f);
            }
            rlimit limit{};
            limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(pages) * ::sysconf(_SC_PAGESIZE) + (48 << 20);
            ::setrlimit(RLIMIT_AS, &limit);
            (void)spore::io::read_safetensors(path);
        },
        error_type);
    INFO(outcome.message);
    REQUIRE(outcome.exited);
    CHECK(outcome.error_type == "checkpoint_error");
    CHECK(contains(outcome.message, "out of memory while reading the"));
}

TEST_CASE("safetensors: load checks the keys before reading any data (a sparse 4 GiB file)",
          "[io][safetensors][bad-inputs]") {
    scratch_dir dir;
    const std::string path = dir.file("sparse.safetensors");
    // st37: one unexpected U8 tensor of 4 GiB, a hole on disk; it was read whole (4.2 GB, 24 s)
    const std::uint64_t t = std::uint64_t(4) << 30;
    write_header_file(path, "{\"x\":{\"dtype\":\"U8\",\"shape\":[" + std::to_string(t) + "],\"data_offsets\":[0," +
                                std::to_string(t) + "]}}",
                      t);
    Small net;
    const std::string before = parameter_bytes(net);
    const auto start = std::chrono::steady_clock::now();
    const auto outcome = spore_test::run_in_child([&] { spore::load(net, path); }, error_type);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(outcome.message);
    REQUIRE(outcome.exited);
    CHECK(outcome.error_type == "checkpoint_error");
    CHECK(contains(outcome.message, "unexpected key \"x\" (U8 [4294967296]), which the cell does not have"));
    if (!under_address_sanitizer) CHECK(outcome.peak_mb < 16);
    CHECK(seconds < 3);  // was 24 s
    CHECK(parameter_bytes(net) == before);

    // the right keys with the data far into the file: only the cell's bytes are read
    Small saved;
    saved.fc.weight.fill_uniform(4);
    saved.fc.bias.fill_uniform(5);
    saved.scale.fill_uniform(6);
    const std::string pad = "{\"__metadata__\":{\"pad\":\"" + std::string(1 << 20, 'p') + "\"}," +
                            entry("fc.weight", "F32", "[2,3]", 0, 24) + "," + entry("fc.bias", "F32", "[2]", 24, 32) +
                            "," + entry("scale", "F32", "[4]", 32, 48) + "}";
    write_bytes(path, craft(pad, parameter_bytes(saved)));
    const auto good = spore_test::run_in_child(
        [&] {
            spore::load(net, path);
            if (parameter_bytes(net) != parameter_bytes(saved)) throw std::runtime_error("the values differ");
        },
        error_type);
    INFO(good.message);
    CHECK(good.error_type == "none");
    if (!under_address_sanitizer) CHECK(good.peak_mb < 16);
}
