#pragma once
// spore::Model, data-parallel: the distribution policy that makes a Model train across the
// ranks of an MPI job (train/distribution.hpp says what a policy does).
//
//   spore::parallel::context ctx({.parallel_mode = spore::parallel::mode::data_parallel});
//   spore::init(net, seed);
//   spore::parallel::broadcast_parameters(net);        // every rank starts from rank 0's weights
//   auto model = spore::Model(net, loss, optimiser, spore::batch<32>, spore::input_shape<1, 32, 32>,
//                             spore::parallel::data_parallel(ctx));
//   model.fit(epochs, train, test);                    // batch 32 per rank; rank 0 reports
//
// Each rank trains on its slice of every epoch's shuffled order (the same seed everywhere);
// the Model's loss is a mean over a batch's real rows, so gradients are averaged weighted by
// rows (gradient_reducer::run(rows)), and the step's loss is the mean over all ranks' rows.
// The reduction overlaps the backward pass through run_step; a Model that only calls
// after_backward gets the same result with the exchange after the pass.

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <tuple>
#include <utility>

#include <spore/data/sampler.hpp>
#include <spore/parallel/context.hpp>
#include <spore/parallel/gradient_reducer.hpp>
#include <spore/train/distribution.hpp>

namespace spore::parallel {

class data_parallel : public train::single_process {
public:
    explicit data_parallel(context& ctx = context::current(), reducer_options options = {}) : ctx_(&ctx), options_(options) {}

    data::shard shard() const noexcept { return {std::size_t(ctx_->global_rank()), std::size_t(ctx_->device_num())}; }
    bool reporting() const noexcept { return ctx_->is_main(); }

    // One training step with the exchange overlapping the backward pass; the program's
    // gradients hold the mean over all ranks' rows afterwards. Returns the step's mean loss.
    template <class Program>
    float run_step(Program& program, std::size_t rows) {
        return float(reducer_for(program).run(rows));
    }
    // The exchange after the backward pass, for a caller that ran the program itself.
    template <class Gradients>
    void after_backward(Gradients& gradients, std::size_t rows, float& loss) {
        auto& buckets = buckets_for(gradients);
        const row_weighting w{ctx_->gradients_mean(), rows};
        buckets.begin(typename bucketed_allreduce<Gradients>::T(w.weight()));
        buckets.pack_all();
        std::array<double, 2> totals{double(loss) * double(rows), double(rows)};
        buckets.finish(totals, [&](const auto& t) { return row_weighting::scale(t, w.mean); });
        loss = float(totals[0] / totals[1]);
    }
    // Sums over the ranks, in place.
    void sum(std::span<double> values) {
        if (!ctx_->distributed() || values.empty()) return;
        MPI_Request request;
        ctx_->check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, MPI_SUM, ctx_->communicator(), &request),
                    "summing over the ranks");
        ctx_->wait(request, "a sum over the ranks");
    }

    context& parallel_context() const noexcept { return *ctx_; }

private:
    // The reducer is made at the first step, for the Model's program (whose type the policy
    // cannot name before); one policy serves one Model.
    struct holder_base {
        virtual ~holder_base() = default;
        const void* type = nullptr;
        const void* target = nullptr;
    };
    template <class X>
    struct holder : holder_base {
        template <class... A>
        explicit holder(A&&... args) : value(std::forward<A>(args)...) {}
        X value;
    };
    template <class X>
    static inline const char type_key = 0;

    template <class X, class Target, class Make>
    X& lazy(const Target& target, Make&& make) {
        if (!held_) {
            held_ = make();
            held_->type = &type_key<X>;
            held_->target = &target;
        }
        if (held_->type != &type_key<X> || held_->target != &target)
            throw error("spore::parallel::data_parallel: one policy serves one Model; give each Model its own");
        return static_cast<holder<X>&>(*held_).value;
    }
    template <class Program>
    gradient_reducer<Program>& reducer_for(Program& program) {
        return lazy<gradient_reducer<Program>>(program, [&] {
            return std::make_unique<holder<gradient_reducer<Program>>>(*ctx_, program, options_);
        });
    }
    template <class Gradients>
    bucketed_allreduce<Gradients>& buckets_for(Gradients& gradients) {
        return lazy<bucketed_allreduce<Gradients>>(gradients, [&] {
            std::array<std::size_t, std::tuple_size_v<Gradients>> order{};
            for (std::size_t i = 0; i < order.size(); ++i) order[i] = order.size() - 1 - i;  // the last layer's first
            return std::make_unique<holder<bucketed_allreduce<Gradients>>>(*ctx_, gradients, order, options_);
        });
    }

    context* ctx_;
    reducer_options options_;
    std::unique_ptr<holder_base> held_;
};

}  // namespace spore::parallel
