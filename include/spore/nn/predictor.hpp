#pragma once
// Inference: the forward-only program of a cell (spore::call: its construct(x) or operator()) in
// evaluation mode (Dropout off, BatchNorm on its running statistics), for input batches of one
// static shape.
//
//   spore::predictor<LeNet5, spore::shape<1, 1, 32, 32>> classify(net);
//   const auto& logits = classify(image);          // no allocation after construction
//
//   const auto& logits = spore::predict(net, images);   // the same, built on first use
//
// The program reads the weights where the cell keeps them, so it always sees the current
// ones, and keeps its activations to itself: one net serves any number of threads, each with
// its own predictor. spore::predict keeps one predictor per thread, cell type and input shape,
// rebuilt when called with another cell.

#include <memory>
#include <utility>
#include <vector>

#include <spore/core/tensor.hpp>
#include <spore/expr/program.hpp>
#include <spore/expr/node.hpp>
#include <spore/nn/buffer.hpp>
#include <spore/nn/call.hpp>
#include <spore/nn/cell.hpp>

namespace spore {

namespace nn::detail {
struct predictor_input;
}

template <class Cell, class InputShape, class T = float>
class predictor {
    static auto build(const Cell& net) {
        return compile(spore::call(net, expr::placeholder<nn::detail::predictor_input, T, InputShape>()));
    }
    using program_type = decltype(build(std::declval<const Cell&>()));

public:
    using output_type = tensor<typename program_type::value_type, typename program_type::shape_type>;

    explicit predictor(const Cell& net) : program_(std::make_unique<program_type>(build(net))) {}

    // The output of the last call stays valid until the next one.
    const output_type& operator()(const tensor<T, InputShape>& images) {
        program_->template feed<nn::detail::predictor_input>(images);
        return (*program_)();
    }

private:
    std::unique_ptr<program_type> program_;
};

namespace nn::detail {
// Where a cell keeps its weights and buffers. A program refers to that memory, not to the cell
// object, so a cached program fits a cell exactly when these addresses are the same (a new
// cell can sit at the address of a destroyed one, with other storage).
class storage_signature {
public:
    template <class Cell>
    void record(const Cell& net) {
        addresses_.clear();
        visit(net, [&](const void* p) { addresses_.push_back(p); });
    }
    template <class Cell>
    bool matches(const Cell& net) const {
        std::size_t i = 0;
        bool same = true;
        visit(net, [&](const void* p) { same = same && i < addresses_.size() && addresses_[i++] == p; });
        return same && i == addresses_.size();
    }

private:
    template <class Cell, class F>
    static void visit(const Cell& net, F&& f) {
        for_each_parameter(net, [&](const auto& t) { f(t.data()); });
        for_each_buffer(net, [&](const auto& b) { f(b.data()); });
    }
    std::vector<const void*> addresses_;
};
}  // namespace nn::detail

template <class Cell, class T, class S>
const auto& predict(const Cell& net, const tensor<T, S>& images) {
    thread_local nn::detail::storage_signature built_for;
    thread_local std::unique_ptr<predictor<Cell, S, T>> cached;
    if (!cached || !built_for.matches(net)) {
        cached = std::make_unique<predictor<Cell, S, T>>(net);
        built_for.record(net);
    }
    return (*cached)(images);
}

}  // namespace spore
