#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // false positive on replaced new/delete
#include <algorithm>
#include <thread>
#include <vector>

#include "../support/check.hpp"
#include "../support/count_allocations.hpp"

using spore::kernels::gemm;
using spore::kernels::transpose;
using spore_test::random_vector;

namespace {

// op(X)(i, j) for a row-major X with leading dimension ld
template <class T>
T at(const std::vector<T>& x, transpose t, std::size_t ld, std::size_t i, std::size_t j) {
    return t == transpose::no ? x[i * ld + j] : x[j * ld + i];
}

// Runs spore's GEMM against a naive triple loop in double, with padded leading dimensions.
template <class T>
void check_gemm(std::size_t m, std::size_t n, std::size_t k, transpose ta, transpose tb, T alpha, T beta) {
    const std::size_t a_rows = ta == transpose::no ? m : k, a_cols = ta == transpose::no ? k : m;
    const std::size_t b_rows = tb == transpose::no ? k : n, b_cols = tb == transpose::no ? n : k;
    const std::size_t lda = a_cols + 3, ldb = b_cols + 1, ldc = n + 5;
    auto a = random_vector<T>(a_rows * lda, 1 + m);
    auto b = random_vector<T>(b_rows * ldb, 2 + n);
    auto c = random_vector<T>(m * ldc, 3 + k);
    auto expected = c;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double sum = 0;
            for (std::size_t p = 0; p < k; ++p) sum += double(at(a, ta, lda, i, p)) * double(at(b, tb, ldb, p, j));
            expected[i * ldc + j] = static_cast<T>(alpha * sum + (beta == T(0) ? 0.0 : double(beta) * c[i * ldc + j]));
        }
    if (beta == T(0))  // C is not to be read: poison it
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = std::numeric_limits<T>::quiet_NaN();
    gemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
    const double tolerance = (std::is_same_v<T, float> ? 2e-6 : 1e-14) * (double(k) + 1);
    double worst = 0;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < ldc; ++j) {
            const double d = std::abs(double(c[i * ldc + j]) - double(expected[i * ldc + j]));
            worst = std::isnan(d) ? INFINITY : std::max(worst, d);
        }
    INFO(m << "x" << k << "x" << n << " trans_a " << (ta == transpose::yes) << " trans_b " << (tb == transpose::yes)
            << " alpha " << alpha << " beta " << beta);
    CHECK(worst <= tolerance);  // also checks the padding columns between n and ldc are untouched
}

}  // namespace

TEST_CASE("gemm: against a naive loop, odd and cube-sized shapes, every transpose", "[kernels][gemm]") {
    const std::size_t sizes[] = {1, 2, 3, 15, 16, 17, 33, 255};
    for (auto ta : {transpose::no, transpose::yes})
        for (auto tb : {transpose::no, transpose::yes})
            for (std::size_t m : sizes)
                for (std::size_t n : {std::size_t(1), std::size_t(17), std::size_t(33)}) {
                    check_gemm<float>(m, n, 17, ta, tb, 1.0f, 0.0f);
                    check_gemm<float>(n, m, m, ta, tb, 0.5f, 1.0f);
                    check_gemm<double>(m, 3, n, ta, tb, -1.0, 0.25);
                }
}

TEST_CASE("gemm: square sizes and LeNet-5's products", "[kernels][gemm]") {
    check_gemm<float>(255, 255, 255, transpose::no, transpose::no, 1.0f, 0.0f);
    check_gemm<float>(256, 256, 256, transpose::no, transpose::yes, 1.0f, 1.0f);
    check_gemm<float>(300, 260, 700, transpose::yes, transpose::no, 1.0f, 0.0f);  // several KC blocks
    check_gemm<float>(6, 3136, 25, transpose::no, transpose::no, 1.0f, 0.0f);     // conv1, 4 images
    check_gemm<float>(16, 3200, 150, transpose::no, transpose::no, 1.0f, 0.0f);   // conv2
    check_gemm<float>(32, 120, 400, transpose::no, transpose::no, 1.0f, 0.0f);    // fc1
    check_gemm<float>(32, 84, 120, transpose::no, transpose::yes, 1.0f, 1.0f);    // fc2
    check_gemm<float>(32, 10, 84, transpose::yes, transpose::no, 1.0f, 0.0f);     // fc3
    check_gemm<double>(64, 1, 2048, transpose::no, transpose::no, 1.0, 0.0);
}

TEST_CASE("gemm: alpha 0 and k 0 only scale C", "[kernels][gemm]") {
    std::vector<float> a(4, 1.0f), b(4, 1.0f), c{1, 2, 3, 4};
    gemm(transpose::no, transpose::no, 2, 2, 0, 1.0f, a.data(), 2, b.data(), 2, 2.0f, c.data(), 2);
    CHECK(c == std::vector<float>{2, 4, 6, 8});
    gemm(transpose::no, transpose::no, 2, 2, 2, 0.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
    CHECK(c == std::vector<float>{0, 0, 0, 0});
}

TEST_CASE("gemm: the thread count changes no bit of the result", "[kernels][gemm][threads]") {
    const std::size_t m = 200, n = 530, k = 300;
    auto a = random_vector<float>(n * k, 11);  // large enough for both shapes below
    auto b = random_vector<float>(k * n, 12);
    auto run = [&](std::size_t threads, std::size_t rows, std::size_t cols) {
        spore::set_num_threads(threads);
        std::vector<float> c(rows * cols, 0.0f);
        gemm(transpose::no, transpose::no, rows, cols, k, 1.0f, a.data(), k, b.data(), cols, 0.0f, c.data(), cols);
        return c;
    };
    const std::size_t default_threads = spore::num_threads();
    for (auto [rows, cols] : {std::pair{m, n}, std::pair{n, std::size_t(200)}}) {  // column and row splits
        auto one = run(1, rows, cols);
        CHECK(run(2, rows, cols) == one);
        CHECK(run(3, rows, cols) == one);
        CHECK(run(7, rows, cols) == one);
    }
    spore::set_num_threads(default_threads);
}

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
