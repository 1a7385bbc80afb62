#pragma once
// ONNX export of a cell's inference graph:
//
//     spore::io::export_onnx<spore::shape<1, 1, 32, 32>>(net, "lenet.onnx");
//
// calls net.construct(x) on an input placeholder of that shape and walks the type of the
// expression it returns. Each operation says what it exports as, beside its forward pass: an
// elementwise operation by its `onnx` name or `to_onnx` (expr/elementwise_ops.hpp), a heavy
// node by its `to_onnx(graph)` member, which emits its operands through this builder and adds
// its node(s) (a Dense layer's matmul by a transposed weight plus bias becomes one Gemm). The
// graph is the evaluation-mode one (Dropout is the identity, BatchNorm2d uses its running
// statistics). Parameters and buffers become initializers named by their
// field paths ("conv1.weight", "bn.running_mean"); other tensors the expression reads are
// initializers too. By default axis 0
// of the input is the symbolic dimension "N", so one file serves any batch size; the export
// refuses (spore::error) when a node would tie that axis to a fixed extent. A node with no ONNX
// mapping is a compile error naming its type (unsupported_onnx_node<...>).
//
// Operator set 11 (IR version 6): the one OpenCV 4.6's DNN module reads best (it refuses, for
// instance, opset 13's ReduceSum, whose axes became an input).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spore/core/config.hpp>
#include <spore/core/error.hpp>
#include <spore/core/shape.hpp>
#include <spore/core/text.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/node.hpp>
#include <spore/io/atomic_file.hpp>
#include <spore/io/onnx_proto.hpp>
#include <spore/nn/buffer.hpp>
#include <spore/nn/field_names.hpp>

namespace spore::io {

inline constexpr std::int64_t onnx_opset_version = 11;
inline constexpr std::int64_t onnx_ir_version = 6;  // the IR version of ONNX 1.6, which brought opset 11

struct onnx_options {
    bool symbolic_batch = true;  // axis 0 of the input is dim_param "N" (else the fixed extent)
    std::string input_name = "input";
    std::string output_name = "output";
    std::string graph_name = "spore";
};

namespace onnx_detail {

struct input_tag;

// Instantiated for an expression node the exporter cannot translate: the compiler's message
// names the node type in `unsupported_onnx_node<...>`.
template <class Node>
struct unsupported_onnx_node {
    static_assert(sizeof(Node) == 0,
                  "spore::io::export_onnx: this expression node has no ONNX operator "
                  "(see unsupported_onnx_node<node type> above)");
};

// Values are float or double; a model's input may also hold indices (int32 or int64, as an
// Embedding reads).
template <class T>
struct element_type {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int32_t> ||
                      std::is_same_v<T, std::int64_t>,
                  "spore::io::export_onnx: ONNX export supports float and double tensors (and int32 or int64 "
                  "indices as the input)");
    static constexpr onnx::data_type value = std::is_same_v<T, float>          ? onnx::data_type::float32
                                             : std::is_same_v<T, double>       ? onnx::data_type::float64
                                             : std::is_same_v<T, std::int32_t> ? onnx::data_type::int32
                                                                               : onnx::data_type::int64;
};

template <class E>
inline constexpr bool is_tensor_ref_v = false;
template <class T, class S, class Tag>
inline constexpr bool is_tensor_ref_v<expr::tensor_ref<T, S, Tag>> = true;

template <class E>
inline constexpr bool is_constant_v = false;
template <class T>
inline constexpr bool is_constant_v<expr::constant<T>> = true;

// make_binary wraps an operand of another shape in broadcast_to; ONNX broadcasts by the same
// (numpy) rules, so the operand is exported as it is.
template <class E>
const auto& without_broadcast(const E& e) {
    if constexpr (expr::is_broadcast_v<E>) return e.a;
    else return e;
}

template <class Shape>
std::vector<std::int64_t> dims_of() {
    return std::vector<std::int64_t>(Shape::extents.begin(), Shape::extents.end());
}

// A value in the graph: its name and which of its axes, if any, is the symbolic batch axis.
struct value {
    std::string name;
    int batch_axis = -1;
};

struct layout {
    int batch_axis;
    std::vector<std::int64_t> extents;
};

template <class T>
void append_little_endian(std::string& out, const T* data, std::size_t count) {
    using bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    out.reserve(out.size() + count * sizeof(T));
    for (std::size_t i = 0; i < count; ++i) {
        const bits b = std::bit_cast<bits>(data[i]);
        for (std::size_t k = 0; k < sizeof(T); ++k) out.push_back(static_cast<char>((b >> (8 * k)) & 0xff));
    }
}

class graph_builder {
public:
    using value = onnx_detail::value;
    using attribute = onnx::attribute;
    using layout = onnx_detail::layout;

