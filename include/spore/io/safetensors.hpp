#pragma once
// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), the one
// PyTorch users load with safetensors.torch.load_file:
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   a JSON object: {"__metadata__": {"k": "v", ...},
//             "conv1.weight": {"dtype": "F32", "shape": [6, 1, 5, 5], "data_offsets": [0, 600]}, ...}
//             padded with spaces so the data starts at a multiple of 8
//   the data  each tensor row-major, little-endian, at its offsets (relative to the data start)
//
// spore::save(cell, path) writes every tensor of the cell under its field path (conv1.weight,
// block.conv.bias), in field order; layouts are PyTorch's (Dense weight [out, in], Conv2d
// weight [out, in, kh, kw]), so a state_dict loads unchanged. The file is written through
// io::atomic_file (a temporary in the same directory, flushed to disk and renamed over
// `path`): a save that fails leaves the previous checkpoint as it was.
//
// spore::load(cell, path) is strict: a missing or unexpected key, another dtype or shape, and
// any malformed file (truncated, header length past the end or over 100 MB, bad JSON, offsets
// that overlap, leave holes or run past the end) throw spore::checkpoint_error naming the file,
// the key and what was expected and found. The header is checked whole, and every entry's
// name, dtype and shape against the cell, before any tensor data is read; then only the
// bytes of the cell's tensors are read, and written to the cell once all of them are in, so
// the cell is unchanged when loading fails. Reading a header costs its size plus the entries
// kept (not a tree of JSON values), and running out of memory is a checkpoint_error too.
// spore::load(cell, path, {.strict = false}) loads the keys both have and returns the missing
// and unexpected ones.

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spore/core/error.hpp>
#include <spore/core/tensor.hpp>
#include <spore/core/text.hpp>
#include <spore/io/atomic_file.hpp>
#include <spore/io/json.hpp>
#include <spore/nn/field_names.hpp>

#if !defined(_WIN32)
#include <sys/types.h>  // off_t, for fseeko
#endif

namespace spore {

struct checkpoint_error : error {
    using error::error;
};

// How spore::load matches the file's keys with the cell's.
struct load_options {
    bool strict = true;  // a missing or unexpected key is an error
};

// What a load did not match: the cell's keys the file lacks (their tensors are unchanged) and
// the file's keys the cell lacks (ignored), in the cell's and the file's order. Both are empty
// after a strict load.
struct load_report {
    std::vector<std::string> missing, unexpected;
    bool complete() const noexcept { return missing.empty() && unexpected.empty(); }
};

namespace io {

// Key-value strings of the header's "__metadata__", in order.
using metadata = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::uint64_t safetensors_max_header = 100'000'000;
// More extents than this in a shape is refused (PyTorch allows at most 64 dimensions too).
inline constexpr std::size_t safetensors_max_rank = 64;

// The element size of a safetensors dtype, or 0 when the name is not one.
inline std::size_t dtype_size(std::string_view dtype) {
    static constexpr std::pair<std::string_view, std::size_t> sizes[] = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
        {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},    {"U32", 4},     {"F32", 4},
        {"I64", 8},  {"U64", 8}, {"F64", 8}};
    for (const auto& [name, size] : sizes)
        if (name == dtype) return size;
    return 0;
}

template <class T>
constexpr std::string_view dtype_name() {
    if constexpr (std::is_same_v<T, float>) return "F32";
    else if constexpr (std::is_same_v<T, double>) return "F64";
    else if constexpr (std::is_same_v<T, std::int64_t>) return "I64";  // BatchNorm's num_batches_tracked
    else static_assert(sizeof(T) == 0, "spore checkpoints: tensors of float (F32), double (F64) or int64 (I64) only");
}

struct safetensors_entry {
    std::string name;
    std::string dtype;
    std::vector<std::uint64_t> shape;
    std::uint64_t begin = 0, end = 0;  // byte offsets in the data
};

// A whole safetensors file, checked against the format: every entry's bytes lie in `data`,
// which they cover exactly, without overlap.
struct safetensors_file {
    std::string path;
    io::metadata metadata;
    std::vector<safetensors_entry> tensors;  // in header order
    std::vector<unsigned char> data;

    const safetensors_entry* find(std::string_view name) const {
        for (const auto& entry : tensors)
            if (entry.name == name) return &entry;
        return nullptr;
    }
};

namespace safetensors_detail {

using spore::detail::append;
using spore::detail::concat;
using spore::detail::joined;

inline std::string shape_text(const std::vector<std::uint64_t>& shape) { return concat({'[', joined(shape), ']'}); }

inline std::string quote_key(std::string_view key) { return json::quote(key); }

[[noreturn]] inline void fail(const std::string& path, const std::string& problem) {
    throw checkpoint_error(concat({path, ": ", problem}));
}

inline std::string system_message() { return std::strerror(errno); }

template <class T>
void copy_little_endian(T* out, const unsigned char* bytes, std::size_t count) {
    std::memcpy(out, bytes, count * sizeof(T));
    if constexpr (std::endian::native == std::endian::big) {
        auto* raw = reinterpret_cast<unsigned char*>(out);
        for (std::size_t i = 0; i < count; ++i) std::reverse(raw + i * sizeof(T), raw + (i + 1) * sizeof(T));
    }
}

// One tensor of a cell, without its type: what the non-template reading and writing need.
struct tensor_slot {
    std::string name;
    std::string_view dtype;
    std::size_t element_size;
    std::vector<std::uint64_t> shape;
    void* data;
    std::size_t count;
    void (*read)(void* out, const unsigned char* bytes, std::size_t count);
};

template <class C>
std::vector<tensor_slot> tensor_slots(C& cell) {
    static_assert(nn::walkable_v<std::remove_const_t<C>>,
                  "spore checkpoints: the argument must be a cell (an aggregate struct of layers and tensors)");
    std::vector<tensor_slot> slots;
    nn::for_each_named_state(cell, [&](const std::string& name, auto& t) {
        using T = typename std::remove_cvref_t<decltype(t)>::value_type;
        std::vector<std::uint64_t> shape(t.rank);
        for (std::size_t axis = 0; axis < t.rank; ++axis) shape[axis] = t.extent(axis);
        slots.push_back({name, dtype_name<T>(), sizeof(T), std::move(shape),
                         const_cast<void*>(static_cast<const void*>(t.data())), t.size(),
                         [](void* out, const unsigned char* bytes, std::size_t count) {
                             copy_little_endian(static_cast<T*>(out), bytes, count);
                         }});
    });
    return slots;
}

// The header, padded with spaces so that 8 + its length is a multiple of 8.
inline std::string make_header(const std::vector<tensor_slot>& slots, const io::metadata& extra) {
    io::metadata meta{{"format", "pt"}};  // what PyTorch tools look for: PyTorch's layouts
    for (std::size_t i = 0; i < extra.size(); ++i) {
        const auto& [key, val] = extra[i];
        for (std::size_t j = 0; j < i; ++j)
            if (extra[j].first == key)
                throw checkpoint_error(concat({"spore::save: the metadata key ", quote_key(key), " is given twice"}));
        if (key == "format") meta[0].second = val;
        else meta.emplace_back(key, val);
    }
    std::string header = "{\"__metadata__\":{";
    for (std::size_t i = 0; i < meta.size(); ++i)
        append(header, {i ? "," : "", json::quote(meta[i].first), ":", json::quote(meta[i].second)});
    header += "}";
    std::uint64_t offset = 0;
    for (const auto& slot : slots) {
        if (slot.name == "__metadata__") throw checkpoint_error("spore::save: a tensor may not be named __metadata__");
        const std::uint64_t bytes = slot.count * slot.element_size;
        append(header, {",", json::quote(slot.name), ":{\"dtype\":\"", slot.dtype, "\",\"shape\":[", joined(slot.shape, ","),
               "],\"data_offsets\":[", offset, ",", offset + bytes, "]}"});
        offset += bytes;
    }
    header += "}";
    // never write what cannot be read back (metadata that is not UTF-8, say)
    try {
        json::parse(header);
    } catch (const json_error& e) {
        throw checkpoint_error(concat({"spore::save: the header would not be valid JSON (", e.what(), ")"}));
    }
    header.append((8 - header.size() % 8) % 8, ' ');
    return header;
}

// Writes the whole file through `write(const void*, std::size_t)`.
template <class Write>
void write_safetensors_bytes(const std::vector<tensor_slot>& slots, const io::metadata& meta, Write&& write) {
    const std::string header = make_header(slots, meta);
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(std::uint64_t(header.size()) >> (8 * i));
    write(length, 8);
    write(header.data(), header.size());
    for (const auto& slot : slots) {
        const std::size_t bytes = slot.count * slot.element_size;
        if constexpr (std::endian::native == std::endian::little) {
            write(slot.data, bytes);
        } else {
            std::vector<unsigned char> swapped(bytes);
            std::memcpy(swapped.data(), slot.data, bytes);
            for (std::size_t i = 0; i < slot.count; ++i)
                std::reverse(swapped.begin() + i * slot.element_size, swapped.begin() + (i + 1) * slot.element_size);
            write(swapped.data(), bytes);
        }
    }
}

// Checks one header entry, the value `r` stands before, against the format and appends it to
// `file`. The header is valid JSON already: what can fail here is the format.
inline void read_entry(safetensors_file& file, const std::string& name, std::string_view header, json::reader& r) {
    const std::string& path = file.path;
    const std::string key = concat({"key ", quote_key(name)});
    if (r.peek() != json::kind::object)
        fail(path, concat({key, ": expected an object with dtype, shape and data_offsets, found ", json::kind_name(r.peek())}));
    constexpr std::size_t absent = SIZE_MAX;
    std::size_t dtype_at = absent, shape_at = absent, offsets_at = absent;
    std::string field;
    r.begin_object();
    while (r.next_member(field)) {
        if (field == "dtype") dtype_at = r.offset();
        else if (field == "shape") shape_at = r.offset();
        else if (field == "data_offsets") offsets_at = r.offset();
        else fail(path, concat({key, ": unexpected field ", quote_key(field), " (expected dtype, shape and data_offsets)"}));
        r.skip();
    }
    safetensors_entry entry;
    entry.name = name;

    if (dtype_at == absent) fail(path, concat({key, ": no dtype"}));
    json::reader dtype(header, dtype_at, true);
    if (dtype.peek() != json::kind::string)
        fail(path, concat({key, ": dtype: expected a string, found ", json::kind_name(dtype.peek())}));
    entry.dtype = dtype.string_value();
    if (dtype_size(entry.dtype) == 0) fail(path, concat({key, ": unknown dtype ", quote_key(entry.dtype)}));

    if (shape_at == absent) fail(path, concat({key, ": no shape"}));
    json::reader shape(header, shape_at, true);
    if (shape.peek() != json::kind::array)
        fail(path, concat({key, ": shape: expected an array of integers, found ", json::kind_name(shape.peek())}));
    std::uint64_t elements = 1;
    bool overflow = false;
    shape.begin_array();
    while (shape.next_element()) {
        if (entry.shape.size() == safetensors_max_rank)
            fail(path, concat({key, ": shape: more than ", safetensors_max_rank, " extents"}));
        const json::kind k = shape.peek();
        if (k != json::kind::number)
            fail(path, concat({key, ": shape: expected non-negative integers, found ", json::kind_name(k)}));
        const std::string_view text = shape.number_value();
        std::uint64_t n;
        if (!json::to_u64(text, n)) fail(path, concat({key, ": shape: expected non-negative integers, found ", text}));
        entry.shape.push_back(n);
        if (n != 0 && elements > UINT64_MAX / n) overflow = true;
        else elements *= n;
    }
    const std::uint64_t size = dtype_size(entry.dtype);
    if (overflow || elements > UINT64_MAX / size) fail(path, concat({key, ": shape ", shape_text(entry.shape), " is too large"}));

    if (offsets_at == absent) fail(path, concat({key, ": no data_offsets"}));
    json::reader offsets(header, offsets_at, true);
    std::uint64_t bounds[2] = {0, 0};
    std::size_t count = 0;
    bool valid = offsets.peek() == json::kind::array;
    if (valid) {
        offsets.begin_array();
        while (valid && offsets.next_element()) {
            valid = count < 2 && offsets.peek() == json::kind::number && json::to_u64(offsets.number_value(), bounds[count]);
            ++count;
        }
    }
    if (!valid || count != 2) fail(path, concat({key, ": data_offsets: expected [begin, end], two non-negative integers"}));
    entry.begin = bounds[0];
    entry.end = bounds[1];
    if (entry.end < entry.begin)
        fail(path, concat({key, ": data_offsets [", entry.begin, ", ", entry.end, "] end before they begin"}));
    if (entry.end - entry.begin != elements * size)
        fail(path, concat({key, ": data_offsets [", entry.begin, ", ", entry.end, "] hold ", entry.end - entry.begin,
                       " bytes, but shape ", shape_text(entry.shape), " of ", entry.dtype, " needs ", elements * size}));
    file.tensors.push_back(std::move(entry));
}

// Offsets must tile [0, data_size) exactly: sorted by begin, each starts where the last ended.
inline void check_coverage(const safetensors_file& file, std::uint64_t data_size) {
    std::vector<const safetensors_entry*> order;
    for (const auto& e : file.tensors) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    auto range = [](const safetensors_entry* e) {
        return concat({"[", e->begin, ", ", e->end, "]"});
    };
    std::uint64_t covered = 0;
    const safetensors_entry* last = nullptr;
    for (const auto* e : order) {
        if (e->end > data_size)
            fail(file.path, concat({"key ", quote_key(e->name), ": data_offsets ", range(e), " run past the end of the data (",
                                data_size, " bytes after the header)"}));
        if (e->begin < covered)
            fail(file.path, concat({"key ", quote_key(e->name), ": data_offsets ", range(e), " overlap those of ",
                                quote_key(last->name), " ", range(last)}));
        if (e->begin > covered)
            fail(file.path, concat({"bytes ", covered, " to ", e->begin, " of the data belong to no tensor (a hole before ",
                                quote_key(e->name), ")"}));
        covered = e->end;
        last = e;
    }
    if (covered < data_size)
        fail(file.path, concat({"bytes ", covered, " to ", data_size,
                            " of the data belong to no tensor (the file is longer than its tensors)"}));
}

struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using file_handle = std::unique_ptr<std::FILE, file_closer>;

inline bool seek(std::FILE* f, std::uint64_t at) {
#if defined(_WIN32)
    return ::_fseeki64(f, static_cast<long long>(at), SEEK_SET) == 0;
#else
    return ::fseeko(f, static_cast<off_t>(at), SEEK_SET) == 0;
#endif
}

// An open file and where its data starts, its header read and checked (file.data empty).
struct opened_file {
    file_handle in;
    std::uint64_t data_start = 0, data_size = 0;
};

// Opens `file.path` and reads its header into `file` (the metadata only when `keep_metadata`):
// first the whole header is checked as JSON, then as a safetensors header, keeping nothing
// but the entries (and the metadata), so the memory is the header's bytes plus what is kept.
// The tensors' offsets are checked against the file's size; no data is read.
inline opened_file open_and_read_header(safetensors_file& file, bool keep_metadata) {
    const std::string& path = file.path;
    std::error_code ec;
    const std::uintmax_t file_size = std::filesystem::file_size(path, ec);
    if (ec) fail(path, concat({"cannot read the file (", ec.message(), ")"}));
    opened_file opened;
    opened.in.reset(std::fopen(path.c_str(), "rb"));
    if (!opened.in) fail(path, concat({"cannot open the file (", system_message(), ")"}));
    std::FILE* in = opened.in.get();

    if (file_size < 8)
        fail(path, concat({"truncated: the file has ", file_size, " bytes, and a safetensors file starts with an 8-byte header length"}));
    unsigned char length_bytes[8];
    if (std::fread(length_bytes, 1, 8, in) != 8) fail(path, "truncated: cannot read the header length");
    std::uint64_t header_length = 0;
    for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
    if (header_length > safetensors_max_header)
        fail(path, concat({"the header length ", header_length, " is beyond the limit of ", safetensors_max_header, " bytes"}));
    if (header_length > file_size - 8)
        fail(path, concat({"truncated: the header length ", header_length, " runs past the end of the file (", file_size - 8,
                           " bytes follow the length)"}));

    try {
        std::string header(header_length, '\0');
        if (std::fread(header.data(), 1, header.size(), in) != header.size())
            fail(path, concat({"truncated: cannot read the ", header_length, "-byte header"}));
        if (header.empty() || header[0] != '{') fail(path, "malformed header: it must be a JSON object starting with '{'");
        try {
            json::reader whole(header);
            whole.skip();
            whole.finish();
        } catch (const json_error& e) {
            fail(path, concat({"malformed header JSON ", e.what()}));
        }

        json::reader r(header, 0, true);
        std::string key;
        r.begin_object();
        while (r.next_member(key)) {
            if (key != "__metadata__") {
                read_entry(file, key, header, r);
                continue;
            }
            if (r.peek() != json::kind::object)
                fail(path, concat({"__metadata__: expected an object of strings, found ", json::kind_name(r.peek())}));
            r.begin_object();
            std::string name;
            while (r.next_member(name)) {
                if (r.peek() != json::kind::string)
                    fail(path, concat({"__metadata__: ", quote_key(name), ": expected a string, found ", json::kind_name(r.peek())}));
                if (keep_metadata) file.metadata.emplace_back(name, r.string_value());
                else r.skip();
            }
        }
    } catch (const std::bad_alloc&) {
        fail(path, concat({"out of memory while reading the ", header_length, "-byte header"}));
    } catch (const json_error& e) {  // not expected: the header was checked as JSON first
        fail(path, concat({"malformed header JSON ", e.what()}));
    }

    opened.data_start = 8 + header_length;
    opened.data_size = file_size - opened.data_start;
    check_coverage(file, opened.data_size);
    return opened;
}

}  // namespace safetensors_detail

// Reads and checks a whole safetensors file (its data too: spore::load reads only the header
// and the tensors the cell has).
inline safetensors_file read_safetensors(const std::string& path) {
    safetensors_file file;
    file.path = path;
    safetensors_detail::opened_file opened = safetensors_detail::open_and_read_header(file, true);
    try {
        file.data.resize(opened.data_size);
    } catch (const std::exception&) {  // bad_alloc, or length_error beyond what a vector can hold
        safetensors_detail::fail(path, spore::detail::concat({"out of memory for the ", opened.data_size, " bytes of data"}));
    }
    if (std::fread(file.data.data(), 1, file.data.size(), opened.in.get()) != file.data.size())
        safetensors_detail::fail(path, "truncated: the data ended early while reading (was the file changed meanwhile?)");
    return file;
}

// Copies the tensor `name` of `file` into `out`, which must have the same dtype and shape.
template <class T, class S>
void copy_tensor(const safetensors_file& file, std::string_view name, tensor<T, S>& out) {
    const safetensors_entry* entry = file.find(name);
    if (!entry) safetensors_detail::fail(file.path, spore::detail::concat({"key ", safetensors_detail::quote_key(name), " is missing"}));
    std::vector<std::uint64_t> shape(out.rank);
    for (std::size_t axis = 0; axis < out.rank; ++axis) shape[axis] = out.extent(axis);
    if (entry->dtype != dtype_name<T>())
        safetensors_detail::fail(file.path, spore::detail::concat({"key ", safetensors_detail::quote_key(name), ": expected dtype ", dtype_name<T>(), ", found ",
                                    entry->dtype}));
    if (entry->shape != shape)
        safetensors_detail::fail(file.path, spore::detail::concat({"key ", safetensors_detail::quote_key(name), ": expected shape ", safetensors_detail::shape_text(shape),
                                    ", found ", safetensors_detail::shape_text(entry->shape)}));
    safetensors_detail::copy_little_endian(out.data(), file.data.data() + entry->begin, out.size());
}

// Writes `cell` in the safetensors format to a stream; throws checkpoint_error if it fails.
template <class C>
void write_safetensors(std::ostream& out, const C& cell, const io::metadata& meta = {}) {
    safetensors_detail::write_safetensors_bytes(safetensors_detail::tensor_slots(cell), meta, [&](const void* bytes, std::size_t count) {
        out.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(count));
        if (!out) throw checkpoint_error("spore::io::write_safetensors: the stream failed while writing");
    });
}

namespace safetensors_detail {

// The cell's slots matched with the file's entries by key: sources[i] is slot i's entry (null
// when the file lacks it); `problems` lists, in the order of the messages, every missing key
// (when `strict`), dtype or shape that differs, and unexpected key (when `strict`), at most
// max_listed_problems of them and then how many more.
inline constexpr std::size_t max_listed_problems = 20;

struct key_match {
    std::vector<const safetensors_entry*> sources;
    load_report report;
    std::vector<std::string> problems;
};

inline key_match match_keys(const std::vector<tensor_slot>& slots, const safetensors_file& file, bool strict) {
    std::unordered_map<std::string_view, const safetensors_entry*> by_name;
    for (const auto& e : file.tensors) by_name.emplace(e.name, &e);

    key_match m;
    std::size_t unlisted = 0;  // a header of a million strangers still gives a readable message
    auto problem = [&](std::string text) {
        if (m.problems.size() < max_listed_problems) m.problems.push_back(std::move(text));
        else ++unlisted;
    };
    for (const auto& slot : slots) {
        const auto found = by_name.find(slot.name);
        const std::string expected = concat({slot.dtype, " ", shape_text(slot.shape)});
        if (found == by_name.end()) {
            m.report.missing.push_back(slot.name);
            if (strict) problem(concat({"key ", quote_key(slot.name), " is missing (expected ", expected, ")"}));
            m.sources.push_back(nullptr);
            continue;
        }
        const safetensors_entry& e = *found->second;
        by_name.erase(found);
        if (e.dtype != slot.dtype)
            problem(concat({"key ", quote_key(slot.name), ": expected dtype ", slot.dtype, ", found ", e.dtype}));
        else if (e.shape != slot.shape)
            problem(
                concat({"key ", quote_key(slot.name), ": expected shape ", shape_text(slot.shape), ", found ", shape_text(e.shape)}));
        m.sources.push_back(&e);
    }
    for (const auto& e : file.tensors)  // header order, so the message does not depend on hashing
        if (by_name.count(e.name)) {
            m.report.unexpected.push_back(e.name);
            if (strict)
                problem(concat({"unexpected key ", quote_key(e.name), " (", e.dtype, " ", shape_text(e.shape),
                                "), which the cell does not have"}));
        }
    if (unlisted > 0) m.problems.push_back(concat({"and ", unlisted, " more"}));
    return m;
}

// Checks the header's keys, dtypes and shapes against the cell's tensors, then reads the
// bytes of each matched tensor (and nothing else) into a staging buffer, and only then writes
// the cell.
inline load_report load_slots(std::vector<tensor_slot>& slots, const std::string& path, bool strict = true) {
    safetensors_file file;
    file.path = path;
    opened_file opened = open_and_read_header(file, false);
    key_match m = match_keys(slots, file, strict);
    if (!m.problems.empty()) fail(path, concat({joined(m.problems, "; ")}));

    // every matched entry has its slot's size: the staging buffer is at most the cell's size
    std::size_t total = 0;
    for (std::size_t i = 0; i < slots.size(); ++i)
        if (m.sources[i]) total += slots[i].count * slots[i].element_size;
    std::vector<unsigned char> staging;
    try {
        staging.resize(total);
    } catch (const std::bad_alloc&) {
        fail(path, concat({"out of memory for the ", total, " bytes of the cell's tensors"}));
    }
    std::size_t at = 0;
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (!m.sources[i]) continue;
        const std::size_t bytes = slots[i].count * slots[i].element_size;
        if (bytes > 0 && (!seek(opened.in.get(), opened.data_start + m.sources[i]->begin) ||
                          std::fread(staging.data() + at, 1, bytes, opened.in.get()) != bytes))
            fail(path, concat({"truncated: the data of key ", quote_key(slots[i].name),
                               " ended early while reading (was the file changed meanwhile?)"}));
        at += bytes;
    }
    at = 0;
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (!m.sources[i]) continue;
        slots[i].read(slots[i].data, staging.data() + at, slots[i].count);
        at += slots[i].count * slots[i].element_size;
    }
    return std::move(m.report);
}

}  // namespace safetensors_detail
}  // namespace io

