// zoa — per-module quantizer parameters and their flat name → float-vector form (ready for safetensors)
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/quant/params.hpp"

namespace zoa::quant {

/// Flat tensor form: key → float vector. Integers (kinds, bits, zero points) are stored as exactly representable
/// floats, so a safetensors F32 writer can store every entry unchanged.
using tensor_map = std::map<std::string, std::vector<float>>;

/// Version tag written as the first element of every `<prefix>.config` vector.
inline constexpr int quant_params_format = 1;

/// What a two-operand module's operands are. The PTQ4ViT search always searches operand 0 first, then operand 1.
enum class module_kind : int {
    weighted = 0,  ///< linear / conv: operand 0 = weight, operand 1 = input ("weight_quant", "input_quant")
    matmul = 1,    ///< attention matmul A·B: operand 0 = A, operand 1 = B ("a_quant", "b_quant")
};

/// The two quantizers of one module (a linear/conv layer or an attention matmul).
struct module_params {
    module_kind kind = module_kind::weighted;  ///< what the two operands are
    std::array<quant_params, 2> operand{};     ///< operand 0 = weight / A, operand 1 = input / B

    /// Named access to the operands: weight()/input() for weighted modules, a()/b() for matmuls.
    quant_params& weight() noexcept { return operand[0]; }
    const quant_params& weight() const noexcept { return operand[0]; }
    quant_params& input() noexcept { return operand[1]; }
    const quant_params& input() const noexcept { return operand[1]; }
    quant_params& a() noexcept { return operand[0]; }
    const quant_params& a() const noexcept { return operand[0]; }
    quant_params& b() noexcept { return operand[1]; }
    const quant_params& b() const noexcept { return operand[1]; }

    /// Key role of operand i: "weight"/"input" or "a"/"b".
    template <class = void>
    const char* role(std::size_t i) const noexcept {
        if (kind == module_kind::matmul) return i == 0 ? "a" : "b";
        return i == 0 ? "weight" : "input";
    }

    friend bool operator==(const module_params& x, const module_params& y) {
        return x.kind == y.kind && x.operand == y.operand;
    }
    friend bool operator!=(const module_params& x, const module_params& y) { return !(x == y); }
};

/// Writes p under `prefix`: `<prefix>.config` = [format, kind, scheme, granularity, bits, neg_scale, split],
/// `<prefix>.scale` (when p has scales), `<prefix>.zero_point` (asymmetric only).
template <class = void>
inline void to_tensors(const quant_params& p, const std::string& prefix, tensor_map& out) {
    out[prefix + ".config"] = {float(quant_params_format),
                               float(static_cast<int>(p.kind)),
                               float(static_cast<int>(p.sch)),
                               float(static_cast<int>(p.gran)),
                               float(p.bits),
                               p.neg_scale,
                               p.split};
    if (!p.scale.empty()) out[prefix + ".scale"] = p.scale;
    if (!p.zero_point.empty()) {
        std::vector<float> z(p.zero_point.size());
        for (std::size_t i = 0; i < z.size(); ++i) z[i] = static_cast<float>(p.zero_point[i]);
        out[prefix + ".zero_point"] = std::move(z);
    }
}

namespace detail {
/// m[key]. Throws: zoa::error(format) naming a missing key.
template <class = void>
inline const std::vector<float>& find_key(const tensor_map& m, const std::string& key) {
    const auto it = m.find(key);
    if (it == m.end()) fail(error_code::format, "quant params: missing tensor '", key, "'");
    return it->second;
}
/// v as an int. Throws: zoa::error(format) unless v is an integer in [lo, hi].
template <class = void>
inline int small_int(float v, int lo, int hi, const std::string& key, const char* field) {
    require(std::isfinite(v) && v == std::floor(v) && v >= float(lo) && v <= float(hi), error_code::format,
            "quant params: '", key, "' field ", field, " must be an integer in [", lo, ", ", hi, "], got ", v);
    return static_cast<int>(v);
}
}  // namespace detail

/// Reads the quant_params written by to_tensors(p, prefix, ...).
/// Throws: zoa::error(format) naming the key when a tensor is missing, has the wrong length or a bad field;
/// zoa::error(argument) from quant_params::validate when the values are inconsistent.
template <class = void>
inline quant_params quant_params_from_tensors(const tensor_map& m, const std::string& prefix) {
    const std::string ck = prefix + ".config";
    const std::vector<float>& c = detail::find_key(m, ck);
    require(c.size() == 7, error_code::format, "quant params: '", ck, "' must have 7 values, got ", c.size());
    const int version = detail::small_int(c[0], 0, 1000, ck, "format");
    require(version == quant_params_format, error_code::format, "quant params: '", ck, "' has format ", version,
            ", this zoa reads format ", quant_params_format);
    quant_params p;
    p.kind = static_cast<quantizer_kind>(detail::small_int(c[1], 0, 3, ck, "kind"));
    p.sch = static_cast<scheme>(detail::small_int(c[2], 0, 1, ck, "scheme"));
    p.gran = static_cast<granularity>(detail::small_int(c[3], 0, 3, ck, "granularity"));
    p.bits = detail::small_int(c[4], 2, 32, ck, "bits");
    p.neg_scale = c[5];
    p.split = c[6];
    if (p.kind != quantizer_kind::none) p.scale = detail::find_key(m, prefix + ".scale");
    if (p.kind == quantizer_kind::uniform && p.sch == scheme::asymmetric) {
        const std::string zk = prefix + ".zero_point";
        const std::vector<float>& z = detail::find_key(m, zk);
        p.zero_point.resize(z.size());
        for (std::size_t i = 0; i < z.size(); ++i) p.zero_point[i] = detail::small_int(z[i], 0, 255, zk, "zero point");
    }
    p.validate(prefix);
    return p;
}

/// Writes both operands of a module named `name`: `<name>.<role>_quant.{config,scale,zero_point}`,
/// e.g. "blocks.0.attn.qkv.weight_quant.scale", "blocks.0.attn.matmul2.a_quant.config".
template <class = void>
inline void to_tensors(const module_params& mp, const std::string& name, tensor_map& out) {
    for (std::size_t i = 0; i < 2; ++i) to_tensors(mp.operand[i], name + "." + mp.role(i) + "_quant", out);
}

/// True for the keys to_tensors() writes: "<module>.<role>_quant.{config,scale,zero_point}" (model loaders use it to
/// tell quantizer tensors from weights in one file).
template <class = void>
inline bool is_param_key(const std::string& k) {
    for (const char* suffix : {"_quant.config", "_quant.scale", "_quant.zero_point"}) {
        const std::string s(suffix);
        if (k.size() > s.size() && k.compare(k.size() - s.size(), s.size(), s) == 0) return true;
    }
    return false;
}

/// Calibrated parameters of a whole model: module name (timm/torchvision style) → its two quantizers.
struct model_quant_params {
    std::map<std::string, module_params> modules;  ///< module name → its quantizers

