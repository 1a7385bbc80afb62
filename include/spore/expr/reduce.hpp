#pragma once
// Reductions: sum, mean and max over all axes (a scalar) or over one axis. Their operand is
// read through a fused loop, so sum(tanh(a * b + c)) never stores tanh(a * b + c).

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <string_view>
#include <type_traits>

#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/kernels/counters.hpp>

namespace spore::expr {

namespace reductions {
struct sum {
    static constexpr bool is_max = false;
    static constexpr std::string_view onnx = "ReduceSum";
};
struct mean {
    static constexpr bool is_max = false;
    static constexpr std::string_view onnx = "ReduceMean";
};
struct max {
    static constexpr bool is_max = true;
    static constexpr std::string_view onnx = "ReduceMax";
};
}  // namespace reductions

// How a loss reduces its per-element (or per-row) terms, as PyTorch's `reduction` argument.
enum class loss_reduction { mean, sum, none };

// A loss over rows (cross-entropy, NLL): its value's shape, the value from the row terms, and
// the adjoint each row's term receives. `counted` rows were not ignored (the mean's divisor).
template <loss_reduction R, std::size_t Rows>
using row_loss_shape = std::conditional_t<R == loss_reduction::none, shape<Rows>, shape<>>;

template <loss_reduction R, class T>
void store_row_loss(T* out, T total, std::size_t counted) {
    if constexpr (R == loss_reduction::mean) out[0] = counted ? total / T(counted) : T(0);  // all ignored: 0, not 0/0
    else if constexpr (R == loss_reduction::sum) out[0] = total;
}

template <loss_reduction R, class T>
T row_loss_seed(const T* adjoint, std::size_t counted, std::size_t row) {
    if constexpr (R == loss_reduction::mean) return adjoint[0] / T(counted);
    else if constexpr (R == loss_reduction::sum) return adjoint[0];
    else return adjoint[row];
}

template <class Reduction, class T>
constexpr T reduction_identity() {
    if constexpr (Reduction::is_max) return -std::numeric_limits<T>::infinity();
    else return T(0);
}

// Accumulates a reduction in a SIMD register and a scalar (for loop tails), then folds both.
template <class Reduction, class T>
struct accumulator {
    using V = simd::batch<T>;
    V lanes = simd::splat<V>(reduction_identity<Reduction, T>());
    T tail = reduction_identity<Reduction, T>();

    template <class W>
    SPORE_ALWAYS_INLINE void add(const W& x) {
        if constexpr (simd::is_batch_v<W>) lanes = Reduction::is_max ? simd::max(lanes, x) : lanes + x;
        else tail = Reduction::is_max ? simd::max(tail, x) : tail + x;
    }
    T result() const {
        if constexpr (Reduction::is_max) {
            alignas(64) T values[V::size];
            lanes.store_aligned(values);
            T top = tail;
            for (T v : values) top = simd::max(top, v);
            return top;
        } else {
            return simd::hsum(lanes) + tail;
        }
    }
};

template <class Reduction, class A>
struct reduce_all : node_base<typename A::value_type, shape<>, node_kind::heavy> {
    using reduction = Reduction;
    using T = typename A::value_type;
    static constexpr bool fuses_operands = true;
    A a;
    bool operator==(const reduce_all&) const = default;

    template <class S>
    void forward(S& state) const {
        kernels::count(kernels::counters.reduce);
        state.mutable_value()[0] = reduce(a, state.a);
    }

    template <class S>
    static T reduce(const A& a, S& child_state) {
        accumulator<Reduction, T> acc;
        for_each_row(a, child_state, [&](const auto& cursor, std::size_t, std::size_t length) {
            for_each_batch<T>(length, [&]<class W>(std::size_t j) { acc.add(cursor.template forward<W>(j).out); });
        });
        T total = acc.result();
        if constexpr (std::is_same_v<Reduction, reductions::mean>) total /= T(A::shape_type::size);
        return total;
    }

    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        const auto x = graph.emit(a);
        return {graph.node(Reduction::onnx, {x.name}, {graph.integer("keepdims", 0)}), -1};
    }
};

