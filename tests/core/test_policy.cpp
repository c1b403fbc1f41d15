// zoa — tests for the order-free policy bundle
#include <doctest/doctest.h>

#include "zoa/core/policy.hpp"

#include <type_traits>

namespace zoa::axis {
struct test_bits;
struct test_perturb;
struct test_bank;
}  // namespace zoa::axis

namespace {
struct bits8 {
    using axis = zoa::axis::test_bits;
    static constexpr int value = 8;
};
struct bits4 {
    using axis = zoa::axis::test_bits;
    static constexpr int value = 4;
};
struct uniform_p {
    using axis = zoa::axis::test_perturb;
};
struct rademacher_p {
    using axis = zoa::axis::test_perturb;
};
template <int N>
struct bank_p {
    using axis = zoa::axis::test_bank;
    static constexpr int capacity = N;
};
struct not_an_option {};
}  // namespace

namespace zoa::axis {
struct test_bits {
    using default_option = bits8;
};
struct test_perturb {
    using default_option = uniform_p;
};
struct test_bank {
    using default_option = bank_p<32>;
};
}  // namespace zoa::axis

TEST_CASE("omitted axes take their defaults") {
    using P = zoa::policy<>;
    static_assert(std::is_same_v<P::get<zoa::axis::test_bits>, bits8>);
    static_assert(std::is_same_v<P::get<zoa::axis::test_perturb>, uniform_p>);
    static_assert(std::is_same_v<zoa::policy_get_t<P, zoa::axis::test_bank>, bank_p<32>>);
    CHECK(zoa::policy_get_t<P, zoa::axis::test_bank>::capacity == 32);
}

TEST_CASE("options are found regardless of order") {
    using A = zoa::policy<bits4, rademacher_p, bank_p<8>>;
    using B = zoa::policy<bank_p<8>, bits4, rademacher_p>;
    static_assert(std::is_same_v<A::get<zoa::axis::test_bits>, B::get<zoa::axis::test_bits>>);
    static_assert(std::is_same_v<A::get<zoa::axis::test_perturb>, rademacher_p>);
    static_assert(std::is_same_v<B::get<zoa::axis::test_bank>, bank_p<8>>);
    CHECK(A::get<zoa::axis::test_bits>::value == 4);
    CHECK(B::get<zoa::axis::test_bank>::capacity == 8);
}

TEST_CASE("trait helpers") {
    static_assert(zoa::is_policy_v<zoa::policy<bits4>>);
    static_assert(!zoa::is_policy_v<bits4>);
    static_assert(zoa::detail::has_axis<bits4>::value);
    static_assert(!zoa::detail::has_axis<not_an_option>::value);
    static_assert(zoa::detail::count_axis<zoa::axis::test_bits, bits4, uniform_p, bits8> == 2);
    static_assert(!zoa::detail::unique_axes<bits4, bits8>::value);
    static_assert(zoa::detail::unique_axes<bits4, uniform_p>::value);
    CHECK(true);  // the assertions above are the test; compile-fail cases live in tests/compile_fail
}
