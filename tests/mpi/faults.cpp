// Faults in a data-parallel run: rank 1 fails at step 5 in one of several ways while rank 0
// writes a checkpoint after every step. tests/mpi/check_fault.cmake runs it under mpirun and
// checks that the job ends with an error within a bounded time and that the checkpoint on
// disk is complete (the old one or the new one, never torn).
//
//   mpi_faults run <fault> <checkpoint> [--timeout S] [--slow-checkpoint]
//       fault: none | abort | kill | exit | throw | leave | hang | before-init
//   mpi_faults verify <checkpoint> <first step> <last step> [--expect-torn]   (-1 -1: none may exist)
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <spore/io/atomic_file.hpp>
#include <spore/parallel/mpi.hpp>
#include <spore/spore.hpp>

namespace nn = spore::nn;
namespace parallel = spore::parallel;
using spore::shape;
using spore::tensor;

namespace {

struct Mlp {
    nn::Dense<64, 32> fc1;
    nn::Dense<32, 10> fc2;
    auto construct(auto x) const { return fc2(nn::relu(fc1(x))); }
};

constexpr std::size_t batch = 8, steps = 8, fault_step = 5;
constexpr char magic[8] = {'S', 'P', 'O', 'R', 'E', 'C', 'K', 'P'};

// Checkpoint: magic, step, parameter count, the parameters, then an FNV-1a of all before it.
std::string checkpoint_bytes(const Mlp& net, std::uint64_t step) {
    std::string bytes(magic, sizeof(magic));
    const std::uint64_t count = nn::parameter_count(net);
    bytes.append(reinterpret_cast<const char*>(&step), sizeof(step));
    bytes.append(reinterpret_cast<const char*>(&count), sizeof(count));
    nn::for_each_parameter(net, [&](const auto& t) { bytes.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(float)); });
    const std::uint64_t sum = parallel::detail::fingerprint(bytes.data(), bytes.size());
    bytes.append(reinterpret_cast<const char*>(&sum), sizeof(sum));
    return bytes;
}

