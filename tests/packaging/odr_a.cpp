// zoa — ODR check, TU a: includes the umbrella and uses non-template helpers
#include "zoa/zoa.hpp"

std::uint32_t odr_a() {
    zoa::rng r(1, 2);
    return r.next_u32() ^ static_cast<std::uint32_t>(zoa::to_string(zoa::error_code::io)[0]);
}
