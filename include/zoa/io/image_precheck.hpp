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

/// What scan_jpeg found wrong with a JPEG stream, before stb_image sees it.
enum class jpeg_defect {
    none,                     ///< nothing: stb_image decides
    oversized_huffman_table,  ///< a DHT table declares more than 256 codes
    undefined_huffman_table,  ///< a scan uses a Huffman table no DHT segment before it defined
    undefined_quant_table,    ///< a component is dequantised with a table no DQT segment defined
    uncoded_component         ///< a frame component no scan codes (baseline) or no DC first scan codes (progressive)
};
/// Result of scan_jpeg: the defect and where.
struct jpeg_scan {
    jpeg_defect defect = jpeg_defect::none;
    std::size_t at = 0;     ///< byte offset of the marker concerned (DHT, SOS or EOI)
    std::size_t value = 0;  ///< codes of the oversized table; id of the undefined table; id of the uncoded component
    int table_class = 0;    ///< undefined Huffman table: 0 DC, 1 AC
};

/// Pre-check of a JPEG's tables and scans, for stb_image 2.27 weaknesses:
/// - a DHT table declaring more than 256 codes makes it write past its 257-entry tables (nothings/stb#1289);
/// - its decoder state and its per-component sample and coefficient buffers are malloc'd, not zeroed, so a scan using
///   a Huffman table no DHT defined decodes with heap garbage as the table (symbol indexes out of bounds, found by
///   fuzzing; stb_image 2.28 zeroes the state, nothings/stb#1297), a component whose quantisation table no DQT
///   defined is dequantised with garbage, and a component no scan codes keeps garbage samples: all three give pixels
///   computed from uninitialised memory (valgrind: "uninitialised value"). Such files are invalid JPEG (T.81: tables
///   are defined before the scans that use them, every component is coded).
/// The walk follows the marker structure as stb_image does: segments are skipped by their declared length,
/// entropy-coded data byte by byte (FF 00 stuffing, FF D0–D7 restarts and FF fill bytes are not markers); DHT and DQT
/// segments are walked like stb's loops (table after table while bytes of the declared length remain; bytes past the
/// end of the buffer read as 0, as stbi__get8 returns them). A DHT table (class <= 1, id <= 3) or DQT table (id <= 3)
/// is defined from then on. The frame header is the first SOF0/1/2 (the only ones stb_image decodes).
/// With `check_scans` (decoding; stbi_info never reads scans), each SOS after the frame header must find defined
/// every table it uses: baseline scans the DC and AC table and the quantisation table of each component (stb
/// dequantises while decoding), progressive DC first scans (Ss = 0, Ah = 0) the DC tables, DC refinement scans
/// none, AC scans the AC tables; at EOI every frame component must have been coded (baseline: by a scan; progressive:
/// by a DC first scan, which zeroes its coefficients) and, for progressive, have a defined quantisation table (stb
/// dequantises at the end). Headers stb_image rejects itself (bad component counts, lengths or table ids, unknown
/// scan components) end the checks: stb_image fails on them. A stream without EOI fails in stb_image too.
inline jpeg_scan scan_jpeg(const std::uint8_t* p, std::size_t n, bool check_scans) noexcept {
    jpeg_scan r;
    const auto byte = [p, n](std::size_t k) -> std::size_t { return k < n ? p[k] : 0; };  // stb: past the end is 0
    const auto found = [&r](jpeg_defect d, std::size_t at, std::size_t value, int table_class) {
        r = {d, at, value, table_class};
        return r;
    };
    bool huffman[2][4] = {}, quant[4] = {};
    struct component {
        std::size_t id, tq;
        bool coded;
    } comps[4] = {};
    std::size_t nf = 0;  // frame components, 0 before the frame header
    bool progressive = false, checking = check_scans;
    std::size_t i = 0;  // stb accepts fill bytes before SOI: FF FF … FF D8
    while (i < n && p[i] == 0xFF) ++i;
    if (i == 0 || i >= n || p[i] != 0xD8) return r;  // not a JPEG stream
    ++i;
    while (i + 2 <= n) {
        const std::uint8_t m = p[i + 1];
        if (p[i] != 0xFF || m == 0xFF) {  // entropy-coded data or fill byte
            ++i;
            continue;
        }
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // stuffing, TEM, RSTn: no length field
            i += 2;
            continue;
        }
        if (m == 0xD9) {  // EOI
            if (checking && nf != 0)
                for (std::size_t c = 0; c < nf; ++c) {
                    if (!comps[c].coded) return found(jpeg_defect::uncoded_component, i, comps[c].id, 0);
                    if (progressive && !quant[comps[c].tq])
                        return found(jpeg_defect::undefined_quant_table, i, comps[c].tq, 0);
                }
            return r;
        }
        if (i + 4 > n) break;  // a marker without its length field: stb_image reads zeros and fails
        const std::size_t len = (std::size_t{p[i + 2]} << 8) | p[i + 3], end = i + 2 + len;
        if (m == 0xC4) {  // DHT
            for (std::size_t q = i + 4; q < end && q < n;) {
                std::size_t codes = 0;
                for (std::size_t k = 1; k <= 16 && q + k < n; ++k) codes += p[q + k];
                if (codes > 256) return found(jpeg_defect::oversized_huffman_table, i, codes, 0);
                if ((p[q] >> 4) <= 1 && (p[q] & 15) <= 3) huffman[p[q] >> 4][p[q] & 15] = true;
                q += 17 + codes;
            }
        } else if (m == 0xDB) {  // DQT: Pq|Tq, then 64 entries of 1 (Pq = 0) or 2 (Pq = 1) bytes
            for (std::size_t q = i + 4; q < end;) {
                const std::size_t pq = byte(q) >> 4, tq = byte(q) & 15;
                if (pq > 1 || tq > 3) break;  // stb_image: "bad DQT type" / "bad DQT table"
                quant[tq] = true;
                q += 1 + 64 * (pq + 1);
            }
        } else if ((m == 0xC0 || m == 0xC1 || m == 0xC2) && nf == 0) {  // frame header: P, Y, X, Nf, Nf × (C, H|V, Tq)
            const std::size_t count = byte(i + 9);
            progressive = m == 0xC2;
            if ((count != 1 && count != 3 && count != 4) || len != 8 + 3 * count) {
                checking = false;  // stb_image: "bad component count" / "bad SOF len"
            } else {
                for (std::size_t c = 0; c < count; ++c) {
                    comps[c] = {byte(i + 10 + 3 * c), byte(i + 12 + 3 * c), false};
                    if (comps[c].tq > 3) checking = false;  // stb_image: "bad TQ"
                }
                nf = count;
            }
        } else if (m == 0xDA && checking && nf != 0) {  // SOS: Ls, Ns, Ns × (Cs, Td|Ta), Ss, Se, Ah|Al
            const std::size_t ns = byte(i + 4), ss = byte(i + 5 + 2 * ns), ah = byte(i + 7 + 2 * ns) >> 4;
            if (ns < 1 || ns > nf || len != 6 + 2 * ns) {
                checking = false;  // stb_image: "bad SOS component count" / "bad SOS len"
            } else {
                for (std::size_t s = 0; s < ns && checking; ++s) {
                    const std::size_t id = byte(i + 5 + 2 * s), td = byte(i + 6 + 2 * s) >> 4,
                                      ta = byte(i + 6 + 2 * s) & 15;
                    std::size_t c = 0;
                    while (c < nf && comps[c].id != id) ++c;
                    if (c == nf || td > 3 || ta > 3) {
                        checking = false;  // stb_image: unknown component, "bad DC huff" / "bad AC huff"
                        break;
                    }
                    const bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss != 0;
                    if (dc && !huffman[0][td]) return found(jpeg_defect::undefined_huffman_table, i, td, 0);
                    if (ac && !huffman[1][ta]) return found(jpeg_defect::undefined_huffman_table, i, ta, 1);
                    if (!progressive && !quant[comps[c].tq])
                        return found(jpeg_defect::undefined_quant_table, i, comps[c].tq, 0);
                    if (!progressive || (ss == 0 && ah == 0)) comps[c].coded = true;
                }
            }
        }
        i = end;
    }
    return r;
}

