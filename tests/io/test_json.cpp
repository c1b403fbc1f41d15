// zoa — the small JSON reader/writer (zoa/io/json.hpp): RFC 8259 acceptance, values, errors, round trips, and
// agreement with nlohmann-json (the reader zoa used before) on every case
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zoa/core/rng.hpp"
#include "zoa/io/json.hpp"

namespace json = zoa::io::json;

namespace {

std::string error_of(const std::string& text) {
    try {
        json::parse(text, "t");
    } catch (const zoa::error& e) {
        CHECK(e.code() == zoa::error_code::format);
        return e.what();
    }
    return "";
}

// Texts every RFC 8259 reader accepts.
const std::vector<std::string> valid = {
    "null", "true", "false", "0", "-0", "1", "-1", "123456789", "1.5", "-1.5e3", "1E+2", "1e-2", "0.0001",
    "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
    "123456789012345678901234567890", "1e-400", "-1e-400", "4.9e-324", "1.7976931348623157e308",
    "\"\"", "\"a\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0041\\u00e9\\u20ac\"", "\"\\ud83d\\ude00\"",
    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"\x7f\"", "[]", "{}", " [ 1 , 2 ] ", "\t\n\r{\"a\" :\n[1,{\"b\":null}]}\r\n",
    "[[[[[]]]]]", "{\"a\":{\"b\":{\"c\":[true,false,null]}}}", "[1,\"x\",{\"k\":\"v\"},[],{}]", "{\"\":0}",
    "{\"a\":1,\"A\":2}", "\"\\u0000\"",
};

// Texts every RFC 8259 reader refuses (nlohmann too, except where noted in the test).
const std::vector<std::string> invalid = {
    "", " ", "{", "}", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{1:2}",
    "{a:1}", "[1 2]", "1 2", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "--1", "-", "0x10", "NaN", "Infinity",
    "-Infinity", "'a'", "tru", "nul", "fals", "True", "\"abc", "\"\t\"", "\"\x01\"", "\"\\x\"", "\"\\u12\"",
    "\"\\u12g4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "1e400", "-1e400", "[1]x", "{} {}", "/* */ 1", "[1] // c", "[\"a\",]",
    std::string("\"a\0b\"", 5), std::string("1\0", 2),
};

}  // namespace

TEST_CASE("json: accepts RFC 8259 texts, as nlohmann does") {
    for (const auto& t : valid) {
        CAPTURE(t);
        CHECK_NOTHROW(json::parse(t, "t"));
        CHECK(nlohmann::json::accept(t));
    }
}

TEST_CASE("json: refuses non-JSON with a format error naming the byte, as nlohmann does") {
    for (const auto& t : invalid) {
        CAPTURE(t);
        const std::string e = error_of(t);
        CHECK(e.find("t is not valid JSON: byte ") != std::string::npos);
        // nlohmann accepts 1e400 (inf) and takes a NUL byte for the end of the input
        if (t != "1e400" && t != "-1e400" && t.find('\0') == std::string::npos) CHECK_FALSE(nlohmann::json::accept(t));
    }
    CHECK(error_of("[1,]").find("byte 3: unexpected ']', expected a value") != std::string::npos);
    CHECK(error_of("{\"a\":1 x").find("byte 7: unexpected 'x', expected ',' or '}'") != std::string::npos);
    CHECK(error_of("[1] x").find("byte 4: unexpected 'x' after the JSON value") != std::string::npos);
    CHECK(error_of("\"a\x01\"").find("byte 2: control byte 0x01 in a string") != std::string::npos);
    CHECK(error_of("\"\xff\"").find("byte 1: invalid UTF-8") != std::string::npos);
    CHECK(error_of("1e400").find("overflows a double") != std::string::npos);
    CHECK(error_of("").find("byte 0: unexpected end of input, expected a value") != std::string::npos);
}

TEST_CASE("json: values equal nlohmann's") {
    for (const auto& t : valid) {
        CAPTURE(t);
        const json::value v = json::parse(t, "t");
        const nlohmann::json n = nlohmann::json::parse(t);
        // same tree, compared through zoa's writer read back by nlohmann (numbers by value, strings by bytes)
        CHECK(nlohmann::json::parse(v.dump()) == n);
    }
    const auto v = json::parse("{\"b\":[1,-2,3.5,\"x\",true,null],\"a\":{}}", "t");
    REQUIRE(v.is_object());
    REQUIRE(v.size() == 2);
    CHECK(v.members()[0].first == "b");  // document order
    const json::value& b = *v.find("b");
    CHECK(b.items()[0].is_unsigned());
    CHECK(b.items()[0].as_unsigned() == 1);
    CHECK_FALSE(b.items()[1].is_unsigned());
    CHECK(b.items()[1].as_double() == -2.0);
    CHECK(b.items()[2].as_double() == 3.5);
    CHECK(b.items()[3].equals("x"));
    CHECK(b.items()[4].as_bool());
    CHECK(b.items()[5].is_null());
    CHECK(v.find("c") == nullptr);
    CHECK(json::parse("18446744073709551615", "t").as_unsigned() == std::numeric_limits<std::uint64_t>::max());
    CHECK_FALSE(json::parse("18446744073709551616", "t").is_unsigned());
    CHECK(json::parse("18446744073709551616", "t").as_double() == 18446744073709551616.0);
    CHECK(json::parse("-0", "t").is_unsigned());
    CHECK(json::parse("1.0", "t").is_number());
    CHECK_FALSE(json::parse("1.0", "t").is_unsigned());
    CHECK(json::parse("1e-400", "t").as_double() == 0.0);
    CHECK(std::signbit(json::parse("-1e-400", "t").as_double()));
    CHECK(json::parse("\"\\ud83d\\ude00\"", "t").as_string() == "\xf0\x9f\x98\x80");
    CHECK(json::parse("\"\\u0000\"", "t").as_string() == std::string(1, '\0'));
}

