// zoa — aligned, owning, move-only storage for kernel operands
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"

namespace zoa {

/// A heap array of trivially copyable T aligned to zoa::buffer_alignment (64 bytes), zero-initialised.
/// Move-only; copying is explicit through clone(). size() is in elements.
template <class T>
class aligned_buffer {
    static_assert(std::is_trivially_copyable_v<T>, "zoa::aligned_buffer: T must be trivially copyable");

public:
    aligned_buffer() noexcept = default;

    /// Throws: zoa::error(argument) when n * sizeof(T) overflows size_t.
    explicit aligned_buffer(std::size_t n) { reset(n); }

    aligned_buffer(aligned_buffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    aligned_buffer& operator=(aligned_buffer&& o) noexcept {
        if (this != &o) {
            release();
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    aligned_buffer(const aligned_buffer&) = delete;
    aligned_buffer& operator=(const aligned_buffer&) = delete;
    ~aligned_buffer() { release(); }

    /// Reallocates to n zeroed elements (old contents are dropped).
    /// Throws: zoa::error(argument) when n * sizeof(T) overflows size_t.
    void reset(std::size_t n) {
        release();
        if (n == 0) return;
        require(n <= static_cast<std::size_t>(-1) / sizeof(T), error_code::argument, "aligned_buffer: ", n,
                " elements overflow size_t");
        const std::size_t bytes = (n * sizeof(T) + buffer_alignment - 1) / buffer_alignment * buffer_alignment;
        data_ = static_cast<T*>(::operator new[](bytes, std::align_val_t{buffer_alignment}));
        std::memset(static_cast<void*>(data_), 0, bytes);
        size_ = n;
    }

    /// Grows to at least n elements, keeping nothing; a no-op when already large enough (scratch reuse).
    void ensure(std::size_t n) {
        if (n > size_) reset(n);
    }

    /// A deep copy.
    aligned_buffer clone() const {
        aligned_buffer b(size_);
        if (size_) std::memcpy(static_cast<void*>(b.data_), data_, size_ * sizeof(T));
        return b;
    }

    /// Element access and iteration (unchecked; data() is nullptr and begin() == end() when empty).
    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T& operator[](std::size_t i) noexcept { return data_[i]; }
    const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    T* begin() noexcept { return data_; }
    T* end() noexcept { return data_ + size_; }
    const T* begin() const noexcept { return data_; }
    const T* end() const noexcept { return data_ + size_; }

private:
    void release() noexcept {
        if (data_) ::operator delete[](static_cast<void*>(data_), std::align_val_t{buffer_alignment});
        data_ = nullptr;
        size_ = 0;
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace zoa
