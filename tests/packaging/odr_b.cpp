// zoa — ODR check, TU b: the same headers in a second TU of the same program
#include "zoa/zoa.hpp"

std::uint32_t odr_b() {
    zoa::rng r(1, 2);
    return r.next_u32() ^ static_cast<std::uint32_t>(zoa::to_string(zoa::error_code::io)[0]);
}
