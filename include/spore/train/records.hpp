#pragma once
// What the training loop reports: after each step, after each epoch, and from an evaluation.
// Callbacks and the progress display read these; a training run returns its epochs.

#include <cstddef>
#include <limits>
#include <vector>

namespace spore::train {

class progress_printer;

struct metrics {
    double loss = std::numeric_limits<double>::quiet_NaN();  // NaN when no full batch could be scored
    double accuracy = 0.0;
    std::size_t count = 0;  // images scored
};

struct run_info {
    int epochs = 0;
    bool reporting = true;  // this process prints and writes (rank 0 of a data-parallel run)
};

struct step_info {
    int epoch = 0;  // from 1
    int epochs = 0;
    std::size_t step = 0;  // from 1, within the epoch
    std::size_t steps = 0;
    std::size_t global_step = 0;  // from 1, over the run
    float loss = 0.0f;            // mean over the batch's real rows
    std::size_t rows = 0;         // real rows in this batch (fewer in a partial last batch)
    float lr = 0.0f;
    double seconds = 0.0;  // since the epoch began
    bool reporting = true;  // this process prints and writes (rank 0 of a data-parallel run)
    progress_printer* progress = nullptr;  // the bar on screen, if any: clear_line() before printing
};

struct epoch_info {
    int epoch = 0;  // from 1
    int epochs = 0;
    double train_loss = 0.0;  // mean over the epoch's training images
    std::size_t images = 0;   // trained on, over all processes
    double seconds = 0.0;
    double images_per_second = 0.0;
    float lr = 0.0f;
    bool tested = false;  // test_loss and test_accuracy are set (Model::fit)
    double test_loss = std::numeric_limits<double>::quiet_NaN();
    double test_accuracy = std::numeric_limits<double>::quiet_NaN();
    bool reporting = true;
};

using history = std::vector<epoch_info>;

}  // namespace spore::train
