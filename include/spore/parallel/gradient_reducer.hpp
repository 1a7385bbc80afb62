#pragma once
// Averaging gradients across the ranks of a data-parallel run. The gradients are packed into a
// few large buckets (one allreduce each: a few large messages cost far less than one message
// per parameter), and a bucket's allreduce starts as soon as the backward pass has made its
// gradients final, while the pass goes on with the earlier layers (gradient_program::run with
// an observer, autodiff/backward_steps.hpp). Buckets follow the order in which gradients
// become final, so the first bucket fills first. Everything is allocated once, at
// construction; with MPI's persistent collectives (MPI 4, or Open MPI's MPIX extension) the
// requests are too, and a step only starts and completes them.

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

// Program: a gradient program (spore::compile_grad), which must outlive the reducer.
template <class Program>
class gradient_reducer {
public:
    using T = typename Program::value_type;
    using gradients_type = std::remove_cvref_t<decltype(std::declval<Program&>().gradients())>;
    static constexpr std::size_t count = std::tuple_size_v<gradients_type>;

    gradient_reducer(context& ctx, Program& program, reducer_options options = {})
        : ctx_(&ctx), program_(&program), options_(options), state_(std::make_unique<state>()) {
        if (options.bucket_bytes < sizeof(T))
            throw error("spore::parallel::gradient_reducer: bucket_bytes must hold one element, found " + std::to_string(options.bucket_bytes));
        std::apply([&](const auto&... g) {
            std::size_t i = 0;
            ((sources_[i] = g.data(), sizes_[i] = g.size(), ++i), ...);
        }, program.gradients());
        plan_buckets(program.gradient_ready_order());
        std::uint64_t layout = detail::fingerprint(sizes_.data(), sizeof(sizes_));
        layout = detail::fingerprint(bucket_of_.data(), sizeof(bucket_of_), layout);
        ctx.check_same(layout, "the gradients and their buckets (is every rank running the same network?)");
        for (std::size_t b = 0; b < buckets_.size(); ++b) create_request(b);
    }
    gradient_reducer(const gradient_reducer&) = delete;
    gradient_reducer& operator=(const gradient_reducer&) = delete;
    ~gradient_reducer() {
        for (auto& r : state_->requests)
            if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
    }

    // One step: runs the program (forward and backward) and exchanges its gradients; returns
    // this rank's loss. Each rank's gradient weighs the same: right when every rank's loss is
    // a mean over its whole (static) batch.
    T run() { return run_weighted(ctx_->gradients_mean() ? T(1) / T(ctx_->device_num()) : T(1)); }
    // The same, each rank weighted by its share of the step's rows: right when each rank's
    // loss is a mean over its real rows only (the rest ignored), as in a final partial batch,
    // so that the result is the mean over all real rows of the global batch. A rank with no
    // rows does not run the program (its loss would be 0/0) and contributes zeros; it returns 0.
    T run(std::size_t local_rows, std::size_t global_rows) {
        if (local_rows > global_rows || global_rows == 0)
            throw error("spore::parallel::gradient_reducer: " + std::to_string(local_rows) + " rows here of " +
                        std::to_string(global_rows) + " in the step (expected at most the step's rows, and some)");
        if (!ctx_->gradients_mean()) return local_rows ? run_weighted(T(1)) : contribute_nothing();
        if (local_rows == 0) return contribute_nothing();
        return run_weighted(T(local_rows) / T(global_rows));
    }

    // The reduced gradients (mean or sum over ranks), in the program's order: pass them to
    // the optimiser.
    const gradients_type& gradients() const noexcept { return reduced_; }

    std::size_t bucket_count() const noexcept { return buckets_.size(); }
    std::size_t bucket_elements(std::size_t b) const { return buckets_.at(b).size; }
    // Seconds of the last step spent waiting for the exchange after the backward pass ended
    // (with overlap, what the backward pass did not hide).
    double last_wait_seconds() const noexcept { return last_wait_; }

private:
    struct bucket {
        std::size_t first = 0;  // into state::storage
        std::size_t size = 0;
        std::size_t members = 0;
    };
    struct state {
        aligned_buffer<T> storage;
        std::vector<MPI_Request> requests;
        std::vector<std::size_t> pending;
        std::vector<unsigned char> started;
    };

