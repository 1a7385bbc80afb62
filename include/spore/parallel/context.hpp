#pragma once
// The parallel context of a data-parallel run over MPI, in MindSpore's words
// (set_auto_parallel_context): parallel_mode, gradients_mean, device_num, global_rank.
// Only programs that link MPI include this (through parallel/mpi.hpp); the core of spore
// never does.
//
// Failure policy. When one rank dies, hangs or leaves, the others would wait for it forever
// inside an exchange; so every wait here has a deadline (timeout_seconds), and a missed
// deadline or an MPI error ends the whole job (MPI_Abort) after printing which rank gave up,
// waiting for what. mpirun itself ends the job when a rank is killed or exits early. A context
// left by an exception does the same, since the other ranks cannot know.

#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1  // the C API only: no libmpi_cxx to link
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <string>
#include <thread>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/kernels/thread_pool.hpp>

namespace spore::parallel {

// MindSpore's ParallelMode. Only the first two exist so far; the others are refused by name.
enum class mode { stand_alone, data_parallel, semi_auto_parallel, auto_parallel, hybrid_parallel };

inline const char* to_string(mode m) noexcept {
    switch (m) {
        case mode::stand_alone: return "stand_alone";
        case mode::data_parallel: return "data_parallel";
        case mode::semi_auto_parallel: return "semi_auto_parallel";
        case mode::auto_parallel: return "auto_parallel";
        case mode::hybrid_parallel: return "hybrid_parallel";
    }
    return "unknown";
}

// The arguments of MindSpore's set_auto_parallel_context. device_num and global_rank are
// read from MPI; give them only to have them checked.
struct auto_parallel_context {
    mode parallel_mode = mode::data_parallel;
    bool gradients_mean = true;     // average the ranks' gradients (else sum them)
    int device_num = 0;             // 0: as many as mpirun started
    int global_rank = -1;           // -1: as MPI numbers this process
    double timeout_seconds = 300;   // the longest any rank waits for the others in one exchange
};

namespace detail {
// FNV-1a: a fingerprint for comparing layouts and values across ranks.
inline std::uint64_t fingerprint(const void* data, std::size_t bytes, std::uint64_t h = 0xcbf29ce484222325ull) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
}  // namespace detail

class context {
public:
    explicit context(auto_parallel_context settings = {}) : settings_(settings) {
        if (current_slot()) throw error("spore::parallel::context: a context exists already; create one per process");
        const mode m = settings.parallel_mode;
        if (m != mode::stand_alone && m != mode::data_parallel)
            throw error(spore::detail::concat({"spore::parallel: parallel_mode ", to_string(m),
                                               " is not available yet; use stand_alone or data_parallel"}));
        if (!(settings.timeout_seconds > 0))
            throw error(spore::detail::concat({"spore::parallel: timeout_seconds must be positive, found ", settings.timeout_seconds}));
        if (m == mode::stand_alone) start_alone();
        else start_mpi();
        current_slot() = this;
    }
    context(const context&) = delete;
    context& operator=(const context&) = delete;

    ~context() {
        current_slot() = nullptr;
        if (comm_ == MPI_COMM_NULL) return;
        if (std::uncaught_exceptions() > 0)
            abort("an exception is leaving the parallel context; ending every rank so that none waits for this one");
        MPI_Comm_free(&comm_);
        if (initialised_mpi_) MPI_Finalize();
    }

    // The context of this process; the free functions of parallel/mpi.hpp default to it.
    static context& current() {
        if (!current_slot()) throw error("spore::parallel: no parallel::context exists; create one first");
        return *current_slot();
    }

