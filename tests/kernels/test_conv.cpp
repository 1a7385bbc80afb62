#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // false positive on replaced new/delete
// The convolution kernels (kernels/conv.hpp and the direct and im2col paths under it) on raw
// arrays: forward, input, weight and bias gradients against naive loops, results independent of
// the thread count (with the pooling kernels), weights changed in place, and no allocation.
#include <cmath>
#include <cstring>
#include <vector>

#include "../support/check.hpp"
#include "../support/count_allocations.hpp"

using spore::kernels::conv2d_geometry;
using spore_test::random_vector;

namespace {

// x at (n, c, ih, iw), zero outside the image
template <class T>
double input_at(const conv2d_geometry& g, const std::vector<T>& x, std::size_t n, std::size_t c, long ih, long iw) {
    if (ih < 0 || iw < 0 || ih >= long(g.height) || iw >= long(g.width)) return 0;
    return x[((n * g.channels + c) * g.height + ih) * g.width + iw];
}

template <class T>
void check_conv_kernels(const conv2d_geometry& g, std::size_t batch) {
    auto x = random_vector<T>(batch * g.input_size(), 1), w = random_vector<T>(g.weight_size(), 2);
    auto b = random_vector<T>(g.filters, 3), dy = random_vector<T>(batch * g.output_size(), 4);
    std::vector<T> y(batch * g.output_size()), dx(batch * g.input_size(), T(7)), dw(g.weight_size(), T(7)),
        db(g.filters, T(7)), scratch(spore::kernels::weight_gradient_scratch<T>(g, batch));
    spore::kernels::conv2d_forward(g, batch, x.data(), w.data(), b.data(), y.data());
    spore::kernels::conv2d_backward_input(g, batch, dy.data(), w.data(), dx.data(), false);
    spore::kernels::conv2d_backward_weight(g, batch, x.data(), dy.data(), dw.data(), false, scratch.data());
    spore::kernels::conv2d_backward_bias(g, batch, dy.data(), db.data(), false);
    std::vector<double> ry(y.size()), rdx(dx.size()), rdw(dw.size()), rdb(db.size());
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t f = 0; f < g.filters; ++f)
            for (std::size_t oh = 0; oh < g.out_h(); ++oh)
                for (std::size_t ow = 0; ow < g.out_w(); ++ow) {
                    const std::size_t o = ((n * g.filters + f) * g.out_h() + oh) * g.out_w() + ow;
                    double sum = b[f];
                    rdb[f] += dy[o];
                    for (std::size_t c = 0; c < g.channels; ++c)
                        for (std::size_t kh = 0; kh < g.kernel_h; ++kh)
                            for (std::size_t kw = 0; kw < g.kernel_w; ++kw) {
                                const long ih = long(oh * g.stride + kh) - long(g.padding);
                                const long iw = long(ow * g.stride + kw) - long(g.padding);
                                const std::size_t wi = ((f * g.channels + c) * g.kernel_h + kh) * g.kernel_w + kw;
                                sum += w[wi] * input_at(g, x, n, c, ih, iw);
                                rdw[wi] += dy[o] * input_at(g, x, n, c, ih, iw);
                                if (ih >= 0 && iw >= 0 && ih < long(g.height) && iw < long(g.width))
                                    rdx[((n * g.channels + c) * g.height + ih) * g.width + iw] += dy[o] * w[wi];
                            }
                    ry[o] = sum;
                }
    const double tolerance = std::is_same_v<T, float> ? 1e-4 : 1e-12;
    auto worst = [](const auto& a, const auto& r) {
        double m = 0;
        for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - r[i]));
        return m;
    };
    INFO("C" << g.channels << " " << g.height << "x" << g.width << " F" << g.filters << " K" << g.kernel_h << "x"
             << g.kernel_w << " stride " << g.stride << " padding " << g.padding << " batch " << batch);
    CHECK(worst(y, ry) <= tolerance);
    CHECK(worst(dx, rdx) <= tolerance);
    CHECK(worst(dw, rdw) <= tolerance * 10);
    CHECK(worst(db, rdb) <= tolerance * 10);
}

}  // namespace

