// zoa — libFuzzer target: zoa_fuzz::adapter_state (see fuzz_entries.hpp for the contract)
// SPDX-License-Identifier: MIT
#include <cstddef>
#include <cstdint>

#include "fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    zoa_fuzz::adapter_state(data, size);
    return 0;
}
