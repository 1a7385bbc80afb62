#pragma once
// Averaging gradients across the ranks of a data-parallel run. The gradients are packed into a
// few large buckets (one allreduce each: a few large messages cost far less than one message
// per parameter), and a bucket's allreduce starts as soon as the backward pass has made its
// gradients final, while the pass goes on with the earlier layers (gradient_program::run with
// an observer, autodiff/backward_steps.hpp). Buckets follow the order in which gradients
// become final, so the first bucket fills first. Everything is allocated once, at
// construction; with MPI's persistent collectives (MPI 4, or Open MPI's MPIX extension) the
// requests are too, and a step only starts and completes them. The reduced gradients are
// written back into the program's own gradient tensors, where the optimiser reads them.
//
// Weights. run() weighs every rank the same: right when each rank's loss is a mean over its
// whole (static) batch. run(rows) weighs rank r by its rows n_r: each sends n_r times its
// gradient, and the sum is divided by the sum of the n_r, so the result is the mean over all
// real rows of the step, right when each rank's loss is a mean over its real rows only (a
// partial last batch, labels of -1). Either way the loss returned is the step's mean over the
// ranks, the same on all of them.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <tuple>
#include <type_traits>
#include <vector>

#if defined(OPEN_MPI) && OPEN_MPI
#include <mpi-ext.h>
#endif

#include <spore/core/aligned_buffer.hpp>
#include <spore/core/text.hpp>
#include <spore/parallel/context.hpp>

#if MPI_VERSION >= 4
#define SPORE_PERSISTENT_ALLREDUCE MPI_Allreduce_init
#elif defined(OMPI_HAVE_MPI_EXT_PCOLLREQ) && OMPI_HAVE_MPI_EXT_PCOLLREQ
#define SPORE_PERSISTENT_ALLREDUCE MPIX_Allreduce_init
#endif

namespace spore::parallel {

struct reducer_options {
    // Bytes per bucket: large enough that each allreduce is bandwidth-bound, small enough
    // that the first ones start well before the backward pass ends.
    std::size_t bucket_bytes = 1 << 20;
    // Start each bucket's allreduce during the backward pass (false: after it).
    bool overlap = true;
};

template <class T>
inline MPI_Datatype mpi_type() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "spore::parallel: gradients must be float or double");
    return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
}

// The buckets and their allreduces for a tuple of gradient tensors, which must outlive it.
// `ready_order` is the order in which a step finishes the gradients.
template <class Gradients>
class bucketed_allreduce {
public:
    static constexpr std::size_t count = std::tuple_size_v<Gradients>;
    using T = typename std::tuple_element_t<0, Gradients>::value_type;

    bucketed_allreduce(const context& ctx, Gradients& gradients, const std::array<std::size_t, count>& ready_order,
                       reducer_options options)
        : ctx_(&ctx), state_(std::make_unique<state>()) {
        if (options.bucket_bytes < sizeof(T))
            throw error(spore::detail::concat({"spore::parallel::gradient_reducer: bucket_bytes must hold one element, found ",
                                               options.bucket_bytes}));
        std::apply([&](auto&... g) {
            std::size_t i = 0;
            ((data_[i] = g.data(), sizes_[i] = g.size(), ++i), ...);
        }, gradients);
        plan_buckets(ready_order, std::max<std::size_t>(1, options.bucket_bytes / sizeof(T)));
        std::uint64_t layout = detail::fingerprint(sizes_.data(), sizeof(sizes_));
        layout = detail::fingerprint(bucket_of_.data(), sizeof(bucket_of_), layout);
        ctx.check_same(layout, "the gradients and their buckets (is every rank running the same network?)");
        for (std::size_t b = 0; b < buckets_.size(); ++b) create_request(b);
    }
    bucketed_allreduce(const bucketed_allreduce&) = delete;
    bucketed_allreduce& operator=(const bucketed_allreduce&) = delete;
    ~bucketed_allreduce() {
        for (auto& r : state_->requests)
            if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
    }