    explicit graph_builder(const onnx_options& options) : options_(options) {
        if (options.input_name.empty() || options.output_name.empty() || options.input_name == options.output_name)
            throw error(spore::detail::concat({"spore::io::export_onnx: the input and output names must be non-empty and different (found '",
                                               options.input_name, "' and '", options.output_name, "')"}));
        used_.insert(options.input_name);
        used_.insert(options.output_name);
    }

    template <class Cell>
    void name_parameters(const Cell& cell) {
        if constexpr (nn::walkable_v<Cell>) {
            // parameters and buffers (a buffer's tensor holds its data), each under its own path
            nn::for_each_named_state(cell, [&](const std::string& path, const auto& tensor) {
                parameter_names_.emplace(static_cast<const void*>(tensor.data()), path);
                parameter_paths_.insert(path);
            });
        }
    }

    template <class E>
    value emit(const E& e) {
        if constexpr (is_tensor_ref_v<E>) {
            return emit_leaf(e);
        } else if constexpr (is_constant_v<E>) {
            return emit_constant(e);
        } else {
            for (const memo_entry& m : memo_)
                if (m.type == std::type_index(typeid(E)) && *static_cast<const E*>(m.node.get()) == e) return m.result;
            value v = emit_node(e);
            memo_.push_back({std::type_index(typeid(E)), std::make_shared<const E>(e), v});
            return v;
        }
    }

    // Names the root value `output` (or copies it there when it is an input or initializer).
    void finish(const value& root, const std::vector<onnx::dimension>& output_shape, onnx::data_type type) {
        const bool produced = [&] {
            for (const auto& n : graph_.nodes)
                for (const auto& o : n.outputs)
                    if (o == root.name) return true;
            return false;
        }();
        if (produced) {
            for (auto& n : graph_.nodes) {
                for (auto& in : n.inputs)
                    if (in == root.name) in = options_.output_name;
                for (auto& o : n.outputs)
                    if (o == root.name) o = options_.output_name;
            }
        } else {
            onnx::node identity;
            identity.inputs = {root.name};
            identity.outputs = {options_.output_name};
            identity.name = unique("Identity");
            identity.op_type = "Identity";
            graph_.nodes.push_back(std::move(identity));
        }
        graph_.outputs.push_back({options_.output_name, type, output_shape});
    }

    void add_input(onnx::value_info info) { graph_.inputs.push_back(std::move(info)); }
    onnx::graph take_graph() {
        graph_.name = options_.graph_name;
        return std::move(graph_);
    }
    bool symbolic() const { return options_.symbolic_batch; }

    // ---- what an operation's to_onnx uses -------------------------------------------------
    static attribute integer(const std::string& name, std::int64_t v) { return attribute::integer(name, v); }
    static attribute integers(const std::string& name, std::vector<std::int64_t> v) {
        return attribute::integers(name, std::move(v));
    }
    static attribute real(const std::string& name, float v) { return attribute::real(name, v); }
    template <class Shape>
    static std::vector<std::int64_t> dims_of() {
        return onnx_detail::dims_of<Shape>();
    }
    template <class E>
    static const auto& without_broadcast(const E& e) {
        return onnx_detail::without_broadcast(e);
    }

