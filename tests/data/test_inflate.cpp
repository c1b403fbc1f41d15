// zoa — tests for the gzip / DEFLATE decoder and CRC-32 (zoa/data/inflate.hpp)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "gzip_builder.hpp"
#include "zoa/data/inflate.hpp"
#include "../error_of.hpp"

using zoa_test::bytes;
using zoa_test::to_bytes;

namespace {

const std::string data_dir = std::string(ZOA_FIXTURES_DIR) + "/data/";

nlohmann::json gzip_expectations() {
    std::ifstream f(data_dir + "gzip.json");
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
}

/// The text tools/reference/gen_image_fixtures.py compresses into text_dynamic.gz (same LCG and word list).
std::string lcg_text(std::size_t n) {
    static const char* words[] = {"zoa ",   "adapt ", "quantized ", "vision ",  "transformer ", "norm ",
                                  "layer ", "spsa ",  "bank ",      "domain ",  "shift ",       "entropy ",
                                  "batch ", "stream ", "fashion ",  "mnist\n"};
    std::string out;
    std::uint64_t x = 12345;
    while (out.size() < n) {
        x = (1103515245u * x + 12345u) % (std::uint64_t{1} << 31);
        out += words[(x >> 16) % 16];
    }
    out.resize(n);
    return out;
}

std::string as_string(const bytes& b) { return std::string(b.begin(), b.end()); }

using zoa_test::error_of;

}  // namespace

TEST_CASE("crc32 matches the standard check value and composes") {
    const bytes check = to_bytes("123456789");
    CHECK(zoa::data::crc32(check.data(), check.size()) == 0xCBF43926u);
    CHECK(zoa::data::crc32(nullptr, 0) == 0u);
    const bytes a = to_bytes("hello "), b = to_bytes("world");
    const bytes ab = to_bytes("hello world");
    CHECK(zoa::data::crc32_update(zoa::data::crc32(a.data(), a.size()), b.data(), b.size()) ==
          zoa::data::crc32(ab.data(), ab.size()));
}

TEST_CASE("gzip fixtures written by zlib decode exactly") {
    const auto expect = gzip_expectations();
    for (const char* name : {"short_fixed.gz", "all_flags.gz", "multi_member.gz"}) {
        CAPTURE(name);
        const bytes out = zoa::data::read_file_maybe_gzip(data_dir + name);
        CHECK(as_string(out) == expect[name]["ascii"].get<std::string>());
    }
    SUBCASE("dynamic Huffman blocks with long back-references") {
        const bytes out = zoa::data::read_file_maybe_gzip(data_dir + "text_dynamic.gz");
        CHECK(as_string(out) == lcg_text(expect["text_dynamic.gz"]["lcg_text"].get<std::size_t>()));
    }
    SUBCASE("stored blocks") {
        const bytes out = zoa::data::read_file_maybe_gzip(data_dir + "random_stored.gz");
        CHECK(out.size() == expect["random_stored.gz"]["numpy_seed5_bytes"].get<std::size_t>());
        CHECK(zoa::data::crc32(out.data(), out.size()) == expect["random_stored.gz"]["crc32"].get<std::uint32_t>());
    }
}

TEST_CASE("read_file_maybe_gzip returns non-gzip files unchanged") {
    const bytes raw = zoa::data::read_file_bytes(data_dir + "gzip.json");
    CHECK(zoa::data::read_file_maybe_gzip(data_dir + "gzip.json") == raw);
    CHECK(error_of([] { zoa::data::read_file_bytes(data_dir + "missing.gz"); }).find("missing.gz: cannot open") !=
          std::string::npos);
}

TEST_CASE("hand-built streams: stored members, zero padding, empty members") {
    const bytes payload = to_bytes("stored payload");
    const bytes one = zoa_test::stored_gzip(payload);
    CHECK(zoa::data::gunzip(one, "one") == payload);
    bytes two = one;
    const bytes empty_member = zoa_test::stored_gzip({});
    two.insert(two.end(), empty_member.begin(), empty_member.end());
    two.insert(two.end(), one.begin(), one.end());
    CHECK(as_string(zoa::data::gunzip(two, "two")) == "stored payloadstored payload");
    bytes padded = one;
    padded.insert(padded.end(), 16, 0);
    CHECK(zoa::data::gunzip(padded, "padded") == payload);
}

TEST_CASE("fixed-Huffman stream with an overlapping back-reference") {
    zoa_test::bit_writer w;
    w.bits(1, 1);  // BFINAL
    w.bits(1, 2);  // BTYPE = fixed
    for (char c : std::string("abc")) w.fixed_lit(static_cast<unsigned>(c));
    w.fixed_lit(260);  // length 6
    w.fixed_dist(2);   // distance 3
    w.fixed_lit(256);
    bytes stream = w.finish();
    const std::size_t stream_size = stream.size();
    stream.push_back(0xAB);  // bytes after the stream are not consumed
    stream.push_back(0xCD);
    bytes out;
    CHECK(zoa::data::inflate_raw(stream.data(), stream.size(), out, "raw") == stream_size);
    CHECK(as_string(out) == "abcabcabc");
    CHECK(zoa::data::gunzip(zoa_test::gzip_member(w.finish(), out), "member") == out);
}

