// zoa — safetensors header text layer: tensor_info and the schema-checking SAX handler for zoa/io/json.hpp
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/json.hpp"
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
    std::vector<tensor_info> tensors;             ///< in header order
    std::map<std::string, std::string> metadata;  ///< `__metadata__`, empty if absent
    std::size_t header_size = 0;                  ///< N, the JSON byte length (including padding)
    std::size_t data_offset = 0;                  ///< 8 + N
    std::size_t data_size = 0;                    ///< bytes after the header (= last end)
};

namespace detail {

/// A key for messages: quoted, control bytes escaped, cut at 120 bytes so an error stays one line.
template <class = void>
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

/// SAX handler (zoa::io::json::sax_parse) accepting exactly the safetensors schema: a root object whose values are tensor entries
/// {dtype: string, shape: [uint...], data_offsets: [uint, uint]} or `__metadata__`: {string: string}.
/// Rejects duplicate keys at every level (a JSON object reader would silently keep the last) and any nesting deeper than
/// the schema, so hostile headers never build deep or large structures.
class header_sax {
public:
    /// Fills out; label names the file in error messages.
    header_sax(const std::string& label, safetensors_header& out) : label_(label), out_(out) {}

    /// SAX callbacks: each accepts the event where the schema allows it and otherwise throws
    /// zoa::error(format) naming the key, what was expected and what was found.
    template <class = void>
    bool null() { return mismatch("null"); }
    template <class = void>
    bool boolean(bool v) { return mismatch(v ? "true" : "false"); }
    /// Negative integers never fit the schema.
    template <class = void>
    bool number_integer(std::int64_t v) {
        return mismatch(v == 0 ? "the number -0" : "the number " + std::to_string(v));
    }
    /// A shape or data_offsets element.
    template <class = void>
    bool number_unsigned(std::uint64_t v) {
        if (level_ == 3) return array_element(v);
        return mismatch("the number " + std::to_string(v));
    }
    /// Floats never fit the schema.
    template <class = void>
    bool number_float(double, const std::string& text) { return mismatch("the number " + text); }
    /// A metadata value or a tensor's dtype.
    template <class = void>
    bool string(std::string& v) {
        if (level_ == 2 && in_metadata_) {
            out_.metadata.emplace(field_, std::move(v));
            return true;
        }
        if (level_ == 2 && field_ == "dtype") {
            if (!parse_dtype(v, tensor_.dtype))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": unknown dtype ", quote_key(v),
                     ", expected one of ", known_dtypes());
            return true;
        }
        return mismatch("the string " + quote_key(v));
    }

    /// The root object, a tensor entry or __metadata__.
    template <class = void>
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
    /// Completes a tensor entry (all three fields present) or the root.
    template <class = void>
    bool end_object() {
        if (level_ == 2 && !in_metadata_) {
            static const char* const names[] = {"dtype", "shape", "data_offsets"};
            for (unsigned f = 0; f < 3; ++f)
                if ((seen_ & (1u << f)) == 0)
                    fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": missing field '",
                         names[f], "' (an entry needs exactly dtype, shape, data_offsets)");
            out_.tensors.push_back(std::move(tensor_));
            tensor_ = tensor_info{};
        }
        --level_;
        return true;
    }
    /// The shape or data_offsets array of a tensor entry.
    template <class = void>
    bool start_array(std::size_t) {
        if (level_ == 2 && !in_metadata_ && (field_ == "shape" || field_ == "data_offsets")) {
            level_ = 3;
            count_ = 0;
            return true;
        }
        return mismatch("an array");
    }
    /// Ends shape / data_offsets (data_offsets must hold exactly 2 entries).
    template <class = void>
    bool end_array() {
        if (field_ == "data_offsets" && count_ != 2)
            fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": data_offsets has ", count_,
                 " entries, expected 2 [begin, end]");
        level_ = 2;
        return true;
    }
    /// A root key (tensor name or __metadata__, no duplicates) or a field of an entry.
    template <class = void>
    bool key(std::string& k) {
        if (level_ == 1) {
            if (!root_keys_.insert(k).second)
                fail(error_code::format, label_, ": duplicate key ", quote_key(k),
                     " in the header (each tensor name may appear once)");
            in_metadata_ = (k == "__metadata__");
            tensor_.name = k;
            return true;
        }
        if (in_metadata_) {
            if (out_.metadata.count(k) != 0)
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
        if (bit == 0)
            fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": unexpected field ", quote_key(k),
                 " (an entry has exactly dtype, shape, data_offsets)");
        if ((seen_ & bit) != 0)
            fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": duplicate field ", quote_key(k));
        seen_ |= bit;
        field_ = k;
        return true;
    }
    /// Throws zoa::error(format) with the byte position of the JSON syntax error.
    template <class = void>
    bool parse_error(std::size_t position, const std::string& message) {
        fail(error_code::format, label_, ": header is not valid JSON (byte ", position, " of the header): ", message);
    }

private:
    template <class = void>
    static std::string known_dtypes() {
        std::string s;
        for (const auto& row : dtype_table) s += (s.empty() ? "" : ", ") + std::string(row.name);
        return s;
    }

    template <class = void>
    bool array_element(std::uint64_t v) {
        if (field_ == "shape") {
            if (count_ >= safetensors_max_rank)
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": shape has more than ",
                     safetensors_max_rank, " dimensions");
            if (v > static_cast<std::uint64_t>(static_cast<std::size_t>(-1)))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": shape[", count_, "] = ", v,
                     " does not fit in size_t");
            tensor_.shape.push_back(static_cast<std::size_t>(v));
        } else {
            if (count_ >= 2)
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name),
                     ": data_offsets has more than 2 entries, expected 2 [begin, end]");
            if (v > static_cast<std::uint64_t>(static_cast<std::size_t>(-1)))
                fail(error_code::format, label_, ": tensor ", quote_key(tensor_.name), ": data_offsets[", count_,
                     "] = ", v, " does not fit in size_t");
            (count_ == 0 ? tensor_.begin : tensor_.end) = static_cast<std::size_t>(v);
        }
        ++count_;
        return true;
    }

    // Throws the schema error for `what` (a value or container) found where the schema wants something else.
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
template <class = void>
inline bool checked_mul(std::size_t a, std::size_t b, std::size_t& out) noexcept {
    if (a != 0 && b > static_cast<std::size_t>(-1) / a) return false;
    out = a * b;
    return true;
}

}  // namespace detail

}  // namespace zoa::io