    // Adds a node; its output is named after it ("conv1/Conv"), which this returns.
    std::string node(std::string_view op_type, std::vector<std::string> inputs, std::vector<attribute> attributes = {}) {
        onnx::node n;
        n.name = node_name(op_type, inputs);
        n.op_type = std::string(op_type);
        n.outputs = {n.name};
        n.inputs = std::move(inputs);
        n.attributes = std::move(attributes);
        graph_.nodes.push_back(std::move(n));
        return graph_.nodes.back().name;
    }
    std::string int64_initializer(const std::string& base, std::vector<std::int64_t> values) {
        onnx::tensor t;
        t.dims = {static_cast<std::int64_t>(values.size())};
        t.type = onnx::data_type::int64;
        t.int64_data = std::move(values);
        t.name = unique(base);
        graph_.initializers.push_back(std::move(t));
        return graph_.initializers.back().name;
    }

    // The default export of an elementwise node: one operator over its operands, which ONNX
    // broadcasts by numpy's rules as spore does.
    template <class E>
    value elementwise(std::string_view op, const E& e) {
        if constexpr (expr::binary_node<E>) {
            const auto& ea = without_broadcast(e.a);
            const auto& eb = without_broadcast(e.b);
            using EA = std::remove_cvref_t<decltype(ea)>;
            using EB = std::remove_cvref_t<decltype(eb)>;
            const value a = emit(ea);
            const value b = emit(eb);
            const int axis = elementwise_batch_axis(op, dims_of<typename E::shape_type>(),
                                                    {layout{a.batch_axis, dims_of<typename EA::shape_type>()},
                                                     layout{b.batch_axis, dims_of<typename EB::shape_type>()}});
            return {node(op, {a.name, b.name}), axis};
        } else {
            const value a = emit(e.a);
            return {node(op, {a.name}), a.batch_axis};
        }
    }

    // The symbolic batch axis: which operations keep it, and the error when one cannot.
    [[noreturn]] static void batch_error(std::string_view what) {
        throw error(spore::detail::concat({"spore::io::export_onnx: cannot keep the batch axis symbolic: ", what,
                                           "; export with onnx_options{.symbolic_batch = false} for a graph of fixed batch size"}));
    }
    // Numpy broadcasting aligns on the right; the batch axis survives when every operand that
    // does not carry it has extent 1 there.
    static int elementwise_batch_axis(std::string_view op, const std::vector<std::int64_t>& out,
                                      std::initializer_list<layout> operands) {
        int axis = -1;
        for (const layout& o : operands) {
            if (o.batch_axis < 0) continue;
            const int at = o.batch_axis + static_cast<int>(out.size() - o.extents.size());
            if (axis >= 0 && axis != at)
                batch_error(spore::detail::concat({op, " aligns the batch axes of its operands at different positions"}));
            axis = at;
        }
        if (axis < 0) return -1;
        for (const layout& o : operands) {
            if (o.batch_axis >= 0) continue;
            const int offset = static_cast<int>(out.size() - o.extents.size());
            if (axis >= offset && o.extents[axis - offset] != 1)
                batch_error(spore::detail::concat({op, " combines the batch axis with a fixed extent ", o.extents[axis - offset],
                                                   " (operand of shape [", spore::detail::joined(o.extents), "])"}));
        }
        return axis;
    }
    static void require_unbatched(std::string_view op, std::string_view operand, const value& v) {
        if (v.batch_axis >= 0) batch_error(spore::detail::concat({op, ": its ", operand, " depends on the batch"}));
    }
    static void require_leading_batch(std::string_view op, const value& v) {
        if (v.batch_axis > 0)
            batch_error(spore::detail::concat({op, " reads the batch as axis ", v.batch_axis, ", not axis 0"}));
    }

