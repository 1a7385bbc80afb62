// LeNet-5 on Fashion-MNIST with spore::Model: the network is a struct, its graph a type, its
// gradient derived at compile time. Run with --help for the flags. Built with MPI (when CMake
// finds it), `mpirun -np 2 spore_example_lenet` trains data-parallel: --batch per rank, rank 0
// prints and saves.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <type_traits>
#include <utility>

#include <spore/spore.hpp>
#if defined(LENET_WITH_MPI)
#include <spore/parallel/mpi.hpp>
#endif

#include "lenet5.hpp"

namespace nn = spore::nn;
namespace train = spore::train;

namespace {

const char* const usage =
    "usage: spore_example_lenet [flags]\n"
    "  --data DIR       Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)\n"
    "  --epochs N       (default 5)\n"
    "  --batch N        32 (default); 16, 64, 128, 256 in a build with LENET_ALL_BATCH_SIZES\n"
    "  --lr X           SGD learning rate (default 0.01)\n"
    "  --momentum X     (default 0.9)\n"
    "  --lr-step N      multiply the learning rate by --lr-gamma (default 0.1) every N epochs\n"
    "  --threads N      (default: the cores available)\n"
    "  --seed N         initialisation and shuffling (default 1)\n"
    "  --save PATH      write the weights (safetensors) and the training chart next to them (PATH.svg)\n"
    "  --csv PATH       one row per epoch: epoch, train and test loss, test accuracy, images/s, lr\n"
    "  --chart PATH     the training chart as SVG (default with --save: PATH with .svg)\n"
    "  (missing folders of these paths are made before training starts)\n";

struct options {
    std::string data = "/usr/share/datasets/fashion-mnist";
    int epochs = 5;
    std::size_t batch = 32;
    float lr = 0.01f, momentum = 0.9f, lr_gamma = 0.1f;
    int lr_step = 0;
    std::size_t threads = 0;
    std::uint64_t seed = 1;
    std::string save, csv, chart;
};

void save_weights(const LeNet5& net, const std::string& path) { spore::save(net, path); }

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw spore::error("missing value after " + flag);
            return argv[++i];
        };
        auto number = [&](auto parse) {
            const std::string text = value();
            try {
                std::size_t used = 0;
                auto x = parse(text, &used);
                if (used == text.size()) return x;
            } catch (const std::logic_error&) {
            }
            throw spore::error(flag + " takes a number, found \"" + text + "\"");
        };
        auto integer = [](const std::string& s, std::size_t* used) { return std::stoll(s, used); };
        auto real = [](const std::string& s, std::size_t* used) { return std::stof(s, used); };
        if (flag == "--help" || flag == "-h") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else if (flag == "--data") o.data = value();
        else if (flag == "--epochs") o.epochs = int(number(integer));
        else if (flag == "--batch") o.batch = std::size_t(number(integer));
        else if (flag == "--lr") o.lr = number(real);
        else if (flag == "--momentum") o.momentum = number(real);
        else if (flag == "--threads") o.threads = std::size_t(number(integer));
        else if (flag == "--seed") o.seed = std::uint64_t(number(integer));
        else if (flag == "--lr-step") o.lr_step = int(number(integer));
        else if (flag == "--lr-gamma") o.lr_gamma = number(real);
        else if (flag == "--save") o.save = value();
        else if (flag == "--csv") o.csv = value();
        else if (flag == "--chart") o.chart = value();
        else throw spore::error("unknown flag " + flag + "\n" + usage);
    }
    if (o.epochs < 1) throw spore::error("--epochs must be at least 1, found " + std::to_string(o.epochs));
    if (o.chart.empty() && !o.save.empty()) o.chart = o.save.substr(0, o.save.rfind('.')) + ".svg";
    return o;
}

// optim::StepLR every --lr-step epochs, or the base rate throughout.
struct step_schedule {
    int step = 0;
    float gamma = 0.1f;
    float lr_at(float base, int epoch) const {
        return step > 0 ? spore::optim::StepLR{.step_size = step, .gamma = gamma}.lr_at(base, epoch) : base;
    }
};

