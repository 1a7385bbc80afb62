#pragma once
// ONNX export of a cell's inference graph:
//
//     spore::io::export_onnx<spore::shape<1, 1, 32, 32>>(net, "lenet.onnx");
//
// calls net.construct(x) on an input placeholder of that shape and walks the type of the
// expression it returns, one ONNX node per spore node (a Dense layer's matmul by a transposed
// weight plus bias becomes one Gemm), in evaluation mode (Dropout is the identity, BatchNorm2d
// uses its running statistics). Parameters and buffers become initializers named by their
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
#include <spore/expr/batch_norm.hpp>
#include <spore/expr/conv.hpp>
#include <spore/expr/dropout.hpp>
#include <spore/expr/elementwise.hpp>
#include <spore/expr/matmul.hpp>
#include <spore/expr/node.hpp>
#include <spore/expr/reduce.hpp>
#include <spore/expr/reshape.hpp>
#include <spore/expr/softmax.hpp>
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

template <class T>
struct element_type {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "spore::io::export_onnx: ONNX export supports float and double tensors");
    static constexpr onnx::data_type value = std::is_same_v<T, float> ? onnx::data_type::float32 : onnx::data_type::float64;
};

template <class Op>
inline constexpr std::string_view elementwise_operator{};
template <> inline constexpr std::string_view elementwise_operator<expr::ops::neg> = "Neg";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::exp> = "Exp";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::log> = "Log";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::tanh> = "Tanh";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::sigmoid> = "Sigmoid";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::relu> = "Relu";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::sqrt> = "Sqrt";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::abs> = "Abs";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::square> = "Mul";  // x * x
template <> inline constexpr std::string_view elementwise_operator<expr::ops::add> = "Add";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::sub> = "Sub";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::mul> = "Mul";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::div> = "Div";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::maximum> = "Max";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::minimum> = "Min";
template <> inline constexpr std::string_view elementwise_operator<expr::ops::pow> = "Pow";

template <class R>
inline constexpr std::string_view reduce_operator{};
template <> inline constexpr std::string_view reduce_operator<expr::reductions::sum> = "ReduceSum";
template <> inline constexpr std::string_view reduce_operator<expr::reductions::mean> = "ReduceMean";
template <> inline constexpr std::string_view reduce_operator<expr::reductions::max> = "ReduceMax";

template <class E>
inline constexpr bool is_matmul_v = false;
template <class A, class B>
inline constexpr bool is_matmul_v<expr::matmul_node<A, B>> = true;

