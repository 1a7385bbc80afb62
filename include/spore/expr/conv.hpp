#pragma once
// conv2d(x, w, b) over NCHW with compile-time stride and padding, and max/avg pooling.
// x [N, C, H, W], w [F, C, KH, KW], b [F] -> [N, F, OH, OW]. Operands are read dense
// (materialised once if they are expressions) and run through kernels/conv.hpp.

#include <cstddef>
#include <cstdint>

#include <spore/expr/elementwise.hpp>
#include <spore/expr/heavy.hpp>
#include <spore/kernels/conv.hpp>
#include <spore/kernels/pool.hpp>

namespace spore::expr {

template <class Input, class Weight, class Bias, std::size_t Stride, std::size_t Padding>
struct check_conv2d {
    static constexpr bool ranks = Input::rank == 4 && Weight::rank == 4;
    static_assert(ranks, "spore: conv2d takes an input [N, C, H, W] and weights [F, C, KH, KW] "
                         "(see check_conv2d<input, weight, bias, stride, padding> above)");
    static constexpr bool channels = ranks && Input::extents[1] == Weight::extents[1];
    static_assert(!ranks || channels, "spore: conv2d: the input's channels differ from the weights' "
                                      "(see check_conv2d<input, weight, bias, stride, padding> above)");
    static constexpr bool fits = ranks && Input::extents[2] + 2 * Padding >= Weight::extents[2] &&
                                 Input::extents[3] + 2 * Padding >= Weight::extents[3];
    static_assert(!ranks || fits, "spore: conv2d: the kernel is larger than the padded input "
                                  "(see check_conv2d<input, weight, bias, stride, padding> above)");
    static constexpr bool bias = Bias::rank == 0 || (Bias::rank == 1 && ranks && Bias::extents[0] == Weight::extents[0]);
    static_assert(bias, "spore: conv2d: the bias must have one value per filter "
                        "(see check_conv2d<input, weight, bias, stride, padding> above)");
    static_assert(Stride > 0, "spore: conv2d: the stride must be positive");
    static constexpr bool ok = ranks && channels && fits && bias && Stride > 0;
};

template <std::size_t Stride, std::size_t Padding, class X, class W>
struct conv2d_shape {
    using xs = typename X::shape_type;
    using ws = typename W::shape_type;
    static constexpr kernels::conv2d_geometry geometry{xs::extents[1], xs::extents[2], xs::extents[3],
                                                       ws::extents[0], ws::extents[2], ws::extents[3], Stride, Padding};
    using type = shape<xs::extents[0], ws::extents[0], geometry.out_h(), geometry.out_w()>;
};

// Bias C is a [F] operand, or constant<T> when the convolution has none.
template <std::size_t Stride, std::size_t Padding, class X, class W, class C>
struct conv2d_node : node_base<typename X::value_type, typename conv2d_shape<Stride, Padding, X, W>::type,
                               node_kind::heavy> {
    using T = typename X::value_type;
    static constexpr kernels::conv2d_geometry geometry = conv2d_shape<Stride, Padding, X, W>::geometry;
    static constexpr std::size_t batch = X::shape_type::extents[0];
    static constexpr bool has_bias = C::kind != node_kind::constant;
    X a;
    W b;
    C c;
    bool operator==(const conv2d_node&) const = default;

    template <class S>
    void forward(S& state) const {
        state.x_values = operand_values(a, state.a, state.a_buffer);
        state.w_values = operand_values(b, state.b, state.b_buffer);
        const T* bias = nullptr;
        if constexpr (has_bias) bias = operand_values(c, state.c, state.c_buffer);
        kernels::conv2d_forward(geometry, batch, state.x_values, state.w_values, bias, state.mutable_value());
    }
};

template <std::size_t Stride, std::size_t Padding, class X, class W, class C>
struct state_of<conv2d_node<Stride, Padding, X, W, C>> {
    using node = conv2d_node<Stride, Padding, X, W, C>;
    using T = typename X::value_type;
    struct type : heavy_state_base<T, typename node::shape_type> {
        state_t<X> a;
        state_t<W> b;
        state_t<C> c;
        operand_buffer<X> a_buffer;
        operand_buffer<W> b_buffer;
        operand_buffer<C> c_buffer;
        const T* x_values = nullptr;
        const T* w_values = nullptr;
        // gradients of operands that are not dense, and the weight gradient's chunk sums
        aligned_buffer<T> x_gradient, w_gradient, bias_gradient, weight_scratch;
        void allocate_buffers() {
            a_buffer.allocate();
            b_buffer.allocate();
            if constexpr (node::has_bias) c_buffer.allocate();
            if (!this->needs_grad) return;
            x_gradient = aligned_buffer<T>(X::shape_type::size);
            w_gradient = aligned_buffer<T>(W::shape_type::size);
            bias_gradient = aligned_buffer<T>(node::geometry.filters);
            weight_scratch = aligned_buffer<T>(kernels::weight_gradient_scratch<T>(node::geometry, node::batch));
        }
    };
};

enum class pooling { max, average };

template <pooling Kind, std::size_t Kernel, std::size_t Stride, class Shape>
struct pool2d_shape {
    static_assert(Shape::rank == 4, "spore: pooling takes an input [N, C, H, W] (see pool2d_shape<...> above)");
    static_assert(Kernel > 0 && Stride > 0 && Kernel <= Shape::extents[2] && Kernel <= Shape::extents[3],
                  "spore: the pooling window must fit the input (see pool2d_shape<kind, kernel, stride, shape> above)");
    static constexpr kernels::pool2d_geometry geometry{Shape::extents[0] * Shape::extents[1], Shape::extents[2],
                                                       Shape::extents[3], Kernel, Stride};
    using type = shape<Shape::extents[0], Shape::extents[1], geometry.out_h(), geometry.out_w()>;
};

template <pooling Kind, std::size_t Kernel, std::size_t Stride, class A>
struct pool2d_node : node_base<typename A::value_type,
                               typename pool2d_shape<Kind, Kernel, Stride, typename A::shape_type>::type, node_kind::heavy> {
    static constexpr kernels::pool2d_geometry geometry =
        pool2d_shape<Kind, Kernel, Stride, typename A::shape_type>::geometry;
    A a;
    bool operator==(const pool2d_node&) const = default;

    template <class S>
    void forward(S& state) const {
        const auto* x = operand_values(a, state.a, state.a_buffer);
        if constexpr (Kind == pooling::max)  // the argmax only for a backward pass
            kernels::max_pool2d_forward(geometry, x, state.mutable_value(), state.needs_grad ? state.where.data() : nullptr);
        else kernels::avg_pool2d_forward(geometry, x, state.mutable_value());
    }
};

template <pooling Kind, std::size_t Kernel, std::size_t Stride, class A>
struct state_of<pool2d_node<Kind, Kernel, Stride, A>> {
    using node = pool2d_node<Kind, Kernel, Stride, A>;
    using T = typename A::value_type;
    struct type : heavy_state_base<T, typename node::shape_type> {
        state_t<A> a;
        operand_buffer<A> a_buffer;
        aligned_buffer<std::uint32_t> where;  // max pooling: argmax of each window
        aligned_buffer<T> a_gradient;
        void allocate_buffers() {
            a_buffer.allocate();
            if (!this->needs_grad) return;
            if constexpr (Kind == pooling::max) where = aligned_buffer<std::uint32_t>(node::shape_type::size);
            a_gradient = aligned_buffer<T>(A::shape_type::size);
        }
    };
};

}  // namespace spore::expr

