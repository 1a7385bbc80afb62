#pragma once
// A small SVG line-chart writer for training curves: panels side by side, each with axes,
// ticks at 1-2-5 steps, axis labels, a legend and one polyline per series. The training chart
// has two panels: loss (train and test) and test accuracy, per epoch.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <spore/core/error.hpp>
#include <spore/core/format.hpp>
#include <spore/io/atomic_file.hpp>
#include <spore/train/records.hpp>

namespace spore::train {

struct chart_series {
    std::string name;
    std::vector<double> values;  // value i at x = i + 1; NaN values are left out
};

struct chart_panel {
    std::string title;
    std::string y_label;
    std::vector<chart_series> series;
};

namespace svg_detail {

inline std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

// A step of 1, 2 or 5 times a power of ten giving about `ticks` intervals over [lo, hi].
inline double nice_step(double lo, double hi, int ticks) {
    const double raw = (hi - lo) / ticks;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    const double f = raw / power;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
}

inline const char* colour(std::size_t i) {
    static const char* const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    return colours[i % 6];
}

}  // namespace svg_detail

// An SVG document (a string) with the panels side by side, x running over 1..n.
inline std::string svg_chart(const std::vector<chart_panel>& panels, const std::string& x_label, const std::string& title) {
    using namespace svg_detail;
    constexpr double panel_w = 440, panel_h = 320, left = 64, right = 16, top = 40, bottom = 52, head = 32;
    const double width = panel_w * double(std::max<std::size_t>(panels.size(), 1)), height = panel_h + head;
    std::string s;
    append_format(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
              "height=\"%g\" viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" font-size=\"12\">\n",
           width, height, width, height);
    append_format(s, "<rect x=\"0\" y=\"0\" width=\"%g\" height=\"%g\" fill=\"white\"/>\n", width, height);
    append_format(s, "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", width / 2,
           escape(title).c_str());
    for (std::size_t p = 0; p < panels.size(); ++p) {
        const chart_panel& panel = panels[p];
        const double x0 = double(p) * panel_w + left, x1 = double(p + 1) * panel_w - right;
        const double y0 = head + panel_h - bottom, y1 = head + top;  // y0: the bottom of the plot
        std::size_t n = 1;
        double lo = INFINITY, hi = -INFINITY;
        for (const auto& series : panel.series) {
            n = std::max(n, series.values.size());
            for (double v : series.values)
                if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
        }
        if (!(lo <= hi)) lo = 0, hi = 1;
        if (hi - lo < 1e-9) lo -= 0.5 * std::max(std::abs(lo), 1e-3), hi += 0.5 * std::max(std::abs(hi), 1e-3);
        const double step = nice_step(lo, hi, 5);
        lo = std::floor(lo / step) * step;
        hi = std::ceil(hi / step) * step;
        const double x_lo = n == 1 ? 0.5 : 1.0, x_hi = n == 1 ? 1.5 : double(n);
        auto px = [&](double x) { return x0 + (x - x_lo) / (x_hi - x_lo) * (x1 - x0); };
        auto py = [&](double y) { return y0 - (y - lo) / (hi - lo) * (y0 - y1); };

        append_format(s, "<g>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">%s</text>\n", (x0 + x1) / 2,
               y1 - 12, escape(panel.title).c_str());
        for (double y = lo; y <= hi + step / 2; y += step)  // horizontal grid and y ticks
            append_format(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.6g</text>\n",
                   x0, py(y), x1, py(y), x0 - 6, py(y) + 4, std::abs(y) < 1e-12 ? 0.0 : y);
        const double x_step = std::max(1.0, nice_step(x_lo, x_hi, 6));
        for (double x = 1; x <= x_hi + 1e-9; x += x_step)  // x ticks at whole epochs
            append_format(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                   px(x), y0, px(x), y0 + 5, px(x), y0 + 18, x);
        append_format(s, "<polyline points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"none\" stroke=\"black\" class=\"axes\"/>\n",
               x0, y1, x0, y0, x1, y0);
        append_format(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", (x0 + x1) / 2, y0 + 38,
               escape(x_label).c_str());
        append_format(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
               x0 - 48, (y0 + y1) / 2, x0 - 48, (y0 + y1) / 2, escape(panel.y_label).c_str());
        for (std::size_t k = 0; k < panel.series.size(); ++k) {
            const chart_series& series = panel.series[k];
            std::string points, marks;
            for (std::size_t i = 0; i < series.values.size(); ++i) {
                if (!std::isfinite(series.values[i])) continue;
                const double cx = px(double(i + 1)), cy = py(series.values[i]);
                append_format(points, points.empty() ? "%.1f,%.1f" : " %.1f,%.1f", cx, cy);
                append_format(marks, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", cx, cy, colour(k));
            }
            append_format(s, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" class=\"series\"><title>%s</title></polyline>\n",
                   points.c_str(), colour(k), escape(series.name).c_str());
            s += marks;
            const double ly = y1 + 14 + 16 * double(k), lx = x1 - 130;  // legend, top right
            append_format(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n"
                      "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">%s</text>\n",
                   lx, ly - 4, lx + 18, ly - 4, colour(k), lx + 24, ly, escape(series.name).c_str());
        }
        s += "</g>\n";
    }
    s += "</svg>\n";
    return s;
}

// Loss (train and, when tested, test) and test accuracy per epoch.
inline std::string training_chart(const history& epochs, const std::string& title = "training") {
    const bool tested = std::any_of(epochs.begin(), epochs.end(), [](const epoch_info& e) { return e.tested; });
    std::vector<chart_panel> panels(tested ? 2 : 1);
    panels[0].title = "loss per epoch";
    panels[0].y_label = "loss";
    panels[0].series.resize(tested ? 2 : 1);
    panels[0].series[0].name = "train loss";
    for (const auto& e : epochs) panels[0].series[0].values.push_back(e.train_loss);
    if (tested) {
        panels[0].series[1].name = "test loss";
        panels[1].title = "test accuracy per epoch";
        panels[1].y_label = "accuracy";
        panels[1].series.resize(1);
        panels[1].series[0].name = "test accuracy";
        for (const auto& e : epochs) {
            panels[0].series[1].values.push_back(e.test_loss);
            panels[1].series[0].values.push_back(e.test_accuracy);
        }
    }
    return svg_chart(panels, "epoch", title);
}

// A callback that rewrites the training chart at `path` after every epoch, atomically, so a
// viewer reloading it never sees half a chart.
struct SvgChartWriter {
    std::string path;
    std::string title = "training";
    history epochs{};

    void on_epoch_end(const epoch_info& e) {
        epochs.push_back(e);
        if (e.reporting) io::write_file_atomically(path, training_chart(epochs, title), "spore::train::SvgChartWriter");
    }
};

}  // namespace spore::train
