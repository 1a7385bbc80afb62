// The pooling kernels (kernels/pool.hpp) on raw arrays: where ties send the gradient, and the
// pass without indices against the indexed one.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../support/check.hpp"

using spore_test::random_vector;

TEST_CASE("max pooling: ties send the gradient to the first maximum in the window", "[kernels][pool]") {
    for (std::size_t kernel : {2, 3}) {
        const spore::kernels::pool2d_geometry g{2, 6, 6, kernel, kernel};
        std::vector<float> x(g.planes * g.input_plane(), 1.5f), y(g.planes * g.output_plane());
        x[7] = 2.0f;  // plane 0: the window at (0, 0) of the 2x2 pooling has one larger value at (1, 1)
        std::vector<std::uint32_t> where(y.size());
        spore::kernels::max_pool2d_forward(g, x.data(), y.data(), where.data());
        for (std::size_t p = 0; p < g.planes; ++p)
            for (std::size_t oh = 0; oh < g.out_h(); ++oh)
                for (std::size_t ow = 0; ow < g.out_w(); ++ow) {
                    const std::size_t o = p * g.output_plane() + oh * g.out_w() + ow;
                    const bool larger = p == 0 && oh == 0 && ow == 0 && kernel == 2;
                    CHECK(y[o] == (larger || (p == 0 && oh == 0 && ow == 0) ? 2.0f : 1.5f));
                    CHECK(where[o] == (larger || (kernel == 3 && o == 0) ? 7u : (oh * kernel) * 6 + ow * kernel));
                }
    }
}

TEST_CASE("max pooling without indices gives the values of the indexed pass, NaN included", "[kernels][pool]") {
    for (std::size_t size : {2, 3, 17, 28, 33})
        for (std::size_t kernel : {2, 3}) {
            if (kernel > size) continue;
            const spore::kernels::pool2d_geometry g{3, size, size + 1, kernel, kernel};
            auto x = random_vector<float>(g.planes * g.input_plane(), 9);
            x[1] = NAN;  // in the first window, after the first element
            x[g.input_plane() + g.width] = NAN;  // in the first window of plane 1, below the first element
            std::vector<float> indexed(g.planes * g.output_plane()), values(indexed.size(), -1.0f);
            std::vector<std::uint32_t> where(indexed.size());
            spore::kernels::max_pool2d_forward(g, x.data(), indexed.data(), where.data());
            spore::kernels::max_pool2d_forward(g, x.data(), values.data(), static_cast<std::uint32_t*>(nullptr));
            INFO("size " << size << " kernel " << kernel);
            for (std::size_t i = 0; i < values.size(); ++i) {
                const float from_index = x[i / g.output_plane() * g.input_plane() + where[i]];
                CHECK(std::memcmp(&values[i], &indexed[i], sizeof(float)) == 0);
                CHECK(std::memcmp(&from_index, &indexed[i], sizeof(float)) == 0);
            }
        }
}
