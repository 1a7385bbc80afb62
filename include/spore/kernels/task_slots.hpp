#pragma once
// Parallel jobs whose tasks each need working memory of their own (the GEMM's packing buffers,
// a convolution's padded image or im2col matrix), run so that a warm job allocates nothing.
//
// A job of `tasks` tasks gets slots of one type: slot t for task t, kept from job to job and
// grown (never shrunk) by a reserve step that runs before any task starts, while the pool runs
// no other job. A job runs serially (the calling thread does every task, with one slot kept per
// thread) when it has one task, when the pool has one thread, or when it is called from inside
// another pool task, where fanning out again would wait for itself.

#include <cstddef>
#include <vector>

#include <spore/kernels/thread_pool.hpp>

namespace spore::kernels {

namespace detail {

// The slot of this thread for serial jobs, and whether a serial job is using it.
template <class Slot>
struct serial_slot {
    Slot slot;
    bool busy = false;
    static serial_slot& of_this_thread() {
        thread_local serial_slot s;
        return s;
    }
};

// The slots of parallel jobs: slot t serves task t. Only touched while the pool runs the job
// (jobs run one at a time), so no lock.
template <class Slot>
std::vector<Slot>& parallel_slots() {
    static std::vector<Slot> slots;
    return slots;
}

struct no_slot {};

}  // namespace detail

// Calls body(t, slot) for t in [0, tasks), spread over the pool, each task with a Slot of its
// own, sized first by reserve(slot) (reserve should only grow a slot: a warm job then
// allocates nothing). Tasks must be independent: which thread runs a task, and in what order,
// is not fixed. A serial job whose body starts another serial job of the same Slot type gets
// a fresh slot for the inner one (allocated each time), not the outer one's.
template <class Slot, class Reserve, class Body>
void run_with_slots(std::size_t tasks, Reserve&& reserve, Body&& body) {
    if (tasks == 0) return;
    auto& pool = thread_pool::instance();
    if (tasks == 1 || pool.threads() == 1 || thread_pool::inside_task()) {
        auto& own = detail::serial_slot<Slot>::of_this_thread();
        auto serial = [&](Slot& slot) {
            reserve(slot);
            for (std::size_t t = 0; t < tasks; ++t) body(t, slot);
        };
        if (own.busy) {
            Slot fresh{};
            serial(fresh);
            return;
        }
        struct release {
            bool& busy;
            ~release() { busy = false; }
        } guard{own.busy};
        own.busy = true;
        serial(own.slot);
        return;
    }
    auto& slots = detail::parallel_slots<Slot>();
    pool.run(
        tasks, [&](std::size_t t) { body(t, slots[t]); },
        [&] {
            if (slots.size() < tasks) slots.resize(tasks);
            for (std::size_t t = 0; t < tasks; ++t) reserve(slots[t]);
        });
}

// body(t) for t in [0, tasks): run_with_slots for tasks that need no memory of their own.
template <class Body>
void run_tasks(std::size_t tasks, Body&& body) {
    run_with_slots<detail::no_slot>(tasks, [](detail::no_slot&) {}, [&](std::size_t t, detail::no_slot&) { body(t); });
}

}  // namespace spore::kernels