namespace spore {

// conv2d<Stride, Padding>(x, w, b): NCHW convolution ("valid" with Padding = 0).
template <std::size_t Stride = 1, std::size_t Padding = 0, expr::non_scalar_operand X, expr::non_scalar_operand W,
          expr::non_scalar_operand B>
constexpr auto conv2d(X&& x, W&& w, B&& b) {
    auto ex = expr::operand_expression<X, X>(std::forward<X>(x));
    auto ew = expr::operand_expression<W, W>(std::forward<W>(w));
    auto eb = expr::operand_expression<B, B>(std::forward<B>(b));
    using EX = decltype(ex);
    using EW = decltype(ew);
    using EB = decltype(eb);
    static_assert(std::is_same_v<typename EX::value_type, typename EW::value_type> &&
                      std::is_same_v<typename EX::value_type, typename EB::value_type>,
                  "spore: conv2d operands must have the same element type");
    if constexpr (expr::check_conv2d<typename EX::shape_type, typename EW::shape_type, typename EB::shape_type, Stride,
                                     Padding>::ok)
        return expr::conv2d_node<Stride, Padding, EX, EW, EB>{{}, ex, ew, eb};
}
// Without bias.
template <std::size_t Stride = 1, std::size_t Padding = 0, expr::non_scalar_operand X, expr::non_scalar_operand W>
constexpr auto conv2d(X&& x, W&& w) {
    auto ex = expr::operand_expression<X, X>(std::forward<X>(x));
    auto ew = expr::operand_expression<W, W>(std::forward<W>(w));
    using EX = decltype(ex);
    using EW = decltype(ew);
    using T = typename EX::value_type;
    using none = expr::constant<T>;
    if constexpr (expr::check_conv2d<typename EX::shape_type, typename EW::shape_type, shape<>, Stride, Padding>::ok)
        return expr::conv2d_node<Stride, Padding, EX, EW, none>{{}, ex, ew, none{{}, T(0)}};
}

template <std::size_t Kernel, std::size_t Stride = Kernel, expr::non_scalar_operand X>
constexpr auto max_pool2d(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    return expr::pool2d_node<expr::pooling::max, Kernel, Stride, decltype(a)>{{}, a};
}
template <std::size_t Kernel, std::size_t Stride = Kernel, expr::non_scalar_operand X>
constexpr auto avg_pool2d(X&& x) {
    auto a = expr::operand_expression<X, X>(std::forward<X>(x));
    return expr::pool2d_node<expr::pooling::average, Kernel, Stride, decltype(a)>{{}, a};
}

}  // namespace spore