    mode parallel_mode() const noexcept { return settings_.parallel_mode; }
    bool gradients_mean() const noexcept { return settings_.gradients_mean; }
    int device_num() const noexcept { return device_num_; }
    int global_rank() const noexcept { return global_rank_; }
    // Rank 0 prints progress and writes checkpoints.
    bool is_main() const noexcept { return global_rank_ == 0; }
    // False in stand_alone mode, where nothing is exchanged.
    bool distributed() const noexcept { return comm_ != MPI_COMM_NULL; }
    MPI_Comm communicator() const noexcept { return comm_; }
    double timeout_seconds() const noexcept { return settings_.timeout_seconds; }
    // "rank 1 of 2 on host": how messages name this process.
    std::string where() const {
        return spore::detail::concat({"rank ", global_rank_, " of ", device_num_, host_.empty() ? "" : " on ", host_});
    }

    // Prints why, then ends every rank of the job. For failures after which the ranks can no
    // longer agree on what comes next.
    [[noreturn]] void abort(const std::string& why, int code = 1) const {
        std::fprintf(stderr, "spore::parallel: %s: %s\n", where().c_str(), why.c_str());
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, code);
        std::_Exit(code);  // MPI_Abort does not return; if it ever did, still never hang
    }

    // Completes `requests`, or ends the job once timeout_seconds have passed. Spins at first
    // (an exchange usually ends within microseconds), then backs off so that a rank waiting
    // for a slow one does not take a core from it.
    void wait(std::span<MPI_Request> requests, const char* what) const {
        using clock = std::chrono::steady_clock;
        const auto start = clock::now();
        for (unsigned polls = 0;; ++polls) {
            int done = 0;
            const int rc = MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
            if (rc != MPI_SUCCESS) abort(spore::detail::concat({what, " failed: ", error_string(rc)}));
            if (done) return;
            if (polls % 64 != 63) continue;
            const double waited = std::chrono::duration<double>(clock::now() - start).count();
            if (waited > settings_.timeout_seconds)
                abort(spore::detail::concat({"waited ", int(settings_.timeout_seconds), " s for ", what,
                                             " to complete; another rank has died, hangs or left the job (timeout_seconds)"}));
            if (waited > 0.05) std::this_thread::sleep_for(std::chrono::microseconds(200));
            else if (waited > 0.001) std::this_thread::yield();
        }
    }
    void wait(MPI_Request& request, const char* what) const { wait(std::span<MPI_Request>(&request, 1), what); }

    // Collective: every rank calls it, in the same order.
    double sum(double local) const {
        if (!distributed()) return local;
        double total = 0;
        MPI_Request request;
        check(MPI_Iallreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, comm_, &request), "a sum over the ranks");
        wait(request, "a sum over the ranks");
        return total;
    }
    void barrier() const {
        if (!distributed()) return;
        MPI_Request request;
        check(MPI_Ibarrier(comm_, &request), "a barrier");
        wait(request, "a barrier");
    }
    // Collective. Throws spore::error on every rank when some rank's value differs, so the
    // ranks stay in step whether or not the caller catches it.
    void check_same(std::uint64_t value, const std::string& what) const {
        if (!distributed()) return;
        std::uint64_t local[2] = {value, ~value}, top[2] = {0, 0};
        MPI_Request request;
        check(MPI_Iallreduce(local, top, 2, MPI_UINT64_T, MPI_MAX, comm_, &request), "a comparison across ranks");
        wait(request, "a comparison across ranks");
        if (top[0] != value || top[1] != ~value)
            throw error(spore::detail::concat({"spore::parallel: the ranks disagree on ", what, " (", where(), " differs from another rank)"}));
    }

    // Runs f() and returns what it returns; an exception from it is printed with this rank's
    // name and ends the job, since the other ranks would otherwise wait for this one (a
    // context left by an exception ends the job too, but cannot say what the exception was).
    template <class F>
    decltype(auto) abort_on_error(F&& f) const {
        try {
            return f();
        } catch (const std::exception& e) {
            abort(spore::detail::concat({"stopped by an error: ", e.what()}));
        }
    }

    // The processes of the job this process belongs to, as mpirun (Open MPI, MPICH, Slurm)
    // announces them before MPI starts; 1 outside mpirun. A program can pick stand_alone or
    // data_parallel from it.
    static int launched_processes() {
        for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
            if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
        return 1;
    }
    static bool launched_by_mpirun() {
        for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
            if (std::getenv(name)) return true;
        return false;
    }

    // Ends the job on an MPI error code.
    void check(int rc, const char* what) const {
        if (rc != MPI_SUCCESS) abort(spore::detail::concat({what, " failed: ", error_string(rc)}));
    }

