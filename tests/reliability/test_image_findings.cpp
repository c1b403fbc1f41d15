// zoa — fuzz findings in image decoding (stb_image 2.27) stay handled: PNG chunk pre-check, known third-party UB
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../fuzz/fuzz_entries.hpp"
#include "zoa/data/inflate.hpp"
#include "zoa/io/image.hpp"
#include "zoa/io/image_precheck.hpp"

#ifndef ZOA_TEST_SANITIZED
#define ZOA_TEST_SANITIZED 0  // 1 in the ASan + UBSan build (tests/reliability/extra.cmake)
#endif

namespace {

using bytes = std::vector<std::uint8_t>;
using zoa::io::detail::png_defect;

const std::string corpus_dir = std::string(ZOA_SOURCE_DIR) + "/tests/fuzz/corpus/image/";
const std::string known_dir = std::string(ZOA_SOURCE_DIR) + "/tests/fuzz/known/image/";

/// One PNG chunk: byte offset of its header, declared data length, type as 4 characters.
struct png_chunk {
    std::size_t at;
    std::uint32_t length;
    std::string type;
};

std::uint32_t read_be32(const bytes& b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) |
           std::uint32_t{b[at + 3]};
}

void write_be32(bytes& b, std::size_t at, std::uint32_t v) {
    for (std::size_t k = 0; k < 4; ++k) b[at + k] = static_cast<std::uint8_t>(v >> (24 - 8 * k));
}

/// The chunks of a PNG, from the 8-byte signature on, while a whole header fits.
std::vector<png_chunk> png_chunks(const bytes& png) {
    std::vector<png_chunk> chunks;
    for (std::size_t i = 8; i + 8 <= png.size();) {
        const std::uint32_t length = read_be32(png, i);
        chunks.push_back({i, length, std::string(png.begin() + static_cast<std::ptrdiff_t>(i + 4),
                                                 png.begin() + static_cast<std::ptrdiff_t>(i + 8))});
        i += 12 + std::size_t{length};
    }
    return chunks;
}

/// `png` with a chunk of `type` and `data` (CRC bytes 0: stb_image does not check CRCs) inserted at byte `at`.
bytes insert_chunk(const bytes& png, std::size_t at, const std::string& type, const bytes& data) {
    bytes chunk(8, 0);
    write_be32(chunk, 0, static_cast<std::uint32_t>(data.size()));
    for (std::size_t k = 0; k < 4; ++k) chunk[4 + k] = static_cast<std::uint8_t>(type[k]);
    chunk.insert(chunk.end(), data.begin(), data.end());
    chunk.insert(chunk.end(), 4, 0);
    bytes out(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(at));
    out.insert(out.end(), chunk.begin(), chunk.end());
    out.insert(out.end(), png.begin() + static_cast<std::ptrdiff_t>(at), png.end());
    return out;
}

/// Byte offsets of the SOS markers (FF DA) of a JPEG: in entropy-coded data FF is followed by 00 or a restart marker.
std::vector<std::size_t> jpeg_sos_offsets(const bytes& jpg) {
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i + 1 < jpg.size(); ++i)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xDA) at.push_back(i);
    return at;
}

/// The byte offset of the first scan using an undefined Huffman table, 0 when none does.
std::size_t undefined_table_scan(const bytes& jpg) {
    const auto r = zoa::io::detail::scan_jpeg(jpg.data(), jpg.size(), true);
    return r.defect == zoa::io::detail::jpeg_defect::undefined_huffman_table ? r.at : 0;
}

zoa::io::detail::jpeg_defect jpeg_defect_of(const bytes& jpg) {
    return zoa::io::detail::scan_jpeg(jpg.data(), jpg.size(), true).defect;
}

png_defect defect_of(const bytes& b, bool header_only = false) {
    return zoa::io::detail::scan_png_chunks(b.data(), b.size(), header_only).defect;
}

}  // namespace

