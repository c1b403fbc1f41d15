// zoa — structural pre-checks of PNG and JPEG streams for stb_image 2.27 weaknesses, run before stb_image sees them
// SPDX-License-Identifier: MIT
#pragma once

// Debian 12 ships stb_image 2.27. Fuzzing zoa's image decoding found inputs on which it overflows a table, allocates
// gigabytes for a tiny file, reads uninitialised memory or writes a shared static buffer; upstream fixed most of them
// in 2.28 (nothings/stb#1289, #1297). zoa cannot patch the system header, so io/image.hpp refuses these inputs first.
// Each scan follows stb_image's own walk over the file, and every file it refuses is one stb_image 2.27 would fail on
// or decode from garbage, so no image stb_image decodes correctly is refused. docs/reliability.md lists the findings.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "zoa/core/error.hpp"

namespace zoa::io::detail {

/// What scan_jpeg_huffman found: the first oversized Huffman table or the first scan using an undefined table.
struct jpeg_huffman_scan {
    std::size_t oversized_codes = 0;  ///< codes declared by the first DHT table with more than 256, else 0
    std::size_t undefined_at = 0;     ///< byte offset of the first SOS marker that uses an undefined table, else 0
    int table_class = 0;              ///< of that table: 0 DC, 1 AC
    int table_id = 0;                 ///< of that table: 0..3
};

/// Pre-check of JPEG Huffman tables, for two stb_image 2.27 weaknesses:
/// - a DHT table declaring more than 256 codes makes it write past its 257-entry tables (nothings/stb#1289);
/// - a scan (SOS) using a Huffman table that no DHT segment before it defined makes it decode with that table's
///   uninitialised memory (its decoder state is malloc'd, not zeroed): symbol indexes computed from heap garbage,
///   out of bounds of the table (found by fuzzing; stb_image 2.28 zeroes the state, nothings/stb#1297). Such a file
///   is invalid JPEG (tables must be defined before use); stb_image 2.27 would decode it from garbage.
/// The scan follows the marker structure as stb_image does: segments are skipped by their declared length,
/// entropy-coded data byte by byte (FF 00 stuffing, FF D0–D7 restarts and FF fill bytes are not markers); a DHT
/// segment's tables are walked like stb's loop (while bytes of the declared length remain; bytes past the end of the
/// buffer read as 0, as stbi__get8 returns them), and each defines table (class, id) when class <= 1 and id <= 3.
/// With `check_scans` (decoding; stbi_info never reads scans), each SOS after the frame header (SOF0/1/2) must find
/// every table it uses defined: baseline scans use the DC and AC table of each component, progressive DC first
/// scans (Ss = 0, Ah = 0) the DC tables, progressive DC refinement scans none, progressive AC scans the AC tables.
/// SOS headers stb_image rejects (component count or length wrong, table id > 3) are left to it.
inline jpeg_huffman_scan scan_jpeg_huffman(const std::uint8_t* p, std::size_t n, bool check_scans) noexcept {
    jpeg_huffman_scan r;
    const auto byte = [p, n](std::size_t k) -> std::size_t { return k < n ? p[k] : 0; };  // stb: past the end is 0
    bool defined[2][4] = {};
    bool frame = false, progressive = false;
    std::size_t i = 0;  // stb accepts fill bytes before SOI: FF FF … FF D8
    while (i < n && p[i] == 0xFF) ++i;
    if (i == 0 || i >= n || p[i] != 0xD8) return r;  // not a JPEG stream
    ++i;
    while (i + 4 <= n) {
        const std::uint8_t m = p[i + 1];
        if (p[i] != 0xFF || m == 0xFF) {  // entropy-coded data or fill byte
            ++i;
            continue;
        }
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // stuffing, TEM, RSTn: no length field
            i += 2;
            continue;
        }
        if (m == 0xD9) return r;  // EOI
        const std::size_t len = (std::size_t{p[i + 2]} << 8) | p[i + 3], end = i + 2 + len;
        if (m == 0xC0 || m == 0xC1 || m == 0xC2) {  // the frame header stb_image accepts (SOF0, SOF1, SOF2)
            frame = true;
            progressive = m == 0xC2;
        } else if (m == 0xC4) {  // DHT
            for (std::size_t q = i + 4; q < end && q < n;) {
                std::size_t codes = 0;
                for (std::size_t k = 1; k <= 16 && q + k < n; ++k) codes += p[q + k];
                if (codes > 256) {
                    r.oversized_codes = codes;
                    return r;
                }
                const std::size_t cls = p[q] >> 4, id = p[q] & 15;
                if (cls <= 1 && id <= 3) defined[cls][id] = true;
                q += 17 + codes;
            }
        } else if (m == 0xDA && check_scans && frame) {  // SOS: Ls, Ns, Ns × (Cs, Td|Ta), Ss, Se, Ah|Al
            const std::size_t ns = byte(i + 4), ss = byte(i + 5 + 2 * ns), ah = byte(i + 7 + 2 * ns) >> 4;
            if (ns >= 1 && ns <= 4 && len == 6 + 2 * ns) {
                for (std::size_t c = 0; c < ns; ++c) {
                    const std::size_t td = byte(i + 6 + 2 * c) >> 4, ta = byte(i + 6 + 2 * c) & 15;
                    if (td > 3 || ta > 3) break;  // stb_image: "bad DC huff" / "bad AC huff"
                    const bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss != 0;
                    const int missing = dc && !defined[0][td] ? 0 : ac && !defined[1][ta] ? 1 : -1;
                    if (missing >= 0) {
                        r.undefined_at = i;
                        r.table_class = missing;
                        r.table_id = static_cast<int>(missing == 0 ? td : ta);
                        return r;
                    }
                }
            }
        }
        i = end;
    }
    return r;
}

