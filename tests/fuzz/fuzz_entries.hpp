// zoa — the fuzz entry points: parse untrusted bytes, accept only zoa::error, check invariants of what was accepted
// SPDX-License-Identifier: MIT
#pragma once

// Shared by the libFuzzer targets (tests/fuzz/fuzz_<name>.cpp, clang) and the corpus replay test
// (tests/reliability/test_fuzz_replay.cpp, g++, part of `make test`). Each entry takes any byte string. Contract:
//   - malformed input ends in zoa::error (caught here, the input is rejected);
//   - any other exception escapes (std::bad_alloc, nlohmann's exceptions, std::out_of_range, ...): a finding;
//   - an accepted input must satisfy the invariants checked below, else zoa_fuzz::violation escapes: a finding;
//   - memory errors and undefined behaviour are caught by ASan/UBSan in the fuzz and sanitizer builds.
// Resource limits (so that a fuzzer does not report out-of-memory for inputs the library rightly accepts) are set
// through the library's own limits (gunzip's max_output) or by skipping the expensive step, never by weakening checks.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/adapt/state_io.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/error.hpp"
#include "zoa/data/idx.hpp"
#include "zoa/data/inflate.hpp"
#include "zoa/io/image.hpp"
#include "zoa/io/preprocess.hpp"
#include "zoa/io/safetensors.hpp"