// Found by fuzz_image (27 Nov 2026, after 141 s): a 214-byte PNG whose second IDAT chunk declares 1 076 297 753 bytes.
// stb_image 2.27 grows its IDAT buffer to the declared size (4096 doubled up to 2 GiB) before it finds the data
// missing: libFuzzer "out-of-memory (malloc(2147483648))". decode_image now refuses it before stb_image sees it.
TEST_CASE("fuzz findings stay fixed: a PNG IDAT chunk declaring more bytes than the file has is refused up front") {
    const bytes oom = zoa::data::read_file_bytes(corpus_dir + "oom-png-idat-declares-1gib.png");
    const auto r = zoa::io::detail::scan_png_chunks(oom.data(), oom.size(), false);
    CHECK(r.defect == png_defect::idat_past_end);
    CHECK(r.at == 181);
    CHECK(r.length == 1076297753u);
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(oom, "x.png"),
                         doctest::Contains("x.png: cannot decode image: Corrupt PNG (the IDAT chunk at byte 181 "
                                           "declares 1076297753 bytes of data, only 25 remain in the file)"),
                         zoa::error);
    // stbi_info stops at the first IDAT, so the header is still readable (6 x 5 RGBA).
    const auto info = zoa::io::decode_image_info(oom.data(), oom.size(), "x.png");
    CHECK(info.width == 6);
    CHECK(info.height == 5);
    CHECK(info.channels == 4);
}

// Found by fuzz_image (27 Nov 2026, after 78 s): an empty first IDAT chunk, then a chunk of type 00 4F A6 A5 declaring
// 3 GB. stb_image 2.27 first calls memcpy(NULL, p, 0) (UBSan nonnull-attribute; harmless, see
// tests/fuzz/ubsan_ignorelist.txt), then reaches the unknown critical type and writes it into a function-level static
// buffer for its failure reason (a data race between threads; here the reason was even empty, its first byte 0).
// The chunk pre-check now refuses the file first, with a message naming the chunk.
TEST_CASE("fuzz findings stay fixed: truncated PNGs and unknown critical chunks are refused before stb_image") {
    const bytes found = zoa::data::read_file_bytes(corpus_dir + "crash-png-empty-idat-then-chunk-past-end.png");
    CHECK(defect_of(found) == png_defect::unknown_critical_chunk);
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(found, "x.png"),
                         doctest::Contains("x.png: cannot decode image: Corrupt PNG (unknown critical chunk type "
                                           "'.O..' (0x004FA6A5) at byte 45)"),
                         zoa::error);

    const bytes png = zoa::data::read_file_bytes(corpus_dir + "rgba.png");
    const auto chunks = png_chunks(png);
    REQUIRE(chunks.size() == 3);
    REQUIRE(chunks[1].type == "IDAT");
    REQUIRE(chunks[2].type == "IEND");
    const std::size_t idat = chunks[1].at, iend = chunks[2].at;
    CHECK(defect_of(png) == png_defect::none);

    // An unknown critical chunk (first letter upper case) before IEND: refused, also by decode_image_info when it
    // comes before the first IDAT (stbi_info would reach it too).
    const bytes critical = insert_chunk(png, iend, "ZZZZ", {1, 2, 3});
    CHECK(defect_of(critical) == png_defect::unknown_critical_chunk);
    const std::string critical_msg = "unknown critical chunk type 'ZZZZ' (0x5A5A5A5A) at byte " + std::to_string(iend);
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(critical, "c.png"), doctest::Contains(critical_msg.c_str()),
                         zoa::error);
    const bytes critical_early = insert_chunk(png, idat, "ZZZZ", {});
    CHECK(defect_of(critical_early, true) == png_defect::unknown_critical_chunk);
    CHECK_THROWS_AS(zoa::io::decode_image_info(critical_early.data(), critical_early.size(), "c.png"), zoa::error);

    // Cut inside the IEND header, after the IDAT's CRC: stb_image would read zeros (chunk type 0) and fail.
    const bytes no_iend(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(iend + 4));
    CHECK(defect_of(no_iend) == png_defect::no_iend);
    const std::string no_iend_msg = "the file ends at byte " + std::to_string(iend + 4) + " before its IEND chunk";
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(no_iend, "n.png"), doctest::Contains(no_iend_msg.c_str()),
                         zoa::error);
    // An IDAT whose data is there but not its CRC, and an ancillary chunk running past the end.
    const bytes no_crc(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(idat + 8 + chunks[1].length + 2));
    CHECK(defect_of(no_crc) == png_defect::chunk_past_end);
    bytes long_text = insert_chunk(png, iend, "tEXt", {'a', 0, 'b'});
    write_be32(long_text, iend, 1000);
    CHECK(defect_of(long_text) == png_defect::chunk_past_end);
    const std::string long_text_msg = "the 'tEXt' chunk at byte " + std::to_string(iend) + " declares 1000 bytes";
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(long_text, "t.png"), doctest::Contains(long_text_msg.c_str()),
                         zoa::error);
    // One byte short of the IDAT data.
    const bytes cut(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(idat + 8 + chunks[1].length - 1));
    CHECK(defect_of(cut) == png_defect::idat_past_end);
    // Not a PNG: nothing to say.
    const bytes bmp = zoa::data::read_file_bytes(corpus_dir + "rgb.bmp");
    CHECK(defect_of(bmp) == png_defect::none);
}

