#pragma once
// nn::summary(net, shape<...>{}): a table of a cell's layers, like torchinfo's, with each
// layer's path, type, output shape and parameter count, and the totals.
//
// The net is applied once (spore::call) to a placeholder of the input shape, which builds the
// forward graph (a value; nothing is computed), with an nn::output_recorder alive (nn/call.hpp):
// every layer of spore returns its expression through nn::record_output, and spore::call records
// the cells it applies (nn::Sequential's children, and cells called with spore::call), so each of
// those rows gets the shape of what the cell returned, parameters or not (pooling, Dropout,
// activations, Flatten). A cell called otherwise (a user's cell whose construct is called
// directly, or whose operator() does not record) falls back on the graph: its output is taken to
// be the first node, in post-order, whose subtree reads all of its parameters (the `+ bias` of a
// Dense, a convolution); such a cell without parameters shows "--". A cell called more than once
// shows its first call. Paths are the field names joined with dots, from the walk of
// nn/fields.hpp ("seq.0" for a Sequential's first child).

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include <boost/core/demangle.hpp>

#include <spore/core/format.hpp>
#include <spore/core/shape.hpp>
#include <spore/core/tensor.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/node.hpp>
#include <spore/expr/state.hpp>
#include <spore/nn/call.hpp>
#include <spore/nn/cell.hpp>
#include <spore/nn/fields.hpp>

namespace spore::nn {

namespace summary_detail {

struct input_tag;

inline std::string shape_text(const std::size_t* extents, std::size_t rank) {
    return spore::detail::concat({'[', spore::detail::joined(extents, rank), ']'});
}
template <class S>
std::string shape_text() {
    return shape_text(S::extents.data(), S::rank);
}

inline std::string thousands(std::size_t n) {
    const std::string digits = spore::detail::concat({n});
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// "spore::nn::Conv2d<1ul, 6ul, 5ul, 1ul, 0ul, float>" -> "Conv2d"
inline std::string short_name(const char* mangled) {
    const std::string name = boost::core::demangle(mangled);
    std::string outer;  // the name with template arguments removed
    int depth = 0;
    for (char c : name) {
        if (c == '<') ++depth;
        else if (c == '>') --depth;
        else if (depth == 0) outer += c;
    }
    const auto cut = outer.rfind("::");
    return cut == std::string::npos ? outer : outer.substr(cut + 2);
}
template <class T>
std::string short_type_name() {
    return short_name(typeid(T).name());
}

// A node of the forward graph: its shape, and the range of `leaves` its subtree read.
struct node_record {
    const std::size_t* extents;
    std::size_t rank;
    std::size_t first, last;
};

// Records every node below `node` in post-order; the leaves a subtree reads are appended in
// order, so each subtree's are one contiguous range.
template <class E>
void record_nodes(const E& node, std::vector<node_record>& out, std::vector<const void*>& leaves) {
    const std::size_t first = leaves.size();
    if constexpr (E::kind == expr::node_kind::leaf) {
        if (node.data) leaves.push_back(node.data);
    } else {
        expr::for_each_child(node, node, [&](const auto& child, const auto&) { record_nodes(child, out, leaves); });
    }
    out.push_back({E::shape_type::extents.data(), E::shape_type::rank, first, leaves.size()});
}

struct layer_row {
    std::string path, type;
    std::size_t parameters = 0;
    std::vector<const void*> addresses;
    const output_record* recorded = nullptr;  // the shape the cell returned, when it was recorded
};

// Every cell field at every depth, in pre-order, with the parameters below it and its recorded
// output.
template <class C>
std::vector<layer_row> collect_layers(const C& cell, const output_recorder& recorder) {
    std::vector<layer_row> rows;
    walk_fields<fields::cells>(cell, [&](const auto& field, auto path) {
        if constexpr (decltype(path)::depth > 0) {
            layer_row& row = rows.emplace_back();
            row.path = path.str();
            row.type = short_type_name<std::remove_cvref_t<decltype(field)>>();
            row.recorded = recorder.find(field);
            for_each_parameter(field, [&](const auto& t) {
                row.parameters += t.size();
                row.addresses.push_back(t.data());
            });
        }
    });
    return rows;
}

// The table, from what the templates gathered.
inline std::string format_summary(const std::string& top, const std::string& output_shape, const std::string& input_shape,
                                  const std::vector<layer_row>& rows, const std::vector<node_record>& nodes,
                                  const std::vector<const void*>& leaves, std::size_t total, std::size_t element_size) {
    std::vector<std::string> shapes;
    for (const auto& row : rows) {
        std::string found = "--";
        if (row.recorded)
            found = shape_text(row.recorded->extents, row.recorded->rank);
        else if (!row.addresses.empty())
            for (const auto& n : nodes) {
                const auto first = leaves.begin() + std::ptrdiff_t(n.first), last = leaves.begin() + std::ptrdiff_t(n.last);
                if (std::all_of(row.addresses.begin(), row.addresses.end(),
                                [&](const void* a) { return std::find(first, last, a) != last; })) {
                    found = shape_text(n.extents, n.rank);
                    break;
                }
            }
        shapes.push_back(found);
    }
    std::size_t name_width = std::max<std::size_t>(20, top.size()), shape_width = 16;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        name_width = std::max(name_width, rows[i].path.size() + rows[i].type.size() + 3);
        shape_width = std::max(shape_width, shapes[i].size());
    }
    const std::string rule(name_width + shape_width + 2 + 12, '=');
    const int nw = int(name_width), sw = int(shape_width);
    std::string text;
    append_format(text, "%s\n%-*s %-*s Param #\n%s\n%-*s %-*s --\n", rule.c_str(), nw, "Layer (type)", sw, "Output shape",
                  rule.c_str(), nw, top.c_str(), sw, output_shape.c_str());
    for (std::size_t i = 0; i < rows.size(); ++i)
        append_format(text, "%-*s %-*s %s\n", nw, spore::detail::concat({rows[i].path, " (", rows[i].type, ")"}).c_str(), sw,
                      shapes[i].c_str(), thousands(rows[i].parameters).c_str());
    append_format(text, "%s\nTotal params: %s\nTrainable params: %s\nInput shape: %s\nParameter size: %.2f MB\n%s\n",
                  rule.c_str(), thousands(total).c_str(), thousands(total).c_str(), input_shape.c_str(),
                  double(total * element_size) / 1e6, rule.c_str());
    return text;
}

}  // namespace summary_detail

// The table for `net` fed a batch of InputShape (for instance shape<32, 1, 32, 32>), with
// elements of type T.
template <class T = float, class Cell, std::size_t... Input>
std::string summary(const Cell& net, shape<Input...> = {}) {
    using namespace summary_detail;
    output_recorder recorder;
    const auto output = spore::call(net, expr::placeholder<input_tag, T, shape<Input...>>());
    std::vector<node_record> nodes;
    std::vector<const void*> leaves;
    record_nodes(output, nodes, leaves);
    const std::vector<layer_row> rows = collect_layers(net, recorder);
    return format_summary(short_type_name<Cell>(), shape_text<typename decltype(output)::shape_type>(),
                          shape_text<shape<Input...>>(), rows, nodes, leaves, parameter_count(net), sizeof(T));
}

}  // namespace spore::nn