    // A tensor the node holds by pointer (BatchNorm2d's running statistics), read at export.
    template <class Shape, class T>
    std::string pointer_input(const T* data) {
        using ref = expr::tensor_ref<T, Shape>;
        ref r;
        r.data = data;
        return emit_leaf(r).name;
    }


private:
    struct memo_entry {
        std::type_index type;
        std::shared_ptr<const void> node;
        value result;
    };

    // ---- names -------------------------------------------------------------------------
    std::string unique(const std::string& base) {
        std::string name = base;
        for (std::size_t k = 1; used_.contains(name) || parameter_paths_.contains(name); ++k)
            name = spore::detail::concat({base, '_', k});
        used_.insert(name);
        return name;
    }
    // A node reading a named parameter is named after its layer ("conv1/Conv").
    std::string node_name(std::string_view op_type, const std::vector<std::string>& inputs) {
        for (const std::string& in : inputs) {
            if (!parameter_paths_.contains(in)) continue;
            const std::size_t dot = in.rfind('.');
            return unique(spore::detail::concat({std::string_view(in).substr(0, dot), '/', op_type}));
        }
        return unique(std::string(op_type));
    }
    // ---- leaves -------------------------------------------------------------------------
    template <class T, class S, class Tag>
    value emit_leaf(const expr::tensor_ref<T, S, Tag>& e) {
        if constexpr (std::is_same_v<Tag, input_tag>) {
            return {options_.input_name, options_.symbolic_batch ? 0 : -1};
        } else {
            static_assert(std::is_void_v<Tag>,
                          "spore::io::export_onnx: the expression reads a placeholder other than the cell's input; "
                          "an exported graph has one input");
            const auto key = std::make_pair(static_cast<const void*>(e.data), std::type_index(typeid(e)));
            for (const auto& [k, name] : tensors_)
                if (k == key) return {name, -1};
            std::string name;
            if (auto it = parameter_names_.find(e.data); it != parameter_names_.end() && !used_.contains(it->second)) {
                name = it->second;
                used_.insert(name);
            } else {
                name = unique(it != parameter_names_.end() ? it->second : std::string("tensor"));
            }
            onnx::tensor t;
            t.dims = dims_of<S>();
            t.type = element_type<T>::value;
            t.name = name;
            append_little_endian(t.raw_data, e.data, S::size);
            graph_.initializers.push_back(std::move(t));
            tensors_.emplace_back(key, name);
            return {name, -1};
        }
    }
    template <class T>
    value emit_constant(const expr::constant<T>& e) {
        onnx::tensor t;  // a scalar: no dims
        t.type = element_type<T>::value;
        t.name = unique("constant");
        append_little_endian(t.raw_data, &e.value, 1);
        graph_.initializers.push_back(std::move(t));
        return {graph_.initializers.back().name, -1};
    }

    // Elementwise nodes and the broadcast are the engine's own; an operation's node exports
    // itself (to_onnx), and a node that does not is a compile error naming it.
    template <class E>
    value emit_node(const E& e) {
        if constexpr (requires { e.to_onnx(*this); }) {
            return e.to_onnx(*this);
        } else if constexpr (expr::is_broadcast_v<E>) {
            return emit_broadcast(e);
        } else if constexpr (requires { typename E::op; }) {
            using Op = typename E::op;
            if constexpr (requires { Op::to_onnx(*this, e); }) return Op::to_onnx(*this, e);
            else if constexpr (requires { Op::onnx; }) return elementwise(Op::onnx, e);
            else return unsupported(e);
        } else {
            return unsupported(e);
        }
    }
    template <class E>
    value unsupported(const E&) {
        [[maybe_unused]] unsupported_onnx_node<E> rejected;
        return {};
    }

