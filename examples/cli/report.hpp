// zoa — CLI reporting: per-(round, domain) accuracy table as Markdown and an SVG line chart
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/atomic_file.hpp"

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

/// `text` as valid UTF-8: every byte that does not start or continue a well-formed sequence (RFC 3629: no overlong
/// forms, surrogates or code points above U+10FFFF) becomes U+FFFD. Folder names are bytes, reports are UTF-8.
inline std::string valid_utf8(const std::string& text) {
    std::string out;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned char c = p[i];
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (std::size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xc0) == 0x80;
        if (ok && len > 1) {
            unsigned cp = c & (0x7f >> len);
            for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3fu);
            const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
            ok = cp >= min[len] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
        }
        if (ok) {
            out.append(text, i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

/// Text for a Markdown table cell: '|' escaped, '<', '>', '&' as entities (a name is shown, never interpreted as
/// HTML), control characters as spaces, valid UTF-8.
inline std::string markdown_cell(const std::string& text) {
    std::string out;
    for (char c : valid_utf8(text)) {
        if (c == '|') out += "\\|";
        else if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '&') out += "&amp;";
        else if (c == '\\') out += "\\\\";
        else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += ' ';
        else out += c;
    }
    return out;
}

/// Text for XML character data and attribute values: the five predefined entities, valid UTF-8, and U+FFFD for the
/// control characters XML 1.0 forbids (all below 0x20 except tab, newline, carriage return).
inline std::string xml_text(const std::string& text) {
    std::string out;
    for (char c : valid_utf8(text)) {
        if (c == '&') out += "&amp;";
        else if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else if (c == '"') out += "&quot;";
        else if (c == '\'') out += "&apos;";
        else if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += "\xEF\xBF\xBD";
        else out += c;
    }
    return out;
}

/// A command line as a fenced Markdown code block that can be pasted into a POSIX shell: every argument that is not
/// made of safe characters is single-quoted; the fence is longer than any run of backticks inside.
inline std::string markdown_command(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& a : argv) {
        const bool safe = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                            "0123456789-_./:=,+@%") == std::string::npos;
        std::string q = safe ? a : "'";
        if (!safe) {
            for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
            q += "'";
        }
        line += (line.empty() ? "" : " ") + q;
    }
    line = valid_utf8(line);
    std::size_t run = 0, longest = 0;
    for (char c : line) longest = std::max(longest, run = c == '`' ? run + 1 : 0);
    const std::string fence(std::max<std::size_t>(3, longest + 1), '`');
    return fence + "sh\n" + line + "\n" + fence + "\n";
}

/// A Markdown table: one row per series, one column per domain, then the mean (names escaped: markdown_cell).
inline std::string markdown_table(const std::vector<std::string>& domains, const std::vector<series>& rows) {
    std::ostringstream os;
    os << "| method |";
    for (const auto& d : domains) os << ' ' << markdown_cell(d) << " |";
    os << " mean |\n|---|";
    for (std::size_t i = 0; i <= domains.size(); ++i) os << "---:|";
    os << '\n';
    for (const auto& s : rows) {
        os << "| " << markdown_cell(s.name) << " |";
        double sum = 0;
        for (double a : s.accuracy) os << ' ' << fmt2(a) << " |", sum += a;
        os << ' ' << fmt2(s.accuracy.empty() ? 0.0 : sum / double(s.accuracy.size())) << " |\n";
    }
    return os.str();
}

/// An SVG line chart, accuracy (0–100 %) per domain, one coloured series per method, with axes and a legend
/// (title, domain and method names escaped: xml_text).
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
    os << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << xml_text(title)
       << "</text>\n";
    for (int t = 0; t <= 100; t += 20) {
        const double y = y_at(t);
        os << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + pw << "\" y2=\"" << y
           << "\" stroke=\"#ddd\"/><text x=\"" << left - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << t
           << "</text>\n";
    }
    os << "<text transform=\"translate(16," << top + ph / 2
       << ") rotate(-90)\" text-anchor=\"middle\">top-1 accuracy (%)</text>\n";
    for (std::size_t i = 0; i < n; ++i)
        os << "<text transform=\"translate(" << x_at(i) << "," << top + ph + 10 << ") rotate(45)\">"
           << xml_text(domains[i]) << "</text>\n";
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
           << "\"/><text x=\"" << left + pw + 40 << "\" y=\"" << ly + 6 << "\">" << xml_text(rows[s].name)
           << "</text>\n";
    }
    os << "</svg>\n";
    return os.str();
}

}  // namespace zoa_cli