    void plan_buckets(const std::array<std::size_t, count>& ready_order) {
        const std::size_t capacity = std::max<std::size_t>(1, options_.bucket_bytes / sizeof(T));
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
        state_->requests.assign(buckets_.size(), MPI_REQUEST_NULL);
        state_->pending.assign(buckets_.size(), 0);
        state_->started.assign(buckets_.size(), 0);
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

    // The observer of the backward pass: packs each final gradient into its bucket and starts
    // the bucket when it is full.
    struct packer {
        gradient_reducer* self;
        T weight;
        void gradient_ready(std::size_t i) { self->pack(i, weight); }
    };

    void begin_step() {
        for (std::size_t b = 0; b < buckets_.size(); ++b) {
            state_->pending[b] = buckets_[b].members;
            state_->started[b] = 0;
        }
    }
    void pack(std::size_t i, T weight) {
        T* out = state_->storage.data() + offset_[i];
        const T* in = sources_[i];
        if (weight == T(1)) std::memcpy(out, in, sizes_[i] * sizeof(T));
        else for (std::size_t k = 0; k < sizes_[i]; ++k) out[k] = in[k] * weight;
        const std::size_t b = bucket_of_[i];
        if (--state_->pending[b] == 0) start(b);
        progress();
    }
    void start(std::size_t b) {
        state_->started[b] = 1;
        if (!ctx_->distributed()) return;
#ifdef SPORE_PERSISTENT_ALLREDUCE
        ctx_->check(MPI_Start(&state_->requests[b]), "starting a gradient allreduce");
#else
        ctx_->check(MPI_Iallreduce(MPI_IN_PLACE, state_->storage.data() + buckets_[b].first, int(buckets_[b].size), mpi_type<T>(),
                                   MPI_SUM, ctx_->communicator(), &state_->requests[b]),
                    "starting a gradient allreduce");
#endif
    }
    // MPI moves a nonblocking collective along only inside MPI calls; a test now and then
    // lets the started buckets advance while the backward pass computes.
    void progress() {
        if (!ctx_->distributed()) return;
        int done = 0;
        MPI_Testall(int(buckets_.size()), state_->requests.data(), &done, MPI_STATUSES_IGNORE);
    }

    T run_weighted(T weight) {
        begin_step();
        packer observer{this, weight};
        T loss;
        if (options_.overlap) {
            loss = program_->run(observer);
        } else {
            loss = program_->run();
            for (std::size_t i = 0; i < count; ++i) observer.gradient_ready(i);
        }
        finish();
        return loss;
    }
    T contribute_nothing() {
        begin_step();
        std::fill_n(state_->storage.data(), state_->storage.size(), T(0));
        for (std::size_t b = 0; b < buckets_.size(); ++b) start(b);
        finish();
        return T(0);
    }
    void finish() {
        const auto start = std::chrono::steady_clock::now();
        if (ctx_->distributed()) ctx_->wait(state_->requests, "the gradient allreduce");
        last_wait_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::apply([&](auto&... g) {
            std::size_t i = 0;
            ((std::memcpy(g.data(), state_->storage.data() + offset_[i], sizes_[i] * sizeof(T)), ++i), ...);
        }, reduced_);
    }

    context* ctx_;
    Program* program_;
    reducer_options options_;
    std::unique_ptr<state> state_;  // MPI holds its address (persistent requests)
    std::array<const T*, count> sources_{};
    std::array<std::size_t, count> sizes_{}, offset_{}, bucket_of_{};
    std::vector<bucket> buckets_;
    gradients_type reduced_;
    double last_wait_ = 0;
};

}  // namespace spore::parallel
