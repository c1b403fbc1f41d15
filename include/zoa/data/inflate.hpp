// zoa — gzip (RFC 1952) and raw DEFLATE (RFC 1951) decoding with our own CRC-32; no zlib, no runtime dependency
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/read_file.hpp"

namespace zoa::data {

/// Default bound on the decompressed size of one gzip/deflate call (4 GiB, or SIZE_MAX on 32-bit hosts).
inline constexpr std::size_t default_max_inflated_bytes =
    static_cast<std::size_t>(std::min<std::uint64_t>(std::uint64_t{1} << 32, std::numeric_limits<std::size_t>::max()));

namespace detail {
/// T[i] = CRC of the single byte i: 8 rounds of c = (c & 1) ? 0xEDB88320 ^ (c >> 1) : c >> 1.
inline const std::array<std::uint32_t, 256>& crc32_table() noexcept {
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    return table;
}
}  // namespace detail

/// CRC-32 as gzip, zlib and PNG use it (ISO-HDLC: reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF).
/// Continues a running CRC: c = ~crc; per byte b: c = T[(c ^ b) & 0xFF] ^ (c >> 8); return ~c.
/// crc32_update(crc32(a), b) == crc32(a ‖ b); crc32 of "123456789" is 0xCBF43926.
inline std::uint32_t crc32_update(std::uint32_t crc, const std::uint8_t* data, std::size_t size) noexcept {
    const auto& t = detail::crc32_table();
    std::uint32_t c = ~crc;
    for (std::size_t i = 0; i < size; ++i) c = t[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
    return ~c;
}

/// CRC-32 of data[0, size).
inline std::uint32_t crc32(const std::uint8_t* data, std::size_t size) noexcept { return crc32_update(0, data, size); }

namespace detail {

/// A canonical Huffman code (RFC 1951 §3.2.2) plus a 2^10-entry table that decodes codes of ≤ 10 bits in one step.
struct huffman {
    static constexpr int max_bits = 15, fast_bits = 10;
    std::array<std::uint16_t, 1u << fast_bits> fast{};  ///< index = next 10 stream bits; (length << 9) | symbol, 0 = none
    std::array<std::uint16_t, max_bits + 1> count{};    ///< number of codes of each length
    std::array<std::uint16_t, 288> symbol{};            ///< symbols ordered by (code length, symbol value)
};

/// Builds `h` from code lengths[0, n) (0 = unused symbol). Returns false when the lengths over-subscribe the code
/// space, or leave it incomplete, except for the empty code and a single 1-bit code, which RFC 1951 streams may use
/// (as zlib accepts them) when `allow_single` is set.
inline bool build_huffman(huffman& h, const std::uint8_t* lengths, std::size_t n, bool allow_single) noexcept {
    h.count.fill(0);
    h.fast.fill(0);
    for (std::size_t s = 0; s < n; ++s) ++h.count[lengths[s]];
    h.count[0] = 0;
    int left = 1, used = 0;
    for (int len = 1; len <= huffman::max_bits; ++len) {
        left = 2 * left - h.count[static_cast<std::size_t>(len)];
        used += h.count[static_cast<std::size_t>(len)];
        if (left < 0) return false;  // over-subscribed
    }
    if (left > 0 && !(allow_single && (used == 0 || (used == 1 && h.count[1] == 1)))) return false;
    std::array<std::uint16_t, huffman::max_bits + 2> offset{}, next_code{};
    for (std::size_t len = 1; len <= huffman::max_bits; ++len) {
        offset[len + 1] = static_cast<std::uint16_t>(offset[len] + h.count[len]);
        next_code[len] = static_cast<std::uint16_t>((next_code[len - 1] + h.count[len - 1]) << 1);
    }
    for (std::size_t s = 0; s < n; ++s) {
        const std::size_t len = lengths[s];
        if (len == 0) continue;
        h.symbol[offset[len]++] = static_cast<std::uint16_t>(s);
        const unsigned code = next_code[len]++;
        if (len > static_cast<std::size_t>(huffman::fast_bits)) continue;
        unsigned rev = 0;  // codes are sent most-significant bit first into an LSB-first bit stream
        for (std::size_t b = 0; b < len; ++b) rev |= ((code >> b) & 1u) << (len - 1 - b);
        for (unsigned k = rev; k < (1u << huffman::fast_bits); k += 1u << len)
            h.fast[k] = static_cast<std::uint16_t>((len << 9) | s);
    }
    return true;
}

/// One raw DEFLATE stream decoder. Output is appended to `out` starting at index `start`; back-references may not
/// reach before `start` (each gzip member is an independent stream).
class inflater {
public:
    /// Decodes data[0, size) into out (at most max_output bytes in total); name and base_offset locate errors.
    inflater(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& out, std::size_t max_output,
             const std::string& name, std::size_t base_offset)
        : data_(data), size_(size), out_(out), n_(out.size()), start_(out.size()), max_(max_output), name_(name),
          base_(base_offset) {}

    /// Decodes blocks until the final one; returns the number of input bytes consumed (the partial last byte
    /// included). `out` is resized to the decoded size.
    std::size_t run() {
        bool last = false;
        while (!last) {
            last = bits(1) != 0;
            const unsigned type = bits(2);
            if (type == 0) {
                stored();
            } else if (type == 1) {
                fixed();
            } else if (type == 2) {
                dynamic();
            } else {
                bad("invalid block type 3");
            }
        }
        pos_ -= bitcnt_ / 8;  // unread whole bytes go back to the caller (gzip trailer, next member)
        out_.resize(n_);
        return pos_;
    }

private:
    [[noreturn]] void bad(const char* what) const {
        fail(error_code::format, name_, ": deflate stream at byte ", base_ + pos_, ": ", what);
    }
    [[noreturn]] void truncated() const {
        fail(error_code::format, name_, ": deflate stream truncated at byte ", base_ + size_,
             " (compressed data ends before the final block)");
    }

    void refill() noexcept {
        while (bitcnt_ <= 56 && pos_ < size_) {
            bitbuf_ |= std::uint64_t{data_[pos_++]} << bitcnt_;
            bitcnt_ += 8;
        }
    }
    unsigned bits(unsigned n) {
        if (bitcnt_ < n) {
            refill();
            if (bitcnt_ < n) truncated();
        }
        const auto v = static_cast<unsigned>(bitbuf_ & ((std::uint64_t{1} << n) - 1));
        bitbuf_ >>= n;
        bitcnt_ -= n;
        return v;
    }
    void consume(unsigned n) {
        if (n > bitcnt_) truncated();
        bitbuf_ >>= n;
        bitcnt_ -= n;
    }
    /// Decodes one symbol: one table lookup for short codes, else the canonical walk (first code of each length).
    unsigned decode(const huffman& h) {
        if (bitcnt_ < huffman::max_bits) refill();
        const auto peek = static_cast<unsigned>(bitbuf_ & 0x7FFFu);
        const unsigned e = h.fast[peek & ((1u << huffman::fast_bits) - 1)];
        if (e != 0) {
            consume(e >> 9);
            return e & 0x1FFu;
        }
        int code = 0, first = 0, index = 0;
        for (unsigned len = 1; len <= static_cast<unsigned>(huffman::max_bits); ++len) {
            code |= static_cast<int>((peek >> (len - 1)) & 1u);
            const int count = h.count[len];
            if (code - count < first) {
                consume(len);
                return h.symbol[static_cast<std::size_t>(index + code - first)];
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        if (bitcnt_ < static_cast<unsigned>(huffman::max_bits)) truncated();
        bad("invalid Huffman code");
    }
    void grow(std::size_t extra) {
        if (extra > max_ - n_) fail(error_code::format, name_, ": decompressed data exceeds the limit of ", max_, " bytes");
        if (n_ + extra <= out_.size()) return;
        const std::size_t want = std::max({n_ + extra, out_.size() * 2, std::size_t{1} << 16});
        out_.resize(std::min(want, max_));
    }
    void stored() {
        const unsigned drop = bitcnt_ % 8;  // skip to the byte boundary
        bitbuf_ >>= drop;
        bitcnt_ -= drop;
        pos_ -= bitcnt_ / 8;
        bitbuf_ = 0;
        bitcnt_ = 0;
        if (size_ - pos_ < 4) truncated();
        const unsigned len = data_[pos_] | (unsigned{data_[pos_ + 1]} << 8);
        const unsigned nlen = data_[pos_ + 2] | (unsigned{data_[pos_ + 3]} << 8);
        if (len != (~nlen & 0xFFFFu)) bad("stored block length does not match its one's complement (LEN != ~NLEN)");
        pos_ += 4;
        if (size_ - pos_ < len) truncated();
        grow(len);
        if (len > 0) std::memcpy(out_.data() + n_, data_ + pos_, len);
        n_ += len;
        pos_ += len;
    }
    void fixed() {
        if (!fixed_built_) {
            std::array<std::uint8_t, 288> l{};
            for (std::size_t s = 0; s < 288; ++s) l[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
            build_huffman(fixed_lit_, l.data(), 288, false);
            l.fill(5);
            build_huffman(fixed_dist_, l.data(), 32, false);
            fixed_built_ = true;
        }
        codes(fixed_lit_, fixed_dist_);
    }
    void dynamic() {
        static constexpr std::array<std::uint8_t, 19> order{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
        const unsigned hlit = bits(5) + 257, hdist = bits(5) + 1, hclen = bits(4) + 4;
        if (hlit > 286 || hdist > 30) bad("too many literal/length or distance codes (HLIT > 286 or HDIST > 30)");
        std::array<std::uint8_t, 320> len{};
        for (unsigned i = 0; i < hclen; ++i) len[order[i]] = static_cast<std::uint8_t>(bits(3));
        if (!build_huffman(lit_, len.data(), 19, false)) bad("invalid code-length code");
        len.fill(0);
        for (unsigned i = 0; i < hlit + hdist;) {
            const unsigned sym = decode(lit_);
            if (sym < 16) {
                len[i++] = static_cast<std::uint8_t>(sym);
                continue;
            }
            unsigned rep = 0;
            std::uint8_t val = 0;
            if (sym == 16) {
                if (i == 0) bad("code-length repeat (16) with no previous length");
                val = len[i - 1];
                rep = 3 + bits(2);
            } else {
                rep = sym == 17 ? 3 + bits(3) : 11 + bits(7);
            }
            if (i + rep > hlit + hdist) bad("code lengths run past HLIT + HDIST");
            for (unsigned k = 0; k < rep; ++k) len[i++] = val;
        }
        if (len[256] == 0) bad("literal/length code has no end-of-block symbol");
        if (!build_huffman(lit_, len.data(), hlit, true)) bad("invalid literal/length code lengths");
        if (!build_huffman(dist_, len.data() + hlit, hdist, true)) bad("invalid distance code lengths");
        codes(lit_, dist_);
    }
    /// Literal/length + distance decoding (RFC 1951 §3.2.5): length = base[s] + extra bits, distance likewise.
    void codes(const huffman& lit, const huffman& dist) {
        static constexpr std::array<std::uint16_t, 29> lbase{3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                                             31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
        static constexpr std::array<std::uint8_t, 29> lextra{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                             2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
        static constexpr std::array<std::uint16_t, 30> dbase{1,   2,   3,   4,    5,    7,    9,    13,   17,    25,
                                                             33,  49,  65,  97,   129,  193,  257,  385,  513,   769,
                                                             1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
        static constexpr std::array<std::uint8_t, 30> dextra{0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                             6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
        for (;;) {
            unsigned sym = decode(lit);
            if (sym < 256) {
                if (n_ == out_.size()) grow(1);  // n_ < out_.size() <= max_ otherwise
                out_[n_++] = static_cast<std::uint8_t>(sym);
                continue;
            }
            if (sym == 256) return;
            sym -= 257;
            if (sym >= 29) bad("invalid literal/length symbol (286 or 287)");
            const std::size_t length = lbase[sym] + bits(lextra[sym]);
            const unsigned dsym = decode(dist);
            if (dsym >= 30) bad("invalid distance symbol (30 or 31)");
            const std::size_t distance = dbase[dsym] + bits(dextra[dsym]);
            if (distance > n_ - start_) bad("back-reference distance reaches before the start of the stream");
            grow(length);
            std::uint8_t* o = out_.data() + n_;
            const std::uint8_t* s = o - distance;
            if (distance >= length) {
                std::memcpy(o, s, length);
            } else {
                for (std::size_t k = 0; k < length; ++k) o[k] = s[k];  // overlapping copy repeats the pattern
            }
            n_ += length;
        }
    }

    const std::uint8_t* data_;
    std::size_t size_, pos_ = 0;
    std::uint64_t bitbuf_ = 0;
    unsigned bitcnt_ = 0;
    std::vector<std::uint8_t>& out_;
    std::size_t n_, start_, max_;
    const std::string& name_;
    std::size_t base_;
    huffman lit_, dist_, fixed_lit_, fixed_dist_;
    bool fixed_built_ = false;
};

}  // namespace detail

/// Decodes one raw DEFLATE stream (RFC 1951, no zlib/gzip wrapper) from data[0, size) and appends the result to
/// `out`. Returns the number of input bytes the stream occupies (its last partial byte included).
/// `name` (file or buffer name) prefixes every error message.
/// Throws: zoa::error(format) on a truncated or malformed stream or when out would exceed max_output bytes.
inline std::size_t inflate_raw(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& out,
                               const std::string& name, std::size_t max_output = default_max_inflated_bytes) {
    require(out.size() <= max_output, error_code::argument, name, ": output already exceeds max_output");
    return detail::inflater(data, size, out, max_output, name, 0).run();
}

/// True when the buffer starts with the gzip magic bytes 0x1F 0x8B.
inline bool is_gzip(const std::uint8_t* data, std::size_t size) noexcept {
    return size >= 2 && data[0] == 0x1F && data[1] == 0x8B;
}

/// Decompresses a gzip file image (RFC 1952): one or more members, each = header (magic 1F 8B, CM = 8, FLG with
/// FTEXT/FHCRC/FEXTRA/FNAME/FCOMMENT, reserved bits 0, MTIME, XFL, OS, optional fields) + DEFLATE data + trailer
/// (CRC-32 of the member's output, ISIZE = its length mod 2^32, both little-endian). Members are concatenated.
/// After the last member only zero padding may follow.
/// Throws: zoa::error(format) naming `name` and the byte offset on a bad magic, method, flag, header CRC, data CRC,
/// size, truncation, trailing garbage, or output beyond max_output bytes.
inline std::vector<std::uint8_t> gunzip(const std::uint8_t* data, std::size_t size, const std::string& name,
                                        std::size_t max_output = default_max_inflated_bytes) {
    require(size > 0, error_code::format, name, ": empty file, expected gzip data");
    std::vector<std::uint8_t> out;
    if (size >= 18) {  // ISIZE of the last member is a hint; deflate cannot expand more than 1032:1
        const std::size_t isize = data[size - 4] | (std::size_t{data[size - 3]} << 8) |
                                  (std::size_t{data[size - 2]} << 16) | (std::size_t{data[size - 1]} << 24);
        out.reserve(std::min({isize, max_output, size * 1032}));
    }
    std::size_t pos = 0;
    for (std::size_t member = 0;; ++member) {
        const std::size_t start = pos;
        const auto need = [&](std::size_t n, const char* what) {
            if (size - pos < n) fail(error_code::format, name, ": gzip member ", member, " truncated in its ", what,
                                     " (byte ", size, ")");
        };
        need(10, "header");
        if (data[pos] != 0x1F || data[pos + 1] != 0x8B)
            fail(error_code::format, name, ": not gzip data at byte ", pos, ": expected magic 1f 8b, got ", std::hex,
                 unsigned{data[pos]}, " ", unsigned{data[pos + 1]});
        if (data[pos + 2] != 8)
            fail(error_code::format, name, ": gzip member ", member, ": compression method ", unsigned{data[pos + 2]},
                 " is not 8 (deflate)");
        const unsigned flags = data[pos + 3];
        if (flags & 0xE0u)
            fail(error_code::format, name, ": gzip member ", member, ": reserved flag bits set (FLG = ", flags, ")");
        pos += 10;
        if (flags & 0x04u) {  // FEXTRA: XLEN then XLEN bytes
            need(2, "FEXTRA length");
            const std::size_t xlen = data[pos] | (std::size_t{data[pos + 1]} << 8);
            pos += 2;
            need(xlen, "FEXTRA field");
            pos += xlen;
        }
        for (unsigned bit : {0x08u, 0x10u}) {  // FNAME, FCOMMENT: zero-terminated strings
            if (!(flags & bit)) continue;
            const auto* end = static_cast<const std::uint8_t*>(std::memchr(data + pos, 0, size - pos));
            if (end == nullptr) need(size - pos + 1, bit == 0x08u ? "file name" : "comment");
            pos = static_cast<std::size_t>(end - data) + 1;
        }
        if (flags & 0x02u) {  // FHCRC: low 16 bits of the CRC-32 of the header bytes so far
            need(2, "header CRC");
            const unsigned stored = data[pos] | (unsigned{data[pos + 1]} << 8);
            const unsigned actual = crc32(data + start, pos - start) & 0xFFFFu;
            if (stored != actual)
                fail(error_code::format, name, ": gzip member ", member, ": header CRC mismatch (stored ", stored,
                     ", computed ", actual, ")");
            pos += 2;
        }
        const std::size_t out_start = out.size();
        pos += detail::inflater(data + pos, size - pos, out, max_output, name, pos).run();
        need(8, "trailer");
        const auto le32 = [&](std::size_t p) {
            return std::uint32_t{data[p]} | (std::uint32_t{data[p + 1]} << 8) | (std::uint32_t{data[p + 2]} << 16) |
                   (std::uint32_t{data[p + 3]} << 24);
        };
        const std::uint32_t crc = crc32(out.data() + out_start, out.size() - out_start);
        if (le32(pos) != crc)
            fail(error_code::format, name, ": gzip member ", member, ": CRC-32 mismatch (stored ", le32(pos),
                 ", computed ", crc, "): the data is corrupt");
        const auto isize = static_cast<std::uint32_t>(out.size() - out_start);
        if (le32(pos + 4) != isize)
            fail(error_code::format, name, ": gzip member ", member, ": ISIZE mismatch (stored ", le32(pos + 4),
                 ", decoded ", isize, " mod 2^32)");
        pos += 8;
        if (pos == size) break;
        if (std::all_of(data + pos, data + size, [](std::uint8_t b) { return b == 0; })) break;  // zero padding
        if (!is_gzip(data + pos, size - pos))
            fail(error_code::format, name, ": trailing garbage after gzip member ", member, " at byte ", pos);
    }
    return out;
}

/// gunzip over a byte vector.
inline std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& bytes, const std::string& name,
                                        std::size_t max_output = default_max_inflated_bytes) {
    return gunzip(bytes.data(), bytes.size(), name, max_output);
}

/// Reads a whole file into memory (io::read_file).
/// Throws: zoa::error(io) naming the path when it does not exist, is not a regular file, cannot be read or changed
/// while being read.
inline std::vector<std::uint8_t> read_file_bytes(const std::string& path) { return io::read_file(path); }

/// Reads a file and gunzips it when it starts with the gzip magic; otherwise returns its bytes unchanged.
/// Throws: as read_file_bytes and gunzip.
inline std::vector<std::uint8_t> read_file_maybe_gzip(const std::string& path,
                                                      std::size_t max_output = default_max_inflated_bytes) {
    std::vector<std::uint8_t> bytes = read_file_bytes(path);
    if (!is_gzip(bytes.data(), bytes.size())) return bytes;
    return gunzip(bytes, path, max_output);
}

}  // namespace zoa::data