namespace zoa_fuzz {

/// An accepted input broke an invariant (a silent wrong answer).
struct violation : std::logic_error {
    using std::logic_error::logic_error;
};

inline void check(bool ok, const char* what) {
    if (!ok) throw violation(std::string("zoa fuzz invariant violated: ") + what);
}

// ---- safetensors ------------------------------------------------------------------------------------------------

/// Validates the image; for an accepted one: every tensor lies inside the buffer, the tensors tile the data section,
/// lookups agree, and every tensor can be read with its own dtype (and converted to fp32 when floating-point).
inline void safetensors(const std::uint8_t* data, std::size_t size) {
    using zoa::io::dtype;
    try {
        const auto f = zoa::io::safetensors_file::from_buffer("fuzz.safetensors", data, size);
        check(f.file_size() == size, "file_size");
        check(f.header_size() + 8 <= size, "header inside the file");
        for (auto order : {zoa::io::key_order::header, zoa::io::key_order::sorted, zoa::io::key_order::data})
            check(f.keys(order).size() == f.size(), "keys() size");
        std::size_t total = 0;
        for (const auto& t : f.tensors()) {
            check(f.find(t.name) == &t, "find() returns the tensor");
            const auto b = f.bytes(t);
            check(b.size == t.num_bytes(), "bytes() size");
            check(b.data >= data + 8 + f.header_size() && b.size <= static_cast<std::size_t>(data + size - b.data),
                  "tensor bytes inside the data section");
            total += b.size;
            switch (t.dtype) {
                case dtype::f32:
                case dtype::f16:
                case dtype::bf16: {
                    const auto v = f.to_f32(t.name);
                    check(v.size() == t.elements, "to_f32 size");
                    break;
                }
                case dtype::i8: f.read<std::int8_t>(t.name); break;
                case dtype::u8: f.read<std::uint8_t>(t.name); break;
                case dtype::i16: f.read<std::int16_t>(t.name); break;
                case dtype::u16: f.read<std::uint16_t>(t.name); break;
                case dtype::i32: f.read<std::int32_t>(t.name); break;
                case dtype::u32: f.read<std::uint32_t>(t.name); break;
                case dtype::i64: f.read<std::int64_t>(t.name); break;
                case dtype::u64: f.read<std::uint64_t>(t.name); break;
                case dtype::f64: f.read<double>(t.name); break;
                default: break;
            }
            if (t.dtype != dtype::f32) {  // a wrong dtype must be refused with zoa::error, never reinterpreted
                bool refused = false;
                try {
                    f.read<float>(t.name);
                } catch (const zoa::error&) {
                    refused = true;
                }
                check(refused, "read<float> of a non-F32 tensor refused");
            }
        }
        check(total == size - 8 - f.header_size(), "tensors tile the data section");
        check(!f.contains("__metadata__"), "__metadata__ is not a tensor");
    } catch (const zoa::error&) {
    }
}

// ---- IDX and gzip -----------------------------------------------------------------------------------------------

/// Output limit for the fuzzer: 16 MiB (the library default is the 1 GiB order of a real dataset).
inline constexpr std::size_t max_inflated = std::size_t{1} << 24;

/// gunzip (when the magic is there) or raw DEFLATE, then the IDX header, images and labels parsers.
inline void idx_gzip(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> bytes;
    try {
        if (zoa::data::is_gzip(data, size)) {
            bytes = zoa::data::gunzip(data, size, "fuzz.gz", max_inflated);
            check(bytes.size() <= max_inflated, "gunzip honours max_output");
        } else {
            std::vector<std::uint8_t> out;
            try {
                const std::size_t used = zoa::data::inflate_raw(data, size, out, "fuzz.deflate", max_inflated);
                check(used <= size, "inflate_raw consumed no more than its input");
                check(out.size() <= max_inflated, "inflate_raw honours max_output");
            } catch (const zoa::error&) {
            }
            bytes.assign(data, data + size);
        }
    } catch (const zoa::error&) {
        return;
    }
    try {
        const auto h = zoa::data::parse_idx_header(bytes.data(), bytes.size(), "fuzz.idx");
        std::size_t count = 1;
        for (std::size_t d : h.dims) count *= d;
        check(h.data_offset + count * zoa::data::idx_dtype_size(h.dtype) == bytes.size(), "IDX size accounting");
    } catch (const zoa::error&) {
    }
    try {
        const auto images = zoa::data::parse_idx_images(bytes, "fuzz.idx");
        check(images.size() + 16 == bytes.size(), "IDX images size");
    } catch (const zoa::error&) {
    }
    try {
        const auto labels = zoa::data::parse_idx_labels(bytes, "fuzz.idx");
        check(labels.size() + 8 == bytes.size(), "IDX labels size");
        for (int l : labels) check(l >= 0 && l <= 255, "IDX label is a byte");
    } catch (const zoa::error&) {
    }
}

// ---- image decoding and preprocessing ----------------------------------------------------------------------------

/// Images above this many pixels are not decoded by the fuzzer (the header is still parsed): decoding a valid
/// 30000 × 30000 PNG is correct behaviour, just too slow for a fuzz iteration (128 × 128 is decoded).
inline constexpr std::size_t max_fuzz_pixels = std::size_t{1} << 14;

/// decode_image_info, decode_image (channels 0, 1 or 3, chosen by the last byte) and, for a decoded image,
/// prepare_image + normalize_chw + make_batch at a small size: every output value must be finite.
inline void image(const std::uint8_t* data, std::size_t size) {
    try {
        const auto info = zoa::io::decode_image_info(data, size, "fuzz.img");
        check(info.width > 0 && info.height > 0, "decoded size is positive");
        check(info.channels >= 1 && info.channels <= 4, "stored channels in 1..4");
        if (info.width * info.height > max_fuzz_pixels) return;
        const std::size_t channels = size == 0 ? 0 : std::size_t{data[size - 1]} % 3 == 2 ? 3 : data[size - 1] % 2;
        const auto img = zoa::io::decode_image(data, size, "fuzz.img", channels);
        check(img.dimension() == 3, "HWC image");
        const std::size_t c = img.shape(2);
        check(channels == 0 ? (c == 1 || c == 3) : c == channels, "requested channels");
        for (float v : img) check(v >= 0.0f && v <= 255.0f, "pixel in [0, 255]");
        zoa::io::preprocess_config cfg;
        cfg.channels = size % 2 == 0 ? 1 : 3;
        cfg.resize = 1 + size % 19;
        cfg.crop = 1 + size % 11;
        cfg.interpolation = static_cast<zoa::io::interpolation_mode>(size % 3);
        cfg.mean = {0.5f};
        cfg.std_dev = {0.25f};
        const auto prepared = zoa::io::prepare_image(img, cfg);
        check(prepared.shape(0) == cfg.crop && prepared.shape(1) == cfg.crop && prepared.shape(2) == cfg.channels,
              "prepared size");
        const auto batch = zoa::io::make_batch({img, prepared}, cfg);
        check(batch.shape(0) == 2 && batch.shape(1) == cfg.channels, "batch shape");
        for (float v : batch) check(std::isfinite(v), "batch values finite");
    } catch (const zoa::error&) {
    }
}

// ---- adapter state -------------------------------------------------------------------------------------------------

/// A two-norm toy network for restore(): embed (in → D) → LN1 → tanh → LN2 → head (C); features = [h1, h2].
struct toy_model {
    static constexpr std::size_t in = 4, D = 4, C = 3;
    std::vector<float> ln_w = std::vector<float>(D, 1.0f), ln_b = std::vector<float>(D, 0.0f);

