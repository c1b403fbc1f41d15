// zoa — safetensors reader: read a file into memory, validate it completely, expose tensors as raw bytes, fp32 or
// typed copies
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/half.hpp"
#include "zoa/io/read_file.hpp"
#include "zoa/io/safetensors_dtype.hpp"
#include "zoa/io/safetensors_header.hpp"

namespace zoa::io {

/// Read-only view of bytes inside a safetensors image (no alignment promised).
struct byte_view {
    const unsigned char* data = nullptr;  ///< first byte
    std::size_t size = 0;                 ///< bytes
};

/// Orders for safetensors_file::keys().
enum class key_order {
    header,  ///< as listed in the JSON header
    sorted,  ///< lexicographic by bytes
    data,    ///< by position in the data section
};

namespace detail {
/// Copies n little-endian elements of `size` bytes from src into dst (memcpy on little-endian hosts).
template <class = void>
inline void copy_little_endian(void* dst, const unsigned char* src, std::size_t n, std::size_t size) noexcept {
    if (n == 0) return;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    auto* d = static_cast<unsigned char*>(dst);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t b = 0; b < size; ++b) d[i * size + b] = src[i * size + size - 1 - b];
#else
    std::memcpy(dst, src, n * size);
#endif
}
}  // namespace detail

/// A validated safetensors file. open() reads the file into memory (io::read_file: a file replaced or truncated
/// later cannot affect it, and one that changes while it is read is refused) and checks every rule of the format
/// before returning
/// (see parse_safetensors_header); a failed open throws and leaves no object. Afterwards every tensor's bytes are
/// known to lie inside the file, so accessors only check the caller's request (name, dtype, element count).
/// Move-only. Thread safety: immutable after construction; const members may be called concurrently.
class safetensors_file {
public:
    /// Reads and validates `path`.
    /// Throws: zoa::error(io) if the file cannot be opened or read (missing, directory, FIFO, permissions, changed
    ///         while being read); zoa::error(format) for any violation of the format, naming the path, the key,
    ///         expected and actual.
    template <class = void>
    static safetensors_file open(const std::string& path) { return from_bytes(path, read_file(path)); }

    /// Validates an in-memory image without copying it; `label` names it in messages.
    /// Requires: data[0, size) stays valid and unchanged for the lifetime of the returned object.
    template <class = void>
    static safetensors_file from_buffer(std::string label, const void* data, std::size_t size) {
        safetensors_file f;
        f.label_ = std::move(label);
        f.init(static_cast<const unsigned char*>(data), size);
        return f;
    }

    /// Validates an in-memory image and takes ownership of it.
    template <class = void>
    static safetensors_file from_bytes(std::string label, std::vector<unsigned char> bytes) {
        safetensors_file f;
        f.label_ = std::move(label);
        f.owned_ = std::move(bytes);
        f.init(f.owned_.data(), f.owned_.size());
        return f;
    }

    safetensors_file(safetensors_file&&) noexcept = default;
    safetensors_file& operator=(safetensors_file&&) noexcept = default;
    safetensors_file(const safetensors_file&) = delete;
    safetensors_file& operator=(const safetensors_file&) = delete;
    ~safetensors_file() = default;

    /// The path (or label) used in messages.
    const std::string& path() const noexcept { return label_; }
    /// Number of tensors.
    std::size_t size() const noexcept { return header_.tensors.size(); }
    /// Total file size in bytes.
    std::size_t file_size() const noexcept { return size_; }
    /// Byte length N of the JSON header (including padding); the data section starts at 8 + N.
    std::size_t header_size() const noexcept { return header_.header_size; }
    /// All tensors in header order.
    const std::vector<tensor_info>& tensors() const noexcept { return header_.tensors; }
    /// `__metadata__` (empty map when absent).
    const std::map<std::string, std::string>& metadata() const noexcept { return header_.metadata; }

    /// Tensor names in the requested order.
    template <class = void>
    std::vector<std::string> keys(key_order order = key_order::header) const {
        std::vector<std::string> out;
        out.reserve(size());
        if (order == key_order::sorted) {
            for (std::size_t i : by_name_) out.push_back(header_.tensors[i].name);
        } else if (order == key_order::data) {
            std::vector<const tensor_info*> v;
            for (const auto& t : header_.tensors) v.push_back(&t);
            std::stable_sort(v.begin(), v.end(), [](const tensor_info* a, const tensor_info* b) {
                return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
            });
            for (const auto* t : v) out.push_back(t->name);
        } else {
            for (const auto& t : header_.tensors) out.push_back(t.name);
        }
        return out;
    }

