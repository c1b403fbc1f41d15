// zoa — test helper: builds gzip members and DEFLATE streams bit by bit (stored and fixed-Huffman blocks)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zoa/data/inflate.hpp"

namespace zoa_test {

using bytes = std::vector<std::uint8_t>;

inline bytes to_bytes(const std::string& s) { return bytes(s.begin(), s.end()); }

inline void put_le(bytes& b, std::uint32_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// LSB-first bit writer (RFC 1951 §3.1.1): data elements LSB first, Huffman codes MSB first.
class bit_writer {
public:
    void bits(std::uint32_t value, int n) {
        for (int i = 0; i < n; ++i) put(((value >> i) & 1u) != 0);
    }
    void code(std::uint32_t code, int len) {
        for (int i = len - 1; i >= 0; --i) put(((code >> i) & 1u) != 0);
    }
    /// Fixed-Huffman literal/length symbol (RFC 1951 §3.2.6).
    void fixed_lit(unsigned sym) {
        if (sym < 144) code(0x30 + sym, 8);
        else if (sym < 256) code(0x190 + (sym - 144), 9);
        else if (sym < 280) code(sym - 256, 7);
        else code(0xC0 + (sym - 280), 8);
    }
    void fixed_dist(unsigned sym) { code(sym, 5); }
    bytes finish() const { return out_; }

private:
    void put(bool bit) {
        if (n_ % 8 == 0) out_.push_back(0);
        if (bit) out_.back() = static_cast<std::uint8_t>(out_.back() | (1u << (n_ % 8)));
        ++n_;
    }
    bytes out_;
    std::size_t n_ = 0;
};

/// Raw DEFLATE stream of one final stored block holding `payload` (≤ 65535 bytes).
inline bytes stored_deflate(const bytes& payload) {
    bytes b;
    b.push_back(0x01);  // BFINAL = 1, BTYPE = 00, then pad to the byte boundary
    put_le(b, static_cast<std::uint32_t>(payload.size()), 2);
    put_le(b, static_cast<std::uint32_t>(~payload.size() & 0xFFFFu), 2);
    for (std::uint8_t v : payload) b.push_back(v);
    return b;
}

/// A gzip member: 10-byte header with the given flags byte (no optional fields), the deflate data, the trailer.
inline bytes gzip_member(const bytes& deflate, const bytes& payload, std::uint8_t flags = 0) {
    bytes b;  // (built by push_back: g++ 12 -O2 raises a false -Warray-bounds on insert after an init-list)
    b.reserve(18 + deflate.size());
    for (std::uint8_t v : {std::uint8_t{0x1F}, std::uint8_t{0x8B}, std::uint8_t{8}, flags}) b.push_back(v);
    put_le(b, 0, 4);  // MTIME
    b.push_back(0);   // XFL
    b.push_back(3);   // OS = Unix
    for (std::uint8_t v : deflate) b.push_back(v);
    put_le(b, zoa::data::crc32(payload.data(), payload.size()), 4);
    put_le(b, static_cast<std::uint32_t>(payload.size()), 4);
    return b;
}

/// A gzip member storing `payload` uncompressed.
inline bytes stored_gzip(const bytes& payload) { return gzip_member(stored_deflate(payload), payload); }

}  // namespace zoa_test