// The pre-check refuses nothing stb_image decodes: these variants of a valid PNG decode to identical pixels.
TEST_CASE("the PNG chunk pre-check accepts IDAT data split over chunks, ancillary chunks and a long IEND") {
    const bytes png = zoa::data::read_file_bytes(corpus_dir + "rgba.png");
    const auto chunks = png_chunks(png);
    REQUIRE(chunks.size() == 3);
    const auto reference = zoa::io::decode_image(png, "rgba.png");

    // IDAT data split over two IDAT chunks.
    const std::size_t idat = chunks[1].at, half = chunks[1].length / 2;
    bytes split = png;
    write_be32(split, idat, static_cast<std::uint32_t>(half));
    const bytes second(png.begin() + static_cast<std::ptrdiff_t>(idat + 8 + half),
                       png.begin() + static_cast<std::ptrdiff_t>(idat + 8 + chunks[1].length));
    split.erase(split.begin() + static_cast<std::ptrdiff_t>(idat + 8 + half),
                split.begin() + static_cast<std::ptrdiff_t>(idat + 8 + chunks[1].length));  // keep the old CRC bytes
    split = insert_chunk(split, idat + 8 + half + 4, "IDAT", second);
    REQUIRE(png_chunks(split).size() == 4);
    CHECK(defect_of(split) == png_defect::none);
    CHECK(zoa::io::decode_image(split, "split.png") == reference);

    // An unknown ancillary chunk (first letter lower case) before the IDAT: skipped by stb_image.
    const bytes ancillary = insert_chunk(png, idat, "zoAx", {1, 2, 3, 4, 5});
    CHECK(defect_of(ancillary) == png_defect::none);
    CHECK(zoa::io::decode_image(ancillary, "a.png") == reference);

    // IEND declaring 2^31 - 1 bytes: stb_image stops at IEND without reading them.
    bytes long_iend = png;
    write_be32(long_iend, chunks[2].at, 0x7FFFFFFFu);
    CHECK(defect_of(long_iend) == png_defect::none);
    CHECK(zoa::io::decode_image(long_iend, "long_iend.png") == reference);
}

// Found by fuzz_image (27 Nov 2026, after 169 s): a progressive JPEG whose AC scan selects AC Huffman table 1, which
// no DHT segment defines. stb_image 2.27 malloc's its decoder state without zeroing it, so the table is heap garbage:
// UBSan "index -61 out of bounds for type 'stbi_uc[256]'" in stbi__jpeg_huff_decode (an index computed from
// uninitialised memory; valgrind: "use of uninitialised value"). stb_image 2.28 zeroes the state (nothings/stb#1297).
// zoa now refuses a scan that uses an undefined table before stb_image decodes it.
TEST_CASE("fuzz findings stay fixed: a JPEG scan using a Huffman table no DHT defined is refused before decoding") {
    const bytes found = zoa::data::read_file_bytes(corpus_dir + "crash-jpeg-scan-uses-undefined-huffman-table.jpg");
    REQUIRE(jpeg_defect_of(found) == zoa::io::detail::jpeg_defect::undefined_huffman_table);
    CHECK(undefined_table_scan(found) == 193);
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(found, "x.jpg"),
                         doctest::Contains("x.jpg: cannot decode image: Corrupt JPEG (the scan at byte 193 uses AC "
                                           "Huffman table 1, which no DHT segment before it defines)"),
                         zoa::error);
    // stbi_info does not read scans: the header is still readable.
    CHECK(zoa::io::decode_image_info(found.data(), found.size(), "x.jpg").width == 16);

    // progressive.jpg (PIL): DHT segments before each scan define DC 0, 1 and AC 0, 1.
    const bytes prog = zoa::data::read_file_bytes(corpus_dir + "progressive.jpg");
    const auto reference = zoa::io::decode_image(prog, "p.jpg");
    const auto sos = jpeg_sos_offsets(prog);
    REQUIRE(sos.size() == 10);
    CHECK(undefined_table_scan(prog) == 0);
    // Scan 0: DC first scan (Ss = 0, Ah = 0) of 3 components; its second component's DC table becomes 2.
    REQUIRE(prog[sos[0] + 4] == 3);
    REQUIRE(prog[sos[0] + 5 + 2 * 3] == 0);
    bytes dc_first = prog;
    dc_first[sos[0] + 8] = 0x20;
    CHECK(undefined_table_scan(dc_first) == sos[0]);
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(dc_first, "p.jpg"), doctest::Contains("uses DC Huffman table 2"),
                         zoa::error);
    // Scan 1: AC scan (Ss = 1) of one component; its AC table becomes 3.
    REQUIRE(prog[sos[1] + 4] == 1);
    REQUIRE(prog[sos[1] + 7] == 1);
    bytes ac = prog;
    ac[sos[1] + 6] = 0x03;
    CHECK(undefined_table_scan(ac) == sos[1]);
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(ac, "p.jpg"), doctest::Contains("uses AC Huffman table 3"),
                         zoa::error);
    // Scan 6: DC refinement scan (Ss = 0, Ah = 1) reads raw bits, no Huffman table: undefined selectors are accepted
    // and the image decodes to the same pixels.
    REQUIRE(prog[sos[6] + 4] == 3);
    REQUIRE(prog[sos[6] + 5 + 2 * 3] == 0);
    REQUIRE((prog[sos[6] + 7 + 2 * 3] >> 4) == 1);
    bytes dc_refine = prog;
    for (std::size_t c = 0; c < 3; ++c) dc_refine[sos[6] + 6 + 2 * c] = 0x33;
    CHECK(undefined_table_scan(dc_refine) == 0);
    CHECK(zoa::io::decode_image(dc_refine, "p.jpg") == reference);

    // Baseline smooth.jpg: one scan using DC and AC tables 0 and 1; pointing a component at AC table 2 is refused.
    const bytes base = zoa::data::read_file_bytes(corpus_dir + "smooth.jpg");
    const auto base_sos = jpeg_sos_offsets(base);
    REQUIRE(base_sos.size() == 1);
    CHECK(undefined_table_scan(base) == 0);
    bytes base_bad = base;
    base_bad[base_sos[0] + 6] = static_cast<std::uint8_t>((base[base_sos[0] + 6] & 0xF0) | 2);
    CHECK(undefined_table_scan(base_bad) == base_sos[0]);
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(base_bad, "b.jpg"), doctest::Contains("uses AC Huffman table 2"),
                         zoa::error);
}

