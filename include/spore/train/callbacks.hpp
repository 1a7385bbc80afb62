#pragma once
// Callbacks of Model::train and Model::fit: any object with some of
//   on_train_begin(const run_info&), on_step(const step_info&), on_epoch_end(const epoch_info&),
//   on_train_end(const history&)
// (found at compile time; no base class, no virtual call). Callbacks run on every process of
// a data-parallel run; those that print or write do so only where `reporting` is set.

#include <cstdio>
#include <string>

#include <spore/core/error.hpp>
#include <spore/core/text.hpp>
#include <spore/train/progress.hpp>
#include <spore/train/records.hpp>

namespace spore::train {

// Prints the loss every `every` steps (MindSpore's LossMonitor).
struct LossMonitor {
    std::size_t every = 100;
    std::FILE* out = stdout;

    void on_step(const step_info& s) const {
        if (!s.reporting || !out || every == 0 || s.step % every != 0) return;
        if (s.progress) s.progress->clear_line();
        std::fprintf(out, "epoch %d, step %zu/%zu: loss %.4f\n", s.epoch, s.step, s.steps, double(s.loss));
        std::fflush(out);
    }
};

// Writes one CSV row per epoch (epoch, train_loss, test_loss, test_accuracy, images_per_second,
// lr), flushed as each epoch ends so a run cut short keeps its rows. Test columns are empty
// without a test set.
class CsvLogger {
public:
    explicit CsvLogger(std::string path) : path_(std::move(path)) {}
    CsvLogger(const CsvLogger&) = delete;
    CsvLogger& operator=(const CsvLogger&) = delete;
    CsvLogger(CsvLogger&& other) noexcept : path_(std::move(other.path_)), file_(other.file_) { other.file_ = nullptr; }
    ~CsvLogger() { close(); }

    const std::string& path() const noexcept { return path_; }

    void on_train_begin(const run_info& run) {
        if (!run.reporting) return;
        close();
        file_ = std::fopen(path_.c_str(), "w");
        if (!file_) throw error(spore::detail::concat({path_, ": cannot open the file for writing (CsvLogger)"}));
        std::fputs("epoch,train_loss,test_loss,test_accuracy,images_per_second,lr\n", file_);
        std::fflush(file_);
    }
    void on_epoch_end(const epoch_info& e) {
        if (!e.reporting || !file_) return;
        std::fprintf(file_, "%d,%.6g,", e.epoch, e.train_loss);
        if (e.tested) std::fprintf(file_, "%.6g,%.6g,", e.test_loss, e.test_accuracy);
        else std::fputs(",,", file_);
        std::fprintf(file_, "%.1f,%.6g\n", e.images_per_second, double(e.lr));
        if (std::fflush(file_) != 0) throw error(spore::detail::concat({path_, ": write failed (CsvLogger)"}));
    }
    void on_train_end(const history&) { close(); }

private:
    void close() noexcept {
        if (file_) std::fclose(file_);
        file_ = nullptr;
    }
    std::string path_;
    std::FILE* file_ = nullptr;
};

}  // namespace spore::train
