#pragma once
// Run-time errors. Shape errors are compile-time (static_assert); these are for what only
// the running program can know: run-time batch extents, files, bad arguments.

#include <stdexcept>
#include <string>

namespace spore {

struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct shape_error : error {
    using error::error;
};

}  // namespace spore