// Found while triaging the finding above (valgrind on stb_image 2.27, not by the fuzzer: ASan and UBSan do not see
// reads of uninitialised memory): stb_image also dequantises with a quantisation table no DQT defined, and leaves the
// samples of a component that no scan codes uninitialised, so such a JPEG decodes "successfully" to pixels computed
// from heap garbage (a progressive file without its DC first scan even decoded once and failed the next time).
TEST_CASE("JPEGs using an undefined quantisation table or leaving a component uncoded are refused before decoding") {
    using zoa::io::detail::jpeg_defect;
    const bytes base = zoa::data::read_file_bytes(corpus_dir + "smooth.jpg");
    const bytes prog = zoa::data::read_file_bytes(corpus_dir + "progressive.jpg");
    CHECK(jpeg_defect_of(base) == jpeg_defect::none);
    CHECK(jpeg_defect_of(prog) == jpeg_defect::none);
    const auto sof_of = [](const bytes& jpg, std::uint8_t marker) {
        for (std::size_t i = 0; i + 1 < jpg.size(); ++i)
            if (jpg[i] == 0xFF && jpg[i + 1] == marker) return i;
        return std::size_t{0};
    };

    // Baseline: component 1 (SOF byte 12) dequantised with table 3, which no DQT defines: refused at the scan.
    const std::size_t sof0 = sof_of(base, 0xC0);
    REQUIRE(sof0 != 0);
    REQUIRE(base[sof0 + 9] == 3);
    bytes base_q = base;
    base_q[sof0 + 12] = 3;
    CHECK(jpeg_defect_of(base_q) == jpeg_defect::undefined_quant_table);
    const std::string quant_msg = "Corrupt JPEG (quantisation table 3 is used (marker at byte " +
                                  std::to_string(jpeg_sos_offsets(base)[0]) + ") but no DQT segment before it";
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(base_q, "q.jpg"), doctest::Contains(quant_msg.c_str()), zoa::error);
    // Progressive: dequantised at the end, so checked at EOI.
    const std::size_t sof2 = sof_of(prog, 0xC2);
    REQUIRE(sof2 != 0);
    bytes prog_q = prog;
    prog_q[sof2 + 15] = 3;  // component 2
    CHECK(jpeg_defect_of(prog_q) == jpeg_defect::undefined_quant_table);

    // Baseline: the scan lists only components 1 and 2 of 3 (Ns 3 -> 2, Ls 12 -> 10): component 3 is never coded.
    const std::size_t sos = jpeg_sos_offsets(base)[0];
    REQUIRE(base[sos + 3] == 12);
    REQUIRE(base[sos + 4] == 3);
    REQUIRE(base[sos + 9] == 3);  // third component id
    bytes base_two(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(sos + 9));
    base_two.insert(base_two.end(), base.begin() + static_cast<std::ptrdiff_t>(sos + 11), base.end());
    base_two[sos + 3] = 10;
    base_two[sos + 4] = 2;
    const auto uncoded = zoa::io::detail::scan_jpeg(base_two.data(), base_two.size(), true);
    CHECK(uncoded.defect == jpeg_defect::uncoded_component);
    CHECK(uncoded.value == 3);
    // Progressive without its DC first scan (SOS at byte 223 and its entropy data, up to the next DHT at 242): the
    // AC and refinement scans then work on uninitialised coefficients.
    const auto prog_sos = jpeg_sos_offsets(prog);
    REQUIRE(prog_sos[0] == 223);
    REQUIRE(prog[242] == 0xFF);
    REQUIRE(prog[243] == 0xC4);
    bytes no_dc(prog.begin(), prog.begin() + 223);
    no_dc.insert(no_dc.end(), prog.begin() + 242, prog.end());
    CHECK(jpeg_defect_of(no_dc) == jpeg_defect::uncoded_component);
    CHECK_THROWS_WITH_AS(zoa::io::decode_image(no_dc, "p.jpg"),
                         doctest::Contains("Corrupt JPEG (component 1 is never coded by a scan before EOI"),
                         zoa::error);
    // decode_image_info reads headers only and still works for all of them.
    for (const bytes* b : {&base_q, &prog_q, &base_two, &no_dc})
        CHECK(zoa::io::decode_image_info(b->data(), b->size(), "x.jpg").width == 16);
}