/// Throws: zoa::error(format) naming `name` and the marker's byte offset for any defect scan_jpeg reports.
inline void check_jpeg_structure(const std::uint8_t* data, std::size_t size, const std::string& name,
                                 bool check_scans) {
    const jpeg_scan r = scan_jpeg(data, size, check_scans);
    switch (r.defect) {
        case jpeg_defect::oversized_huffman_table:
            fail(error_code::format, name, ": cannot decode image: Corrupt JPEG (a Huffman table declares ", r.value,
                 " codes, at most 256 are allowed)");
        case jpeg_defect::undefined_huffman_table:
            fail(error_code::format, name, ": cannot decode image: Corrupt JPEG (the scan at byte ", r.at, " uses ",
                 r.table_class == 0 ? "DC" : "AC", " Huffman table ", r.value,
                 ", which no DHT segment before it defines)");
        case jpeg_defect::undefined_quant_table:
            fail(error_code::format, name, ": cannot decode image: Corrupt JPEG (quantisation table ", r.value,
                 " is used (marker at byte ", r.at, ") but no DQT segment before it defines it)");
        case jpeg_defect::uncoded_component:
            fail(error_code::format, name, ": cannot decode image: Corrupt JPEG (component ", r.value,
                 " is never coded by a scan before EOI at byte ", r.at, ")");
        case jpeg_defect::none:
            break;
    }
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