    // A step: begin(weight), pack(i) for every gradient as it becomes final, then finish.
    void begin(T weight) {
        weight_ = weight;
        started_ = 0;
        for (std::size_t b = 0; b < buckets_.size(); ++b) state_->pending[b] = buckets_[b].members;
    }
    // MPI moves a nonblocking collective along only inside MPI calls; a test after each step
    // of the backward pass lets the started buckets advance while the pass computes.
    void progress() {
        if (!ctx_->distributed() || started_ == 0) return;
        int done = 0;
        MPI_Testall(int(buckets_.size()), state_->requests.data(), &done, MPI_STATUSES_IGNORE);
    }
    void pack(std::size_t i) {
        T* out = state_->storage.data() + offset_[i];
        if (weight_ == T(1)) std::memcpy(out, data_[i], sizes_[i] * sizeof(T));
        else if (weight_ == T(0)) std::fill_n(out, sizes_[i], T(0));  // never 0 * NaN from unrun programs
        else for (std::size_t k = 0; k < sizes_[i]; ++k) out[k] = data_[i][k] * weight_;
        const std::size_t b = bucket_of_[i];
        if (--state_->pending[b] == 0) start(b);
    }
    void pack_all() {
        for (std::size_t i = 0; i < count; ++i) pack(i);
    }
    // Waits for the buckets, with `totals` (summed over the ranks alongside), and writes the
    // sums times `scale(totals)` back into the gradients.
    template <std::size_t N, class Scale>
    void finish(std::array<double, N>& totals, Scale&& scale) {
        const auto start_time = std::chrono::steady_clock::now();
        if (ctx_->distributed()) {
            ctx_->check(MPI_Iallreduce(MPI_IN_PLACE, totals.data(), int(N), MPI_DOUBLE, MPI_SUM, ctx_->communicator(),
                                       &state_->requests.back()),
                        "summing the step's loss over the ranks");
            ctx_->wait(state_->requests, "the gradient allreduce");
        }
        last_wait_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
        const T factor = T(scale(totals));
        for (std::size_t i = 0; i < count; ++i) {
            const T* in = state_->storage.data() + offset_[i];
            if (factor == T(1)) std::memcpy(data_[i], in, sizes_[i] * sizeof(T));
            else for (std::size_t k = 0; k < sizes_[i]; ++k) data_[i][k] = in[k] * factor;
        }
    }

    std::size_t bucket_count() const noexcept { return buckets_.size(); }
    std::size_t bucket_elements(std::size_t b) const { return buckets_.at(b).size; }
    double last_wait_seconds() const noexcept { return last_wait_; }

private:
    struct bucket {
        std::size_t first = 0;  // into state::storage
        std::size_t size = 0;
        std::size_t members = 0;
    };
    struct state {
        aligned_buffer<T> storage;
        std::vector<MPI_Request> requests;  // one per bucket, then the step's totals
        std::vector<std::size_t> pending;
    };

    void plan_buckets(const std::array<std::size_t, count>& ready_order, std::size_t capacity) {
        std::size_t total = 0;
        for (std::size_t i : ready_order) {
            if (buckets_.empty() || (buckets_.back().size > 0 && buckets_.back().size + sizes_[i] > capacity))
                buckets_.push_back({total, 0, 0});
            bucket_of_[i] = buckets_.size() - 1;
            offset_[i] = total;
            buckets_.back().size += sizes_[i];
            ++buckets_.back().members;
            total += sizes_[i];
        }
        state_->storage = aligned_buffer<T>(total);
        state_->requests.assign(buckets_.size() + 1, MPI_REQUEST_NULL);
        state_->pending.assign(buckets_.size(), 0);
    }
    void create_request(std::size_t b) {
#ifdef SPORE_PERSISTENT_ALLREDUCE
        if (!ctx_->distributed()) return;
        ctx_->check(SPORE_PERSISTENT_ALLREDUCE(MPI_IN_PLACE, state_->storage.data() + buckets_[b].first, int(buckets_[b].size),
                                               mpi_type<T>(), MPI_SUM, ctx_->communicator(), MPI_INFO_NULL,
                                               &state_->requests[b]),
                    "setting up a gradient allreduce");
#else
        (void)b;
#endif
    }
    void start(std::size_t b) {
        if (!ctx_->distributed()) return;
        ++started_;
#ifdef SPORE_PERSISTENT_ALLREDUCE
        ctx_->check(MPI_Start(&state_->requests[b]), "starting a gradient allreduce");
#else
        ctx_->check(MPI_Iallreduce(MPI_IN_PLACE, state_->storage.data() + buckets_[b].first, int(buckets_[b].size), mpi_type<T>(),
                                   MPI_SUM, ctx_->communicator(), &state_->requests[b]),
                    "starting a gradient allreduce");
#endif
    }

