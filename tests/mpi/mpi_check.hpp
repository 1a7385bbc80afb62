#pragma once
// Checks for test programs that run under mpirun: a failed check is reported with its rank
// and does not change the control flow, so the ranks stay in step; at the end the failures
// of all ranks are summed and every rank exits non-zero if any check failed anywhere.
#include <cstdio>
#include <exception>
#include <string>

#include <spore/parallel/context.hpp>

namespace spore_mpi_test {

inline int& failures() {
    static int count = 0;
    return count;
}

inline void fail(const char* file, int line, const std::string& what) {
    const int rank = [] {
        int initialised = 0, finalised = 0, r = -1;
        MPI_Initialized(&initialised);
        MPI_Finalized(&finalised);
        if (initialised && !finalised) MPI_Comm_rank(MPI_COMM_WORLD, &r);
        return r;
    }();
    std::fprintf(stderr, "%s:%d: rank %d: check failed: %s\n", file, line, rank, what.c_str());
    ++failures();
}

// Sums the failures of every rank; 0 when all passed. Collective.
inline int finish(const spore::parallel::context& ctx, const char* name) {
    const int all = int(ctx.sum(failures()));
    if (ctx.is_main()) std::printf("%s: %s (%d failed checks on %d ranks)\n", name, all ? "FAILED" : "passed", all, ctx.device_num());
    return all ? 1 : 0;
}

}  // namespace spore_mpi_test

#define MPI_CHECK(condition)                                                            \
    do {                                                                                \
        if (!(condition)) spore_mpi_test::fail(__FILE__, __LINE__, #condition);         \
    } while (0)

// Expects `statement` to throw spore::error whose message contains `text`.
#define MPI_CHECK_THROWS(statement, text)                                                                      \
    do {                                                                                                       \
        try {                                                                                                  \
            statement;                                                                                         \
            spore_mpi_test::fail(__FILE__, __LINE__, "no exception from " #statement);                         \
        } catch (const spore::error& e) {                                                                      \
            if (std::string(e.what()).find(text) == std::string::npos)                                         \
                spore_mpi_test::fail(__FILE__, __LINE__, std::string("unexpected message: ") + e.what());      \
        }                                                                                                      \
    } while (0)