/// Throws: zoa::error(format) naming `name` when a JPEG Huffman table declares more than 256 codes or, with
/// `check_scans`, a scan uses a Huffman table that was never defined (see scan_jpeg_huffman).
inline void check_jpeg_tables(const std::uint8_t* data, std::size_t size, const std::string& name, bool check_scans) {
    const jpeg_huffman_scan r = scan_jpeg_huffman(data, size, check_scans);
    if (r.oversized_codes != 0)
        fail(error_code::format, name, ": cannot decode image: Corrupt JPEG (a Huffman table declares ",
             r.oversized_codes, " codes, at most 256 are allowed)");
    if (r.undefined_at != 0)
        fail(error_code::format, name, ": cannot decode image: Corrupt JPEG (the scan at byte ", r.undefined_at,
             " uses ", r.table_class == 0 ? "DC" : "AC", " Huffman table ", r.table_id,
             ", which no DHT segment before it defines)");
}

/// What scan_png_chunks found wrong with a PNG stream, before stb_image sees it.
enum class png_defect {
    none,                    ///< nothing: stb_image decides
    idat_past_end,           ///< an IDAT chunk declares more data than the buffer holds
    chunk_past_end,          ///< another chunk's data or CRC runs past the end of the buffer
    unknown_critical_chunk,  ///< a critical chunk type stb_image does not know
    no_iend                  ///< the buffer ends before the IEND chunk (< 8 bytes left for a chunk header)
};
/// Result of scan_png_chunks: the defect, the byte offset of the chunk (or of the end) and its header fields.
struct png_scan {
    png_defect defect = png_defect::none;
    std::size_t at = 0;
    std::uint32_t length = 0, type = 0;
};
/// Pre-check of a PNG's chunk structure, for two stb_image 2.27 weaknesses found by fuzzing:
/// - it grows its IDAT buffer to a chunk's *declared* length (from 4096 bytes, doubling) before it checks that the
///   bytes exist: a 214-byte PNG declaring a 1 GiB IDAT chunk made it allocate 2 GiB, then fail;
/// - every PNG that reaches an unknown critical chunk type, including a truncated one (stb then reads zero bytes,
///   i.e. chunk type 0), makes it write the type into a function-level `static char[]` for its failure reason: a data
///   race when two threads decode such files at once.
/// The scan follows stb_image's chunk walk (8-byte signature; per chunk a 4-byte big-endian length, 4-byte type, data
/// and 4-byte CRC; IHDR, PLTE, tRNS, IDAT and ancillary chunks all consume exactly `length` bytes) up to IEND, or, when
/// `header_only` (stbi_info), up to the first IDAT, where stb_image stops too. Every defect it reports is a file that
/// stb_image fails on as well, so no image stb_image decodes is refused; only the allocation and the racy message are
/// avoided. Not a PNG stream (no signature): png_defect::none.
inline png_scan scan_png_chunks(const std::uint8_t* p, std::size_t n, bool header_only) noexcept {
    static constexpr std::uint8_t signature[8] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
    if (n < 8 || !std::equal(signature, signature + 8, p)) return {};
    const auto be32 = [p](std::size_t at) {
        return (std::uint32_t{p[at]} << 24) | (std::uint32_t{p[at + 1]} << 16) | (std::uint32_t{p[at + 2]} << 8) |
               std::uint32_t{p[at + 3]};
    };
    // "IHDR", "PLTE", "IDAT", "IEND", "CgBI" (Apple's, handled by stb_image); critical = bit 5 of the first byte clear
    constexpr std::uint32_t ihdr = 0x49484452u, plte = 0x504C5445u, idat = 0x49444154u, iend = 0x49454E44u,
                            cgbi = 0x43674249u;
    for (std::size_t i = 8;;) {  // invariant: i <= n
        if (n - i < 8) return {png_defect::no_iend, i, 0, 0};
        const std::uint32_t length = be32(i), type = be32(i + 4);
        const std::size_t left = n - i - 8;  // bytes after this chunk's header
        if (type == iend) return {};
        if (type == idat) {
            if (header_only) return {};
            if (length > left) return {png_defect::idat_past_end, i, length, type};
        } else if ((type & (1u << 29)) == 0 && type != ihdr && type != plte && type != cgbi) {
            return {png_defect::unknown_critical_chunk, i, length, type};
        }
        if (length > left || left - length < 4) return {png_defect::chunk_past_end, i, length, type};
        i += 8 + std::size_t{length} + 4;
    }
}
/// Throws: zoa::error(format) naming `name`, the chunk and its byte offset for any defect scan_png_chunks reports.
inline void check_png_chunks(const std::uint8_t* data, std::size_t size, const std::string& name, bool header_only) {
    const png_scan r = scan_png_chunks(data, size, header_only);
    if (r.defect == png_defect::none) return;
    std::string type(4, '.'), hex(8, '0');  // the type as ASCII (non-printable bytes as '.') and as 8 hex digits
    for (std::size_t k = 0; k < 4; ++k) {
        const auto c = static_cast<unsigned char>(r.type >> (24 - 8 * k));
        if (c >= 0x20 && c < 0x7F) type[k] = static_cast<char>(c);
        hex[2 * k] = "0123456789ABCDEF"[c >> 4];
        hex[2 * k + 1] = "0123456789ABCDEF"[c & 15];
    }
    const std::size_t left = size - r.at - 8;
    switch (r.defect) {
        case png_defect::idat_past_end:
            fail(error_code::format, name, ": cannot decode image: Corrupt PNG (the IDAT chunk at byte ", r.at,
                 " declares ", r.length, " bytes of data, only ", left, " remain in the file)");
        case png_defect::chunk_past_end:
            fail(error_code::format, name, ": cannot decode image: Corrupt PNG (the '", type, "' chunk at byte ", r.at,
                 " declares ", r.length, " bytes of data and a 4-byte CRC, only ", left, " remain in the file)");
        case png_defect::unknown_critical_chunk:
            fail(error_code::format, name, ": cannot decode image: Corrupt PNG (unknown critical chunk type '", type,
                 "' (0x", hex, ") at byte ", r.at, ")");
        case png_defect::no_iend:
            fail(error_code::format, name, ": cannot decode image: Corrupt PNG (the file ends at byte ", size,
                 " before its IEND chunk)");
        case png_defect::none:
            break;
    }
}
}  // namespace zoa::io::detail
