// zoa tests — the message of the zoa::error a callable throws, for checking what a user would read.
#pragma once

#include <string>
#include <utility>

#include "zoa/core/error.hpp"

namespace zoa_test {

/// Message of the zoa::error thrown by fn ("" when nothing is thrown; any other exception propagates and fails the test).
template <class Fn>
std::string error_of(Fn&& fn) {
    try {
        std::forward<Fn>(fn)();
    } catch (const zoa::error& e) {
        return e.what();
    }
    return "";
}

}  // namespace zoa_test
