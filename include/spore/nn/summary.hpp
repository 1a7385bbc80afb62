#pragma once
// nn::summary(net, shape<...>{}): a table of a cell's layers, like torchinfo's, with each
// layer's path, type, output shape and parameter count, and the totals.
//
// The output shapes come from the forward expression itself, with no help from the layers:
// construct() is called once on a placeholder of the input shape, which builds the graph (a
// value; nothing is computed), and a layer's output is the first node, in post-order, whose
// subtree reads all of the layer's parameters. For Dense that is the `+ bias` node, for Conv2d
// the convolution; a nested cell gets the node that ends its block. A layer without
// parameters (none exists yet as a field) shows "--". Paths are the field names joined with
// dots when nn/field_names.hpp is present, else field indices (0, 1, 1.0, ...).

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/core/demangle.hpp>
#include <boost/pfr.hpp>

#include <spore/core/shape.hpp>
#include <spore/core/tensor.hpp>
#include <spore/expr/node.hpp>
#include <spore/expr/state.hpp>
#include <spore/nn/cell.hpp>

#if __has_include(<spore/nn/field_names.hpp>)
#include <spore/nn/field_names.hpp>
#define SPORE_SUMMARY_FIELD_NAMES 1
#endif

namespace spore::nn {

namespace summary_detail {

struct input_tag;

template <class S>
std::string shape_text() {
    std::string text = "[";
    for (std::size_t i = 0; i < S::rank; ++i) text += (i ? ", " : "") + std::to_string(S::extents[i]);
    return text + "]";
}

inline std::string thousands(std::size_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// "spore::nn::Conv2d<1ul, 6ul, 5ul, 1ul, 0ul, float>" -> "Conv2d"
template <class T>
std::string short_type_name() {
    std::string name = boost::core::demangle(typeid(T).name());
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

template <class T, std::size_t I>
std::string field_label() {
#if defined(SPORE_SUMMARY_FIELD_NAMES)
    return std::string(field_name<T, I>());
#else
    return std::to_string(I);
#endif
}

struct node_record {
    std::string shape;
    std::vector<const void*> leaves;  // sorted addresses of every tensor read below
};

// Records every node below `node` in post-order; returns the addresses its subtree reads.
template <class E>
std::vector<const void*> record_nodes(const E& node, std::vector<node_record>& out) {
    std::vector<const void*> leaves;
    if constexpr (E::kind == expr::node_kind::leaf) {
        if (node.data) leaves.push_back(node.data);
    } else {
        expr::for_each_child(node, node, [&](const auto& child, const auto&) {
            auto below = record_nodes(child, out);
            leaves.insert(leaves.end(), below.begin(), below.end());
        });
    }
    std::sort(leaves.begin(), leaves.end());
    leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
    out.push_back({shape_text<typename E::shape_type>(), leaves});
    return leaves;
}

struct layer_row {
    std::string path, type;
    std::size_t parameters = 0;
    std::vector<const void*> addresses;  // sorted
};

template <class C>
std::vector<const void*> parameter_addresses(const C& cell) {
    std::vector<const void*> out;
    for_each_parameter(cell, [&](const auto& t) { out.push_back(t.data()); });
    std::sort(out.begin(), out.end());
    return out;
}

// Every cell field at every depth, in pre-order.
template <class C>
void collect_layers(const C& cell, const std::string& prefix, std::vector<layer_row>& rows) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using F = std::remove_cvref_t<decltype(boost::pfr::get<I>(cell))>;
                if constexpr (!is_tensor_v<F> && walkable_v<F>) {
                    const auto& field = boost::pfr::get<I>(cell);
                    const std::string path = prefix + field_label<C, I>();
                    rows.push_back({path, short_type_name<F>(), parameter_count(field), parameter_addresses(field)});
                    collect_layers(field, path + ".", rows);
                }
            }(),
            ...);
    }(std::make_index_sequence<boost::pfr::tuple_size_v<C>>{});
}

inline std::string pad_to(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s + ' ';
}

}  // namespace summary_detail

// The table for `net` fed a batch of InputShape (for instance shape<32, 1, 32, 32>), with
// elements of type T.
template <class T = float, class Cell, std::size_t... Input>
std::string summary(const Cell& net, shape<Input...> = {}) {
    using namespace summary_detail;
    const auto output = net.construct(expr::placeholder<input_tag, T, shape<Input...>>());
    std::vector<node_record> nodes;
    record_nodes(output, nodes);
    std::vector<layer_row> rows;
    collect_layers(net, "", rows);

    std::vector<std::string> shapes;
    for (const auto& row : rows) {
        std::string found = "--";
        if (!row.addresses.empty())
            for (const auto& n : nodes)
                if (std::includes(n.leaves.begin(), n.leaves.end(), row.addresses.begin(), row.addresses.end())) {
                    found = n.shape;
                    break;
                }
        shapes.push_back(found);
    }
    std::size_t name_width = 20, shape_width = 16;
    const std::string top = short_type_name<Cell>();
    name_width = std::max(name_width, top.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        name_width = std::max(name_width, rows[i].path.size() + rows[i].type.size() + 3);
        shape_width = std::max(shape_width, shapes[i].size());
    }
    const std::size_t total = parameter_count(net);
    const std::size_t width = name_width + shape_width + 2 + 12;
    const std::string rule(width, '=');
    std::string text = rule + "\n" + pad_to("Layer (type)", name_width) + pad_to("Output shape", shape_width) + "Param #\n" + rule + "\n";
    text += pad_to(top, name_width) + pad_to(shape_text<typename decltype(output)::shape_type>(), shape_width) + "--\n";
    for (std::size_t i = 0; i < rows.size(); ++i)
        text += pad_to(rows[i].path + " (" + rows[i].type + ")", name_width) + pad_to(shapes[i], shape_width) +
                thousands(rows[i].parameters) + "\n";
    char bytes[64];
    std::snprintf(bytes, sizeof bytes, "%.2f MB", double(total * sizeof(T)) / 1e6);
    text += rule + "\nTotal params: " + thousands(total) + "\nTrainable params: " + thousands(total) +
            "\nInput shape: " + shape_text<shape<Input...>>() + "\nParameter size: " + bytes + "\n" + rule + "\n";
    return text;
}

}  // namespace spore::nn
