// zoa — safetensors header: validate every rule of the format before any tensor is exposed
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/safetensors_dtype.hpp"
#include "zoa/io/safetensors_json.hpp"

namespace zoa::io {

/// Parses and validates the header of a complete safetensors image bytes[0, size), in the reference order:
/// size ≥ 8; N ≤ 100 MB, N ≥ 1 (an empty header cannot hold `{}`), 8 + N ≤ size; header is UTF-8 starting with `{`
/// after optional JSON whitespace, a JSON object of the exact schema, no duplicate keys, known dtypes; per tensor
/// elements = Π shape and bits = elements × bit_size checked for overflow, bits % 8 = 0, end − begin = bits / 8;
/// entries sorted by (begin, end) tile the data section from 0 with no hole, overlap or alias;
/// last end == size − 8 − N.
/// Throws: zoa::error(format) naming `label`, the tensor key, the expected and the actual values.
template <class = void>
inline safetensors_header parse_safetensors_header(const std::string& label, const unsigned char* bytes,
                                                   std::size_t size) {
    using detail::quote_key;
    if (size < 8)
        fail(error_code::format, label, ": file is ", size,
             " bytes, a safetensors file has at least 8 (the header length)");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
    if (n > safetensors_max_header_size)
        fail(error_code::format, label, ": header length ", n, " exceeds the ", safetensors_max_header_size,
             "-byte limit");
    if (n == 0) fail(error_code::format, label, ": header length is 0, expected a JSON object of at least 2 bytes");
    if (n > size - 8)
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
    // A raw NUL is never valid JSON (control characters inside strings must be escaped); many JSON readers take it
    // for the end of input and ignore what follows: refused here with its own message.
    if (const void* nul = std::memchr(json, 0, h.header_size))
        fail(error_code::format, label, ": header contains a NUL byte at header offset ",
             static_cast<const unsigned char*>(nul) - json, " (not valid JSON; pad with spaces)");
    std::size_t first = 0;
    while (first < h.header_size &&
           (json[first] == ' ' || json[first] == '\t' || json[first] == '\n' || json[first] == '\r'))
        ++first;
    if (first == h.header_size || json[first] != '{')
        fail(error_code::format, label, ": header must be a JSON object starting with '{'",
             first < h.header_size ? zoa::detail::concat(", found byte 0x", std::hex, unsigned{json[first]})
                                   : std::string(", found only whitespace"));
    detail::header_sax sax(label, h);
    io::json::sax_parse(reinterpret_cast<const char*>(json), h.header_size, sax);  // byte offsets are header offsets

    for (auto& t : h.tensors) {
        if (t.end < t.begin)
            fail(error_code::format, label, ": tensor ", quote_key(t.name), ": data_offsets [", t.begin, ", ", t.end,
                 ") are reversed (end < begin)");
        std::size_t elements = 1;
        for (std::size_t d : t.shape)
            if (!detail::checked_mul(elements, d, elements))
                fail(error_code::format, label, ": tensor ", quote_key(t.name), ": shape ",
                     detail::shape_string(t.shape), " has more elements than size_t can count");
        std::size_t bits = 0;
        if (!detail::checked_mul(elements, bit_size(t.dtype), bits))
            fail(error_code::format, label, ": tensor ", quote_key(t.name), ": shape ", detail::shape_string(t.shape),
                 " × ", to_string(t.dtype), " overflows size_t bits");
        if (bits % 8 != 0)
            fail(error_code::format, label, ": tensor ", quote_key(t.name), ": ", elements, " × ", to_string(t.dtype),
                 " is ", bits, " bits, not a whole number of bytes");
        if (t.end - t.begin != bits / 8)
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
        if (t.end > h.data_size)
            fail(error_code::format, label, ": tensor ", quote_key(t.name), " data_offsets [", t.begin, ", ", t.end,
                 ") extend past the ", h.data_size, "-byte data section (file truncated?)");
        covered = t.end;
        if (t.end > t.begin) prev = &t;
    }
    if (covered != h.data_size)
        fail(error_code::format, label, ": tensors cover ", covered, " bytes but the data section has ", h.data_size,
             " (", h.data_size - covered, " trailing bytes; expected file size ", h.data_offset + covered, ", found ",
             size, ")");
    return h;
}

}  // namespace zoa::io