// Saves every tensor of `cell` under its field path; `meta` goes into "__metadata__" (which
// always holds "format": "pt", as PyTorch tools expect).
template <class C>
void save(const C& cell, const std::string& path, const io::metadata& meta = {}) {
    const auto slots = io::safetensors_detail::tensor_slots(cell);
    io::atomic_file file(path, "spore::save", [](const std::string& message) { throw checkpoint_error(message); });
    io::safetensors_detail::write_safetensors_bytes(slots, meta, [&](const void* bytes, std::size_t count) { file.write(bytes, count); });
    file.commit();
}

// Loads every tensor of `cell` from `path`, checking keys, dtypes and shapes; on any error the
// cell is unchanged. Strict by default: a missing or unexpected key is an error. With
// `{.strict = false}` (PyTorch's load_state_dict(strict=False)) the tensors the file lacks keep
// their values and the file's other tensors are ignored; the returned report lists both (a
// dtype or shape that differs is an error all the same).
template <class C>
load_report load(C& cell, const std::string& path, const load_options& options = {}) {
    static_assert(!std::is_const_v<C>, "spore::load: the cell must not be const");
    auto slots = io::safetensors_detail::tensor_slots(cell);
    return io::safetensors_detail::load_slots(slots, path, options.strict);
}

}  // namespace spore
