// zoa — safetensors header: parse (SAX, duplicate-key aware) and validate every rule before any tensor is exposed
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <numeric>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "zoa/core/error.hpp"
#include "zoa/io/safetensors_dtype.hpp"

namespace zoa::io {

/// Largest accepted header (the reference implementation's MAX_HEADER_SIZE).
inline constexpr std::uint64_t safetensors_max_header_size = 100'000'000;
/// Largest accepted rank (PyTorch's own limit is 64; the format has none).
inline constexpr std::size_t safetensors_max_rank = 64;

/// One tensor of a validated file. Offsets are relative to the data section (which starts at 8 + header size).
struct tensor_info {
    std::string name;                  ///< key in the header
    io::dtype dtype = io::dtype::f32;  ///< element type
    std::vector<std::size_t> shape;    ///< row-major extents; {} = scalar (1 element)
    std::size_t begin = 0;             ///< first byte, relative to the data section
    std::size_t end = 0;               ///< one past the last byte
    std::size_t elements = 0;          ///< product of shape (checked, no overflow)

    /// Byte size, end − begin (= elements × bit_size(dtype) / 8 after validation).
    std::size_t num_bytes() const noexcept { return end - begin; }
};

/// The validated content of a header. tensors are in header (JSON) order.
struct safetensors_header {
    std::vector<tensor_info> tensors;
    std::map<std::string, std::string> metadata;  ///< `__metadata__`, empty if absent
    std::size_t header_size = 0;                  ///< N, the JSON byte length (including padding)
    std::size_t data_offset = 0;                  ///< 8 + N
    std::size_t data_size = 0;                    ///< bytes after the header (= last end)
};

namespace detail {

/// A key for messages: quoted, control bytes escaped, cut at 120 bytes so an error stays one line.
inline std::string quote_key(std::string_view s) {
    std::string out = "'";
    const std::size_t limit = 120;
    for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > limit) out += "...";
    return out + "'";
}

/// "[2304, 768]"
template <class Int>
std::string shape_string(const std::vector<Int>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

/// Ensures: true iff s[0, n) is well-formed UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF);
/// otherwise bad is the offset of the first byte of the offending sequence.
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

/// nlohmann SAX handler accepting exactly the safetensors schema: a root object whose values are tensor entries
/// {dtype: string, shape: [uint...], data_offsets: [uint, uint]} or `__metadata__`: {string: string}.
/// Rejects duplicate keys at every level (nlohmann's DOM would silently keep the last) and any nesting deeper than
/// the schema, so hostile headers never build deep or large structures.
class header_sax {
public:
    header_sax(const std::string& label, safetensors_header& out) : label_(label), out_(out) {}

    bool null() { return scalar("null"); }
    bool boolean(bool v) { return scalar(v ? "true" : "false"); }
    bool number_integer(std::int64_t v) { return scalar(v == 0 ? "the number -0" : "the number " + std::to_string(v)); }
    bool number_unsigned(std::uint64_t v) {
        if (level_ == 3) return array_element(v);
        return scalar("the number " + std::to_string(v));
    }
    bool number_float(double, const std::string& text) { return scalar("the number " + text); }
    bool string(std::string& v) {
        if (level_ == 2 && in_metadata_) {
            out_.metadata.emplace(field_, std::move(v));
            return true;
        }
        if (level_ == 2 && field_ == "dtype") {
            if (!(parse_dtype(v, tensor_.dtype)))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": unknown dtype ", quote_key(v),
                     ", expected one of ", known_dtypes());
            return true;
        }
        return scalar("the string " + quote_key(v));
    }
    bool binary(nlohmann::json::binary_t&) { return scalar("binary data"); }

    bool start_object(std::size_t) {
        if (level_ == 0) {
            level_ = 1;
            return true;
        }
        if (level_ == 1) {
            level_ = 2;
            seen_ = 0;
            return true;
        }
        return mismatch("an object");
    }
    bool end_object() {
        if (level_ == 2 && !in_metadata_) {
            static const char* const names[] = {"dtype", "shape", "data_offsets"};
            for (unsigned f = 0; f < 3; ++f)
                if (!(seen_ & (1u << f)))
                    fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": missing field '",
                         names[f], "' (an entry needs exactly dtype, shape, data_offsets)");
            out_.tensors.push_back(std::move(tensor_));
            tensor_ = tensor_info{};
        }
        --level_;
        return true;
    }
    bool start_array(std::size_t) {
        if (level_ == 2 && !in_metadata_ && (field_ == "shape" || field_ == "data_offsets")) {
            level_ = 3;
            count_ = 0;
            return true;
        }
        return mismatch("an array");
    }
    bool end_array() {
        if (field_ == "data_offsets")
            if (!(count_ == 2))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": data_offsets has ", count_,
                     " entries, expected 2 [begin, end]");
        level_ = 2;
        return true;
    }
    bool key(std::string& k) {
        if (level_ == 1) {
            if (!(root_keys_.insert(k).second))
                fail(error_code::format, label_, ": duplicate key ", quote_key(k),
                     " in the header (each tensor name may appear once)");
            in_metadata_ = (k == "__metadata__");
            tensor_.name = k;
            return true;
        }
        if (in_metadata_) {
            if (!(out_.metadata.count(k) == 0))
                fail(error_code::format, label_, ": __metadata__: duplicate key ", quote_key(k));
            field_ = k;
            return true;
        }
        unsigned bit = 0;
        if (k == "dtype")
            bit = 1;
        else if (k == "shape")
            bit = 2;
        else if (k == "data_offsets")
            bit = 4;
        if (!(bit != 0))
            fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": unexpected field ", quote_key(k),
                 " (an entry has exactly dtype, shape, data_offsets)");
        if (!((seen_ & bit) == 0))
            fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": duplicate field ", quote_key(k));
        seen_ |= bit;
        field_ = k;
        return true;
    }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::json::exception& ex) {
        fail(error_code::format, label_, ": header is not valid JSON (byte ", position, " of the header): ", ex.what());
    }

