#pragma once
// The training loop's console output. On a terminal: one line per epoch redrawn in place (at
// most about ten times a second) with progress, loss, images/s and time left. Elsewhere (a
// pipe, a log file): one plain line per epoch, so logs stay readable. Redrawing formats into
// a fixed buffer: it allocates nothing, as a training step must not.

#include <cstddef>
#include <cstdio>
#include <cstring>

#if __has_include(<unistd.h>)
#include <unistd.h>
#define SPORE_HAS_ISATTY 1
#endif

#include <spore/train/clock.hpp>
#include <spore/train/records.hpp>

namespace spore::train {

enum class progress_mode {
    automatic,  // a bar on a terminal, lines otherwise
    bar,
    lines,
    silent,
};

inline bool is_terminal(std::FILE* out) {
#if defined(SPORE_HAS_ISATTY)
    return out && ::isatty(::fileno(out)) == 1;
#else
    (void)out;
    return false;
#endif
}

class progress_printer {
public:
    progress_printer(std::FILE* out, progress_mode mode) : out_(out) {
        if (mode == progress_mode::automatic) mode = is_terminal(out) ? progress_mode::bar : progress_mode::lines;
        mode_ = out ? mode : progress_mode::silent;
    }
    progress_mode mode() const noexcept { return mode_; }

    void begin_epoch() noexcept { last_draw_ = monotonic_seconds(); }

    // After each step; redraws the bar when a tenth of a second has passed, and at the end.
    void step(const step_info& s, double mean_loss, std::size_t images) noexcept {
        if (mode_ != progress_mode::bar) return;
        const double now = monotonic_seconds();
        if (s.step != s.steps && now - last_draw_ < 0.1) return;
        last_draw_ = now;
        constexpr int width = 24;
        const double done = s.steps ? double(s.step) / double(s.steps) : 1.0;
        char bar[width + 1];
        const int filled = int(done * width);
        for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        const double rate = s.seconds > 0 ? double(images) / s.seconds : 0.0;
        // this epoch's rest and the epochs after it, at this epoch's pace (evaluation not counted)
        const double per_step = s.step ? s.seconds / double(s.step) : 0.0;
        const double left = per_step * double(s.steps - s.step + std::size_t(s.epochs - s.epoch) * s.steps);
        char line[200];
        const int n = std::snprintf(line, sizeof line, "\repoch %d/%d [%s] %3.0f%%  loss %.4f  %.0f images/s  %.0f s left",
                                    s.epoch, s.epochs, bar, 100.0 * done, mean_loss, rate, left);
        write_line(line, n);
    }

    // The epoch's summary, on its own line.
    void end_epoch(const epoch_info& e) noexcept {
        if (mode_ == progress_mode::silent) return;
        char line[300];
        int n = std::snprintf(line, sizeof line, "%sepoch %d/%d: train loss %.4f, %.0f images/s, %.1f s",
                              mode_ == progress_mode::bar ? "\r" : "", e.epoch, e.epochs, e.train_loss,
                              e.images_per_second, e.seconds);
        if (e.tested && n > 0 && n < int(sizeof line))
            n += std::snprintf(line + n, sizeof line - std::size_t(n), "; test loss %.4f, accuracy %.4f", e.test_loss,
                               e.test_accuracy);
        write_line(line, n);
        std::fputc('\n', out_);
        std::fflush(out_);
        drawn_ = 0;
    }

    // Wipes the bar, so a callback's line starts on a clean line; the next step redraws it.
    void clear_line() noexcept {
        if (mode_ != progress_mode::bar || drawn_ == 0) return;
        std::fputc('\r', out_);
        for (int i = 0; i < drawn_; ++i) std::fputc(' ', out_);
        std::fputc('\r', out_);
        drawn_ = 0;
    }

private:
    void write_line(const char* line, int n) noexcept {
        if (n < 0) return;
        n = n < 299 ? n : 299;
        std::fwrite(line, 1, std::size_t(n), out_);
        const int visible = line[0] == '\r' ? n - 1 : n;
        for (int i = visible; i < drawn_; ++i) std::fputc(' ', out_);  // the rest of a longer line before
        drawn_ = visible;
        std::fflush(out_);
    }

    std::FILE* out_;
    progress_mode mode_ = progress_mode::silent;
    double last_draw_ = 0;
    int drawn_ = 0;  // characters of the bar on screen
};

}  // namespace spore::train
