#pragma once
// Data-parallel training over MPI. Optional: only programs that link MPI include this header
// (CMake: find_package(MPI) and link MPI::MPI_CXX); <spore/spore.hpp> never includes it.
//
//   spore::parallel::context ctx({.parallel_mode = spore::parallel::mode::data_parallel});
//   spore::init(net, seed);
//   spore::parallel::broadcast_parameters(net);             // every rank starts from rank 0's
//   auto program = ...compile_grad(loss, params...);
//   spore::parallel::gradient_reducer reducer(ctx, program);
//   for each epoch: order = one seeded shuffle (the same seed on every rank)
//       auto shard = spore::parallel::shard(order, local_batch);
//       for step < shard.steps(): fill the batch from shard.batch(step);
//                                 reducer.run(); optimizer.step(reducer.gradients());
//   if (ctx.is_main()) write the checkpoint (through io::atomic_file);
//
// With spore::Model, pass spore::parallel::data_parallel(ctx) as its distribution policy
// (parallel/distribution.hpp). Run with `mpirun -np 2 ./train`; across machines with
// `mpirun --hostfile hosts -np 8 ./train`.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <spore/nn/cell.hpp>
#include <spore/parallel/context.hpp>
#include <spore/parallel/distribution.hpp>
#include <spore/parallel/gradient_reducer.hpp>
#include <spore/parallel/shard.hpp>

namespace spore::parallel {

// Collective. Copies rank 0's parameters to every rank, so all start from the same weights
// whatever each initialised. Refuses, on every rank, cells whose parameters differ in layout.
template <class Cell>
void broadcast_parameters(Cell& cell, context& ctx = context::current()) {
    if (!ctx.distributed()) return;
    std::vector<std::uint64_t> layout;
    nn::for_each_parameter(cell, [&](auto& t) { layout.push_back(t.size() * sizeof(typename std::remove_cvref_t<decltype(t)>::value_type)); });
    ctx.check_same(detail::fingerprint(layout.data(), layout.size() * sizeof(std::uint64_t)),
                   "the parameters' count and sizes (is every rank running the same network?)");
    std::vector<MPI_Request> requests;
    nn::for_each_parameter(cell, [&](auto& t) {
        using T = typename std::remove_cvref_t<decltype(t)>::value_type;
        requests.emplace_back();
        ctx.check(MPI_Ibcast(t.data(), int(t.size()), mpi_type<T>(), 0, ctx.communicator(), &requests.back()),
                  "broadcasting the parameters");
    });
    ctx.wait(requests, "the broadcast of the parameters from rank 0");
}

// Collective. This rank's part of an epoch (parallel/shard.hpp), after checking that every
// rank holds the same order, i.e. shuffled with the same seed.
inline epoch_shard shard(std::span<const std::size_t> order, std::size_t local_batch, context& ctx = context::current(),
                         shard_options options = {}) {
    const std::uint64_t size = order.size();
    ctx.check_same(detail::fingerprint(order.data(), order.size_bytes(), detail::fingerprint(&size, sizeof(size))),
                   "the order of the epoch (shuffle with the same seed on every rank)");
    return epoch_shard(order, local_batch, std::size_t(ctx.global_rank()), std::size_t(ctx.device_num()), options);
}

// Collective. Throws on every rank unless all ranks hold bit-identical parameters: what a
// checkpoint written by rank 0 stands for.
template <class Cell>
void check_replicas(const Cell& cell, context& ctx = context::current()) {
    std::uint64_t h = detail::fingerprint(nullptr, 0);
    nn::for_each_parameter(cell, [&](const auto& t) { h = detail::fingerprint(t.data(), t.size() * sizeof(*t.data()), h); });
    ctx.check_same(h, "the parameters (the replicas have drifted apart)");
}

}  // namespace spore::parallel