    /// The tensor called `name`, or nullptr. O(log n).
    template <class = void>
    const tensor_info* find(std::string_view name) const noexcept {
        auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name, [&](std::size_t i, std::string_view n) {
            return std::string_view(header_.tensors[i].name) < n;
        });
        if (it == by_name_.end() || header_.tensors[*it].name != name) return nullptr;
        return &header_.tensors[*it];
    }

    /// Whether a tensor called `name` exists.
    bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }

    /// The tensor called `name`. Throws: zoa::error(argument) naming the file and key when absent.
    template <class = void>
    const tensor_info& info(std::string_view name) const {
        const tensor_info* t = find(name);
        if (t == nullptr)
            fail(error_code::argument, label_, ": no tensor ", detail::quote_key(name), " (the file has ", size(),
                 " tensors)");
        return *t;
    }

    /// The tensor's bytes inside the file image (little-endian, row-major, possibly unaligned).
    template <class = void>
    byte_view bytes(std::string_view name) const { return bytes(info(name)); }
    /// Same, for a tensor_info obtained from this file.
    template <class = void>
    byte_view bytes(const tensor_info& t) const noexcept {
        return {base_ + header_.data_offset + t.begin, t.num_bytes()};
    }

    /// Throws: zoa::error(shape) "<file>: tensor '<key>': shape [a, b], expected [c, d]" unless the shapes match.
    template <class = void>
    void expect_shape(std::string_view name, const std::vector<std::size_t>& expected) const {
        const tensor_info& t = info(name);
        if (t.shape != expected)
            fail(error_code::shape, label_, ": tensor ", detail::quote_key(t.name), ": shape ",
                 detail::shape_string(t.shape), ", expected ", detail::shape_string(expected));
    }

    /// Converts an F32, F16 or BF16 tensor to fp32 into dst[0, count), exactly (every F16/BF16 value, including
    /// subnormals, ±inf and NaN payloads, is representable in fp32). Unaligned data is handled.
    /// Requires: dst holds count floats. Throws: zoa::error(argument) if count != elements;
    ///           zoa::error(format) if the dtype is not F32/F16/BF16 (the message names it).
    template <class = void>
    void to_f32(std::string_view name, float* dst, std::size_t count) const {
        const tensor_info& t = info(name);
        check_count(t, count);
        const unsigned char* src = bytes(t).data;
        switch (t.dtype) {
            case dtype::f32:
                detail::copy_little_endian(dst, src, count, 4);
                break;
            case dtype::f16:
                f16_to_f32(src, dst, count);
                break;
            case dtype::bf16:
                bf16_to_f32(src, dst, count);
                break;
            default:
                fail(error_code::format, label_, ": tensor ", detail::quote_key(t.name), ": dtype ", to_string(t.dtype),
                     " cannot be converted to fp32, expected F32, F16 or BF16");
        }
    }

    /// to_f32 into a new vector of elements() floats.
    template <class = void>
    std::vector<float> to_f32(std::string_view name) const {
        const tensor_info& t = info(name);
        std::vector<float> out(t.elements);
        to_f32(name, out.data(), out.size());
        return out;
    }

    /// Copies the raw elements of a tensor whose dtype is exactly dtype_of_v<T> (int8_t↔I8, uint8_t↔U8,
    /// int32_t↔I32, int64_t↔I64, float↔F32, ...; no conversion) into dst[0, count).
    /// Throws: zoa::error(format) on a dtype mismatch, zoa::error(argument) if count != elements.
    template <class T>
    void read(std::string_view name, T* dst, std::size_t count) const {
        static_assert(std::is_arithmetic_v<T>, "zoa::io::safetensors_file::read<T>: T must be an arithmetic type");
        const tensor_info& t = info(name);
        if (t.dtype != dtype_of_v<T>)
            fail(error_code::format, label_, ": tensor ", detail::quote_key(t.name), ": dtype ", to_string(t.dtype),
                 ", expected ", to_string(dtype_of_v<T>));
        check_count(t, count);
        detail::copy_little_endian(dst, bytes(t).data, count, sizeof(T));
    }

    /// read<T> into a new vector of elements() values.
    template <class T>
    std::vector<T> read(std::string_view name) const {
        const tensor_info& t = info(name);
        std::vector<T> out(t.elements);
        read<T>(name, out.data(), out.size());
        return out;
    }

private:
    safetensors_file() = default;

    template <class = void>
    void init(const unsigned char* data, std::size_t size) {
        base_ = data;
        size_ = size;
        header_ = parse_safetensors_header(label_, data, size);
        by_name_.resize(header_.tensors.size());
        for (std::size_t i = 0; i < by_name_.size(); ++i) by_name_[i] = i;
        std::sort(by_name_.begin(), by_name_.end(),
                  [&](std::size_t a, std::size_t b) { return header_.tensors[a].name < header_.tensors[b].name; });
    }

    template <class = void>
    void check_count(const tensor_info& t, std::size_t count) const {
        if (count != t.elements)
            fail(error_code::argument, label_, ": tensor ", detail::quote_key(t.name), ": destination holds ", count,
                 " elements, the tensor has ", t.elements, " (shape ", detail::shape_string(t.shape), ")");
    }

    std::string label_;
    std::vector<unsigned char> owned_;
    const unsigned char* base_ = nullptr;
    std::size_t size_ = 0;
    safetensors_header header_;
    std::vector<std::size_t> by_name_;  // indices into header_.tensors sorted by name
};

}  // namespace zoa::io