private:
    static std::string known_dtypes() {
        std::string s;
        for (const auto& row : dtype_table) s += (s.empty() ? "" : ", ") + std::string(row.name);
        return s;
    }

    // A scalar arrived where the schema wants something else (or a string outside dtype/metadata).
    bool scalar(const std::string& what) { return mismatch(what); }

    bool array_element(std::uint64_t v) {
        if (field_ == "shape") {
            if (!(count_ < safetensors_max_rank))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": shape has more than ",
                     safetensors_max_rank, " dimensions");
            if (!(v <= static_cast<std::uint64_t>(static_cast<std::size_t>(-1))))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": shape[", count_, "] = ", v,
                     " does not fit in size_t");
            tensor_.shape.push_back(static_cast<std::size_t>(v));
        } else {
            if (!(count_ < 2))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name),
                     ": data_offsets has more than 2 entries, expected 2 [begin, end]");
            if (!(v <= static_cast<std::uint64_t>(static_cast<std::size_t>(-1))))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": data_offsets[", count_,
                     "] = ", v, " does not fit in size_t");
            (count_ == 0 ? tensor_.begin : tensor_.end) = static_cast<std::size_t>(v);
        }
        ++count_;
        return true;
    }

    // Throws the schema error for `what` found at the current position.
    [[noreturn]] bool mismatch(const std::string& what) {
        switch (level_) {
            case 0:
                fail(error_code::format, label_, ": header must be a JSON object, found ", what);
            case 1:
                if (in_metadata_)
                    fail(error_code::format, label_, ": __metadata__ must be an object of string values, found ", what);
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name),
                     ": expected an object {dtype, shape, data_offsets}, found ", what);
            case 2:
                if (in_metadata_)
                    fail(error_code::format, label_, ": __metadata__ ", quote_key(field_),
                         ": values must be strings, found ", what);
                if (field_ == "dtype")
                    fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name),
                         ": dtype must be a string, found ", what);
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": ", field_,
                     " must be an array of non-negative integers, found ", what);
            default:
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": ", field_, "[", count_,
                     "] must be a non-negative integer, found ", what);
        }
    }

    const std::string& label_;
    safetensors_header& out_;
    int level_ = 0;  // 0 outside, 1 in the root object, 2 in an entry, 3 in shape/data_offsets
    bool in_metadata_ = false;
    unsigned seen_ = 0;  // fields seen in the current entry: 1 dtype, 2 shape, 4 data_offsets
    std::size_t count_ = 0;
    std::string field_;
    tensor_info tensor_;
    std::unordered_set<std::string> root_keys_;
};

/// a · b, or false on size_t overflow.
inline bool checked_mul(std::size_t a, std::size_t b, std::size_t& out) noexcept {
    if (a != 0 && b > static_cast<std::size_t>(-1) / a) return false;
    out = a * b;
    return true;
}

}  // namespace detail

