// zoa — the one exception type: zoa::error with a machine-readable code
// SPDX-License-Identifier: MIT
#pragma once

#include <initializer_list>
#include <ios>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

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

/// One part of an error message, held by reference until the message is built: strings, characters, integers,
/// floating-point numbers and stream manipulators (std::hex) directly, any other type through its operator<<.
/// Type-erasing the parts keeps each fail(...) call site small: one message builder per program, not one
/// std::ostringstream per distinct argument list.
class message_part {
public:
    // Non-template constructors for the common types (string literals of any length decay to const char*), so a
    // fail(...) call instantiates nothing new for them; other types go through their operator<<.
    message_part(const char* s) noexcept : kind_(kind::text), s_(s) {}                    ///< a C string
    message_part(const std::string& s) noexcept : kind_(kind::text), s_(s) {}             ///< a string
    message_part(std::string_view s) noexcept : kind_(kind::text), s_(s) {}               ///< a string view
    message_part(char c) noexcept : kind_(kind::character), c_(c) {}                      ///< a character
    message_part(signed char c) noexcept : kind_(kind::character), c_(static_cast<char>(c)) {}    ///< as a character
    message_part(unsigned char c) noexcept : kind_(kind::character), c_(static_cast<char>(c)) {}  ///< as a character
    message_part(bool b) noexcept : kind_(kind::boolean), u_(b) {}                        ///< 1 or 0, as operator<<
    message_part(int v) noexcept : kind_(kind::signed_int), i_(v) {}                     ///< an integer
    message_part(long v) noexcept : kind_(kind::signed_int), i_(v) {}                    ///< an integer
    message_part(long long v) noexcept : kind_(kind::signed_int), i_(v) {}               ///< an integer
    message_part(unsigned v) noexcept : kind_(kind::unsigned_int), u_(v) {}               ///< an integer
    message_part(unsigned long v) noexcept : kind_(kind::unsigned_int), u_(v) {}          ///< an integer
    message_part(unsigned long long v) noexcept : kind_(kind::unsigned_int), u_(v) {}     ///< an integer
    message_part(double d) noexcept : kind_(kind::floating), d_(d) {}                     ///< a number
    message_part(float f) noexcept : kind_(kind::floating), d_(f) {}                      ///< a number (as double)
    message_part(const long double& d) noexcept : kind_(kind::long_floating), ld_(&d) {}   ///< a number
    message_part(std::ios_base& (*m)(std::ios_base&)) noexcept : kind_(kind::manipulator), m_(m) {}  ///< std::hex
    /// Any other type with an operator<< (short integers, enums, paths, ...), streamed when the message is built.
    template <class T, std::enable_if_t<!std::is_convertible_v<const T&, std::string_view>, int> = 0>
    message_part(const T& v) noexcept
        : kind_(kind::other), other_{&v, [](std::ostream& os, const void* p) { os << *static_cast<const T*>(p); }} {}

    /// Streams the part into os (with os's current flags, e.g. after std::hex).
    void put(std::ostream& os) const {
        switch (kind_) {
            case kind::text: os << s_; break;
            case kind::character: os << c_; break;
            case kind::boolean: os << (u_ != 0); break;
            case kind::signed_int: os << i_; break;
            case kind::unsigned_int: os << u_; break;
            case kind::floating: os << d_; break;
            case kind::long_floating: os << *ld_; break;
            case kind::manipulator: os << m_; break;
            case kind::other: other_.put(os, other_.p); break;
        }
    }

private:
    // One tag and one union member: a call site that builds its parts (inline, on the cold path of every
    // require) stores two words per part, not one per field of every kind.
    enum class kind : unsigned char { text, character, boolean, signed_int, unsigned_int, floating, long_floating,
                                      manipulator, other };
    struct streamable {
        const void* p;
        void (*put)(std::ostream&, const void*);
    };
    kind kind_;
    union {
        std::string_view s_;
        char c_;
        long long i_;
        unsigned long long u_;
        double d_;
        const long double* ld_;  // the parts live until the message is built: held by reference like strings
        std::ios_base& (*m_)(std::ios_base&);
        streamable other_;
    };
};

/// The parts streamed with operator<< into one string.
inline std::string concat_parts(std::initializer_list<message_part> parts) {
    std::ostringstream os;
    for (const auto& p : parts) p.put(os);
    return os.str();
}

/// The parts streamed with operator<< into one string.
template <class... Parts>
std::string concat(const Parts&... parts) {
    return concat_parts({message_part(parts)...});
}

/// Throws zoa::error(code, concat_parts(parts)): out of line and cold, so call sites stay small.
[[noreturn, gnu::noinline, gnu::cold]] inline void throw_error(error_code code, std::initializer_list<message_part> parts) {
    throw error(code, concat_parts(parts));
}

}  // namespace detail

/// Throws zoa::error(code, concatenation of parts streamed with operator<<).
template <class... Parts>
[[noreturn]] void fail(error_code code, const Parts&... parts) {
    detail::throw_error(code, {detail::message_part(parts)...});
}

/// Throws zoa::error(code, parts...) unless cond holds.
template <class... Parts>
void require(bool cond, error_code code, const Parts&... parts) {
    if (!cond) detail::throw_error(code, {detail::message_part(parts)...});
}

}  // namespace zoa
