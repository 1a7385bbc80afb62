// The tensor (core/tensor.hpp): storage, element access, the run-time batch, copies and
// assignment, seeded random fills, printing (core/print.hpp), comparison (core/compare.hpp)
// and read-only views.
#include <sstream>
#include <vector>

#include <catch2/catch.hpp>
#include <spore/spore.hpp>

using spore::shape;
using spore::tensor;

TEST_CASE("tensor: aligned storage, element access and fill", "[core]") {
    tensor<float, shape<2, 3>> t;
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    CHECK(t.size() == 6);
    for (float x : t) CHECK(x == 0.0f);
    t(1, 2) = 5.0f;
    CHECK(t[5] == 5.0f);
    t.fill(2.5f);
    for (float x : t) CHECK(x == 2.5f);
    tensor<double, shape<2, 2>> d{1.0, 2.0, 3.0, 4.0};
    CHECK(d(1, 0) == 3.0);
    CHECK_THROWS_AS((tensor<double, shape<2, 2>>{1.0, 2.0}), spore::shape_error);
}

TEST_CASE("tensor: copies are deep, moves keep the storage", "[core]") {
    tensor<double, shape<4>> a{1, 2, 3, 4};
    tensor<double, shape<4>> b(a);  // copies are explicit
    b[0] = 10;
    CHECK(a[0] == 1);
    const double* storage = b.data();
    auto c = std::move(b);
    CHECK(c.data() == storage);
    CHECK(c[0] == 10);
}

TEST_CASE("tensor: a run-time batch extent", "[core]") {
    tensor<float, shape<spore::dynamic, 3>> t(5);
    CHECK(t.batch() == 5);
    CHECK(t.size() == 15);
    CHECK(t.extent(0) == 5);
    CHECK(t.extent(1) == 3);
    t(4, 2) = 7.0f;
    CHECK(t[14] == 7.0f);
    auto v = t.view();
    CHECK(v(4, 2) == 7.0f);
    CHECK(v.size() == 15);
}

TEST_CASE("tensor: seeded random fill is reproducible and in range", "[core]") {
    tensor<float, shape<1000>> a, b, c;
    a.fill_uniform(42, -2.0f, 3.0f);
    b.fill_uniform(42, -2.0f, 3.0f);
    c.fill_uniform(43, -2.0f, 3.0f);
    CHECK(spore::max_abs_diff(a, b) == 0.0);
    CHECK(spore::max_abs_diff(a, c) > 0.0);
    double mean = 0;
    for (float x : a) {
        CHECK(x >= -2.0f);
        CHECK(x < 3.0f);
        mean += x / 1000.0;
    }
    CHECK(mean == Approx(0.5).margin(0.15));
    tensor<double, shape<20000>> n;
    n.fill_normal(7, 1.0, 2.0);
    double m = 0, var = 0;
    for (double x : n) m += x / n.size();
    for (double x : n) var += (x - m) * (x - m) / n.size();
    CHECK(m == Approx(1.0).margin(0.05));
    CHECK(std::sqrt(var) == Approx(2.0).margin(0.05));
}

TEST_CASE("tensor: printing shows the shape and nested rows", "[core]") {
    tensor<float, shape<2, 2>> t{1, 2, 3, 4};
    std::ostringstream out;
    out << t;
    CHECK(out.str() == "tensor shape<2, 2> [[1, 2],\n [3, 4]]");
    tensor<float, shape<>> s{3};
    std::ostringstream one;
    one << s;
    CHECK(one.str() == "tensor shape<> 3");
}

TEST_CASE("compare: allclose and max_abs_diff", "[core]") {
    tensor<double, shape<3>> a{1, 2, 3}, b{1, 2, 3.001};
    CHECK(spore::max_abs_diff(a, b) == Approx(0.001));
    CHECK(spore::allclose(a, b, 1e-3));
    CHECK_FALSE(spore::allclose(a, b, 1e-5));
    b[1] = NAN;
    CHECK_FALSE(spore::allclose(a, b, 1.0, 1.0));
    CHECK(std::isinf(spore::max_abs_diff(a, b)));
}

TEST_CASE("tensor: assignment keeps the storage, so expressions stay valid", "[core]") {
    tensor<double, shape<3>> x{1, 2, 3}, next{4, 5, 6};
    const double* storage = x.data();
    auto program = spore::compile(x * 2.0);
    x = next;
    CHECK(x.data() == storage);
    CHECK(program()[2] == 12.0);
    x = tensor<double, shape<3>>{7, 8, 9};
    CHECK(x.data() == storage);
    CHECK(program()[0] == 14.0);
}

TEST_CASE("tensor_view: read-only views of const tensors, explicit batch for dynamic shapes", "[core]") {
    const tensor<float, shape<2, 2>> t{1, 2, 3, 4};
    auto v = t.view();
    STATIC_REQUIRE(std::is_same_v<decltype(v[0]), const float&>);
    float total = 0;
    for (float x : v) total += x;
    CHECK(total == 10.0f);
    CHECK(v(1, 1) == 4.0f);
    std::vector<float> storage(8);
    spore::tensor_view<float, shape<spore::dynamic, 4>> d(storage.data(), 2);
    CHECK(d.size() == 8);
    STATIC_REQUIRE(!std::is_constructible_v<spore::tensor_view<float, shape<spore::dynamic, 4>>, float*>);
}