// Inputs that hit undefined behaviour inside stb_image 2.27 itself, which zoa cannot refuse up front (kept in
// tests/fuzz/known/image/, see tests/fuzz/ubsan_ignorelist.txt): the clang fuzz build ignores exactly those two checks
// in those two functions and re-runs the inputs on every campaign (tools/fuzz.sh). g++'s UBSan has no per-function
// ignore list and reports them, so this case is skipped in the sanitizer build and runs in every other build.
//  - stb_jpeg_shift_exponent.jpg (fuzz_image, 237 s): its corrupt Huffman stream drives the JPEG bit reader to
//    `b << 32` (stb_image.h:2065, stbi__grow_buffer_unsafe; nothings/stb#1293, fixed in stb_image 2.28): zoa::error.
//  - stb_png_empty_first_idat.png: rgba.png with an empty IDAT chunk inserted before its IDAT; stb_image calls
//    memcpy(NULL, p, 0) (stb_image.h:1663, stbi__getn) and then decodes the image normally: same pixels.
TEST_CASE("inputs that hit undefined behaviour inside stb_image 2.27 end in zoa::error or the right pixels" *
          doctest::skip(ZOA_TEST_SANITIZED != 0)) {
    const bytes jpg = zoa::data::read_file_bytes(known_dir + "stb_jpeg_shift_exponent.jpg");
    const auto info = zoa::io::decode_image_info(jpg.data(), jpg.size(), "x.jpg");  // the header is valid
    CHECK(info.width == 250);
    CHECK(info.height == 16);
    CHECK(info.channels == 3);
    for (std::size_t channels : {std::size_t{0}, std::size_t{1}, std::size_t{3}})
        CHECK_THROWS_WITH_AS(zoa::io::decode_image(jpg.data(), jpg.size(), "x.jpg", channels),
                             doctest::Contains("x.jpg: cannot decode image"), zoa::error);
    CHECK_NOTHROW(zoa_fuzz::image(jpg.data(), jpg.size()));

    const bytes empty_idat = zoa::data::read_file_bytes(known_dir + "stb_png_empty_first_idat.png");
    const auto chunks = png_chunks(empty_idat);
    REQUIRE(chunks.size() == 4);
    CHECK(chunks[1].type == "IDAT");
    CHECK(chunks[1].length == 0);
    CHECK(defect_of(empty_idat) == png_defect::none);
    const bytes png = zoa::data::read_file_bytes(corpus_dir + "rgba.png");
    CHECK(zoa::io::decode_image(empty_idat, "e.png") == zoa::io::decode_image(png, "rgba.png"));
    CHECK_NOTHROW(zoa_fuzz::image(empty_idat.data(), empty_idat.size()));
}