    template <class Out, class A>
    value emit_broadcast(const expr::broadcast_to<Out, A>& e) {
        const value a = emit(e.a);
        std::vector<std::int64_t> target = dims_of<Out>();
        int axis = -1;
        if (a.batch_axis >= 0) {
            axis = a.batch_axis + static_cast<int>(Out::rank - A::shape_type::rank);
            if (target[axis] != static_cast<std::int64_t>(A::shape_type::extents[a.batch_axis]))
                batch_error("Expand broadcasts the batch axis to a fixed extent");
            target[axis] = 1;  // Expand keeps the operand's own extent where the target says 1
        }
        return {node("Expand", {a.name, int64_initializer("shape", std::move(target))}), axis};
    }

    onnx_options options_;
    onnx::graph graph_;
    std::set<std::string> used_;
    std::set<std::string> parameter_paths_;
    std::unordered_map<const void*, std::string> parameter_names_;
    std::vector<std::pair<std::pair<const void*, std::type_index>, std::string>> tensors_;
    std::vector<memo_entry> memo_;
};

template <class Shape>
std::vector<onnx::dimension> value_shape(int batch_axis) {
    std::vector<onnx::dimension> dims;
    for (std::size_t i = 0; i < Shape::rank; ++i) {
        if (static_cast<int>(i) == batch_axis) dims.push_back({std::nullopt, "N"});
        else dims.push_back({static_cast<std::int64_t>(Shape::extents[i]), {}});
    }
    return dims;
}

template <class Cell, class X>
auto call_cell(const Cell& net, const X& x) {
    if constexpr (requires { net.construct(x); }) return net.construct(x);
    else if constexpr (requires { net(x); }) return net(x);
    else static_assert(requires { net.construct(x); }, "spore::io::export_onnx: the cell needs a construct(x) member");
}

}  // namespace onnx_detail

// The ONNX model of `net` applied to an input of shape InputShape, as bytes.
template <class InputShape, class T = float, class Cell>
std::string onnx_model_bytes(const Cell& net, const onnx_options& options = {}) {
    static_assert(static_shape<InputShape> && InputShape::rank >= 1,
                  "spore::io::export_onnx: the input shape must be a static spore::shape with at least one axis");
    const auto x = expr::placeholder<onnx_detail::input_tag, T, InputShape>();
    const auto root = onnx_detail::call_cell(net, x);
    using E = std::remove_cvref_t<decltype(root)>;
    static_assert(expr::expression<E>, "spore::io::export_onnx: construct(x) must return an expression");

    onnx_detail::graph_builder builder(options);
    builder.name_parameters(net);
    builder.add_input({options.input_name, onnx_detail::element_type<T>::value,
                       onnx_detail::value_shape<InputShape>(options.symbolic_batch ? 0 : -1)});
    const onnx_detail::value out = builder.emit(root);
    builder.finish(out, onnx_detail::value_shape<typename E::shape_type>(out.batch_axis),
                   onnx_detail::element_type<typename E::value_type>::value);

    onnx::model model;
    model.ir_version = onnx_ir_version;
    model.producer_name = "spore";
    model.producer_version = spore::detail::concat({SPORE_VERSION_MAJOR, '.', SPORE_VERSION_MINOR, '.', SPORE_VERSION_PATCH});
    model.main_graph = builder.take_graph();
    model.opset_import.push_back({"", onnx_opset_version});
    return model.serialize();
}

// Writes the ONNX model of `net` on an input of shape InputShape to `path` (atomically).
template <class InputShape, class T = float, class Cell>
void export_onnx(const Cell& net, const std::string& path, const onnx_options& options = {}) {
    write_file_atomically(path, onnx_model_bytes<InputShape, T>(net, options), "spore::io::export_onnx");
}

// The same with the input's shape and element type taken from an example input expression
// (a placeholder, or spore::input(tensor)); only its type is used.
template <class Cell, expr::expression X>
void export_onnx(const Cell& net, const X&, const std::string& path, const onnx_options& options = {}) {
    export_onnx<typename X::shape_type, typename X::value_type>(net, path, options);
}

}  // namespace spore::io

namespace spore {
using io::export_onnx;
}  // namespace spore
