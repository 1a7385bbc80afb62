// Built with ONLY single_include/spore on the include path (plus xsimd, Boost and Catch2), so
// this checks that the amalgamated header is complete and works on its own.
#include "spore.hpp"

#include <catch2/catch.hpp>

TEST_CASE("single header: version macros", "[single_header]") {
    STATIC_REQUIRE(SPORE_VERSION_MAJOR == 0);
    STATIC_REQUIRE(SPORE_VERSION_MINOR >= 0);
}

TEST_CASE("single header: value and gradient of a small network", "[single_header]") {
    spore::tensor<double, spore::shape<2, 3>> x{1, 2, 3, 4, 5, 6};
    spore::tensor<double, spore::shape<3, 2>> w{0.1, -0.2, 0.3, 0.4, -0.5, 0.6};
    auto [value, dw] = spore::value_and_grad(spore::sum(spore::matmul(x, w)), w);
    CHECK(value == Approx(1 * 0.1 + 2 * 0.3 + 3 * -0.5 + 1 * -0.2 + 2 * 0.4 + 3 * 0.6 + 4 * 0.1 + 5 * 0.3 +
                          6 * -0.5 + 4 * -0.2 + 5 * 0.4 + 6 * 0.6));
    CHECK(dw(0, 0) == Approx(5.0));  // column sums of x
    CHECK(dw(2, 1) == Approx(9.0));
}
