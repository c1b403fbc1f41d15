// zoa — per-thread scratch buffers of the layers' forward passes, reused across calls (no allocation, page faults
// or zero-filling per forward once a buffer has reached its size)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"

namespace zoa::nn {

/// The scratch slots. Buffers that are alive at the same time on one thread have distinct slots; buffers that never
/// overlap share one (the attention's qkv and the MLP's hidden layer both use layer_0: one block runs one then the
/// other), so the memory kept equals the peak of one forward, not the sum of every layer's temporaries.
enum class scratch_slot : std::size_t {
    model_x = 0,   ///< model-level activations (ViT: residual stream x, normalised h, branch output a)
    model_h,
    model_a,
    layer_0,       ///< attention qkv / MLP hidden
    layer_1,       ///< attention merged heads
    layer_2,       ///< attention q/k/v codes
    linear_codes,  ///< qlinear input codes
    linear_neg,    ///< qlinear post-GELU negative plane
    linear_tmp,    ///< qlinear second GEMM output
    head_0,        ///< per-thread attention-head work (inside parallel regions)
    head_1,
    head_2,
    head_3,
    head_4,
    count
};

/// A 64-byte aligned buffer of at least n elements of T owned by the calling thread, valid until the same thread
/// asks for the same slot again. Contents are unspecified (a grown buffer is zeroed, a reused one keeps old
/// values). Memory: each slot keeps its largest size until the thread exits (steady state = one forward's peak).
/// Throws: zoa::error(argument) when the size overflows; std::bad_alloc.
template <class T>
T* thread_scratch(scratch_slot slot, std::size_t n) {
    thread_local std::vector<aligned_buffer<unsigned char>> buffers(static_cast<std::size_t>(scratch_slot::count));
    aligned_buffer<unsigned char>& b = buffers[static_cast<std::size_t>(slot)];
    require(n <= static_cast<std::size_t>(-1) / sizeof(T), error_code::argument, "thread_scratch: ", n,
            " elements overflow size_t");
    b.ensure(n * sizeof(T));
    return reinterpret_cast<T*>(b.data());  // operator new storage aligned to 64 bytes: any trivial T
}

}  // namespace zoa::nn
