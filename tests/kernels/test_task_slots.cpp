#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // false positive on replaced new/delete
// spore::kernels::run_with_slots (kernels/task_slots.hpp): a slot per task, serial runs inside a
// task or with one thread, and no allocation once warm, alone and under the GEMM that uses it.
#include <algorithm>
#include <thread>
#include <vector>

#include "../support/check.hpp"
#include "../support/count_allocations.hpp"

using spore::kernels::gemm;
using spore::kernels::transpose;
using spore_test::random_vector;

namespace {
// A slot of the runner's tests: a buffer that reserve() grows, and the size it was given.
struct test_slot {
    std::vector<int> buffer;
    std::size_t reserved = 0;
};
// Reserves `size` ints in a test_slot.
struct grow_to {
    std::size_t size;
    void operator()(test_slot& slot) const {
        if (slot.buffer.size() < size) slot.buffer.resize(size);
        slot.reserved = std::max(slot.reserved, size);
    }
};
}  // namespace

TEST_CASE("run_with_slots: a slot per task, serial inside a task or with one thread", "[kernels][threads]") {
    using spore::kernels::run_with_slots;
    const std::size_t default_threads = spore::num_threads();
    constexpr std::size_t tasks = 5;
    const test_slot* used[tasks] = {};
    std::size_t reserved[tasks] = {};
    std::thread::id ran_on[tasks];

    spore::set_num_threads(3);
    run_with_slots<test_slot>(tasks, grow_to{100}, [&](std::size_t t, test_slot& slot) {
        used[t] = &slot;
        reserved[t] = slot.reserved;
        std::fill(slot.buffer.begin(), slot.buffer.end(), int(t));  // races if a slot were shared
    });
    for (std::size_t t = 0; t < tasks; ++t) {
        CHECK(reserved[t] == 100);
        CHECK(std::count(used, used + tasks, used[t]) == 1);
    }

    // Inside a pool task a job runs on that task's thread, all its tasks with one slot of that
    // thread, not the outer task's.
    const test_slot* inner_used[2][3] = {};
    const test_slot* outer_used[2] = {};
    bool same_thread[2][3] = {};
    run_with_slots<test_slot>(2, grow_to{10}, [&](std::size_t outer, test_slot& outer_slot) {
        outer_used[outer] = &outer_slot;
        const auto me = std::this_thread::get_id();
        run_with_slots<test_slot>(3, grow_to{20}, [&](std::size_t t, test_slot& slot) {
            inner_used[outer][t] = &slot;
            same_thread[outer][t] = std::this_thread::get_id() == me && slot.reserved == 20;
        });
    });
    for (std::size_t outer = 0; outer < 2; ++outer)
        for (std::size_t t = 0; t < 3; ++t) {
            CHECK(same_thread[outer][t]);
            CHECK(inner_used[outer][t] == inner_used[outer][0]);
            CHECK(inner_used[outer][t] != outer_used[0]);
            CHECK(inner_used[outer][t] != outer_used[1]);
        }

    // One thread: serial on the calling thread, one slot; a serial job inside a serial job of
    // the same slot type gets a slot of its own.
    spore::set_num_threads(1);
    const auto caller = std::this_thread::get_id();
    run_with_slots<test_slot>(tasks, grow_to{30}, [&](std::size_t t, test_slot& slot) {
        used[t] = &slot;
        ran_on[t] = std::this_thread::get_id();
        if (t == 0)
            run_with_slots<test_slot>(2, grow_to{40}, [&](std::size_t, test_slot& inner) {
                reserved[0] = inner.reserved;
                CHECK(&inner != &slot);
            });
    });
    CHECK(reserved[0] == 40);
    for (std::size_t t = 0; t < tasks; ++t) {
        CHECK(used[t] == used[0]);
        CHECK(ran_on[t] == caller);
    }
    spore::set_num_threads(default_threads);
}

TEST_CASE("run_with_slots and gemm: no allocation once warm", "[kernels][gemm][threads][allocation]") {
    if (!spore_test::counting_allocations) WARN("allocation counting is off under AddressSanitizer");
    using spore::kernels::run_with_slots;
    const std::size_t default_threads = spore::num_threads();
    auto a = random_vector<float>(300 * 200, 1), b = random_vector<float>(200 * 260, 2);
    std::vector<float> c(300 * 260);
    for (std::size_t threads : {1, 2, 3}) {
        spore::set_num_threads(threads);
        auto job = [&] {
            run_with_slots<test_slot>(4, grow_to{1000}, [](std::size_t t, test_slot& slot) { slot.buffer[t] = 1; });
            gemm(transpose::no, transpose::no, 300, 260, 200, 1.0f, a.data(), 200, b.data(), 260, 0.0f, c.data(), 260);
            gemm(transpose::yes, transpose::no, 200, 260, 300, 1.0f, a.data(), 200, c.data(), 260, 0.0f, b.data(), 260);
            gemm(transpose::no, transpose::no, 20, 26, 20, 1.0f, a.data(), 20, b.data(), 26, 0.0f, c.data(), 26);
        };
        job();  // warm-up
        const long before = spore_test::allocations.load();
        job();
        job();
        const long after = spore_test::allocations.load();
        INFO(threads << " threads");
        CHECK(after == before);
    }
    spore::set_num_threads(default_threads);
}
