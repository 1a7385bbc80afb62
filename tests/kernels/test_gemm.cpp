// spore::kernels::gemm against a naive loop: every transpose, odd, square and LeNet-5 sizes,
// alpha and beta, and bit-identical results for any thread count.
#include <algorithm>
#include <vector>

#include "../support/check.hpp"

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
