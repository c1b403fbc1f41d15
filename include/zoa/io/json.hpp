// zoa — a small strict JSON reader (SAX events, or a value tree) and writer: safetensors headers and zoa metadata
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"

// The grammar is RFC 8259's: one value, optional whitespace (space, tab, LF, CR) around it; strings are UTF-8 with
// the escapes \" \\ \/ \b \f \n \r \t \uXXXX (surrogate pairs combined, lone surrogates refused) and no raw control
// byte; numbers are -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. A number without fraction or exponent that fits
// int64/uint64 is an integer; any other is the nearest double (one that overflows is refused, one that underflows
// is ±0). Nothing else is accepted: no comments, trailing commas, NaN, single quotes or bytes after the value.
// Parsing needs no recursion (nesting depth is bounded only by memory; value trees refuse depth > 512).

namespace zoa::io {

namespace detail {

/// Ensures: true iff s[0, n) is well-formed UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF);
/// otherwise bad is the offset of the first byte of the offending sequence.
template <class = void>
inline bool valid_utf8(const unsigned char* s, std::size_t n, std::size_t& bad) noexcept {
    std::size_t i = 0;
    while (i < n) {
        const unsigned c = s[i];
        std::size_t len = 0;
        unsigned lo = 0x80, hi = 0xbf;  // allowed range of the second byte
        if (c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c == 0xe0) {
            len = 3;
            lo = 0xa0;
        } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
            len = 3;
        else if (c == 0xed) {
            len = 3;
            hi = 0x9f;
        } else if (c == 0xf0) {
            len = 4;
            lo = 0x90;
        } else if (c >= 0xf1 && c <= 0xf3)
            len = 4;
        else if (c == 0xf4) {
            len = 4;
            hi = 0x8f;
        }
        if (len == 0 || n - i < len || s[i + 1] < lo || s[i + 1] > hi) {
            bad = i;
            return false;
        }
        for (std::size_t k = 2; k < len; ++k)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) {
                bad = i;
                return false;
            }
        i += len;
    }
    return true;
}

}  // namespace detail

namespace json {

/// Tokenizer and parser over text[0, size). The lexing (whitespace, strings, numbers, literals) is not a template,
/// so every handler shares one copy of it; only the grammar loop in parse() is instantiated per handler.
class reader {
public:
    reader(const char* text, std::size_t size) : s_(text), n_(size) {}

    /// Parses one JSON value followed only by whitespace, calling h's events in document order:
    ///   null() boolean(bool) number_integer(int64) number_unsigned(uint64) number_float(double, const string& text)
    ///   string(string&) key(string&) start_object(size_t) end_object() start_array(size_t) end_array()
    /// (each returns bool: false stops the parse, and parse returns false). A syntax error calls
    /// h.parse_error(byte offset, message) and returns its result (false) unless the handler throws.
    template <class Handler>
    bool parse(Handler& h) {
        std::vector<char> stack;  // 'o' object, 'a' array: the open containers
        for (token t = next();;) {
            // ---- t starts a value
            bool ok = true;
            switch (t) {
                case token::begin_object:
                    if (!h.start_object(static_cast<std::size_t>(-1))) return false;
                    t = next();
                    if (t == token::end_object) {
                        ok = h.end_object();
                        break;
                    }
                    stack.push_back('o');
                    if (!member_key(h, t)) return false;
                    t = next();
                    continue;
                case token::begin_array:
                    if (!h.start_array(static_cast<std::size_t>(-1))) return false;
                    t = next();
                    if (t == token::end_array) {
                        ok = h.end_array();
                        break;
                    }
                    stack.push_back('a');
                    continue;
                case token::string: ok = h.string(text_); break;
                case token::number_unsigned: ok = h.number_unsigned(u_); break;
                case token::number_integer: ok = h.number_integer(i_value_); break;
                case token::number_float: ok = h.number_float(d_, text_); break;
                case token::literal_true: ok = h.boolean(true); break;
                case token::literal_false: ok = h.boolean(false); break;
                case token::literal_null: ok = h.null(); break;
                default: return h.parse_error(at_, unexpected(t, "a value"));
            }
            if (!ok) return false;
            // ---- after a value: close containers, or read the separator of the next member/element
            for (;;) {
                t = next();
                if (stack.empty()) {
                    if (t != token::end)
                        return h.parse_error(at_, t == token::error && !error_.empty()
                                                      ? error_
                                                      : "unexpected " + describe(at_) + " after the JSON value");
                    return true;
                }
                const bool object = stack.back() == 'o';
                if (t == token::comma) {
                    t = next();
                    if (object) {
                        if (!member_key(h, t)) return false;
                        t = next();
                    }
                    break;  // t starts the next value
                }
                if (t == (object ? token::end_object : token::end_array)) {
                    if (!(object ? h.end_object() : h.end_array())) return false;
                    stack.pop_back();
                    continue;
                }
                return h.parse_error(at_, unexpected(t, object ? "',' or '}'" : "',' or ']'"));
            }
        }
    }

private:
    enum class token {
        begin_object, end_object, begin_array, end_array, colon, comma, string, number_unsigned, number_integer,
        number_float, literal_true, literal_false, literal_null, end, error
    };