/// Parses and validates the header of a complete safetensors image bytes[0, size), in the reference order:
/// size ≥ 8; N ≤ 100 MB, N ≥ 1 (an empty header cannot hold `{}`), 8 + N ≤ size; header is UTF-8 starting with `{`
/// after optional JSON whitespace, a JSON object of the exact schema, no duplicate keys, known dtypes; per tensor
/// elements = Π shape and bits = elements × bit_size checked for overflow, bits % 8 = 0, end − begin = bits / 8;
/// entries sorted by (begin, end) tile the data section from 0 with no hole, overlap or alias; last end == size − 8 −
/// N. Throws: zoa::error(format) naming `label`, the tensor key, the expected and the actual values.
inline safetensors_header parse_safetensors_header(const std::string& label, const unsigned char* bytes,
                                                   std::size_t size) {
    using detail::quote_key;
    if (!(size >= 8))
        fail(error_code::format, label, ": file is ", size,
             " bytes, a safetensors file has at least 8 (the header length)");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
    if (!(n <= safetensors_max_header_size))
        fail(error_code::format, label, ": header length ", n, " exceeds the ", safetensors_max_header_size,
             "-byte limit");
    if (!(n != 0)) fail(error_code::format, label, ": header length is 0, expected a JSON object of at least 2 bytes");
    if (!(n <= size - 8))
        fail(error_code::format, label, ": header length ", n, " exceeds the ", size - 8,
             " bytes that follow the length field (file truncated?)");
    safetensors_header h;
    h.header_size = static_cast<std::size_t>(n);
    h.data_offset = 8 + h.header_size;
    h.data_size = size - h.data_offset;
    const unsigned char* json = bytes + 8;

    std::size_t bad = 0;
    if (!detail::valid_utf8(json, h.header_size, bad))
        fail(error_code::format, label, ": header is not valid UTF-8 (byte 0x", std::hex, unsigned{json[bad]}, std::dec,
             " at header offset ", bad, ")");
    // A raw NUL is never valid JSON (control characters inside strings must be escaped), and nlohmann's lexer would
    // take it for the end of input and ignore what follows: reject it here.
    if (const void* nul = std::memchr(json, 0, h.header_size))
        fail(error_code::format, label, ": header contains a NUL byte at header offset ",
             static_cast<const unsigned char*>(nul) - json, " (not valid JSON; pad with spaces)");
    std::size_t first = 0;
    while (first < h.header_size &&
           (json[first] == ' ' || json[first] == '\t' || json[first] == '\n' || json[first] == '\r'))
        ++first;
    if (!(first < h.header_size && json[first] == '{'))
        fail(error_code::format, label, ": header must be a JSON object starting with '{'",
             first < h.header_size ? zoa::detail::concat(", found byte 0x", std::hex, unsigned{json[first]})
                                   : std::string(", found only whitespace"));
    detail::header_sax sax(label, h);
    const char* text = reinterpret_cast<const char*>(json);
    nlohmann::json::sax_parse(text + first, text + h.header_size, &sax, nlohmann::json::input_format_t::json, true);

    for (auto& t : h.tensors) {
        if (!(t.end >= t.begin))
            fail(error_code::format, label, ": tensor ", quote_key(t.name), ": data_offsets [", t.begin, ", ", t.end,
                 ") are reversed (end < begin)");
        std::size_t elements = 1;
        for (std::size_t d : t.shape)
            if (!(detail::checked_mul(elements, d, elements)))
                fail(error_code::format, label, ": tensor ", quote_key(t.name), ": shape ",
                     detail::shape_string(t.shape), " has more elements than size_t can count");
        std::size_t bits = 0;
        if (!(detail::checked_mul(elements, bit_size(t.dtype), bits)))
            fail(error_code::format, label, ": tensor ", quote_key(t.name), ": shape ", detail::shape_string(t.shape),
                 " × ", to_string(t.dtype), " overflows size_t bits");
        if (!(bits % 8 == 0))
            fail(error_code::format, label, ": tensor ", quote_key(t.name), ": ", elements, " × ", to_string(t.dtype),
                 " is ", bits, " bits, not a whole number of bytes");
        if (!(t.end - t.begin == bits / 8))
            fail(error_code::format, label, ": tensor ", quote_key(t.name), ": data_offsets [", t.begin, ", ", t.end,
                 ") hold ", t.end - t.begin, " bytes, shape ", detail::shape_string(t.shape), " × ", to_string(t.dtype),
                 " needs ", bits / 8);
        t.elements = elements;
    }

    std::vector<std::size_t> order(h.tensors.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& x = h.tensors[a];
        const auto& y = h.tensors[b];
        return x.begin != y.begin ? x.begin < y.begin : x.end != y.end ? x.end < y.end : a < b;
    });
    std::size_t covered = 0;
    const tensor_info* prev = nullptr;
    for (std::size_t i : order) {
        const auto& t = h.tensors[i];
        if (t.begin > covered)
            fail(error_code::format, label, ": data bytes [", covered, ", ", t.begin,
                 ") belong to no tensor (a hole before tensor ", quote_key(t.name), " at [", t.begin, ", ", t.end,
                 "))");
        if (t.begin < covered)
            fail(error_code::format, label, ": tensor ", quote_key(t.name), " data_offsets [", t.begin, ", ", t.end,
                 ") ", (prev->begin == t.begin && prev->end == t.end) ? "alias" : "overlap", " tensor ",
                 quote_key(prev->name), " [", prev->begin, ", ", prev->end,
                 ") (each byte belongs to exactly one tensor; save shared tensors separately)");
        if (!(t.end <= h.data_size))
            fail(error_code::format, label, ": tensor ", quote_key(t.name), " data_offsets [", t.begin, ", ", t.end,
                 ") extend past the ", h.data_size, "-byte data section (file truncated?)");
        covered = t.end;
        if (t.end > t.begin) prev = &t;
    }
    if (!(covered == h.data_size))
        fail(error_code::format, label, ": tensors cover ", covered, " bytes but the data section has ", h.data_size,
             " (", h.data_size - covered, " trailing bytes; expected file size ", h.data_offset + covered, ", found ",
             size, ")");
    return h;
}

}  // namespace zoa::io
