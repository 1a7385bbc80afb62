// Shapes (core/shape.hpp): compile-time extents, sizes and strides, and numpy broadcasting.
#include <catch2/catch.hpp>
#include <spore/core/shape.hpp>

using spore::shape;

TEST_CASE("shape: extents, sizes and strides are compile-time constants", "[core]") {
    using S = shape<2, 3, 4>;
    STATIC_REQUIRE(S::rank == 3);
    STATIC_REQUIRE(S::size == 24);
    STATIC_REQUIRE(S::strides[0] == 12);
    STATIC_REQUIRE(S::strides[1] == 4);
    STATIC_REQUIRE(S::strides[2] == 1);
    STATIC_REQUIRE(shape<>::size == 1);
    STATIC_REQUIRE(shape<>::rank == 0);
    using D = shape<spore::dynamic, 3, 4>;
    STATIC_REQUIRE(D::has_dynamic_batch);
    STATIC_REQUIRE(D::static_size == 12);
    CHECK(S::to_string() == "shape<2, 3, 4>");
    CHECK(D::to_string() == "shape<dynamic, 3, 4>");
}

TEST_CASE("shape: numpy broadcasting at compile time", "[core]") {
    using B = spore::broadcast_shapes<shape<3, 1, 5>, shape<4, 1>>;
    STATIC_REQUIRE(B::compatible);
    STATIC_REQUIRE(spore::same_shape_v<B::type, shape<3, 4, 5>>);
    STATIC_REQUIRE(!spore::broadcast_shapes<shape<3, 4>, shape<5>>::compatible);
    STATIC_REQUIRE(spore::broadcasts_to_v<shape<4>, shape<3, 4>>);
    STATIC_REQUIRE(!spore::broadcasts_to_v<shape<3, 4>, shape<4>>);
}