template <class E>
inline constexpr bool is_transpose_v = false;
template <class A>
inline constexpr bool is_transpose_v<expr::transpose_node<A>> = true;

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
    explicit graph_builder(const onnx_options& options) : options_(options) {
        if (options.input_name.empty() || options.output_name.empty() || options.input_name == options.output_name)
            throw error("spore::io::export_onnx: the input and output names must be non-empty and different (found '" +
                        options.input_name + "' and '" + options.output_name + "')");
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
            name = base + "_" + std::to_string(k);
        used_.insert(name);
        return name;
    }
    // A node reading a named parameter is named after its layer ("conv1/Conv").
    std::string node_name(std::string_view op_type, const std::vector<std::string>& inputs) {
        for (const std::string& in : inputs) {
            if (!parameter_paths_.contains(in)) continue;
            const std::size_t dot = in.rfind('.');
            return unique((dot == std::string::npos ? in : in.substr(0, dot)) + "/" + std::string(op_type));
        }
        return unique(std::string(op_type));
    }
    std::string add_node(std::string_view op_type, std::vector<std::string> inputs,
                         std::vector<onnx::attribute> attributes = {}) {
        onnx::node n;
        n.name = node_name(op_type, inputs);
        n.op_type = std::string(op_type);
        n.outputs = {n.name};
        n.inputs = std::move(inputs);
        n.attributes = std::move(attributes);
        graph_.nodes.push_back(std::move(n));
        return graph_.nodes.back().name;
    }
    std::string add_int64_initializer(const std::string& base, std::vector<std::int64_t> values) {
        onnx::tensor t;
        t.dims = {static_cast<std::int64_t>(values.size())};
        t.type = onnx::data_type::int64;
        t.int64_data = std::move(values);
        t.name = unique(base);
        graph_.initializers.push_back(std::move(t));
        return graph_.initializers.back().name;
    }

    // ---- the symbolic batch axis ----------------------------------------------------------
    [[noreturn]] static void batch_error(std::string_view what) {
        throw error("spore::io::export_onnx: cannot keep the batch axis symbolic: " + std::string(what) +
                    "; export with onnx_options{.symbolic_batch = false} for a graph of fixed batch size");
    }
    static std::string extents_text(const std::vector<std::int64_t>& extents) {
        std::string text = "[";
        for (std::size_t i = 0; i < extents.size(); ++i) text += (i ? ", " : "") + std::to_string(extents[i]);
        return text + "]";
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
                batch_error(std::string(op) + " aligns the batch axes of its operands at different positions");
            axis = at;
        }
        if (axis < 0) return -1;
        for (const layout& o : operands) {
            if (o.batch_axis >= 0) continue;
            const int offset = static_cast<int>(out.size() - o.extents.size());
            if (axis >= offset && o.extents[axis - offset] != 1)
                batch_error(std::string(op) + " combines the batch axis with a fixed extent " +
                            std::to_string(o.extents[axis - offset]) + " (operand of shape " + extents_text(o.extents) + ")");
        }
        return axis;
    }
    static void require_unbatched(std::string_view op, std::string_view operand, const value& v) {
        if (v.batch_axis >= 0) batch_error(std::string(op) + ": its " + std::string(operand) + " depends on the batch");
    }
    static void require_leading_batch(std::string_view op, const value& v) {
        if (v.batch_axis > 0)
            batch_error(std::string(op) + " reads the batch as axis " + std::to_string(v.batch_axis) + ", not axis 0");
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
    // A tensor the node holds by pointer (BatchNorm2d's running statistics), read at export.
    template <class Shape, class T>
    std::string emit_pointer(const T* data) {
        using ref = expr::tensor_ref<T, Shape>;
        ref r;
        r.data = data;
        return emit_leaf(r).name;
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

    // ---- nodes ----------------------------------------------------------------------------
    template <class E>
    value emit_node(const E&) {
        [[maybe_unused]] unsupported_onnx_node<E> rejected;
        return {};
    }

    template <class Op, class A>
    value emit_node(const expr::unary<Op, A>& e) {
        if constexpr (elementwise_operator<Op>.empty()) {
            [[maybe_unused]] unsupported_onnx_node<expr::unary<Op, A>> rejected;
            return {};
        } else {
            const value a = emit(e.a);
            if constexpr (std::is_same_v<Op, expr::ops::square>) return {add_node("Mul", {a.name, a.name}), a.batch_axis};
            else return {add_node(elementwise_operator<Op>, {a.name}), a.batch_axis};
        }
    }

    template <class Op, class A, class B>
    value emit_node(const expr::binary<Op, A, B>& e) {
        using out = typename expr::binary<Op, A, B>::shape_type;
        if constexpr (elementwise_operator<Op>.empty()) {
            [[maybe_unused]] unsupported_onnx_node<expr::binary<Op, A, B>> rejected;
            return {};
        } else if constexpr (std::is_same_v<Op, expr::ops::add> && is_matmul_v<A>) {
            return emit_product(e.a, &without_broadcast(e.b));
        } else if constexpr (std::is_same_v<Op, expr::ops::add> && is_matmul_v<B>) {
            return emit_product(e.b, &without_broadcast(e.a));
        } else {
            const auto& ea = without_broadcast(e.a);
            const auto& eb = without_broadcast(e.b);
            using EA = std::remove_cvref_t<decltype(ea)>;
            using EB = std::remove_cvref_t<decltype(eb)>;
            const value a = emit(ea);
            const value b = emit(eb);
            const int axis = elementwise_batch_axis(
                elementwise_operator<Op>, dims_of<out>(),
                {layout{a.batch_axis, dims_of<typename EA::shape_type>()}, layout{b.batch_axis, dims_of<typename EB::shape_type>()}});
            return {add_node(elementwise_operator<Op>, {a.name, b.name}), axis};
        }
    }

    template <class Out, class A>
    value emit_node(const expr::broadcast_to<Out, A>& e) {
        const value a = emit(e.a);
        std::vector<std::int64_t> target = dims_of<Out>();
        int axis = -1;
        if (a.batch_axis >= 0) {
            axis = a.batch_axis + static_cast<int>(Out::rank - A::shape_type::rank);
            if (target[axis] != static_cast<std::int64_t>(A::shape_type::extents[a.batch_axis]))
                batch_error("Expand broadcasts the batch axis to a fixed extent");
            target[axis] = 1;  // Expand keeps the operand's own extent where the target says 1
        }
        const std::string shape = add_int64_initializer("shape", std::move(target));
        return {add_node("Expand", {a.name, shape}), axis};
    }

    // op(A) * op(B) [+ C]: MatMul, or Gemm when an operand is transposed or a bias is added.
    template <class A, class B, class C = expr::constant<typename A::value_type>>
    value emit_product(const expr::matmul_node<A, B>& m, const C* bias = nullptr) {
        constexpr bool trans_a = is_transpose_v<A>, trans_b = is_transpose_v<B>;
        const auto& ea = [&]() -> const auto& {
            if constexpr (trans_a) return m.a.a;
            else return m.a;
        }();
        const auto& eb = [&]() -> const auto& {
            if constexpr (trans_b) return m.b.a;
            else return m.b;
        }();
        const value a = emit(ea);
        const value b = emit(eb);
        // the batch axis as an axis of op(A) [m, k] and op(B) [k, n]
        const int axis_a = a.batch_axis < 0 ? -1 : (trans_a ? 1 - a.batch_axis : a.batch_axis);
        const int axis_b = b.batch_axis < 0 ? -1 : (trans_b ? 1 - b.batch_axis : b.batch_axis);
        const std::string_view op = bias || trans_a || trans_b ? "Gemm" : "MatMul";
        if ((axis_a == 1) != (axis_b == 0))
            batch_error(std::string(op) + " sums over the batch axis of one operand against a fixed extent of the other");
        if (axis_a == 0 && axis_b == 1) batch_error(std::string(op) + " has the batch axis in both operands");
        int axis = axis_a == 0 ? 0 : (axis_b == 1 ? 1 : -1);
        std::vector<std::string> inputs{a.name, b.name};
        if (bias) {
            const value c = emit(*bias);
            axis = elementwise_batch_axis("Gemm", dims_of<typename expr::matmul_node<A, B>::shape_type>(),
                                          {layout{axis, dims_of<typename expr::matmul_node<A, B>::shape_type>()},
                                           layout{c.batch_axis, dims_of<typename C::shape_type>()}});
            inputs.push_back(c.name);
        }
        if (op == "MatMul") return {add_node(op, std::move(inputs)), axis};
        std::vector<onnx::attribute> attributes;
        if (trans_a) attributes.push_back(onnx::attribute::integer("transA", 1));
        if (trans_b) attributes.push_back(onnx::attribute::integer("transB", 1));
        return {add_node(op, std::move(inputs), std::move(attributes)), axis};
    }
    template <class A, class B>
    value emit_node(const expr::matmul_node<A, B>& e) {
        return emit_product(e);
    }

    template <class A>
    value emit_node(const expr::transpose_node<A>& e) {
        const value a = emit(e.a);
        return {add_node("Transpose", {a.name}, {onnx::attribute::integers("perm", {1, 0})}),
                a.batch_axis < 0 ? -1 : 1 - a.batch_axis};
    }

    template <class S, class A>
    value emit_node(const expr::reshape_node<S, A>& e) {
        using in = typename A::shape_type;
        const value a = emit(e.a);
        const bool keeps_leading = S::rank >= 1 && in::rank >= 1 && S::extents[0] == in::extents[0];
        if (a.batch_axis >= 0 && !(a.batch_axis == 0 && keeps_leading))
            batch_error("Reshape from " + in::to_string() + " to " + S::to_string() + " moves the batch axis");
        if (S::rank == 2 && in::rank >= 2 && keeps_leading)
            return {add_node("Flatten", {a.name}, {onnx::attribute::integer("axis", 1)}), a.batch_axis};
        std::vector<std::int64_t> target = dims_of<S>();
        if (a.batch_axis == 0) target[0] = 0;  // 0: the input's extent on that axis
        const std::string shape = add_int64_initializer("shape", std::move(target));
        return {add_node("Reshape", {a.name, shape}), a.batch_axis};
    }

    template <class R, class A>
    value emit_node(const expr::reduce_all<R, A>& e) {
        const value a = emit(e.a);
        return {add_node(reduce_operator<R>, {a.name}, {onnx::attribute::integer("keepdims", 0)}), -1};
    }
    template <class R, std::size_t Axis, class A>
    value emit_node(const expr::reduce_axis<R, Axis, A>& e) {
        const value a = emit(e.a);
        const int axis = a.batch_axis == static_cast<int>(Axis) ? -1
                         : a.batch_axis > static_cast<int>(Axis) ? a.batch_axis - 1
                                                                 : a.batch_axis;
        return {add_node(reduce_operator<R>, {a.name},
                         {onnx::attribute::integers("axes", {static_cast<std::int64_t>(Axis)}),
                          onnx::attribute::integer("keepdims", 0)}),
                axis};
    }

    template <bool Log, class A>
    value emit_node(const expr::softmax_node<Log, A>& e) {
        static_assert(A::shape_type::rank >= 1, "spore::io::export_onnx: softmax of a scalar has no ONNX operator");
        const value a = emit(e.a);
        // opset 11's Softmax flattens to [rows before axis, the rest]: with the last axis, that is
        // spore's softmax over each row
        return {add_node(Log ? "LogSoftmax" : "Softmax", {a.name},
                         {onnx::attribute::integer("axis", static_cast<std::int64_t>(A::shape_type::rank) - 1)}),
                a.batch_axis};
    }

    template <std::size_t Stride, std::size_t Padding, class X, class W, class C>
    value emit_node(const expr::conv2d_node<Stride, Padding, X, W, C>& e) {
        using node = expr::conv2d_node<Stride, Padding, X, W, C>;
        constexpr auto g = node::geometry;
        const value x = emit(e.a);
        const value w = emit(e.b);
        require_leading_batch("Conv", x);
        require_unbatched("Conv", "weight", w);
        std::vector<std::string> inputs{x.name, w.name};
        value scalar_bias;
        if constexpr (node::has_bias) {
            const value c = emit(e.c);
            require_unbatched("Conv", "bias", c);
            if constexpr (C::shape_type::rank == 1) inputs.push_back(c.name);
            else scalar_bias = c;  // Conv's bias is one value per filter: add a scalar after it
        }
        const auto s = static_cast<std::int64_t>(Stride), p = static_cast<std::int64_t>(Padding);
        std::string out = add_node("Conv", std::move(inputs),
                                   {onnx::attribute::integers("kernel_shape", {static_cast<std::int64_t>(g.kernel_h),
                                                                               static_cast<std::int64_t>(g.kernel_w)}),
                                    onnx::attribute::integers("strides", {s, s}),
                                    onnx::attribute::integers("pads", {p, p, p, p}),
                                    onnx::attribute::integers("dilations", {1, 1}),
                                    onnx::attribute::integer("group", 1)});
        if (!scalar_bias.name.empty()) out = add_node("Add", {out, scalar_bias.name});
        return {out, x.batch_axis};
    }

    // Evaluation mode: dropout passes its input through.
    template <double P, class A>
    value emit_node(const expr::dropout_node<P, A>& e) {
        return emit(e.a);
    }

    template <class A, class W, class B>
    value emit_node(const expr::batch_norm_node<A, W, B>& e) {
        using T = typename A::value_type;
        using channels = shape<A::shape_type::extents[1]>;
        const value x = emit(e.a);
        const value scale = emit(e.b);
        const value bias = emit(e.c);
        require_leading_batch("BatchNormalization", x);
        require_unbatched("BatchNormalization", "scale", scale);
        require_unbatched("BatchNormalization", "bias", bias);
        std::vector<std::string> inputs{x.name, scale.name, bias.name, emit_pointer<channels>(static_cast<const T*>(e.running_mean)),
                                        emit_pointer<channels>(static_cast<const T*>(e.running_var))};
        // ONNX's momentum weighs the old running value, PyTorch's (and spore's) the new one
        return {add_node("BatchNormalization", std::move(inputs),
                         {onnx::attribute::real("epsilon", static_cast<float>(e.eps)),
                          onnx::attribute::real("momentum", static_cast<float>(T(1) - e.momentum))}),
                x.batch_axis};
    }

    template <expr::pooling Kind, std::size_t Kernel, std::size_t Stride, class A>
    value emit_node(const expr::pool2d_node<Kind, Kernel, Stride, A>& e) {
        const std::string_view op = Kind == expr::pooling::max ? "MaxPool" : "AveragePool";
        const value a = emit(e.a);
        require_leading_batch(op, a);
        const auto k = static_cast<std::int64_t>(Kernel), s = static_cast<std::int64_t>(Stride);
        return {add_node(op, {a.name},
                         {onnx::attribute::integers("kernel_shape", {k, k}), onnx::attribute::integers("strides", {s, s})}),
                a.batch_axis};
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
    model.producer_version = std::to_string(SPORE_VERSION_MAJOR) + "." + std::to_string(SPORE_VERSION_MINOR) + "." +
                             std::to_string(SPORE_VERSION_PATCH);
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