    zoa::adapt::adapt_layout layout() const {
        zoa::adapt::adapt_layout l;
        l.norms = {{"ln1", D, ln_w.data(), ln_b.data()}, {"ln2", D, ln_w.data(), ln_b.data()}};
        l.feature_groups = {D, D};
        l.num_classes = C;
        l.family = zoa::adapt::model_family::vit;
        return l;
    }
    std::vector<float> classifier_weight() const { return std::vector<float>(C * D, 0.5f); }
    // h = LN(x)·w + b per row (mean/variance over D), features [h1, tanh(h1)], logits c = Σ_d h2[d]·(c+1)/D.
    void forward_adapt(const xt::xtensor<float, 2>& x, const zoa::adapt::forward_request& req,
                       zoa::adapt::forward_result& out) const {
        const std::size_t B = x.shape(0);
        const float* p = req.norm_params;
        out.features = xt::xtensor<float, 2>::from_shape({B, 2 * D});
        out.logits = xt::xtensor<float, 2>::from_shape({B, C});
        out.shifted_logits = xt::xtensor<float, 2>::from_shape({B, C});
        out.embed_mean.assign(D, 0.0f);
        out.embed_var.assign(D, 1.0f);
        for (std::size_t b = 0; b < B; ++b) {
            double m = 0, v = 0;
            for (std::size_t d = 0; d < D; ++d) m += x(b, d) / double(D);
            for (std::size_t d = 0; d < D; ++d) v += (x(b, d) - m) * (x(b, d) - m) / double(D);
            for (std::size_t d = 0; d < D; ++d) {
                const float n = static_cast<float>((x(b, d) - m) / std::sqrt(v + 1e-6));
                const float h1 = p != nullptr ? n * p[d] + p[D + d] : n;
                const float h2 = p != nullptr ? std::tanh(h1) * p[2 * D + d] + p[3 * D + d] : std::tanh(h1);
                out.features(b, d) = h1;
                out.features(b, D + d) = h2;
                out.embed_mean[d] += x(b, d) / static_cast<float>(B);
            }
            for (std::size_t c = 0; c < C; ++c) {
                float s = 0, ss = 0;
                for (std::size_t d = 0; d < D; ++d) {
                    s += out.features(b, D + d) * static_cast<float>(c + 1) / float(D);
                    ss += (out.features(b, D + d) + (req.shift != nullptr ? req.shift[d] : 0.0f)) *
                          static_cast<float>(c + 1) / float(D);
                }
                out.logits(b, c) = s;
                out.shifted_logits(b, c) = ss;
            }
        }
    }
};

/// load_zoa_state and load_source_statistics on the image; an accepted state is restored into a ZOA adapter over
/// the toy model, which then adapts on two batches (a non-finite forward must skip the update).
inline void adapter_state(const std::uint8_t* data, std::size_t size) {
    try {
        const auto f = zoa::io::safetensors_file::from_buffer("fuzz.state", data, size);
        try {
            const auto s = zoa::adapt::load_source_statistics(f);
            check(s.mean.size() == s.std.size(), "statistics sizes");
            for (float v : s.std) check(std::isfinite(v) && v >= 0.0f, "statistics std finite and >= 0");
        } catch (const zoa::error&) {
        }
        const auto state = zoa::adapt::load_zoa_state(f);
        for (float v : state.alpha) check(std::isfinite(v), "alpha finite");
        toy_model model;
        zoa::adapt::source_statistics src;
        src.groups = {toy_model::D, toy_model::D};
        src.mean.assign(2 * toy_model::D, 0.0f);
        src.std.assign(2 * toy_model::D, 1.0f);
        zoa::adapt::zoa_options opt;
        zoa::adapt::zoa_adapter<toy_model> adapter(model, opt, src);
        adapter.restore(state);
        xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({3, toy_model::in});
        for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i % 5) - 2.0f;
        for (int round = 0; round < 2; ++round) {
            // A finite but absurd state (|alpha| = 1e38) may overflow the forward pass: then the update must be
            // skipped (counted), never applied with non-finite values.
            const auto skipped = adapter.stats().skipped_updates;
            const auto& logits = adapter.predict_and_adapt(x);
            bool finite = true;
            for (float v : logits) finite = finite && std::isfinite(v);
            check(adapter.stats().batches == state.stats.batches + static_cast<std::uint64_t>(round) + 1,
                  "batch counter continues from the restored state");
            if (!finite && state.hist.empty() && round == 0)
                check(adapter.stats().skipped_updates == skipped + 1, "non-finite forward skips the update");
        }
    } catch (const zoa::error&) {
    }
}

}  // namespace zoa_fuzz