    /// Flat form of every module (see to_tensors(module_params, ...)).
    template <class = void>
    tensor_map to_tensors() const {
        tensor_map out;
        for (const auto& [name, mp] : modules) ::zoa::quant::to_tensors(mp, name, out);
        return out;
    }

    /// Inverse of to_tensors(): every key ending in "<role>_quant.config" names a module operand; keys that do not
    /// end in "_quant.{config,scale,zero_point}" are ignored (so weights may share the map/file).
    /// Throws: zoa::error(format) when a module has only one of its two operands, mixes weight/input with a/b
    /// roles, or an operand's tensors are malformed (see quant_params_from_tensors).
    template <class = void>
    static model_quant_params from_tensors(const tensor_map& m) {
        static const char* const roles[4] = {"weight", "input", "a", "b"};
        static const std::string suffix = "_quant.config";
        model_quant_params r;
        std::map<std::string, int> seen;  // module → bitmask of roles found
        for (const auto& kv : m) {
            const std::string& key = kv.first;
            if (key.size() <= suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
                continue;
            const std::string head = key.substr(0, key.size() - suffix.size());  // "<name>.<role>"
            const std::size_t dot = head.rfind('.');
            require(dot != std::string::npos && dot > 0, error_code::format, "quant params: key '", key,
                    "' has no module name before the role");
            const std::string name = head.substr(0, dot), role = head.substr(dot + 1);
            int idx = -1;
            for (int i = 0; i < 4; ++i)
                if (role == roles[i]) idx = i;
            require(idx >= 0, error_code::format, "quant params: key '", key, "' has role '", role,
                    "', expected weight, input, a or b");
            seen[name] |= 1 << idx;
            module_params& mp = r.modules[name];
            mp.kind = idx >= 2 ? module_kind::matmul : module_kind::weighted;
            mp.operand[std::size_t(idx % 2)] = quant_params_from_tensors(m, head + "_quant");
        }
        for (const auto& [name, mask] : seen)
            require(mask == 3 || mask == 12, error_code::format, "quant params: module '", name,
                    "' must have exactly the roles {weight, input} or {a, b}; found role mask ", mask);
        return r;
    }
};

}  // namespace zoa::quant