TEST_CASE("json: value trees refuse duplicate keys and excessive nesting") {
    CHECK(error_of("{\"a\":1,\"a\":2}").find("duplicate key \"a\"") != std::string::npos);
    CHECK(error_of("{\"x\":{\"a\":1,\"b\":{},\"a\":[]}}").find("duplicate key \"a\"") != std::string::npos);
    CHECK_NOTHROW(json::parse(std::string(512, '[') + std::string(512, ']'), "t"));
    CHECK(error_of(std::string(513, '[') + std::string(513, ']')).find("nesting deeper than 512") !=
          std::string::npos);
    // the SAX reader itself has no depth limit and no recursion: a million open brackets is a clean error
    struct counter {
        std::size_t depth = 0;
        bool null() { return true; }
        bool boolean(bool) { return true; }
        bool number_integer(std::int64_t) { return true; }
        bool number_unsigned(std::uint64_t) { return true; }
        bool number_float(double, const std::string&) { return true; }
        bool string(std::string&) { return true; }
        bool key(std::string&) { return true; }
        bool start_object(std::size_t) { return ++depth, true; }
        bool start_array(std::size_t) { return ++depth, true; }
        bool end_object() { return true; }
        bool end_array() { return true; }
        bool parse_error(std::size_t, const std::string&) { return false; }
    } c;
    const std::string deep(1000000, '[');
    CHECK_FALSE(json::sax_parse(deep.data(), deep.size(), c));
    CHECK(c.depth == 1000000);
}

TEST_CASE("json: writer output reads back to the same value") {
    json::value o = json::value::object();
    o.set("int", 42).set("neg", -7).set("big", std::numeric_limits<std::uint64_t>::max());
    o.set("min", std::numeric_limits<std::int64_t>::min()).set("pi", 3.14159).set("four", 4.0);
    o.set("tiny", 1e-6).set("f", static_cast<double>(0.485f)).set("s", "q\"\\\n\t\x01/\xc3\xa9");
    o.set("t", true).set("n", json::value()).set("a", json::value::array_of(std::vector<std::size_t>{1, 2, 3}));
    o.set("int", 43);  // replaces, keeps the position
    const std::string text = o.dump();
    CHECK(text ==
          "{\"int\":43,\"neg\":-7,\"big\":18446744073709551615,\"min\":-9223372036854775808,\"pi\":3.14159,"
          "\"four\":4.0,\"tiny\":1e-06,\"f\":0.48500001430511475,\"s\":\"q\\\"\\\\\\n\\t\\u0001/\xc3\xa9\","
          "\"t\":true,\"n\":null,\"a\":[1,2,3]}");
    const auto back = json::parse(text, "t");
    CHECK(back.dump() == text);
    CHECK(back.find("f")->as_double() == static_cast<double>(0.485f));
    CHECK(back.find("min")->as_double() == -9223372036854775808.0);
    CHECK(nlohmann::json::parse(text)["s"] == "q\"\\\n\t\x01/\xc3\xa9");
    // every double survives the trip (shortest digits that read back exactly)
    for (double d : {0.1, 1.0 / 3.0, 1e300, 5e-324, -2.5e-8, 123456789.125, 1e16, 100000.0})
        CHECK(json::parse(json::value(d).dump(), "t").as_double() == d);
    CHECK_THROWS_AS(json::value(std::nan("")).dump(), zoa::error);
    CHECK_THROWS_AS(json::value(std::string("\xff")).dump(), zoa::error);
}

TEST_CASE("json: agrees with nlohmann on 200,000 random short texts") {
    // Texts over an alphabet of JSON's own characters, so that most are near misses of valid JSON.
    struct acceptor {
        std::string error;
        bool null() { return true; }
        bool boolean(bool) { return true; }
        bool number_integer(std::int64_t) { return true; }
        bool number_unsigned(std::uint64_t) { return true; }
        bool number_float(double, const std::string&) { return true; }
        bool string(std::string&) { return true; }
        bool key(std::string&) { return true; }
        bool start_object(std::size_t) { return true; }
        bool start_array(std::size_t) { return true; }
        bool end_object() { return true; }
        bool end_array() { return true; }
        bool parse_error(std::size_t, const std::string& m) { return error = m, false; }
    };
    const std::string alphabet = "{}[]\",:0123456789.eE+- \\utrfnlsa\x01\xc3\xa9";
    zoa::rng r(2020);
    std::size_t accepted = 0, disagreements = 0;
    for (int k = 0; k < 200000; ++k) {
        std::string t;
        const std::size_t len = 1 + static_cast<std::size_t>(r.uniform() * 12.0f);
        for (std::size_t i = 0; i < len; ++i)
            t += alphabet[static_cast<std::size_t>(r.uniform() * static_cast<float>(alphabet.size())) % alphabet.size()];
        acceptor a;
        const bool ours = json::sax_parse(t.data(), t.size(), a);
        const bool theirs = nlohmann::json::accept(t);
        if (!ours && theirs && a.error.find("overflows a double") != std::string::npos) continue;  // 1e999: inf there
        accepted += ours;
        if (ours != theirs && ++disagreements <= 5) {
            CAPTURE(t);
            CAPTURE(a.error);
            CHECK(ours == theirs);
        }
    }
    CHECK(disagreements == 0);
    MESSAGE(accepted << " of 200000 random texts are JSON");
    CHECK(accepted > 1000);
}
