// zoa — CLI argument parsing shared by the subcommands: declared options only, each at most once, strict numbers
// and lists (every malformed value is an error naming the option, never a silent default, wrap or truncation)
// SPDX-License-Identifier: MIT
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"

namespace zoa_cli {

/// The options of one command line.
struct parsed_args {
    std::map<std::string, std::string> values;  ///< option → its value ("" for a flag)
    std::vector<std::string> positional;         ///< everything else, in order

    bool has(const std::string& option) const { return values.count(option) != 0; }
    /// The option's value, or `fallback` when it was not given.
    std::string get(const std::string& option, const std::string& fallback = "") const {
        const auto it = values.find(option);
        return it == values.end() ? fallback : it->second;
    }
};

/// Parses args of `command` ("zoa predict"): `takes_value` lists the options followed by a value ("--weights"),
/// `flags` those without. An argument starting with "--" must be one of them; "--" alone ends the options (the rest
/// is positional, e.g. an image called "--x.png"). A value may also be attached: "--limit=5".
/// Throws: zoa::error(argument) "<command>: ..." for an unknown option, an option given twice (later ones used to
/// win silently), a missing or empty value, or positional arguments when allow_positional is false. `usage` is
/// appended to the messages about unknown options.
inline parsed_args parse_args(const std::string& command, const std::vector<std::string>& args,
                              const std::vector<std::string>& takes_value, const std::vector<std::string>& flags,
                              bool allow_positional, const std::string& usage) {
    const auto known = [](const std::vector<std::string>& list, const std::string& s) {
        for (const auto& k : list)
            if (k == s) return true;
        return false;
    };
    parsed_args out;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (options_done || a.size() < 2 || a.compare(0, 2, "--") != 0) {
            zoa::require(allow_positional, zoa::error_code::argument, command, ": unexpected argument '", a, "' (",
                         usage, ")");
            out.positional.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        const std::size_t eq = a.find('=');
        const std::string name = a.substr(0, eq);
        const bool valued = known(takes_value, name);
        zoa::require(valued || known(flags, name), zoa::error_code::argument, command, ": unknown option '", name,
                     "' (", usage, ")");
        std::string value;
        if (valued) {
            if (eq != std::string::npos) {
                value = a.substr(eq + 1);
            } else {
                zoa::require(i + 1 < args.size(), zoa::error_code::argument, command, ": ", name, " needs a value");
                value = args[++i];
                zoa::require(value.size() < 2 || value.compare(0, 2, "--") != 0, zoa::error_code::argument, command,
                             ": ", name, " needs a value, got the option '", value, "'");
            }
            zoa::require(!value.empty(), zoa::error_code::argument, command, ": ", name, " has an empty value");
        } else {
            zoa::require(eq == std::string::npos, zoa::error_code::argument, command, ": ", name,
                         " takes no value, got '", a, "'");
        }
        const auto prev = out.values.find(name);
        if (prev != out.values.end())  // (not a require: its message reads prev->second)
            zoa::fail(zoa::error_code::argument, command, ": ", name, " given twice ",
                      valued ? "('" + prev->second + "' and '" + value + "')" : std::string(),
                      "; give each option once");
        out.values.emplace(name, std::move(value));
    }
    return out;
}

/// A whole number in [lo, hi] written in decimal digits only (no sign, spaces, exponent or fraction); the range is
/// checked on the text's full value, so "4294967297" is out of range instead of wrapping to 1.
/// Throws: zoa::error(argument) "<what> must be an integer in lo..hi, got '<text>'".
inline std::uint64_t parse_integer(const std::string& what, const std::string& text, std::uint64_t lo,
                                   std::uint64_t hi) {
    bool ok = !text.empty() && text.size() <= 20;
    std::uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            ok = false;
            break;
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            ok = false;
            break;
        }
        v = v * 10 + d;
    }
    zoa::require(ok && v >= lo && v <= hi, zoa::error_code::argument, what, " must be an integer in ", lo, "..", hi,
                 ", got '", text, "'");
    return v;
}

/// A finite decimal number (strtod syntax, the whole text). Values too large or too small for a double are errors
/// saying so (not "not a number").
/// Throws: zoa::error(argument) naming `what` and the text.
inline double parse_number(const std::string& what, const std::string& text) {
    const char* b = text.c_str();
    char* end = nullptr;
    errno = 0;
    const double v = text.empty() || std::isspace(static_cast<unsigned char>(text[0])) ? 0.0 : std::strtod(b, &end);
    zoa::require(end != nullptr && end != b && *end == '\0', zoa::error_code::argument, what, ": '", text,
                 "' is not a number");
    zoa::require(std::isfinite(v) && !(errno == ERANGE && std::fabs(v) > 1.0), zoa::error_code::argument, what, ": '",
                 text, "' is too large (not a finite double)");
    zoa::require(!(errno == ERANGE && v == 0.0), zoa::error_code::argument, what, ": '", text,
                 "' is too small to represent (underflows to 0)");
    return v;
}

/// Splits a comma-separated list; every item must be non-empty ("--method ," and "--data a,,b" are errors).
/// Throws: zoa::error(argument) "<what>: empty item in '<text>'".
inline std::vector<std::string> split_list(const std::string& what, const std::string& text) {
    std::vector<std::string> out;
    std::size_t b = 0;
    for (;;) {
        const std::size_t e = text.find(',', b);
        std::string item = text.substr(b, e == std::string::npos ? std::string::npos : e - b);
        zoa::require(!item.empty(), zoa::error_code::argument, what, ": empty item in '", text, "'");
        out.push_back(std::move(item));
        if (e == std::string::npos) return out;
        b = e + 1;
    }
}

/// Splits "key=value"; both sides must be non-empty.
/// Throws: zoa::error(argument) "<what>: '<text>' has an empty key" / "no '='" / "an empty value".
inline std::pair<std::string, std::string> split_key_value(const std::string& what, const std::string& text) {
    const std::size_t eq = text.find('=');
    zoa::require(eq != std::string::npos, zoa::error_code::argument, what, ": '", text, "' is not key=value");
    zoa::require(eq > 0, zoa::error_code::argument, what, ": '", text, "' has an empty key");
    zoa::require(eq + 1 < text.size(), zoa::error_code::argument, what, ": '", text, "' has an empty value");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

}  // namespace zoa_cli