private:
    static context*& current_slot() {
        static context* slot = nullptr;
        return slot;
    }
    static std::string error_string(int rc) {
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) return spore::detail::concat({"MPI error ", rc});
        return std::string(text, static_cast<std::size_t>(length));
    }
    void start_alone() {
        device_num_ = 1;
        global_rank_ = 0;
        if (const int n = launched_processes(); n > 1)
            throw error(spore::detail::concat({"spore::parallel: parallel_mode stand_alone, but the job has ", n,
                                               " processes: each would train on all the data alone and overwrite the "
                                               "others' checkpoints; use data_parallel"}));
        check_requested();
    }

    void start_mpi() {
        int finalized = 0, initialized = 0;
        MPI_Finalized(&finalized);
        if (finalized) throw error("spore::parallel: MPI was finalised already and cannot start again; keep one context for the whole program");
        MPI_Initialized(&initialized);
        if (!initialized) {
            int provided = 0;
            // Only the thread that made the context talks to MPI; spore's kernel threads never do.
            if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
                throw error("spore::parallel: MPI_Init_thread failed");
            initialised_mpi_ = true;
        }
        MPI_Comm_dup(MPI_COMM_WORLD, &comm_);  // spore's messages never meet the program's own
        MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
        MPI_Comm_rank(comm_, &global_rank_);
        MPI_Comm_size(comm_, &device_num_);
        char name[MPI_MAX_PROCESSOR_NAME];
        int length = 0;
        if (MPI_Get_processor_name(name, &length) == MPI_SUCCESS) host_.assign(name, static_cast<std::size_t>(length));
        // Every rank learns whether any rank's settings are wrong, so all stop together.
        std::string problem;
        try {
            check_requested();
        } catch (const error& e) {
            problem = e.what();
        }
        int ok = problem.empty(), all_ok = 0;
        MPI_Request request;
        check(MPI_Iallreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm_, &request), "checking the parallel settings");
        wait(request, "checking the parallel settings");
        if (!all_ok) {
            MPI_Comm_free(&comm_);
            if (initialised_mpi_) MPI_Finalize();
            throw error(problem.empty() ? "spore::parallel: another rank refused the parallel settings" : problem);
        }
        share_cores();
    }

    void check_requested() const {
        if (settings_.device_num > 0 && settings_.device_num != device_num_)
            throw error(spore::detail::concat({"spore::parallel: device_num ", settings_.device_num, " was asked for, but the job has ",
                                               device_num_, " processes (mpirun -np)"}));
        if (settings_.global_rank >= 0 && settings_.global_rank != global_rank_)
            throw error(spore::detail::concat({"spore::parallel: global_rank ", settings_.global_rank,
                                               " was asked for, but MPI numbers this process ", global_rank_}));
    }

    // Ranks on one machine share its cores: without SPORE_NUM_THREADS, each rank's kernels get
    // its share, so the ranks never oversubscribe the machine (mpirun usually binds each rank
    // to its own cores already, and then this changes nothing).
    void share_cores() {
        if (std::getenv("SPORE_NUM_THREADS")) return;
        MPI_Comm node;
        if (MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, global_rank_, MPI_INFO_NULL, &node) != MPI_SUCCESS) return;
        int local = 1;
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
        const std::size_t machine = std::max(1u, std::thread::hardware_concurrency());
        const std::size_t share = std::max<std::size_t>(1, std::min(kernels::available_cores(), machine / std::size_t(local)));
        if (share != spore::num_threads()) spore::set_num_threads(share);
    }

    auto_parallel_context settings_;
    MPI_Comm comm_ = MPI_COMM_NULL;
    int device_num_ = 1, global_rank_ = 0;
    bool initialised_mpi_ = false;
    std::string host_;
};

}  // namespace spore::parallel
