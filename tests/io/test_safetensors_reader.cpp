// zoa — tests for the safetensors reader: one test per rejected failure kind, accepted edge cases, accessors
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "safetensors_test_util.hpp"
#include "zoa/io/safetensors_reader.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <sys/stat.h>

using zoa::error_code;
using zoa::io::dtype;
using zoa::io::safetensors_file;
using zoa_test::bytes;
using zoa_test::image;
using zoa_test::ramp;
using zoa_test::raw_image;

namespace {

// Opens `b` and requires a zoa::error of `code` whose message contains every part; returns the message.
std::string rejected(const bytes& b, std::initializer_list<const char*> parts, error_code code = error_code::format) {
    std::string msg;
    try {
        (void)safetensors_file::from_bytes("model.safetensors", b);
    } catch (const zoa::error& e) {
        msg = e.what();
        CHECK_MESSAGE(e.code() == code, msg);
    }
    REQUIRE_MESSAGE(!msg.empty(), "accepted an invalid file");
    CHECK_MESSAGE(msg.rfind("zoa: ", 0) == 0, msg);
    CHECK_MESSAGE(msg.find("model.safetensors") != std::string::npos, msg);
    for (const char* p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing '" << p << "' in: " << msg);
    return msg;
}

std::string entry(const std::string& name, const std::string& dt, const std::string& shape, std::size_t b,
                  std::size_t e) {
    return "\"" + name + "\":{\"dtype\":\"" + dt + "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(b) +
           "," + std::to_string(e) + "]}";
}

// One valid F32 tensor 'a' of shape [2] and its 8 data bytes, with `field` replacing its entry text.
bytes with_entry(const std::string& entry_text, std::size_t data = 8) {
    return image("{" + entry_text + "}", ramp(data));
}

}  // namespace

// ---- accepted files ----------------------------------------------------------------------------------------------

TEST_CASE("a minimal valid file and the empty header are accepted") {
    auto f = safetensors_file::from_bytes("x", with_entry(entry("a", "F32", "[2]", 0, 8)));
    CHECK(f.size() == 1);
    CHECK(f.info("a").shape == std::vector<std::size_t>{2});
    auto e = safetensors_file::from_bytes("x", image("{}"));
    CHECK(e.size() == 0);
    CHECK(e.metadata().empty());
    auto m = safetensors_file::from_bytes("x", image("{\"__metadata__\":{}}"));
    CHECK(m.size() == 0);
}

TEST_CASE("JSON whitespace around the header object is accepted (space padding, leading whitespace)") {
    const std::string body = "{" + entry("a", "F32", "[2]", 0, 8) + "}";
    CHECK_NOTHROW(safetensors_file::from_bytes("x", image(body + "       ", ramp(8))));
    CHECK_NOTHROW(safetensors_file::from_bytes("x", image("  \n\t" + body, ramp(8))));
}

TEST_CASE("zero-sized and scalar tensors are accepted") {
    const std::string h = "{" + entry("empty", "F32", "[2,0]", 0, 0) + "," + entry("step", "I64", "[]", 0, 8) + "," +
                          entry("tail", "F16", "[0]", 8, 8) + "}";
    auto f = safetensors_file::from_bytes("x", image(h, ramp(8)));
    CHECK(f.info("empty").elements == 0);
    CHECK(f.info("step").elements == 1);
    CHECK(f.info("step").shape.empty());
    CHECK(f.to_f32("empty").empty());
}

// ---- length prefix -----------------------------------------------------------------------------------------------

TEST_CASE("reject: empty file") {
    rejected({}, {"0 bytes", "at least 8"});
}

TEST_CASE("reject: file shorter than the 8-byte length") {
    rejected({1, 0, 0, 0}, {"4 bytes", "at least 8"});
}

TEST_CASE("reject: header length 0") {
    rejected(raw_image(0, ""), {"header length is 0"});
}

TEST_CASE("reject: huge header length (checked before any allocation)") {
    rejected(raw_image(~std::uint64_t{0}, "{}"), {"18446744073709551615", "100000000-byte limit"});
    rejected(raw_image(100'000'001, "{}"), {"header length 100000001", "limit"});
}

TEST_CASE("reject: header length beyond the end of the file") {
    rejected(raw_image(3, "{}"), {"header length 3 exceeds the 2 bytes", "truncated"});
    rejected(raw_image(8, ""), {"header length 8 exceeds the 0 bytes"});  // reference vector: N=8, nothing follows
}

// ---- header text and JSON schema ---------------------------------------------------------------------------------

TEST_CASE("reject: header that is not UTF-8") {
    rejected(image("{\"a\xff\":1}"), {"not valid UTF-8", "0xff", "offset 3"});
    rejected(image("{\"\xed\xa0\x80\":1}"), {"not valid UTF-8"});  // encoded surrogate
    rejected(image("{\"\xc0\xaf\":1}"), {"not valid UTF-8"});      // overlong '/'
}

TEST_CASE("reject: header that is not a JSON object") {
    rejected(image("[1,2]   "), {"must be a JSON object", "0x5b"});
    rejected(image("        "), {"only whitespace"});
    rejected(image("\xef\xbb\xbf{}"), {"starting with '{'", "0xef"});  // a BOM
}

TEST_CASE("reject: malformed JSON") {
    rejected(image("{"), {"not valid JSON"});  // reference vector
    rejected(image("{} x"), {"not valid JSON"});
    // nlohmann's lexer treats a NUL byte as the end of input, so a NUL must be rejected before parsing:
    rejected(image(std::string("{}\0\0\0\0\0\0", 8)), {"NUL byte at header offset 2"});
    rejected(image(std::string("{}\0{\"a\":1}", 10)), {"NUL byte"});
}

TEST_CASE("reject: tensor entry that is not an object") {
    rejected(image("{\"a\":5}"), {"tensor 'a'", "expected an object", "the number 5"});
    rejected(image("{\"a\":[0,8]}"), {"tensor 'a'", "found an array"});
}

TEST_CASE("reject: missing, unexpected and duplicate fields") {
    rejected(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}"), {"tensor 'a'", "missing field 'data_offsets'"});
    rejected(with_entry("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"strides\":[1]}"),
             {"tensor 'a'", "unexpected field 'strides'"});
    rejected(with_entry("\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}"),
             {"tensor 'a'", "duplicate field 'dtype'"});
}

TEST_CASE("reject: duplicate tensor keys (nlohmann alone would keep the last)") {
    rejected(image("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("a", "F32", "[2]", 8, 16) + "}", ramp(16)),
             {"duplicate key 'a'"});
}

TEST_CASE("reject: unknown dtype and dtype of the wrong JSON type") {
    rejected(with_entry(entry("a", "F33", "[2]", 0, 8)), {"tensor 'a'", "unknown dtype 'F33'", "F32", "BF16"});
    rejected(with_entry("\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}"),
             {"tensor 'a'", "dtype must be a string", "the number 32"});
}

TEST_CASE("reject: shape of the wrong JSON types") {
    rejected(with_entry(entry("a", "F32", "2", 0, 8)), {"tensor 'a'", "shape must be an array", "the number 2"});
    rejected(with_entry(entry("a", "F32", "[-2]", 0, 8)),
             {"tensor 'a'", "shape[0] must be a non-negative integer", "the number -2"});
    rejected(with_entry(entry("a", "F32", "[1,2.0]", 0, 8)), {"shape[1] must be a non-negative integer", "2.0"});
    rejected(with_entry(entry("a", "F32", "[\"2\"]", 0, 8)), {"shape[0]", "the string '2'"});
    rejected(with_entry(entry("a", "F32", "[[2]]", 0, 8)), {"shape[0]", "an array"});
    rejected(with_entry(entry("a", "F32", "[18446744073709551616]", 0, 8)), {"shape[0]", "18446744073709551616"});
    rejected(with_entry(entry("a", "F32", "[-0]", 0, 8)), {"shape[0]", "-0"});
    std::string deep = "[";
    for (int i = 0; i < 65; ++i) deep += i ? ",1" : "1";
    rejected(with_entry(entry("a", "F32", deep + "]", 0, 4), 4), {"more than 64 dimensions"});
}

TEST_CASE("reject: data_offsets of the wrong JSON types or length") {
    rejected(with_entry("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}"),
             {"data_offsets has 1 entries, expected 2"});
    rejected(with_entry("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}"),
             {"data_offsets has more than 2 entries"});
    rejected(with_entry("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}"),
             {"data_offsets[1] must be a non-negative integer"});
    rejected(with_entry("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":null}"),
             {"data_offsets must be an array", "null"});
}

TEST_CASE("reject: __metadata__ that is not a string-to-string object") {
    const std::string t = entry("a", "F32", "[2]", 0, 8);
    rejected(with_entry("\"__metadata__\":{\"epochs\":3}," + t),
             {"__metadata__ 'epochs'", "must be strings", "the number 3"});
    rejected(with_entry("\"__metadata__\":{\"x\":{\"y\":\"z\"}}," + t), {"__metadata__ 'x'", "an object"});
    rejected(with_entry("\"__metadata__\":[\"a\"]," + t), {"__metadata__ must be an object", "an array"});
    rejected(with_entry("\"__metadata__\":null," + t), {"__metadata__ must be an object", "null"});
    rejected(with_entry("\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," + t), {"__metadata__: duplicate key 'k'"});
    rejected(with_entry("\"__metadata__\":{},\"__metadata__\":{}," + t), {"duplicate key '__metadata__'"});
}

// ---- sizes and offsets ---------------------------------------------------------------------------------------------

TEST_CASE("reject: data_offsets size disagrees with shape × dtype") {
    rejected(image("{" + entry("blocks.0.attn.qkv.weight", "F32", "[2304, 768]", 0, 100) + "}", ramp(100)),
             {"model.safetensors: tensor 'blocks.0.attn.qkv.weight': data_offsets [0, 100) hold 100 bytes, "
              "shape [2304, 768] × F32 needs 7077888"});
    rejected(image("{" + entry("a", "I32", "[2,2]", 0, 4) + "}", ramp(4)), {"hold 4 bytes", "needs 16"});  // reference
}

TEST_CASE("reject: element counts that overflow") {
    rejected(with_entry(entry("a", "F32", "[2,18446744073709551614]", 0, 8)), {"tensor 'a'", "more elements"});
    rejected(with_entry(entry("a", "F32", "[2,9223372036854775807]", 0, 8)), {"tensor 'a'", "overflows"});
}

TEST_CASE("reject: sub-byte dtype whose size is not a whole number of bytes") {
    rejected(image("{" + entry("a", "F4", "[3]", 0, 2) + "}", ramp(2)), {"12 bits, not a whole number of bytes"});
    CHECK_NOTHROW(safetensors_file::from_bytes("x", image("{" + entry("a", "F4", "[4]", 0, 2) + "}", ramp(2))));
}

TEST_CASE("reject: reversed data_offsets") {
    rejected(image("{" + entry("a", "U8", "[0]", 8, 0) + "}", ramp(8)), {"tensor 'a'", "[8, 0) are reversed"});
}

TEST_CASE("reject: a hole in the data section") {
    rejected(image("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 12, 20) + "}", ramp(20)),
             {"data bytes [8, 12) belong to no tensor", "tensor 'b'"});
    rejected(image("{" + entry("a", "F32", "[1]", 4, 8) + "}", ramp(8)), {"data bytes [0, 4) belong to no tensor"});
}

TEST_CASE("reject: overlapping tensors") {
    rejected(image("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", ramp(12)),
             {"tensor 'b' data_offsets [4, 12) overlap tensor 'a' [0, 8)"});
    // an empty tensor placed inside another one is also an overlap (reference: begin must equal the running end)
    rejected(image("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("z", "F32", "[0]", 4, 4) + "}", ramp(8)),
             {"tensor 'z'", "overlap"});
}

TEST_CASE("reject: aliased (tied) tensors sharing one byte range") {
    rejected(
        image("{" + entry("head.weight", "F32", "[2]", 0, 8) + "," + entry("embed.weight", "F32", "[2]", 0, 8) + "}",
              ramp(8)),
        {"alias", "'head.weight'", "'embed.weight'"});
}

TEST_CASE("reject: trailing bytes after the last tensor (polyglot files)") {
    bytes data = ramp(8);
    const std::string bogus = "extra_bogus_data_for_polyglot_file";  // reference vector
    data.insert(data.end(), bogus.begin(), bogus.end());
    rejected(image("{" + entry("a", "F32", "[2]", 0, 8) + "}", data),
             {"tensors cover 8 bytes but the data section has 42", "34 trailing bytes"});
    rejected(image("{}", ramp(3)), {"tensors cover 0 bytes", "3 trailing"});
}

TEST_CASE("reject: truncated data section") {
    rejected(image("{" + entry("a", "F32", "[2]", 0, 8) + "}", ramp(6)),  // reference: missing 2 bytes
             {"tensor 'a' data_offsets [0, 8) extend past the 6-byte data section", "truncated"});
}

// ---- accessors
// -------------------------------------------------------------------------------------------------------

namespace {
// F32 'w' [2,2] at 0, U8 'q' [3] at 16, F32 'odd' [1] at 19 (unaligned), I64 'n' [] at 23, F16 'h' [2] at 31,
// BF16 'b' [1] at 35; header listed in a different order than the data.
bytes mixed_file() {
    bytes data(37);
    const float w[4] = {1.0f, -2.5f, 1e-3f, 65504.0f};
    std::memcpy(data.data(), w, 16);
    data[16] = 7;
    data[17] = 255;
    data[18] = 0;
    const float odd = -0.125f;
    std::memcpy(data.data() + 19, &odd, 4);
    const std::int64_t n = 1234567890123;
    std::memcpy(data.data() + 23, &n, 8);
    data[31] = 0x00;
    data[32] = 0x3c;  // F16 1.0
    data[33] = 0x01;
    data[34] = 0x00;  // F16 2^-24 (smallest subnormal)
    data[35] = 0xc0;
    data[36] = 0x3f;  // BF16 1.5
    const std::string h = "{\"__metadata__\":{\"format\":\"pt\",\"arch\":\"resnet18\"}," +
                          entry("q", "U8", "[3]", 16, 19) + "," + entry("w", "F32", "[2,2]", 0, 16) + "," +
                          entry("odd", "F32", "[1]", 19, 23) + "," + entry("n", "I64", "[]", 23, 31) + "," +
                          entry("h", "F16", "[2]", 31, 35) + "," + entry("b", "BF16", "[1]", 35, 37) + "}";
    return image(h, data);
}
}  // namespace

TEST_CASE("keys in header, sorted and data order; metadata; per-key info") {
    auto f = safetensors_file::from_bytes("m.safetensors", mixed_file());
    using zoa::io::key_order;
    CHECK(f.keys() == std::vector<std::string>{"q", "w", "odd", "n", "h", "b"});
    CHECK(f.keys(key_order::sorted) == std::vector<std::string>{"b", "h", "n", "odd", "q", "w"});
    CHECK(f.keys(key_order::data) == std::vector<std::string>{"w", "q", "odd", "n", "h", "b"});
    CHECK(f.metadata().size() == 2);
    CHECK(f.metadata().at("arch") == "resnet18");
    const auto& w = f.info("w");
    CHECK(w.dtype == dtype::f32);
    CHECK(w.shape == std::vector<std::size_t>{2, 2});
    CHECK(w.begin == 0);
    CHECK(w.end == 16);
    CHECK(w.num_bytes() == 16);
    CHECK(f.contains("odd"));
    CHECK_FALSE(f.contains("od"));
    CHECK(f.find("zzz") == nullptr);
    const auto span = f.bytes("q");
    CHECK(span.size == 3);
    CHECK(span.data[1] == 255);
    CHECK(f.header_size() + 8 + 37 == f.file_size());
}

TEST_CASE("to_f32 converts F32, F16 and BF16 (unaligned data included)") {
    const bytes img = mixed_file();
    bytes shifted(img.size() + 1);  // place the image at an odd address: every multi-byte read is unaligned
    std::memcpy(shifted.data() + 1, img.data(), img.size());
    auto f = safetensors_file::from_buffer("m", shifted.data() + 1, img.size());
    CHECK(f.to_f32("w") == std::vector<float>{1.0f, -2.5f, 1e-3f, 65504.0f});
    CHECK(f.to_f32("odd") == std::vector<float>{-0.125f});
    CHECK(f.to_f32("h") == std::vector<float>{1.0f, std::ldexp(1.0f, -24)});
    CHECK(f.to_f32("b") == std::vector<float>{1.5f});
    float buf[4];
    f.to_f32("w", buf, 4);
    CHECK(buf[3] == 65504.0f);
}

TEST_CASE("typed raw access to U8/I64 and dtype/count/key errors") {
    auto f = safetensors_file::from_bytes("m.safetensors", mixed_file());
    CHECK(f.read<std::uint8_t>("q") == std::vector<std::uint8_t>{7, 255, 0});
    CHECK(f.read<std::int64_t>("n") == std::vector<std::int64_t>{1234567890123});
    CHECK(f.read<float>("w").size() == 4);
    CHECK_THROWS_WITH_AS(f.read<std::int8_t>("q"), "zoa: format: m.safetensors: tensor 'q': dtype U8, expected I8",
                         zoa::error);
    CHECK_THROWS_WITH_AS(f.to_f32("n"), doctest::Contains("tensor 'n': dtype I64 cannot be converted to fp32"),
                         zoa::error);
    float two[2];
    CHECK_THROWS_WITH_AS(f.to_f32("w", two, 2), doctest::Contains("destination holds 2 elements, the tensor has 4"),
                         zoa::error);
    try {
        (void)f.info("head.weight");
        FAIL("found a missing key");
    } catch (const zoa::error& e) {
        CHECK(e.code() == error_code::argument);
        CHECK(std::string(e.what()) ==
              "zoa: argument: m.safetensors: no tensor 'head.weight' (the file has 6 tensors)");
    }
    CHECK_NOTHROW(f.expect_shape("w", {2, 2}));
    try {
        f.expect_shape("w", {3, 2});
        FAIL("shape accepted");
    } catch (const zoa::error& e) {
        CHECK(e.code() == error_code::shape);
        CHECK(std::string(e.what()) == "zoa: shape: m.safetensors: tensor 'w': shape [2, 2], expected [3, 2]");
    }
}

// ---- opening files -------------------------------------------------------------------------------------------------

TEST_CASE("open: missing file, directory and FIFO are io errors naming the path") {
    zoa_test::scratch_dir dir;
    const std::string missing = dir.file("missing.safetensors");
    const std::string missing_msg = missing + ": cannot open for reading";
    CHECK_THROWS_WITH_AS(safetensors_file::open(missing), doctest::Contains(missing_msg.c_str()), zoa::error);
    try {
        (void)safetensors_file::open(dir.path().string());
        FAIL("opened a directory");
    } catch (const zoa::error& e) {
        CHECK(e.code() == error_code::io);
        CHECK(std::string(e.what()).find("is a directory") != std::string::npos);
    }
    const std::string fifo = dir.file("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(safetensors_file::open(fifo), doctest::Contains("not a regular file"), zoa::error);
}

TEST_CASE("open: an empty file on disk is a format error naming the path") {
    zoa_test::scratch_dir dir;
    const std::string p = dir.file("empty.safetensors");
    zoa_test::write_file(p, {});
    const std::string msg = p + ": file is 0 bytes";
    CHECK_THROWS_WITH_AS(safetensors_file::open(p), doctest::Contains(msg.c_str()), zoa::error);
}

TEST_CASE("open maps a valid file and reads it") {
    zoa_test::scratch_dir dir;
    const std::string p = dir.file("ok.safetensors");
    const float v[3] = {1.5f, -2.0f, 3.25f};
    bytes data(12);
    std::memcpy(data.data(), v, 12);
    zoa_test::write_file(p, image("{" + entry("w", "F32", "[3]", 0, 12) + "}", data));
    auto f = safetensors_file::open(p);
    CHECK(f.path() == p);
    CHECK(f.file_size() == zoa_test::read_file(p).size());
    CHECK(f.to_f32("w") == std::vector<float>{1.5f, -2.0f, 3.25f});
    safetensors_file moved = std::move(f);  // the mapping moves with the object
    CHECK(moved.to_f32("w")[2] == 3.25f);
}

// ---- robustness: random corruption never crashes and only throws zoa::error ----------------------------------------

TEST_CASE("random corruptions of a valid file are accepted or rejected with zoa::error, never anything else") {
    const std::string h = "{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "F32", "[2,2]", 0, 16) + "," +
                          entry("b", "BF16", "[3]", 16, 22) + "," + entry("c", "I64", "[]", 22, 30) + "}";
    const bytes good = image(h, ramp(30));
    std::uint32_t state = 2463534242u;
    auto next = [&] {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return state;
    };
    int accepted = 0, rejected_count = 0;
    for (int it = 0; it < 3000; ++it) {
        bytes b = good;
        const int edits = 1 + static_cast<int>(next() % 4);
        for (int k = 0; k < edits; ++k) {
            const std::uint32_t r = next();
            switch (r % 4) {
                case 0:
                    b[next() % b.size()] = static_cast<unsigned char>(next());
                    break;  // overwrite a byte
                case 1:
                    b.resize(next() % (b.size() + 1));
                    if (b.empty()) b.push_back(0);
                    break;  // truncate
                case 2:
                    b.insert(b.begin() + static_cast<long>(next() % b.size()), static_cast<unsigned char>(next()));
                    break;
                default:
                    b[8 + next() % (b.size() > 8 ? b.size() - 8 : 1) % b.size()] ^= 0x20;
                    break;  // flip a bit
            }
        }
        try {
            auto f = safetensors_file::from_bytes("fuzz", b);
            for (const auto& t : f.tensors()) (void)f.bytes(t);
            ++accepted;
        } catch (const zoa::error&) {
            ++rejected_count;
        }
    }
    CHECK(rejected_count > 0);
    CHECK(accepted + rejected_count == 3000);
}
