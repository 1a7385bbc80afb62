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
#include <spore/io/atomic_file.hpp>
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
// lr). At the start and at each epoch's end the whole file is written again through
// io::atomic_file (it is small), so a run cut short, even killed mid-write, keeps a complete
// file with every finished epoch's row. Test columns are empty without a test set.
class CsvLogger {
public:
    explicit CsvLogger(std::string path) : path_(std::move(path)) {}

    const std::string& path() const noexcept { return path_; }

    void on_train_begin(const run_info& run) {
        if (!run.reporting) return;
        rows_ = "epoch,train_loss,test_loss,test_accuracy,images_per_second,lr\n";
        started_ = true;
        write();
    }
    void on_epoch_end(const epoch_info& e) {
        if (!e.reporting || !started_) return;
        char row[160];
        if (e.tested)
            std::snprintf(row, sizeof row, "%d,%.6g,%.6g,%.6g,%.1f,%.6g\n", e.epoch, e.train_loss, e.test_loss, e.test_accuracy,
                          e.images_per_second, double(e.lr));
        else
            std::snprintf(row, sizeof row, "%d,%.6g,,,%.1f,%.6g\n", e.epoch, e.train_loss, e.images_per_second, double(e.lr));
        rows_ += row;
        write();
    }
    void on_train_end(const history&) { started_ = false; }

private:
    void write() const { io::write_file_atomically(path_, rows_, "spore::train::CsvLogger"); }
    std::string path_;
    std::string rows_;
    bool started_ = false;
};

}  // namespace spore::train