// Distribution: train::single_process, or parallel::data_parallel under mpirun.
template <std::size_t Batch, class Distribution>
int run(const options& opt, Distribution distribution) {
    const bool reporting = distribution.reporting();
    const std::size_t ranks = distribution.shard().count;
    const auto data = spore::data::fashion_mnist(opt.data, {.pad = 2});
    LeNet5 net;
    spore::init(net, opt.seed);
#if defined(LENET_WITH_MPI)
    if constexpr (std::is_same_v<Distribution, spore::parallel::data_parallel>)
        spore::parallel::broadcast_parameters(net, distribution.parallel_context());
#endif
    auto model = spore::Model(net, nn::SoftmaxCrossEntropy{}, spore::optim::Momentum{.lr = opt.lr, .momentum = opt.momentum},
                              spore::batch<Batch>, spore::input_shape<1, 32, 32>, std::move(distribution));
    model.options().seed = opt.seed;
    if (reporting) {
        std::printf("Fashion-MNIST: %zu training and %zu test images, padded to %zux%zu\n%s", data.train.size(),
                    data.test.size(), data.train.rows(), data.train.cols(), model.summary().c_str());
        const std::string parallel = ranks > 1 ? " per rank, " + std::to_string(ranks) + " ranks (global batch " +
                                                     std::to_string(Batch * ranks) + ")" : "";
        std::printf("batch %zu%s, SGD lr %g momentum %g%s, %zu threads%s\n", Batch, parallel.c_str(), double(opt.lr),
                    double(opt.momentum),
                    opt.lr_step ? spore::format(", lr times %g every %d epochs", double(opt.lr_gamma), opt.lr_step).c_str() : "",
                    spore::num_threads(), ranks > 1 ? " per rank" : "");
        std::fflush(stdout);
    }

    // The folders of the outputs now, not after the training that fills them.
    if (reporting)
        for (const std::string& path : {opt.save, opt.chart, opt.csv})
            if (const auto folder = std::filesystem::path(path).parent_path(); !folder.empty())
                std::filesystem::create_directories(folder);

    const bool csv = !opt.csv.empty(), chart = !opt.chart.empty();
    train::CsvLogger log(csv ? opt.csv : "");
    train::SvgChartWriter writer{opt.chart, "LeNet-5 on Fashion-MNIST"};
    struct optional_callbacks {  // the CSV and the chart only when asked for
        train::CsvLogger* log;
        train::SvgChartWriter* chart;
        void on_train_begin(const train::run_info& r) const {
            if (log) log->on_train_begin(r);
        }
        void on_epoch_end(const train::epoch_info& e) const {
            if (log) log->on_epoch_end(e);
            if (chart) chart->on_epoch_end(e);
        }
        void on_train_end(const train::history& h) const {
            if (log) log->on_train_end(h);
        }
    };
    const auto history = model.fit(opt.epochs, data.train, data.test, step_schedule{opt.lr_step, opt.lr_gamma},
                                   optional_callbacks{csv ? &log : nullptr, chart ? &writer : nullptr});
    if (!reporting) return 0;  // rank 0 reports and writes
    std::printf("test accuracy %.4f after %d epochs\n", history.back().test_accuracy, opt.epochs);
    if (!opt.save.empty()) {
        save_weights(net, opt.save);
        std::printf("weights: %s\n", opt.save.c_str());
    }
    if (chart) std::printf("training chart: %s\n", opt.chart.c_str());
    if (csv) std::printf("per-epoch log: %s\n", opt.csv.c_str());
    return 0;
}

template <class Distribution>
int dispatch(const options& opt, Distribution distribution) {
    if (opt.threads) spore::set_num_threads(opt.threads);
    // Each batch size is its own compiled program (about 3-5 s of build time each), so the
    // default build has 32 only; -DLENET_ALL_BATCH_SIZES (CMake: SPORE_LENET_ALL_BATCH_SIZES)
    // adds the others.
    switch (opt.batch) {
        case 32: return run<32>(opt, std::move(distribution));
#if defined(LENET_ALL_BATCH_SIZES)
        case 16: return run<16>(opt, std::move(distribution));
        case 64: return run<64>(opt, std::move(distribution));
        case 128: return run<128>(opt, std::move(distribution));
        case 256: return run<256>(opt, std::move(distribution));
        default: throw spore::error("--batch " + std::to_string(opt.batch) + ": choose 16, 32, 64, 128 or 256");
#else
        default:
            throw spore::error("--batch " + std::to_string(opt.batch) +
                               ": this build has batch 32 only; 16, 64, 128 and 256 need -DLENET_ALL_BATCH_SIZES "
                               "(CMake: -DSPORE_LENET_ALL_BATCH_SIZES=ON)");
#endif
    }
}

}  // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
#if defined(LENET_WITH_MPI)
    if (spore::parallel::context::launched_by_mpirun()) {
        // One rank per process; each rank's kernels get its share of the machine's cores.
        spore::parallel::context ctx({.parallel_mode = spore::parallel::mode::data_parallel});
        return ctx.abort_on_error([&] { return dispatch(opt, spore::parallel::data_parallel(ctx)); });
    }
#endif
    return dispatch(opt, spore::train::single_process{});
} catch (const std::exception& e) {
    std::fprintf(stderr, "lenet: %s\n", e.what());
    return 1;
}