TEST_CASE("malformed DEFLATE data is rejected with a message") {
    const auto raw_error = [](const bytes& stream) {
        return error_of([&] {
            bytes out;
            zoa::data::inflate_raw(stream.data(), stream.size(), out, "s.gz");
        });
    };
    SUBCASE("back-reference before the start") {
        zoa_test::bit_writer w;
        w.bits(1, 1);
        w.bits(1, 2);
        w.fixed_lit(257);
        w.fixed_dist(0);
        CHECK(raw_error(w.finish()).find("reaches before the start") != std::string::npos);
    }
    SUBCASE("block type 3") {
        zoa_test::bit_writer w;
        w.bits(1, 1);
        w.bits(3, 2);
        CHECK(raw_error(w.finish()).find("invalid block type 3") != std::string::npos);
    }
    SUBCASE("literal/length symbol 286") {
        zoa_test::bit_writer w;
        w.bits(1, 1);
        w.bits(1, 2);
        w.fixed_lit(286);
        CHECK(raw_error(w.finish()).find("invalid literal/length symbol") != std::string::npos);
    }
    SUBCASE("distance symbol 30") {
        zoa_test::bit_writer w;
        w.bits(1, 1);
        w.bits(1, 2);
        w.fixed_lit('x');
        w.fixed_lit(257);
        w.fixed_dist(30);
        CHECK(raw_error(w.finish()).find("invalid distance symbol") != std::string::npos);
    }
    SUBCASE("stored LEN / NLEN mismatch") {
        bytes s = zoa_test::stored_deflate(to_bytes("abc"));
        s[3] ^= 0x01;
        CHECK(raw_error(s).find("LEN != ~NLEN") != std::string::npos);
    }
    SUBCASE("dynamic header with HLIT > 286") {
        zoa_test::bit_writer w;
        w.bits(1, 1);
        w.bits(2, 2);
        w.bits(30, 5);  // HLIT = 287
        w.bits(0, 5);
        w.bits(0, 4);
        CHECK(raw_error(w.finish()).find("too many literal/length") != std::string::npos);
    }
    SUBCASE("dynamic header with an incomplete code-length code") {
        zoa_test::bit_writer w;
        w.bits(1, 1);
        w.bits(2, 2);
        w.bits(0, 5);
        w.bits(0, 5);
        w.bits(0, 4);  // 4 code-length codes: 16, 17, 18, 0
        w.bits(1, 3);  // only symbol 16 has a (1-bit) code
        w.bits(0, 3);
        w.bits(0, 3);
        w.bits(0, 3);
        CHECK(raw_error(w.finish()).find("invalid code-length code") != std::string::npos);
    }
    SUBCASE("end of input inside a block") {
        zoa_test::bit_writer w;
        w.bits(0, 1);  // not final
        w.bits(1, 2);
        w.fixed_lit('a');
        w.fixed_lit(256);
        CHECK(raw_error(w.finish()).find("truncated") != std::string::npos);
    }
}

TEST_CASE("malformed gzip members are rejected with a message") {
    const bytes payload = to_bytes("payload for the error cases");
    const bytes good = zoa_test::stored_gzip(payload);
    const auto gz_error = [](const bytes& b) { return error_of([&] { zoa::data::gunzip(b, "f.gz"); }); };
    bytes b = good;
    b[0] = 0x1E;
    CHECK(gz_error(b).find("f.gz: not gzip data at byte 0") != std::string::npos);
    b = good;
    b[2] = 7;
    CHECK(gz_error(b).find("compression method 7 is not 8") != std::string::npos);
    b = good;
    b[3] = 0x20;
    CHECK(gz_error(b).find("reserved flag bits") != std::string::npos);
    b = good;
    b[b.size() - 8] ^= 0x40;
    CHECK(gz_error(b).find("CRC-32 mismatch") != std::string::npos);
    b = good;
    b[b.size() - 3] ^= 0x01;
    CHECK(gz_error(b).find("ISIZE mismatch") != std::string::npos);
    b = good;
    b.push_back(0x42);
    CHECK(gz_error(b).find("trailing garbage after gzip member 0") != std::string::npos);
    CHECK(gz_error({}).find("empty file") != std::string::npos);
    SUBCASE("header CRC (FHCRC)") {
        bytes h{0x1F, 0x8B, 8, 0x02, 0, 0, 0, 0, 0, 3};
        zoa_test::put_le(h, (zoa::data::crc32(h.data(), h.size()) & 0xFFFFu) ^ 1u, 2);
        const bytes body = zoa_test::stored_deflate(payload);
        h.insert(h.end(), body.begin(), body.end());
        zoa_test::put_le(h, zoa::data::crc32(payload.data(), payload.size()), 4);
        zoa_test::put_le(h, static_cast<std::uint32_t>(payload.size()), 4);
        CHECK(gz_error(h).find("header CRC mismatch") != std::string::npos);
    }
    SUBCASE("every truncation of a member fails cleanly") {
        const bytes file = zoa::data::read_file_bytes(data_dir + "all_flags.gz");
        for (std::size_t n = 1; n < file.size(); ++n) {
            CAPTURE(n);
            CHECK_THROWS_AS(zoa::data::gunzip(file.data(), n, "cut.gz"), zoa::error);
        }
    }
    SUBCASE("bit flips in compressed data or trailer are detected") {
        const bytes file = zoa::data::read_file_bytes(data_dir + "text_dynamic.gz");
        for (std::size_t pos = 10; pos < file.size(); pos += 37) {
            if (pos == file.size() - 9) continue;  // the last deflate byte may hold unused padding bits
            bytes bad = file;
            bad[pos] = static_cast<std::uint8_t>(bad[pos] ^ (1u << (pos % 8)));
            CAPTURE(pos);
            CHECK_THROWS_AS(zoa::data::gunzip(bad, "flip.gz"), zoa::error);
        }
    }
    SUBCASE("output limit") {
        const bytes file = zoa::data::read_file_bytes(data_dir + "text_dynamic.gz");
        CHECK(gz_error(file).empty());
        CHECK(error_of([&] { zoa::data::gunzip(file, "big.gz", 1000); }).find("exceeds the limit of 1000 bytes") !=
              std::string::npos);
    }
}