// The step of a complete checkpoint, or -1 with the reason.
long long checkpoint_step(const std::string& bytes, std::string& why) {
    const std::size_t fixed = sizeof(magic) + 3 * sizeof(std::uint64_t);
    if (bytes.size() < fixed) return why = "shorter than a header (" + std::to_string(bytes.size()) + " bytes)", -1;
    if (std::memcmp(bytes.data(), magic, sizeof(magic)) != 0) return why = "no magic", -1;
    std::uint64_t step, count, sum;
    std::memcpy(&step, bytes.data() + 8, 8);
    std::memcpy(&count, bytes.data() + 16, 8);
    if (bytes.size() != fixed + count * sizeof(float))
        return why = std::to_string(bytes.size()) + " bytes where " + std::to_string(count) + " parameters need " +
                     std::to_string(fixed + count * sizeof(float)),
               -1;
    std::memcpy(&sum, bytes.data() + bytes.size() - 8, 8);
    if (sum != parallel::detail::fingerprint(bytes.data(), bytes.size() - 8)) return why = "checksum mismatch", -1;
    return static_cast<long long>(step);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_checkpoint(const Mlp& net, std::uint64_t step, const std::string& path, bool slow) {
    const std::string bytes = checkpoint_bytes(net, step);
    // A named temporary, so that the verify step sees the torn write the kill left (an unnamed
    // one, atomic_file's default on Linux, vanishes with the process).
    spore::io::atomic_file file(path, "mpi_faults", nullptr, spore::io::atomic_file::temporary_kind::named);
    // Slow: 5 s, so that the job is torn down mid-write (mpirun ends the other ranks about a
    // second after one dies).
    const std::size_t chunks = slow ? 50 : 1, chunk = (bytes.size() + chunks - 1) / chunks;
    for (std::size_t at = 0; at < bytes.size(); at += chunk) {
        file.write(bytes.data() + at, std::min(chunk, bytes.size() - at));
        if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    file.commit();
}

int rank_before_mpi() {
    for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"})
        if (const char* v = std::getenv(name)) return std::atoi(v);
    return 0;
}

int run(const std::string& fault, const std::string& path, double timeout, bool slow) {
    if (fault == "before-init" && rank_before_mpi() == 1) {
        std::fprintf(stderr, "mpi_faults: rank 1 fails to start\n");
        return 3;
    }
    parallel::context ctx({.parallel_mode = parallel::mode::data_parallel, .timeout_seconds = timeout});
    Mlp net;
    spore::init(net, 1);
    parallel::broadcast_parameters(net);
    struct x_tag;
    struct y_tag;
    tensor<float, shape<batch, 64>> x;
    tensor<float, shape<batch, 10>> y;
    auto loss = nn::SoftmaxCrossEntropy{}(net.construct(spore::expr::placeholder<x_tag, float, shape<batch, 64>>()),
                                         spore::expr::placeholder<y_tag, float, shape<batch, 10>>());
    auto program = std::apply([&](auto&... p) { return spore::compile_grad(loss, p...); }, nn::parameters(net));
    program.feed<x_tag>(x);
    program.feed<y_tag>(y);
    parallel::gradient_reducer reducer(ctx, program);
    spore::optim::optimizer optimizer(spore::optim::Momentum{.lr = 0.1f, .momentum = 0.9f}, nn::parameters(net));
    for (std::size_t step = 0; step < steps; ++step) {
        if (ctx.global_rank() == 1 && step == fault_step && fault != "none") {
            std::fprintf(stderr, "mpi_faults: rank 1 fails at step %zu: %s\n", step, fault.c_str());
            std::fflush(stderr);
            if (fault == "abort") std::abort();
            if (fault == "kill") std::raise(SIGKILL);
            if (fault == "exit") std::_Exit(4);
            if (fault == "throw") throw std::runtime_error("rank 1 gives up");
            if (fault == "leave") return 0;  // the context ends cleanly, MPI_Finalize and all
            if (fault == "hang")
                for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        x.fill_uniform(100 * step + std::size_t(ctx.global_rank()), -1, 1);
        y.fill(0.0f);
        for (std::size_t r = 0; r < batch; ++r) y(r, (r + step) % 10) = 1.0f;
        reducer.run();
        optimizer.step(reducer.gradients());
        if (ctx.is_main()) write_checkpoint(net, step, path, slow && step + 1 == fault_step);
    }
    parallel::check_replicas(net);
    if (ctx.is_main()) std::printf("mpi_faults: %zu steps, no fault\n", steps);
    return 0;
}

int verify(const std::string& path, long long first, long long last, bool expect_torn) {
    if (last < 0) {  // the job ended before any step: there must be no checkpoint at all
        const bool exists = std::filesystem::exists(path);
        std::printf("mpi_faults verify: %s %s\n", path.c_str(), exists ? "exists, but no step was taken" : "was never written");
        return exists ? 1 : 0;
    }
    std::string why;
    const long long step = checkpoint_step(read_file(path), why);
    if (step < 0) {
        std::fprintf(stderr, "mpi_faults verify: %s is not a complete checkpoint: %s\n", path.c_str(), why.c_str());
        return 1;
    }
    if (step < first || step > last) {
        std::fprintf(stderr, "mpi_faults verify: %s holds step %lld, expected %lld to %lld\n", path.c_str(), step, first, last);
        return 1;
    }
    std::printf("mpi_faults verify: %s is complete, step %lld\n", path.c_str(), step);
    // A torn write in progress when the job ended shows as a temporary next to the checkpoint.
    const std::filesystem::path target(path);
    int torn = 0;
    for (const auto& entry : std::filesystem::directory_iterator(target.parent_path().empty() ? "." : target.parent_path()))
        if (entry.path().filename().string().rfind("." + target.filename().string() + ".tmp-", 0) == 0) {
            const long long s = checkpoint_step(read_file(entry.path().string()), why);
            std::printf("mpi_faults verify: temporary %s: %s\n", entry.path().c_str(), s < 0 ? ("torn, " + why).c_str() : "complete");
            torn += s < 0;
        }
    if (expect_torn && torn == 0) {
        std::fprintf(stderr, "mpi_faults verify: expected a torn temporary (the kill was meant to land mid-write)\n");
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    auto has = [&](const char* flag) { return std::find(args.begin(), args.end(), flag) != args.end(); };
    if (args.size() >= 3 && args[0] == "run") {
        double timeout = 300;
        for (std::size_t i = 3; i + 1 < args.size(); ++i)
            if (args[i] == "--timeout") timeout = std::stod(args[i + 1]);
        try {
            return run(args[1], args[2], timeout, has("--slow-checkpoint"));
        } catch (const std::exception& e) {  // reached after the context has ended the job
            std::fprintf(stderr, "mpi_faults: %s\n", e.what());
            return 1;
        }
    }
    if (args.size() >= 4 && args[0] == "verify") return verify(args[1], std::stoll(args[2]), std::stoll(args[3]), has("--expect-torn"));
    std::fprintf(stderr, "usage: mpi_faults run <fault> <checkpoint> [--timeout S] [--slow-checkpoint]\n"
                         "       mpi_faults verify <checkpoint> <first step> <last step> [--expect-torn]\n");
    return 2;
}
