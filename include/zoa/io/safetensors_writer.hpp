// zoa — safetensors writer: deterministic layout, space-padded header, atomic save (io::atomic_file)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/atomic_file.hpp"
#include "zoa/io/half.hpp"
#include "zoa/io/json.hpp"
#include "zoa/io/safetensors_dtype.hpp"
#include "zoa/io/safetensors_header.hpp"

namespace zoa::io {

/// Collects tensors (copies of their bytes) and `__metadata__`, then writes a safetensors file.
/// Layout, identical for identical inputs: header = {"__metadata__": {keys sorted}, tensors sorted by name}, compact
/// JSON padded with spaces so that 8 + N is a multiple of 8; data ordered by descending dtype alignment, then name
/// (the reference writer's order), so every tensor starts at a multiple of its alignment when the data section does.
/// Reading the file back yields bit-identical tensor bytes.
class safetensors_writer {
public:
    /// Adds a tensor of arithmetic T (float→F32, int8_t→I8, uint8_t→U8, int32_t→I32, int64_t→I64, ...) by copying
    /// data[0, count). Throws: zoa::error(argument) on a duplicate, reserved ("__metadata__") or non-UTF-8
    /// name, if count != Π shape, or if the rank exceeds safetensors_max_rank.
    template <class T>
    void add(const std::string& name, const std::vector<std::size_t>& shape, const T* data, std::size_t count) {
        static_assert(std::is_arithmetic_v<T>, "zoa::io::safetensors_writer::add: T must be an arithmetic type");
        entry e = new_entry(name, dtype_of_v<T>, shape, count);
        e.bytes.resize(count * sizeof(T));
        if (count != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            for (std::size_t i = 0; i < count; ++i)
                for (std::size_t b = 0; b < sizeof(T); ++b)
                    e.bytes[i * sizeof(T) + b] = reinterpret_cast<const unsigned char*>(data + i)[sizeof(T) - 1 - b];
#else
            std::memcpy(e.bytes.data(), data, count * sizeof(T));
#endif
        }
        commit(name, std::move(e));
    }

    /// add(name, shape, data.data(), data.size()).
    template <class T>
    void add(const std::string& name, const std::vector<std::size_t>& shape, const std::vector<T>& data) {
        add(name, shape, data.data(), data.size());
    }

    /// Adds fp32 values stored as F16, each rounded with float_to_half (round-to-nearest-even, overflow → ±inf).
    template <class = void>
    void add_f16(const std::string& name, const std::vector<std::size_t>& shape, const float* data, std::size_t count) {
        entry e = new_entry(name, dtype::f16, shape, count);
        e.bytes.resize(2 * count);
        for (std::size_t i = 0; i < count; ++i) store_le16(e.bytes.data() + 2 * i, float_to_half(data[i]));
        commit(name, std::move(e));
    }

    /// Adds fp32 values stored as BF16, each rounded with float_to_bf16 (round-to-nearest-even).
    template <class = void>
    void add_bf16(const std::string& name, const std::vector<std::size_t>& shape, const float* data,
                  std::size_t count) {
        entry e = new_entry(name, dtype::bf16, shape, count);
        e.bytes.resize(2 * count);
        for (std::size_t i = 0; i < count; ++i) store_le16(e.bytes.data() + 2 * i, float_to_bf16(data[i]));
        commit(name, std::move(e));
    }

    /// Adds already-encoded little-endian bytes of any dtype (e.g. copied from a safetensors_file).
    /// Throws: zoa::error(argument) as add(), or if nbytes != Π shape × bit_size(type) / 8 (or that is fractional).
    template <class = void>
    void add_raw(const std::string& name, dtype type, const std::vector<std::size_t>& shape, const void* data,
                 std::size_t nbytes) {
        const std::size_t elements = element_count(name, shape);
        std::size_t bits = 0;
        if (!detail::checked_mul(elements, bit_size(type), bits))
            fail(error_code::argument, "safetensors_writer: tensor ", detail::quote_key(name), ": shape ",
                 detail::shape_string(shape), " × ", to_string(type), " overflows size_t bits");
        if (bits % 8 != 0 || bits / 8 != nbytes)
            fail(error_code::argument, "safetensors_writer: tensor ", detail::quote_key(name), ": ", nbytes,
                 " bytes given, shape ", detail::shape_string(shape), " × ", to_string(type), " needs ",
                 bits % 8 == 0 ? std::to_string(bits / 8) : std::to_string(bits) + " bits");
        entry e = new_entry(name, type, shape, elements);
        e.bytes.assign(static_cast<const unsigned char*>(data), static_cast<const unsigned char*>(data) + nbytes);
        commit(name, std::move(e));
    }

    /// Sets one `__metadata__` entry (replacing an earlier value). Throws: zoa::error(argument) on non-UTF-8 text.
    template <class = void>
    void set_metadata(const std::string& key, const std::string& value) {
        check_utf8("metadata key", key);
        check_utf8("metadata value", value);
        metadata_[key] = value;
    }

    /// Number of tensors added.
    template <class = void>
    std::size_t size() const noexcept {
        return entries_.size();
    }
    /// Whether a tensor called `name` was added.
    template <class = void>
    bool contains(const std::string& name) const {
        return entries_.count(name) != 0;
    }

