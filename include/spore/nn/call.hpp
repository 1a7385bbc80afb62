#pragma once
// Calling a cell, and the record of what each cell returned.
//
// spore::call(cell, x) applies any cell to an expression: its construct(x) when it has one, else
// its operator()(x). Everything in spore that applies a cell goes through it (spore::Model,
// spore::predictor, io::export_onnx, nn::summary, nn::Sequential), so a cell may name its
// forward pass either way. A cell whose forward pass is its operator() is called like a layer,
// `block(h)`, and is a whole net all the same:
//
//   struct Block {
//       nn::Dense<64, 64> fc;
//       nn::ReLU relu;
//       auto operator()(auto x) const { return relu(fc(x)); }
//   };
//
// (A base class that would give every cell an operator() is not possible: C++20 has no
// "deducing this", and Boost.PFR refuses an aggregate with a base class, "Boost.PFR: Inherited
// types are not supported", so a cell with a base could not be walked.)
//
// The record: while an nn::output_recorder is alive on a thread (nn::summary makes one while it
// builds the forward graph), every cell applied through spore::call, and every layer of spore
// (whose operator() returns nn::record_output(*this, expression)), notes its address, its type
// and the shape of its result. Otherwise record_output is one test of a thread-local pointer,
// made when the graph is built, never when it is evaluated.

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace spore::nn {

// One call of a cell: which cell (its address and a key of its type: a cell and its first field
// share an address), and the shape of the expression it returned.
struct output_record {
    const void* cell;
    const void* type;
    const std::size_t* extents;
    std::size_t rank;
};

namespace detail {
template <class T>
inline constexpr char type_key = 0;
inline thread_local std::vector<output_record>* active_output_records = nullptr;
}  // namespace detail

// The key of a type in output_record::type.
template <class T>
constexpr const void* type_key_of() noexcept {
    return &detail::type_key<std::remove_cvref_t<T>>;
}

// Records, on this thread and while it lives, the outputs of the cells applied. Recorders nest
// (the inner one records, the outer one resumes afterwards).
class output_recorder {
public:
    output_recorder() noexcept : previous_(detail::active_output_records) { detail::active_output_records = &records_; }
    ~output_recorder() { detail::active_output_records = previous_; }
    output_recorder(const output_recorder&) = delete;
    output_recorder& operator=(const output_recorder&) = delete;

    // In the order the calls returned (an inner layer before the cell that called it).
    const std::vector<output_record>& records() const noexcept { return records_; }
    // The first call of `cell`, or nullptr.
    template <class Cell>
    const output_record* find(const Cell& cell) const noexcept {
        return find(static_cast<const void*>(&cell), type_key_of<Cell>());
    }
    const output_record* find(const void* cell, const void* type) const noexcept {
        for (const output_record& r : records_)
            if (r.cell == cell && r.type == type) return &r;
        return nullptr;
    }

private:
    std::vector<output_record> records_;
    std::vector<output_record>* previous_;
};

// What a layer's operator() returns its expression through: `result` itself, noted by the
// thread's output_recorder when there is one.
template <class Cell, class E>
E record_output(const Cell& cell, E result) {
    if constexpr (requires { E::shape_type::extents.data(); E::shape_type::rank; }) {
        if (std::vector<output_record>* records = detail::active_output_records) [[unlikely]] {
            const output_record r{static_cast<const void*>(&cell), type_key_of<Cell>(), E::shape_type::extents.data(),
                                  E::shape_type::rank};
            // a layer applied with spore::call records itself, and spore::call would again
            if (records->empty() || records->back().cell != r.cell || records->back().type != r.type)
                records->push_back(r);
        }
    }
    return result;
}

namespace detail {
template <class Cell, class X>
struct check_callable {
    static_assert(sizeof(Cell) == 0,
                  "spore::call: the cell has neither construct(x) nor operator()(x) taking this input "
                  "(see check_callable<cell, input> above)");
};
}  // namespace detail

}  // namespace spore::nn

namespace spore {

// Applies `cell` to the expression `x`: cell.construct(x) when the cell has a construct, else
// cell(x); the result is recorded for nn::summary (nn::record_output).
template <class Cell, class X>
auto call(const Cell& cell, X&& x) {
    if constexpr (requires { cell.construct(std::forward<X>(x)); })
        return nn::record_output(cell, cell.construct(std::forward<X>(x)));
    else if constexpr (requires { cell(std::forward<X>(x)); })
        return nn::record_output(cell, cell(std::forward<X>(x)));
    else
        return nn::detail::check_callable<Cell, std::remove_cvref_t<X>>{};
}

// The type of spore::call(cell, x).
template <class Cell, class X>
using call_result_t = decltype(spore::call(std::declval<const Cell&>(), std::declval<X>()));

}  // namespace spore
