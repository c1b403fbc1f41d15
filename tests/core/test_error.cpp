// zoa — tests for zoa::error, fail() and require()
#include <doctest/doctest.h>

#include "zoa/core/error.hpp"

#include <filesystem>
#include <ios>
#include <sstream>
#include <string>
#include <string_view>

TEST_CASE("error carries its code and a prefixed message") {
    try {
        zoa::fail(zoa::error_code::shape, "blocks.3.attn.qkv.weight: expected [2304,768], got [", 3072, ",1024]");
        FAIL("fail() returned");
    } catch (const zoa::error& e) {
        CHECK(e.code() == zoa::error_code::shape);
        CHECK(std::string(e.what()) == "zoa: shape: blocks.3.attn.qkv.weight: expected [2304,768], got [3072,1024]");
    }
}

TEST_CASE("require throws only when the condition is false") {
    CHECK_NOTHROW(zoa::require(true, zoa::error_code::argument, "never"));
    CHECK_THROWS_WITH_AS(zoa::require(false, zoa::error_code::argument, "batch is empty"),
                         "zoa: argument: batch is empty", zoa::error);
}

TEST_CASE("every error code has a name") {
    using zoa::error_code;
    for (auto c : {error_code::io, error_code::format, error_code::shape, error_code::policy, error_code::numeric,
                   error_code::argument})
        CHECK(std::string(zoa::to_string(c)) != "unknown");
    CHECK(std::string(zoa::to_string(error_code::numeric)) == "numeric");
}

TEST_CASE("zoa::error is a std::runtime_error") {
    CHECK_THROWS_AS(zoa::fail(zoa::error_code::io, "x"), std::runtime_error);
}

TEST_CASE("message parts print exactly as operator<< does, for every kind of part") {
    const std::string str = "str";
    const std::string_view view = "view";
    const long double ld = 2.5L;
    const short sh = -7;  // no message_part constructor of its own: streamed through its operator<<
    const std::filesystem::path path = "dir/file.bin";
    std::ostringstream expected;
    expected << "c-string" << str << view << 'x' << static_cast<char>(static_cast<signed char>('y'))
             << static_cast<char>(static_cast<unsigned char>('z')) << true << -1 << -2L << -3LL << 4u << 5ul << 6ull
             << 0.125 << static_cast<double>(1.5f) << ld << std::hex << 255 << std::dec << sh << path;
    const std::string got = zoa::detail::concat("c-string", str, view, 'x', static_cast<signed char>('y'),
                                                static_cast<unsigned char>('z'), true, -1, -2L, -3LL, 4u, 5ul, 6ull,
                                                0.125, 1.5f, ld, std::hex, 255, std::dec, sh, path);
    CHECK(got == expected.str());
}