TEST_CASE("conv2d kernels: forward, input and weight gradients against naive loops", "[kernels][conv]") {
    for (std::size_t stride : {1, 2})
        for (std::size_t padding : {0, 1, 2}) {
            check_conv_kernels<double>({1, 5, 5, 1, 3, 3, stride, padding}, 1);
            check_conv_kernels<double>({3, 7, 6, 2, 3, 2, stride, padding}, 3);
            check_conv_kernels<float>({2, 9, 9, 5, 5, 5, stride, padding}, 2);
            check_conv_kernels<float>({1, 17, 17, 17, 1, 1, stride, padding}, 1);
        }
    check_conv_kernels<float>({1, 32, 32, 6, 5, 5, 1, 0}, 3);   // LeNet conv1
    check_conv_kernels<float>({6, 14, 14, 16, 5, 5, 1, 0}, 2);  // LeNet conv2
    check_conv_kernels<double>({4, 8, 8, 33, 3, 3, 1, 1}, 9);   // more images than weight chunks
}

TEST_CASE("conv2d and pooling: the thread count changes no bit", "[kernels][conv][threads]") {
    const conv2d_geometry g{3, 12, 12, 7, 3, 3, 1, 1};
    const std::size_t batch = 11;
    auto x = random_vector<float>(batch * g.input_size(), 5), w = random_vector<float>(g.weight_size(), 6);
    auto dy = random_vector<float>(batch * g.output_size(), 7);
    auto run = [&](std::size_t threads) {
        spore::set_num_threads(threads);
        std::vector<float> y(batch * g.output_size()), dx(batch * g.input_size()), dw(g.weight_size()), db(g.filters),
            scratch(spore::kernels::weight_gradient_scratch<float>(g, batch));
        spore::kernels::conv2d_forward(g, batch, x.data(), w.data(), static_cast<const float*>(nullptr), y.data());
        spore::kernels::conv2d_backward_input(g, batch, dy.data(), w.data(), dx.data(), false);
        spore::kernels::conv2d_backward_weight(g, batch, x.data(), dy.data(), dw.data(), false, scratch.data());
        spore::kernels::conv2d_backward_bias(g, batch, dy.data(), db.data(), false);
        y.insert(y.end(), dx.begin(), dx.end());
        y.insert(y.end(), dw.begin(), dw.end());
        y.insert(y.end(), db.begin(), db.end());
        // pooling on enough planes to be split among threads
        const spore::kernels::pool2d_geometry pg{77, 28, 28, 2, 2};
        const auto px = random_vector<float>(pg.planes * pg.input_plane(), 8);
        const auto pdy = random_vector<float>(pg.planes * pg.output_plane(), 9);
        std::vector<float> py(pg.planes * pg.output_plane()), pdx(px.size());
        std::vector<std::uint32_t> where(py.size());
        spore::kernels::max_pool2d_forward(pg, px.data(), py.data(), where.data());
        spore::kernels::max_pool2d_backward(pg, pdy.data(), where.data(), pdx.data(), false);
        y.insert(y.end(), py.begin(), py.end());
        y.insert(y.end(), pdx.begin(), pdx.end());
        return y;
    };
    const std::size_t default_threads = spore::num_threads();
    const auto one = run(1);
    CHECK(run(2) == one);
    CHECK(run(5) == one);
    spore::set_num_threads(default_threads);
}

TEST_CASE("conv2d forward: weights changed in place give the new result, unchanged ones the same", "[kernels][conv]") {
    const conv2d_geometry g{6, 14, 14, 16, 5, 5, 1, 0};  // LeNet conv2: the direct kernels
    auto x = random_vector<float>(g.input_size(), 1), w = random_vector<float>(g.weight_size(), 2);
    auto b = random_vector<float>(g.filters, 3);
    auto forward = [&](const std::vector<float>& weights) {
        std::vector<float> y(g.output_size());
        spore::kernels::conv2d_forward(g, 1, x.data(), weights.data(), b.data(), y.data());
        return y;
    };
    const auto first = forward(w);
    CHECK(forward(w) == first);
    const auto elsewhere = forward(std::vector<float>(w));  // the same values at another address
    CHECK(elsewhere == first);
    w[g.weight_size() - 1] += 1.0f;  // the last tap of the last filter: only its plane changes
    const auto second = forward(w);
    const std::size_t plane = g.positions(), changed = (g.filters - 1) * plane;
    CHECK(std::equal(first.begin(), first.begin() + changed, second.begin()));
    for (std::size_t i = changed; i < g.output_size(); ++i)
        CHECK(second[i] == Approx(first[i] + x[(g.channels - 1) * g.height * g.width + (i - changed) / g.out_w() * g.width +
                                               (i - changed) % g.out_w() + (g.kernel_h - 1) * g.width + g.kernel_w - 1])
                               .margin(1e-4));
}