    /// The complete file image.
    template <class = void>
    std::vector<unsigned char> to_bytes() const {
        std::vector<unsigned char> out;
        emit([&](const unsigned char* p, std::size_t n) { out.insert(out.end(), p, p + n); });
        return out;
    }

    /// Writes the file atomically (io::atomic_file: an unnamed temporary file in the same directory, flushed, then
    /// renamed over `path`; a crash or kill -9 before the rename leaves `path` untouched and no temporary file).
    /// Throws: zoa::error(io) naming the path and the reason (directory missing, permissions, disk full, ...).
    template <class = void>
    void save(const std::string& path) const {
        atomic_file out(path);
        save(out);
    }

    /// Writes the file image into `out` and commits it (for callers that create their outputs before the work that
    /// fills them, so an unwritable path fails early). Throws: zoa::error(io) as above.
    template <class = void>
    void save(atomic_file& out) const {
        emit([&](const unsigned char* p, std::size_t n) { out.write(p, n); });
        out.commit();
    }

private:
    struct entry {
        dtype type = dtype::f32;
        std::vector<std::size_t> shape;
        std::vector<unsigned char> bytes;
    };

    template <class = void>
    static void check_utf8(const char* what, const std::string& s) {
        std::size_t bad = 0;
        if (!detail::valid_utf8(reinterpret_cast<const unsigned char*>(s.data()), s.size(), bad))
            fail(error_code::argument, "safetensors_writer: ", what, " ", detail::quote_key(s),
                 " is not valid UTF-8 (byte offset ", bad, ")");
    }

    template <class = void>
    static std::size_t element_count(const std::string& name, const std::vector<std::size_t>& shape) {
        if (shape.size() > safetensors_max_rank)
            fail(error_code::argument, "safetensors_writer: tensor ", detail::quote_key(name), ": rank ", shape.size(),
                 " exceeds ", safetensors_max_rank);
        std::size_t n = 1;
        for (std::size_t d : shape)
            if (!detail::checked_mul(n, d, n))
                fail(error_code::argument, "safetensors_writer: tensor ", detail::quote_key(name), ": shape ",
                     detail::shape_string(shape), " overflows size_t");
        return n;
    }

    // Validates name and shape and returns an entry to fill; commit() inserts it (so a failed add inserts nothing).
    template <class = void>
    entry new_entry(const std::string& name, dtype type, const std::vector<std::size_t>& shape, std::size_t count) {
        if (name == "__metadata__")
            fail(error_code::argument, "safetensors_writer: '__metadata__' is reserved and cannot name a tensor");
        check_utf8("tensor name", name);
        if (entries_.count(name) != 0)
            fail(error_code::argument, "safetensors_writer: duplicate tensor ", detail::quote_key(name));
        const std::size_t n = element_count(name, shape);
        if (n != count)
            fail(error_code::argument, "safetensors_writer: tensor ", detail::quote_key(name), ": shape ",
                 detail::shape_string(shape), " has ", n, " elements, ", count, " given");
        entry e;
        e.type = type;
        e.shape = shape;
        return e;
    }

    template <class = void>
    void commit(const std::string& name, entry&& e) {
        entries_.emplace(name, std::move(e));
    }

    // Streams the file image to sink(const unsigned char*, size_t) in order.
    template <class Sink>
    void emit(Sink&& sink) const {
        std::vector<const std::pair<const std::string, entry>*> order;
        for (const auto& kv : entries_) order.push_back(&kv);
        std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
            return alignment_of(a->second.type) > alignment_of(b->second.type);  // names stay sorted within a class
        });
        std::map<std::string, std::pair<std::size_t, std::size_t>> offsets;
        std::size_t pos = 0;
        for (const auto* kv : order) {
            offsets[kv->first] = {pos, pos + kv->second.bytes.size()};
            pos += kv->second.bytes.size();
        }
        json::value header = json::value::object();  // members in insertion order
        if (!metadata_.empty()) {
            json::value meta = json::value::object();
            for (const auto& kv : metadata_) meta.push_back(kv.first, kv.second);  // map keys: unique
            header.push_back("__metadata__", std::move(meta));
        }
        for (const auto& kv : entries_) {
            const auto& off = offsets[kv.first];
            json::value e = json::value::object();
            e.set("dtype", std::string(to_string(kv.second.type)));
            e.set("shape", json::value::array_of(kv.second.shape));
            e.set("data_offsets", json::value::array_of(std::vector<std::size_t>{off.first, off.second}));
            header.push_back(kv.first, std::move(e));
        }
        std::string text = header.dump();
        text.append((8 - text.size() % 8) % 8, ' ');  // 8 + N ≡ 0 (mod 8)
        if (text.size() > safetensors_max_header_size)
            fail(error_code::argument, "safetensors_writer: header of ", text.size(), " bytes exceeds the ",
                 safetensors_max_header_size, "-byte limit readers accept");
        unsigned char len[8];
        std::uint64_t n = text.size();
        for (unsigned char& b : len) {
            b = static_cast<unsigned char>(n & 0xffu);
            n >>= 8;
        }
        sink(len, 8);
        sink(reinterpret_cast<const unsigned char*>(text.data()), text.size());
        for (const auto* kv : order)
            if (!kv->second.bytes.empty()) sink(kv->second.bytes.data(), kv->second.bytes.size());
    }

    std::map<std::string, entry> entries_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace zoa::io
