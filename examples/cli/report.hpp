// zoa — CLI reporting: per-(round, domain) accuracy table as Markdown and an SVG line chart
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"

namespace zoa_cli {

/// One method's accuracy (percent) per domain, in stream order.
struct series {
    std::string name;
    std::vector<double> accuracy;
};

inline std::string fmt2(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

/// A Markdown table: one row per series, one column per domain, then the mean.
inline std::string markdown_table(const std::vector<std::string>& domains, const std::vector<series>& rows) {
    std::ostringstream os;
    os << "| method |";
    for (const auto& d : domains) os << ' ' << d << " |";
    os << " mean |\n|---|";
    for (std::size_t i = 0; i <= domains.size(); ++i) os << "---:|";
    os << '\n';
    for (const auto& s : rows) {
        os << "| " << s.name << " |";
        double sum = 0;
        for (double a : s.accuracy) os << ' ' << fmt2(a) << " |", sum += a;
        os << ' ' << fmt2(s.accuracy.empty() ? 0.0 : sum / double(s.accuracy.size())) << " |\n";
    }
    return os.str();
}

/// An SVG line chart, accuracy (0–100 %) per domain, one coloured series per method, with axes and a legend.
inline std::string svg_chart(const std::vector<std::string>& domains, const std::vector<series>& rows,
                             const std::string& title) {
    const double W = 960, H = 480, left = 60, right = 180, top = 40, bottom = 120;
    const double pw = W - left - right, ph = H - top - bottom;
    const char* colors[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};
    const std::size_t n = domains.size();
    auto x_at = [&](std::size_t i) { return left + (n <= 1 ? pw / 2 : pw * double(i) / double(n - 1)); };
    auto y_at = [&](double acc) { return top + ph * (1.0 - std::clamp(acc, 0.0, 100.0) / 100.0); };
    std::ostringstream os;
    os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
       << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    os << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << title << "</text>\n";
    for (int t = 0; t <= 100; t += 20) {
        const double y = y_at(t);
        os << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + pw << "\" y2=\"" << y
           << "\" stroke=\"#ddd\"/><text x=\"" << left - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << t
           << "</text>\n";
    }
    os << "<text transform=\"translate(16," << top + ph / 2
       << ") rotate(-90)\" text-anchor=\"middle\">top-1 accuracy (%)</text>\n";
    for (std::size_t i = 0; i < n; ++i)
        os << "<text transform=\"translate(" << x_at(i) << "," << top + ph + 10 << ") rotate(45)\">" << domains[i]
           << "</text>\n";
    for (std::size_t s = 0; s < rows.size(); ++s) {
        const char* c = colors[s % 7];
        os << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\" points=\"";
        for (std::size_t i = 0; i < rows[s].accuracy.size() && i < n; ++i)
            os << x_at(i) << ',' << y_at(rows[s].accuracy[i]) << ' ';
        os << "\"/>\n";
        for (std::size_t i = 0; i < rows[s].accuracy.size() && i < n; ++i)
            os << "<circle cx=\"" << x_at(i) << "\" cy=\"" << y_at(rows[s].accuracy[i]) << "\" r=\"3\" fill=\"" << c
               << "\"/>\n";
        const double ly = top + 20.0 * double(s);
        os << "<rect x=\"" << left + pw + 20 << "\" y=\"" << ly << "\" width=\"14\" height=\"4\" fill=\"" << c
           << "\"/><text x=\"" << left + pw + 40 << "\" y=\"" << ly + 6 << "\">" << rows[s].name << "</text>\n";
    }
    os << "</svg>\n";
    return os.str();
}

/// Writes text to path; throws zoa::error(io) naming the path on failure.
inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    zoa::require(static_cast<bool>(f), zoa::error_code::io, path, ": cannot open for writing");
    f << text;
    zoa::require(static_cast<bool>(f), zoa::error_code::io, path, ": write failed");
}

}  // namespace zoa_cli