    const context* ctx_;
    std::unique_ptr<state> state_;  // MPI holds its address (persistent requests)
    std::array<T*, count> data_{};
    std::array<std::size_t, count> sizes_{}, offset_{}, bucket_of_{};
    std::vector<bucket> buckets_;
    T weight_ = T(1);
    std::size_t started_ = 0;
    double last_wait_ = 0;
};

// Gradients that `rows` real rows on each rank produced, with this rank's loss: weight and
// totals of the step for run(rows) and for a reduction after the backward pass.
struct row_weighting {
    bool mean;
    std::size_t rows;
    double weight() const { return mean ? double(rows) : rows ? 1.0 : 0.0; }
    static double scale(const std::array<double, 2>& totals, bool mean) {
        if (!(totals[1] > 0))
            throw error("spore::parallel::gradient_reducer: no rank had a row in this step (the rows summed over the "
                        "ranks are 0), so there is no mean to take");
        return mean ? 1.0 / totals[1] : 1.0;
    }
};

// Program: a gradient program (spore::compile_grad), which must outlive the reducer.
template <class Program>
class gradient_reducer {
public:
    using T = typename Program::value_type;
    using gradients_type = std::remove_cvref_t<decltype(std::declval<Program&>().gradients())>;

    gradient_reducer(context& ctx, Program& program, reducer_options options = {})
        : ctx_(&ctx), program_(&program), overlap_(options.overlap),
          buckets_(ctx, program.gradients(), program.gradient_ready_order(), options) {}

    // One step: runs the program (forward and backward), exchanges its gradients, and returns
    // the loss averaged over the ranks. Every rank weighs the same.
    T run() {
        const bool mean = ctx_->gradients_mean();
        const T local = execute(mean ? T(1) / T(ctx_->device_num()) : T(1));
        std::array<double, 1> totals{double(local)};
        buckets_.finish(totals, [](const auto&) { return 1.0; });
        return T(totals[0] / double(ctx_->device_num()));
    }
    // The same, each rank weighted by its rows; the loss returned is the mean over all the
    // step's real rows. A rank without rows does not run the program (its loss would be 0/0)
    // and contributes nothing.
    T run(std::size_t rows) {
        const row_weighting w{ctx_->gradients_mean(), rows};
        T local = 0;
        if (rows) {
            local = execute(T(w.weight()));
        } else {
            buckets_.begin(T(0));
            buckets_.pack_all();
        }
        std::array<double, 2> totals{double(local) * double(rows), double(rows)};
        buckets_.finish(totals, [&](const auto& t) { return row_weighting::scale(t, w.mean); });
        return T(totals[0] / totals[1]);
    }

    // The reduced gradients (the program's own tensors), for the optimiser.
    const gradients_type& gradients() const { return program_->gradients(); }
    std::size_t bucket_count() const noexcept { return buckets_.bucket_count(); }
    std::size_t bucket_elements(std::size_t b) const { return buckets_.bucket_elements(b); }
    // Seconds of the last step spent waiting for the exchange after the backward pass ended
    // (with overlap, what the backward pass did not hide).
    double last_wait_seconds() const noexcept { return buckets_.last_wait_seconds(); }

private:
    struct packer {
        bucketed_allreduce<gradients_type>* buckets;
        void gradient_ready(std::size_t i) { buckets->pack(i); }
        void step_finished() { buckets->progress(); }
    };
    T execute(T weight) {
        buckets_.begin(weight);
        if (overlap_) {
            packer observer{&buckets_};
            return program_->run(observer);
        }
        const T loss = program_->run();
        buckets_.pack_all();
        return loss;
    }

    context* ctx_;
    Program* program_;
    bool overlap_;
    bucketed_allreduce<gradients_type> buckets_;
};

}  // namespace spore::parallel