namespace {
// conv2d_backward_bias against a sum in double, with and without accumulation; returns dbias.
template <class T>
std::vector<T> check_bias_gradient(const conv2d_geometry& g, std::size_t batch, std::uint64_t seed) {
    const auto dy = random_vector<T>(batch * g.output_size(), seed);
    std::vector<double> expected(g.filters, 0.0);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t f = 0; f < g.filters; ++f)
            for (std::size_t p = 0; p < g.positions(); ++p) expected[f] += dy[(n * g.filters + f) * g.positions() + p];
    std::vector<T> db(g.filters, T(7)), added(g.filters, T(0.5));
    spore::kernels::conv2d_backward_bias(g, batch, dy.data(), db.data(), false);
    spore::kernels::conv2d_backward_bias(g, batch, dy.data(), added.data(), true);
    const double tolerance = (std::is_same_v<T, float> ? 1e-6 : 1e-14) * double(batch * g.positions());
    INFO("stride " << g.stride << " output " << g.out_h() << "x" << g.out_w() << " filters " << g.filters << " batch "
                   << batch);
    for (std::size_t f = 0; f < g.filters; ++f) {
        CHECK(std::abs(double(db[f]) - expected[f]) <= tolerance);
        CHECK(added[f] == db[f] + T(0.5));
    }
    return db;
}
}  // namespace

TEST_CASE("conv2d bias gradient: a naive sum, one way for every stride", "[kernels][conv]") {
    const std::size_t default_threads = spore::num_threads();
    std::vector<float> split[2];  // filters split among threads, or not: the same bits
    for (std::size_t threads : {1, 3}) {
        spore::set_num_threads(threads);
        // odd output sizes (not a whole number of vectors), stride 1 (direct) and 2 (im2col), with the
        // same output shape, so the same dy: the bias gradient must not depend on the path
        for (std::size_t batch : {1, 3, 8}) {
            const conv2d_geometry direct{2, 7, 9, 5, 3, 3, 1, 0}, im2col{2, 11, 15, 5, 3, 3, 2, 0};
            REQUIRE(direct.out_h() == im2col.out_h());
            REQUIRE(direct.out_w() == im2col.out_w());
            CHECK(check_bias_gradient<float>(direct, batch, 10 + batch) ==
                  check_bias_gradient<float>(im2col, batch, 10 + batch));
            CHECK(check_bias_gradient<double>(direct, batch, 20 + batch) ==
                  check_bias_gradient<double>(im2col, batch, 20 + batch));
        }
        check_bias_gradient<float>({3, 33, 31, 17, 5, 5, 1, 2}, 9, 31);   // several vectors and chains per row
        check_bias_gradient<float>({3, 33, 31, 17, 5, 5, 2, 1}, 9, 32);
        split[threads > 1] = check_bias_gradient<float>({16, 130, 130, 37, 3, 3, 1, 1}, 2, 33);  // enough to split
        check_bias_gradient<double>({1, 1, 1, 3, 1, 1, 2, 0}, 1, 34);       // one position
    }
    CHECK(split[0] == split[1]);
    spore::set_num_threads(default_threads);
}

TEST_CASE("conv2d kernels: no allocation once warm, direct and im2col, one and more threads",
          "[kernels][conv][threads][allocation]") {
    if (!spore_test::counting_allocations) WARN("allocation counting is off under AddressSanitizer");
    const std::size_t default_threads = spore::num_threads();
    for (std::size_t stride : {1, 2}) {
        const conv2d_geometry g{3, 13, 12, 7, 3, 3, stride, 1};
        const std::size_t batch = 5;
        auto x = random_vector<float>(batch * g.input_size(), 1), w = random_vector<float>(g.weight_size(), 2);
        auto b = random_vector<float>(g.filters, 3), dy = random_vector<float>(batch * g.output_size(), 4);
        std::vector<float> y(batch * g.output_size()), dx(batch * g.input_size()), dw(g.weight_size()), db(g.filters),
            scratch(spore::kernels::weight_gradient_scratch<float>(g, batch));
        for (std::size_t threads : {1, 2, 3}) {
            spore::set_num_threads(threads);
            auto passes = [&] {
                spore::kernels::conv2d_forward(g, batch, x.data(), w.data(), b.data(), y.data());
                spore::kernels::conv2d_backward_input(g, batch, dy.data(), w.data(), dx.data(), false);
                spore::kernels::conv2d_backward_weight(g, batch, x.data(), dy.data(), dw.data(), false, scratch.data());
                spore::kernels::conv2d_backward_bias(g, batch, dy.data(), db.data(), false);
            };
            passes();  // warm-up
            const long before = spore_test::allocations.load();
            passes();
            passes();
            const long after = spore_test::allocations.load();
            INFO("stride " << stride << ", " << threads << " threads");
            CHECK(after == before);
        }
    }
    spore::set_num_threads(default_threads);
}
