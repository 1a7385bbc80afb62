#pragma once
// A small pool of std::threads for the heavy kernels. Why not OpenMP: a header-only library
// should not force -fopenmp (and libgomp's pool) on every program that includes it, and a
// user who already runs a pool of their own must be able to hold spore to one thread.
//
// The thread count defaults to the cores this process may use (SPORE_NUM_THREADS overrides
// it); spore::set_num_threads(n) changes it. The calling thread takes part in the work, and a
// kernel called from inside a pool task runs serially, so the pool never oversubscribes.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

namespace spore::kernels {

inline std::size_t available_cores() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int count = CPU_COUNT(&set);
        if (count > 0) return static_cast<std::size_t>(count);
    }
#endif
    const unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

class thread_pool {
public:
    static thread_pool& instance() {
        static thread_pool pool;
        return pool;
    }

    std::size_t threads() const noexcept { return threads_.load(std::memory_order_relaxed); }

    // True on a thread that is running a pool task (where kernels must not fan out again).
    static bool& inside_task() {
        thread_local bool flag = false;
        return flag;
    }

    void set_threads(std::size_t n) {
        n = n ? n : 1;
        std::lock_guard<std::mutex> serial(run_mutex_);
        stop_workers();
        threads_ = n;
        start_workers();
    }

    // Calls task(i) for i in [0, count), spread over the pool; returns when all are done.
    // prepare() runs first, alone: the place to size per-task buffers, since jobs run one at a
    // time and task i of a job may use slot i of such buffers without a lock. Kernels check
    // inside_task() first and stay serial there: a nested run would wait for itself.
    template <class Task, class Prepare>
    void run(std::size_t count, Task&& task, Prepare&& prepare) {
        if (count == 0) return;
        std::lock_guard<std::mutex> serial(run_mutex_);  // one parallel job at a time
        prepare();
        if (count == 1 || threads() == 1) {
            inside_task() = true;
            for (std::size_t i = 0; i < count; ++i) task(i);
            inside_task() = false;
            return;
        }
        std::function<void(std::size_t)> body = [&task](std::size_t i) { task(i); };
        {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [&] { return active_ == 0; });  // no worker still inside the last job
            body_ = &body;
            count_ = count;
            next_.store(0);
            remaining_.store(count);
            ++generation_;
            published_.store(generation_, std::memory_order_release);
        }
        wake_.notify_all();
        work(&body, count);
        for (int spin = 0; spin < spin_limit && (remaining_.load() != 0 || active_.load() != 0); ++spin)
            std::this_thread::yield();
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return remaining_.load() == 0 && active_ == 0; });
        body_ = nullptr;
    }

    ~thread_pool() { stop_workers(); }

private:
    thread_pool() {
        std::size_t n = available_cores();
        if (const char* env = std::getenv("SPORE_NUM_THREADS")) {
            const long v = std::strtol(env, nullptr, 10);
            if (v > 0) n = static_cast<std::size_t>(v);
        }
        threads_ = n;
        start_workers();
    }

    // Takes task indices until none are left. A worker that joins a job after it ended finds
    // next_ past count and calls nothing.
    void work(std::function<void(std::size_t)>* body, std::size_t count) {
        inside_task() = true;
        for (std::size_t i; (i = next_.fetch_add(1)) < count;) {
            (*body)(i);
            if (remaining_.fetch_sub(1) == 1) {
                std::lock_guard<std::mutex> lock(mutex_);
                done_.notify_all();
            }
        }
        inside_task() = false;
    }

    void start_workers() {
        stopping_ = false;
        for (std::size_t t = 1; t < threads(); ++t)
            workers_.emplace_back([this] {
                std::size_t seen = 0;
                for (;;) {
                    std::function<void(std::size_t)>* body;
                    std::size_t count;
                    // A short spin before sleeping: kernels come in quick succession (layer after
                    // layer), and waking a sleeping thread costs more than a small GEMM.
                    for (int spin = 0; spin < spin_limit && published_.load(std::memory_order_acquire) == seen; ++spin)
                        std::this_thread::yield();
                    {
                        std::unique_lock<std::mutex> lock(mutex_);
                        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
                        if (stopping_) return;
                        seen = generation_;
                        body = body_;
                        count = count_;
                        ++active_;
                    }
                    work(body, count);
                    {
                        std::lock_guard<std::mutex> lock(mutex_);
                        --active_;
                    }
                    done_.notify_all();
                }
            });
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
        workers_.clear();
    }

    std::mutex run_mutex_, mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> workers_;
    std::function<void(std::size_t)>* body_ = nullptr;
    std::size_t count_ = 0;
    std::atomic<std::size_t> next_{0}, remaining_{0};
    std::size_t generation_ = 0;
    std::atomic<std::size_t> active_{0};  // workers inside work(); changed under mutex_
    std::atomic<std::size_t> published_{0};  // generation_, readable without the lock
    static constexpr int spin_limit = 4000;
    std::atomic<std::size_t> threads_{1};
    bool stopping_ = false;
};

}  // namespace spore::kernels

namespace spore {

// Threads used by spore's kernels (the calling thread included).
inline void set_num_threads(std::size_t n) { kernels::thread_pool::instance().set_threads(n); }
inline std::size_t num_threads() { return kernels::thread_pool::instance().threads(); }

}  // namespace spore