template <class Shape, std::size_t Axis>
struct drop_axis {
    struct holder {
        static constexpr auto value = [] {
            std::array<std::size_t, Shape::rank - 1> out{};
            for (std::size_t i = 0, o = 0; i < Shape::rank; ++i)
                if (i != Axis) out[o++] = Shape::extents[i];
            return out;
        }();
    };
    using type = shape_from_array<holder>;
};

template <class Reduction, std::size_t Axis, class A>
struct reduce_axis : node_base<typename A::value_type, typename drop_axis<typename A::shape_type, Axis>::type,
                               node_kind::heavy> {
    using reduction = Reduction;
    using in_shape = typename A::shape_type;
    using out_shape = typename drop_axis<in_shape, Axis>::type;
    using T = typename A::value_type;
    static constexpr std::size_t axis = Axis;
    static constexpr bool last_axis = Axis + 1 == in_shape::rank;
    static constexpr bool fuses_operands = true;
    A a;
    bool operator==(const reduce_axis&) const = default;

    // Offset in the output of the element at `in_offset` in the input (the reduced axis dropped).
    static constexpr std::size_t output_offset(std::size_t in_offset) {
        std::size_t out = 0, step = 1;
        for (std::size_t d = in_shape::rank; d-- > 0;) {
            const std::size_t coord = in_offset % in_shape::extents[d];
            in_offset /= in_shape::extents[d];
            if (d != Axis) {
                out += coord * step;
                step *= in_shape::extents[d];
            }
        }
        return out;
    }

    template <class S>
    void forward(S& state) const {
        kernels::count(kernels::counters.reduce);
        T* out = state.mutable_value();
        std::fill_n(out, out_shape::size, reduction_identity<Reduction, T>());
        for_each_row<true>(a, state.a, [&](const auto& cursor, std::size_t base, std::size_t length) {
            if constexpr (last_axis) {
                accumulator<Reduction, T> acc;
                for_each_batch<T>(length, [&]<class W>(std::size_t j) { acc.add(cursor.template forward<W>(j).out); });
                out[base / length] = acc.result();
            } else {
                T* row = out + output_offset(base);
                for_each_batch<T>(length, [&]<class W>(std::size_t j) {
                    W x = cursor.template forward<W>(j).out;
                    W y = simd::load<W>(row + j);
                    simd::store(row + j, Reduction::is_max ? simd::max(x, y) : x + y);
                });
            }
        });
        if constexpr (std::is_same_v<Reduction, reductions::mean>) {
            const T scale = T(1) / T(in_shape::extents[Axis]);
            for (std::size_t i = 0; i < out_shape::size; ++i) out[i] *= scale;
        }
    }

    template <class Graph>
    auto to_onnx(Graph& graph) const -> typename Graph::value {
        const auto x = graph.emit(a);
        const int axis = static_cast<int>(Axis);
        const int batch_axis = x.batch_axis == axis ? -1 : x.batch_axis > axis ? x.batch_axis - 1 : x.batch_axis;
        return {graph.node(Reduction::onnx, {x.name}, {graph.integers("axes", {axis}), graph.integer("keepdims", 0)}),
                batch_axis};
    }
};

template <class Reduction, std::size_t Axis, class Shape>
struct check_axis {
    static_assert(Axis < Shape::rank, "spore: reduction axis out of range (see check_axis<reduction, axis, shape> above)");
    static constexpr bool ok = Axis < Shape::rank;
};

}  // namespace spore::expr

namespace spore {

#define SPORE_REDUCTION(name)                                                                  \
    template <expr::non_scalar_operand X>                                                      \
    constexpr auto name(X&& x) {                                                               \
        auto e = expr::operand_expression<X, X>(std::forward<X>(x));                           \
        return expr::reduce_all<expr::reductions::name, decltype(e)>{{}, e};                   \
    }                                                                                          \
    template <std::size_t Axis, expr::non_scalar_operand X>                                    \
    constexpr auto name(X&& x) {                                                               \
        auto e = expr::operand_expression<X, X>(std::forward<X>(x));                           \
        using E = decltype(e);                                                                 \
        if constexpr (expr::check_axis<expr::reductions::name, Axis, typename E::shape_type>::ok) \
            return expr::reduce_axis<expr::reductions::name, Axis, E>{{}, e};                  \
    }
SPORE_REDUCTION(sum)
SPORE_REDUCTION(mean)
SPORE_REDUCTION(max)
#undef SPORE_REDUCTION

}  // namespace spore
