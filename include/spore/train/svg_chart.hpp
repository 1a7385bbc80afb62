#pragma once
// A small SVG line-chart writer for training curves: panels side by side, each with axes,
// ticks at 1-2-5 steps, axis labels, a legend and one polyline per series. The training chart
// has two panels: loss (train and test) and test accuracy, per epoch.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <spore/core/error.hpp>
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

inline std::string number(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", std::abs(x) < 1e-12 ? 0.0 : x);
    return text;
}
inline std::string coordinate(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", x);
    return text;
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
    std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(width) + "\" height=\"" + number(height) +
         "\" viewBox=\"0 0 " + number(width) + " " + number(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    s += "<rect x=\"0\" y=\"0\" width=\"" + number(width) + "\" height=\"" + number(height) + "\" fill=\"white\"/>\n";
    s += "<text x=\"" + coordinate(width / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + escape(title) + "</text>\n";
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

        s += "<g>\n<text x=\"" + coordinate((x0 + x1) / 2) + "\" y=\"" + coordinate(y1 - 12) +
             "\" text-anchor=\"middle\" font-size=\"13\">" + escape(panel.title) + "</text>\n";
        for (double y = lo; y <= hi + step / 2; y += step) {  // horizontal grid and y ticks
            s += "<line x1=\"" + coordinate(x0) + "\" y1=\"" + coordinate(py(y)) + "\" x2=\"" + coordinate(x1) +
                 "\" y2=\"" + coordinate(py(y)) + "\" stroke=\"#dddddd\"/>\n";
            s += "<text x=\"" + coordinate(x0 - 6) + "\" y=\"" + coordinate(py(y) + 4) + "\" text-anchor=\"end\">" +
                 number(y) + "</text>\n";
        }
        const double x_step = std::max(1.0, nice_step(x_lo, x_hi, 6));
        for (double x = 1; x <= x_hi + 1e-9; x += x_step) {  // x ticks at whole epochs
            s += "<line x1=\"" + coordinate(px(x)) + "\" y1=\"" + coordinate(y0) + "\" x2=\"" + coordinate(px(x)) +
                 "\" y2=\"" + coordinate(y0 + 5) + "\" stroke=\"black\"/>\n";
            s += "<text x=\"" + coordinate(px(x)) + "\" y=\"" + coordinate(y0 + 18) + "\" text-anchor=\"middle\">" +
                 number(x) + "</text>\n";
        }
        s += "<polyline points=\"" + coordinate(x0) + "," + coordinate(y1) + " " + coordinate(x0) + "," + coordinate(y0) +
             " " + coordinate(x1) + "," + coordinate(y0) + "\" fill=\"none\" stroke=\"black\" class=\"axes\"/>\n";
        s += "<text x=\"" + coordinate((x0 + x1) / 2) + "\" y=\"" + coordinate(y0 + 38) + "\" text-anchor=\"middle\">" +
             escape(x_label) + "</text>\n";
        s += "<text x=\"" + coordinate(x0 - 48) + "\" y=\"" + coordinate((y0 + y1) / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 " +
             coordinate(x0 - 48) + " " + coordinate((y0 + y1) / 2) + ")\">" + escape(panel.y_label) + "</text>\n";
        for (std::size_t k = 0; k < panel.series.size(); ++k) {
            const chart_series& series = panel.series[k];
            std::string points, marks;
            for (std::size_t i = 0; i < series.values.size(); ++i) {
                if (!std::isfinite(series.values[i])) continue;
                const std::string cx = coordinate(px(double(i + 1))), cy = coordinate(py(series.values[i]));
                points += (points.empty() ? "" : " ") + cx + "," + cy;
                marks += "<circle cx=\"" + cx + "\" cy=\"" + cy + "\" r=\"2.5\" fill=\"" + colour(k) + "\"/>\n";
            }
            s += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + colour(k) +
                 "\" stroke-width=\"2\" class=\"series\"><title>" + escape(series.name) + "</title></polyline>\n" + marks;
            const double ly = y1 + 14 + 16 * double(k), lx = x1 - 130;  // legend, top right
            s += "<line x1=\"" + coordinate(lx) + "\" y1=\"" + coordinate(ly - 4) + "\" x2=\"" + coordinate(lx + 18) +
                 "\" y2=\"" + coordinate(ly - 4) + "\" stroke=\"" + colour(k) + "\" stroke-width=\"2\"/>\n";
            s += "<text x=\"" + coordinate(lx + 24) + "\" y=\"" + coordinate(ly) + "\" class=\"legend\">" +
                 escape(series.name) + "</text>\n";
        }
        s += "</g>\n";
    }
    return s + "</svg>\n";
}

// Loss (train and, when tested, test) and test accuracy per epoch.
inline std::string training_chart(const history& epochs, const std::string& title = "training") {
    chart_panel loss{"loss per epoch", "loss", {{"train loss", {}}}};
    chart_panel accuracy{"test accuracy per epoch", "accuracy", {{"test accuracy", {}}}};
    const bool tested = std::any_of(epochs.begin(), epochs.end(), [](const epoch_info& e) { return e.tested; });
    if (tested) loss.series.push_back({"test loss", {}});
    for (const auto& e : epochs) {
        loss.series[0].values.push_back(e.train_loss);
        if (tested) loss.series[1].values.push_back(e.test_loss);
        accuracy.series[0].values.push_back(e.test_accuracy);
    }
    std::vector<chart_panel> panels{loss};
    if (tested) panels.push_back(accuracy);
    return svg_chart(panels, "epoch", title);
}

inline void write_text_file(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw error(path + ": cannot open the file for writing");
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !written) throw error(path + ": write failed");
}

// A callback that rewrites the training chart at `path` after every epoch.
struct SvgChartWriter {
    std::string path;
    std::string title = "training";
    history epochs{};

    void on_epoch_end(const epoch_info& e) {
        epochs.push_back(e);
        if (e.reporting) write_text_file(path, training_chart(epochs, title));
    }
};

}  // namespace spore::train
