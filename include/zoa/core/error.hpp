// zoa — the one exception type: zoa::error with a machine-readable code
// SPDX-License-Identifier: MIT
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace zoa {

/// What kind of failure an error reports.
enum class error_code {
    io,        ///< a file could not be opened, read or written
    format,    ///< a file or buffer is malformed (bad header, bad offsets, bad dtype)
    shape,     ///< a tensor has the wrong rank or extent
    policy,    ///< a runtime choice contradicts the compile-time policy
    numeric,   ///< NaN/Inf or a value outside its valid range
    argument,  ///< a caller passed an invalid argument (empty data, zero threads, ...)
};

/// Name of an error code, e.g. "shape".
inline const char* to_string(error_code c) noexcept {
    switch (c) {
        case error_code::io: return "io";
        case error_code::format: return "format";
        case error_code::shape: return "shape";
        case error_code::policy: return "policy";
        case error_code::numeric: return "numeric";
        case error_code::argument: return "argument";
    }
    return "unknown";
}

/// The exception every zoa function throws. what() = "zoa: <code>: <message>".
/// The message names the offending object (file, key, layer), the expectation and what was found.
class error : public std::runtime_error {
public:
    /// Ensures: code() == code and what() == "zoa: " + to_string(code) + ": " + message.
    error(error_code code, const std::string& message)
        : std::runtime_error(std::string("zoa: ") + to_string(code) + ": " + message), code_(code) {}

    /// The failure kind.
    error_code code() const noexcept { return code_; }

private:
    error_code code_;
};

namespace detail {
/// The parts streamed with operator<< into one string.
template <class... Parts>
std::string concat(Parts&&... parts) {
    std::ostringstream os;
    (os << ... << std::forward<Parts>(parts));
    return os.str();
}
}  // namespace detail

/// Throws zoa::error(code, concatenation of parts streamed with operator<<).
template <class... Parts>
[[noreturn]] void fail(error_code code, Parts&&... parts) {
    throw error(code, detail::concat(std::forward<Parts>(parts)...));
}

/// Throws zoa::error(code, parts...) unless cond holds.
template <class... Parts>
void require(bool cond, error_code code, Parts&&... parts) {
    if (!cond) fail(code, std::forward<Parts>(parts)...);
}

}  // namespace zoa