    // `"key" :` with t the token after '{' or ','; calls h.key.
    template <class Handler>
    bool member_key(Handler& h, token t) {
        if (t != token::string) return h.parse_error(at_, unexpected(t, "an object key (a string)"));
        if (next() != token::colon) return h.parse_error(at_, unexpected(token::error, "':'"));
        return h.key(text_);
    }

    // The message for token t where `expected` was: a lexical error as the lexer worded it, else "unexpected ...".
    template <class = void>
    std::string unexpected(token t, const char* expected) const {
        if (t == token::error && !error_.empty()) return error_;
        return "unexpected " + describe(at_) + ", expected " + expected;
    }

    template <class = void>
    std::string describe(std::size_t at) const {
        if (at >= n_) return "end of input";
        const auto c = static_cast<unsigned char>(s_[at]);
        if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
        const char* hex = "0123456789abcdef";
        return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
    }

    // Reads the next token after whitespace; at_ is its first byte. Lexical errors return token::error with error_
    // set (an unexpected character leaves error_ empty: the parser words it with what it expected).
    template <class = void>
    token next() {
        while (i_ < n_ && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
        at_ = i_;
        error_.clear();
        if (i_ == n_) return token::end;
        const char c = s_[i_];
        switch (c) {
            case '{': ++i_; return token::begin_object;
            case '}': ++i_; return token::end_object;
            case '[': ++i_; return token::begin_array;
            case ']': ++i_; return token::end_array;
            case ':': ++i_; return token::colon;
            case ',': ++i_; return token::comma;
            case '"': return read_string();
            case 't': return literal("true", token::literal_true);
            case 'f': return literal("false", token::literal_false);
            case 'n': return literal("null", token::literal_null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return read_number();
                return token::error;
        }
    }

    template <class = void>
    token lex_error(std::size_t at, std::string message) {
        at_ = at;
        error_ = std::move(message);
        return token::error;
    }

    template <class = void>
    token literal(std::string_view word, token t) {
        if (std::string_view(s_ + i_, std::min(word.size(), n_ - i_)) != word)
            return lex_error(i_, "invalid literal, expected " + std::string(word));
        i_ += word.size();
        return t;
    }

    template <class = void>
    static int hex_value(char c) noexcept {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    // Four hex digits at i_ (after "\u"), or -1.
    template <class = void>
    long read_hex4() noexcept {
        if (n_ - i_ < 4) return -1;
        long v = 0;
        for (int k = 0; k < 4; ++k) {
            const int d = hex_value(s_[i_ + static_cast<std::size_t>(k)]);
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        i_ += 4;
        return v;
    }

    template <class = void>
    static void append_utf8(std::string& out, unsigned long cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    // A string starting at the opening quote; its decoded UTF-8 bytes into text_.
    template <class = void>
    token read_string() {
        text_.clear();
        const std::size_t start = i_++;
        for (;;) {
            std::size_t run = i_;  // copy runs of plain bytes at once
            while (run < n_ && s_[run] != '"' && s_[run] != '\\' && static_cast<unsigned char>(s_[run]) >= 0x20) ++run;
            if (run > i_) {
                std::size_t bad = 0;
                if (!detail::valid_utf8(reinterpret_cast<const unsigned char*>(s_ + i_), run - i_, bad))
                    return lex_error(i_ + bad, "invalid UTF-8 in a string");
                text_.append(s_ + i_, run - i_);
                i_ = run;
            }
            if (i_ == n_) return lex_error(start, "unterminated string");
            const char c = s_[i_];
            if (c == '"') {
                ++i_;
                return token::string;
            }
            if (c != '\\') return lex_error(i_, "control " + describe(i_) + " in a string (must be escaped)");
            if (++i_ == n_) return lex_error(start, "unterminated string");
            const char e = s_[i_++];
            switch (e) {
                case '"': text_ += '"'; break;
                case '\\': text_ += '\\'; break;
                case '/': text_ += '/'; break;
                case 'b': text_ += '\b'; break;
                case 'f': text_ += '\f'; break;
                case 'n': text_ += '\n'; break;
                case 'r': text_ += '\r'; break;
                case 't': text_ += '\t'; break;
                case 'u': {
                    const std::size_t at = i_ - 2;
                    long cp = read_hex4();
                    if (cp < 0) return lex_error(at, "\\u must be followed by 4 hex digits");
                    if (cp >= 0xdc00 && cp <= 0xdfff) return lex_error(at, "lone low surrogate \\u escape");
                    if (cp >= 0xd800 && cp <= 0xdbff) {  // a high surrogate: a low one must follow
                        if (n_ - i_ < 2 || s_[i_] != '\\' || s_[i_ + 1] != 'u')
                            return lex_error(at, "high surrogate \\u escape without a low surrogate");
                        i_ += 2;
                        const long lo = read_hex4();
                        if (lo < 0xdc00 || lo > 0xdfff)
                            return lex_error(at, "high surrogate \\u escape without a low surrogate");
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    }
                    append_utf8(text_, static_cast<unsigned long>(cp));
                    break;
                }
                default: return lex_error(i_ - 2, "invalid escape: backslash followed by " + describe(i_ - 1));
            }
        }
    }

    // A number: u_ (non-negative integer), i_ (negative integer) or d_ and text_ (any other).
    template <class = void>
    token read_number() {
        const std::size_t start = i_;
        const auto digit = [&](std::size_t k) { return k < n_ && s_[k] >= '0' && s_[k] <= '9'; };
        const bool negative = s_[i_] == '-';
        if (negative) ++i_;
        if (!digit(i_)) return lex_error(i_, "invalid number: expected a digit, found " + describe(i_));
        const std::size_t int_begin = i_;
        if (s_[i_] == '0') {
            ++i_;
            if (digit(i_)) return lex_error(i_, "invalid number: leading zero");
        } else {
            while (digit(i_)) ++i_;
        }
        const std::size_t int_end = i_;
        bool integer = true;
        if (i_ < n_ && s_[i_] == '.') {
            ++i_;
            if (!digit(i_)) return lex_error(i_, "invalid number: expected a digit after '.'");
            while (digit(i_)) ++i_;
            integer = false;
        }
        if (i_ < n_ && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < n_ && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (!digit(i_)) return lex_error(i_, "invalid number: expected a digit in the exponent");
            while (digit(i_)) ++i_;
            integer = false;
        }
        if (integer) {  // exact when it fits 64 bits
            std::uint64_t u = 0;
            const auto r = std::from_chars(s_ + int_begin, s_ + int_end, u);
            if (r.ec == std::errc{}) {
                if (!negative) {
                    u_ = u;
                    return token::number_unsigned;
                }
                if (u <= (std::uint64_t{1} << 63)) {
                    i_value_ = u == (std::uint64_t{1} << 63) ? INT64_MIN : -static_cast<std::int64_t>(u);
                    return token::number_integer;
                }
            }
        }
        text_.assign(s_ + start, i_ - start);
        const auto r = std::from_chars(text_.data(), text_.data() + text_.size(), d_);
        if (r.ec == std::errc::result_out_of_range) {
            if (decimal_exponent(text_) >= 0) return lex_error(start, "number " + text_ + " overflows a double");
            d_ = negative ? -0.0 : 0.0;  // underflow: the nearest double is zero
        }
        return token::number_float;
    }

    // floor(log10 |x|) of a number literal that has a nonzero digit: with D its mantissa digits (no sign, no '.'),
    // p the count of integer digits and f the index of the first nonzero digit in D, |x| = 0.D × 10^(p + e), so
    // floor(log10 |x|) = p − f − 1 + e. Only its sign matters (overflow vs underflow); e is clamped.
    template <class = void>
    static long decimal_exponent(const std::string& t) {
        std::size_t k = t[0] == '-' ? 1 : 0;
        long p = 0, f = -1, digits = 0;
        bool point = false;
        for (; k < t.size() && t[k] != 'e' && t[k] != 'E'; ++k) {
            if (t[k] == '.') {
                point = true;
                continue;
            }
            if (f < 0 && t[k] != '0') f = digits;
            ++digits;
            if (!point) ++p;
        }
        long e = 0, sign = 1;
        if (k < t.size()) {
            std::size_t j = k + 1;
            if (t[j] == '+' || t[j] == '-') sign = t[j++] == '-' ? -1 : 1;
            for (; j < t.size() && e < 1000000; ++j) e = e * 10 + (t[j] - '0');
        }
        return p - f - 1 + sign * e;
    }

    const char* s_;
    std::size_t n_;
    std::size_t i_ = 0;      // read position
    std::size_t at_ = 0;     // first byte of the current token (or of a lexical error)
    std::string text_;       // string token: decoded bytes; float token: the literal
    std::string error_;      // lexical error message
    std::uint64_t u_ = 0;
    std::int64_t i_value_ = 0;
    double d_ = 0.0;
};

/// Parses text[0, size) with handler h (see reader::parse). Returns false when a handler event stopped the parse.
template <class Handler>
bool sax_parse(const char* text, std::size_t size, Handler& h) {
    reader r(text, size);
    return r.parse(h);
}

/// A JSON value tree node. Objects keep their members in document (or insertion) order; parse() refuses
/// duplicate keys. Numbers keep whether they are exact integers.
class value {
public:
    /// The kind of a value.
    enum class kind { null, boolean, number, string, array, object };
    using member = std::pair<std::string, value>;

    value() = default;  ///< null
    /// A boolean.
    value(bool b) : kind_(kind::boolean), bool_(b) {}
    /// An integer (exact).
    template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
    value(Int v) : kind_(kind::number), integer_(true), double_(static_cast<double>(v)) {
        if constexpr (std::is_signed_v<Int>) {
            negative_ = v < 0;
            bits_ = negative_ ? 0u - static_cast<std::uint64_t>(static_cast<std::int64_t>(v)) : static_cast<std::uint64_t>(v);
        } else {
            bits_ = static_cast<std::uint64_t>(v);
        }
    }
    /// A floating-point number (written with the shortest digits that read back to the same double).
    value(double d) : kind_(kind::number), double_(d) {}
    /// A string (UTF-8).
    value(std::string s) : kind_(kind::string), string_(std::move(s)) {}
    /// A string (UTF-8).
    value(const char* s) : kind_(kind::string), string_(s) {}

    /// An empty object.
    template <class = void>
    static value object() {
        value v;
        v.kind_ = kind::object;
        return v;
    }
    /// An empty array.
    template <class = void>
    static value array() {
        value v;
        v.kind_ = kind::array;
        return v;
    }
    /// An array of the elements of c (numbers, strings, ...).
    template <class Container>
    static value array_of(const Container& c) {
        value v = array();
        for (const auto& x : c) v.items_.emplace_back(x);
        return v;
    }

    kind type() const noexcept { return kind_; }  ///< the kind of the value
    bool is_null() const noexcept { return kind_ == kind::null; }          ///< null
    bool is_bool() const noexcept { return kind_ == kind::boolean; }       ///< true or false
    bool is_number() const noexcept { return kind_ == kind::number; }      ///< any number
    bool is_string() const noexcept { return kind_ == kind::string; }      ///< a string
    bool is_array() const noexcept { return kind_ == kind::array; }        ///< an array
    bool is_object() const noexcept { return kind_ == kind::object; }      ///< an object
    /// A number without fraction or exponent that fits uint64 (0, 1, 2, ...; "-0" too).
    bool is_unsigned() const noexcept { return kind_ == kind::number && integer_ && (!negative_ || bits_ == 0); }

    /// The boolean. Requires: is_bool().
    bool as_bool() const noexcept { return bool_; }
    /// The number as the nearest double. Requires: is_number().
    double as_double() const noexcept { return double_; }
    /// The exact integer. Requires: is_unsigned().
    std::uint64_t as_unsigned() const noexcept { return bits_; }
    /// The string. Requires: is_string().
    const std::string& as_string() const noexcept { return string_; }
    /// Elements of an array. Requires: is_array().
    const std::vector<value>& items() const noexcept { return items_; }
    /// Members of an object, in order. Requires: is_object().
    const std::vector<member>& members() const noexcept { return members_; }
    /// Element or member count (0 for scalars).
    std::size_t size() const noexcept { return kind_ == kind::array ? items_.size() : members_.size(); }
    /// The member named key, or nullptr (also when this is not an object).
    template <class = void>
    const value* find(std::string_view key) const noexcept {
        for (const auto& m : members_)
            if (m.first == key) return &m.second;
        return nullptr;
    }
    /// True when this is the string s.
    bool equals(std::string_view s) const noexcept { return kind_ == kind::string && string_ == s; }

    /// Appends an element. Requires: is_array().
    template <class = void>
    void push_back(value v) { items_.push_back(std::move(v)); }
    /// Appends member key without looking for an existing one (O(1)). Requires: is_object(), key not present.
    template <class = void>
    void push_back(std::string key, value v) { members_.emplace_back(std::move(key), std::move(v)); }
    /// Sets member key (replacing an existing one, else appending). Requires: is_object(). Returns *this.
    template <class = void>
    value& set(std::string key, value v) {
        for (auto& m : members_)
            if (m.first == key) {
                m.second = std::move(v);
                return *this;
            }
        members_.emplace_back(std::move(key), std::move(v));
        return *this;
    }

    /// Compact JSON text (no spaces). Doubles use the shortest digits that read back exactly, with ".0" added
    /// when those are all integer digits. Throws: zoa::error(argument) for a NaN/infinite number or a string that
    /// is not valid UTF-8.
    template <class = void>
    std::string dump() const {
        std::string out;
        dump_to(out);
        return out;
    }
    /// Appends the compact JSON text to out (see dump()).
    template <class = void>
    void dump_to(std::string& out) const {
        switch (kind_) {
            case kind::null: out += "null"; break;
            case kind::boolean: out += bool_ ? "true" : "false"; break;
            case kind::number: dump_number(out); break;
            case kind::string: quote_to(out, string_); break;
            case kind::array:
                out += '[';
                for (std::size_t k = 0; k < items_.size(); ++k) {
                    if (k) out += ',';
                    items_[k].dump_to(out);
                }
                out += ']';
                break;
            case kind::object:
                out += '{';
                for (std::size_t k = 0; k < members_.size(); ++k) {
                    if (k) out += ',';
                    quote_to(out, members_[k].first);
                    out += ':';
                    members_[k].second.dump_to(out);
                }
                out += '}';
                break;
        }
    }

    /// Appends s as a JSON string: quotes, \" \\ \b \f \n \r \t and \u00XX for other control bytes; other bytes
    /// (UTF-8) as they are. Throws: zoa::error(argument) when s is not valid UTF-8.
    template <class = void>
    static void quote_to(std::string& out, std::string_view s) {
        std::size_t bad = 0;
        if (!detail::valid_utf8(reinterpret_cast<const unsigned char*>(s.data()), s.size(), bad))
            fail(error_code::argument, "JSON writer: string is not valid UTF-8 (byte ", bad, " of \"",
                 s.substr(0, bad), "...\")");
        out += '"';
        for (const char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (c < 0x20) {
                        const char* hex = "0123456789abcdef";
                        out += "\\u00";
                        out += hex[c >> 4];
                        out += hex[c & 15];
                    } else {
                        out += ch;
                    }
            }
        }
        out += '"';
    }

private:
    friend class tree_builder;

    template <class = void>
    void dump_number(std::string& out) const {
        char buf[32];
        if (integer_) {
            if (negative_ && bits_ != 0) out += '-';
            const auto r = std::to_chars(buf, buf + sizeof buf, bits_);
            out.append(buf, r.ptr);
            return;
        }
        if (!(double_ - double_ == 0.0))
            fail(error_code::argument, "JSON writer: ", double_, " is not a JSON number (NaN and infinities have none)");
        const auto r = std::to_chars(buf, buf + sizeof buf, double_);  // shortest round-trip digits
        const std::string_view digits(buf, static_cast<std::size_t>(r.ptr - buf));
        out += digits;
        if (digits.find_first_not_of("-0123456789") == std::string_view::npos) out += ".0";
    }

    kind kind_ = kind::null;
    bool bool_ = false;
    bool integer_ = false;   // number: an exact integer (bits_, negative_)
    bool negative_ = false;  // integer sign
    std::uint64_t bits_ = 0;  // integer magnitude
    double double_ = 0.0;
    std::string string_;
    std::vector<value> items_;
    std::vector<member> members_;
};

/// SAX handler that builds a value tree (parse()). Refuses duplicate keys and nesting deeper than max_depth.
class tree_builder {
public:
    static constexpr std::size_t max_depth = 512;  ///< deepest nesting parse() accepts

    /// label prefixes errors ("<label> is not valid JSON: byte N: ...").
    explicit tree_builder(std::string_view label) : label_(label) {}

    template <class = void>
    bool null() { return put(value()); }
    template <class = void>
    bool boolean(bool b) { return put(value(b)); }
    template <class = void>
    bool number_integer(std::int64_t v) { return put(value(v)); }
    template <class = void>
    bool number_unsigned(std::uint64_t v) { return put(value(v)); }
    template <class = void>
    bool number_float(double d, const std::string&) { return put(value(d)); }
    template <class = void>
    bool string(std::string& s) { return put(value(std::move(s))); }
    template <class = void>
    bool key(std::string& k) {
        value& obj = *open_.back();
        for (const auto& m : obj.members_)
            if (m.first == k) fail(error_code::format, label_, " is not valid JSON: duplicate key \"", k, "\"");
        key_ = std::move(k);
        return true;
    }
    template <class = void>
    bool start_object(std::size_t) { return open(value::object()); }
    template <class = void>
    bool start_array(std::size_t) { return open(value::array()); }
    template <class = void>
    bool end_object() { return close(); }
    template <class = void>
    bool end_array() { return close(); }
    [[noreturn]] bool parse_error(std::size_t at, const std::string& message) {
        fail(error_code::format, label_, " is not valid JSON: byte ", at, ": ", message);
    }

    /// The parsed value (after a successful sax_parse).
    template <class = void>
    value take() { return std::move(root_); }

private:
    // Stores v where the parse is: the root, the next array element or the member named key_.
    template <class = void>
    value* place(value v) {
        if (open_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        value& parent = *open_.back();
        if (parent.kind_ == value::kind::array) {
            parent.items_.push_back(std::move(v));
            return &parent.items_.back();
        }
        parent.members_.emplace_back(std::move(key_), std::move(v));
        return &parent.members_.back().second;
    }
    template <class = void>
    bool put(value v) {
        place(std::move(v));
        return true;
    }
    template <class = void>
    bool open(value v) {
        if (open_.size() >= max_depth)
            fail(error_code::format, label_, " is not valid JSON: nesting deeper than ", max_depth, " levels");
        open_.push_back(place(std::move(v)));  // children are appended to the vectors of open containers only:
        return true;                           // a container's own address is stable while it is open
    }
    template <class = void>
    bool close() {
        open_.pop_back();
        return true;
    }

    std::string label_;
    value root_;
    std::vector<value*> open_;
    std::string key_;
};

/// Parses text into a value tree. label names the text in errors.
/// Throws: zoa::error(format) "<label> is not valid JSON: byte N: <what>" on a syntax error, a duplicate key or
/// nesting deeper than tree_builder::max_depth.
template <class = void>
inline value parse(std::string_view text, std::string_view label) {
    tree_builder b(label);
    sax_parse(text.data(), text.size(), b);
    return b.take();
}

}  // namespace json

}  // namespace zoa::io
