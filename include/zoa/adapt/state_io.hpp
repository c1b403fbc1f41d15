// zoa — safetensors files for source statistics (with provenance) and adapter state (a fleet shares domains)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "zoa/adapt/objective.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/error.hpp"
#include "zoa/io/safetensors.hpp"

namespace zoa::adapt {

/// Writes source statistics: tensors "mean", "std" (F32) and "groups" (I64); the provenance map goes to
/// __metadata__ together with "zoa.kind" = "source_statistics".
inline void save_source_statistics(const source_statistics& s, const std::string& path) {
    io::safetensors_writer w;
    w.add("mean", {s.mean.size()}, s.mean);
    w.add("std", {s.std.size()}, s.std);
    const std::vector<std::int64_t> groups(s.groups.begin(), s.groups.end());
    w.add("groups", {groups.size()}, groups);
    for (const auto& [k, v] : s.provenance) w.set_metadata(k, v);
    w.set_metadata("zoa.kind", "source_statistics");
    w.save(path);
}

/// Reads source statistics from a validated safetensors image (a file or a buffer; f.path() names it in messages).
/// Throws: zoa::error(format) when it is not a source-statistics file, sizes disagree, a mean/std value is not
/// finite or a std value is negative.
inline source_statistics load_source_statistics(const io::safetensors_file& f) {
    const std::string& path = f.path();
    const auto& meta = f.metadata();
    const auto kind = meta.find("zoa.kind");
    require(kind != meta.end() && kind->second == "source_statistics", error_code::format, path,
            ": not a zoa source-statistics file (metadata zoa.kind is '",
            kind == meta.end() ? std::string("<missing>") : kind->second, "')");
    source_statistics s;
    s.mean = f.to_f32("mean");
    s.std = f.to_f32("std");
    for (auto g : f.read<std::int64_t>("groups")) {
        require(g > 0, error_code::format, path, ": tensor 'groups' has a non-positive size ", g);
        s.groups.push_back(static_cast<std::size_t>(g));
    }
    std::size_t total = 0;
    bool overflow = false;
    for (auto g : s.groups) {
        overflow = overflow || g > std::numeric_limits<std::size_t>::max() - total;
        total = overflow ? total : total + g;
    }
    require(!overflow, error_code::format, path, ": tensor 'groups' sizes overflow size_t");
    require(s.mean.size() == s.std.size() && total == s.mean.size(), error_code::format, path, ": 'mean' has ",
            s.mean.size(), " entries, 'std' ", s.std.size(), ", 'groups' sum to ", total);
    for (std::size_t i = 0; i < s.mean.size(); ++i)
        require(std::isfinite(s.mean[i]) && std::isfinite(s.std[i]) && s.std[i] >= 0.0f, error_code::format, path,
                ": source statistics entry ", i, " is mean ", s.mean[i], ", std ", s.std[i],
                " (expected finite values, std >= 0)");
    for (const auto& [k, v] : meta)
        if (k != "zoa.kind") s.provenance[k] = v;
    return s;
}

/// Reads a file written by save_source_statistics. Throws: as above; zoa::error(io) when it cannot be opened.
inline source_statistics load_source_statistics(const std::string& path) {
    return load_source_statistics(io::safetensors_file::open(path));
}

/// Throws zoa::error(argument) naming the first provenance key whose value differs from `expected`
/// (keys absent from the statistics are reported as missing).
inline void check_provenance(const source_statistics& s, const std::map<std::string, std::string>& expected) {
    for (const auto& [k, v] : expected) {
        const auto it = s.provenance.find(k);
        require(it != s.provenance.end(), error_code::argument, "source statistics lack provenance '", k,
                "' (expected '", v, "')");
        require(it->second == v, error_code::argument, "source statistics were computed for ", k, " = '",
                it->second, "', but the model has '", v, "'");
    }
}

/// Metadata keys of the model identity in an adapter-state file (state_identity's fields).
inline constexpr const char* state_identity_keys[4] = {"zoa.model_family", "zoa.precision", "zoa.adapted_layout",
                                                       "zoa.weights_fingerprint"};

/// Writes an adapter's mutable state (bank, α, ε, similarity, SGD buffer, shift history, domain statistics) and the
/// identity of its model (metadata zoa.model_family, zoa.precision, zoa.adapted_layout, zoa.weights_fingerprint),
/// atomically (io::atomic_file).
/// Throws: zoa::error(argument) when the state carries no identity (not from snapshot()); zoa::error(io).
inline void save_zoa_state(const zoa_state& s, const std::string& path) {
    require(!s.identity.family.empty() && !s.identity.fingerprint.empty(), error_code::argument, path,
            ": the adapter state has no model identity (take it with zoa_adapter::snapshot())");
    io::safetensors_writer w;
    auto put = [&](const char* name, const std::vector<float>& v) { w.add(name, {v.size()}, v); };
    put("alpha", s.alpha);
    put("deltas", s.deltas);
    put("epsilon", s.epsilon);
    put("similarity", s.similarity);
    put("sgd_buffer", s.sgd_buffer);
    put("hist", s.hist);
    put("domain_mean", s.domain_mean);
    put("domain_var", s.domain_var);
    const std::vector<std::int64_t> counters{static_cast<std::int64_t>(s.stats.batches),
                                             static_cast<std::int64_t>(s.stats.forwards),
                                             static_cast<std::int64_t>(s.stats.domain_shifts),
                                             static_cast<std::int64_t>(s.stats.skipped_updates)};
    w.add("counters", {counters.size()}, counters);
    w.set_metadata("zoa.kind", "zoa_state");
    const std::string* id[4] = {&s.identity.family, &s.identity.precision, &s.identity.layout,
                                &s.identity.fingerprint};
    for (int i = 0; i < 4; ++i) w.set_metadata(state_identity_keys[i], *id[i]);
    w.save(path);
}

/// Reads adapter state written by save_zoa_state from a validated safetensors image (a file or a buffer; f.path()
/// names it in messages); pass the result to zoa_adapter::restore (which checks the identity, the sizes against the
/// model and the bank capacity, and the value ranges, before changing anything).
/// Throws: zoa::error(format) when it is not an adapter-state file, the model identity metadata is missing, a tensor
/// is missing or has the wrong dtype, a value is not finite, or 'counters' does not hold 4 non-negative entries.
inline zoa_state load_zoa_state(const io::safetensors_file& f) {
    const std::string& path = f.path();
    const auto kind = f.metadata().find("zoa.kind");
    require(kind != f.metadata().end() && kind->second == "zoa_state", error_code::format, path,
            ": not a zoa adapter-state file");
    zoa_state s;
    std::string* id[4] = {&s.identity.family, &s.identity.precision, &s.identity.layout, &s.identity.fingerprint};
    for (int i = 0; i < 4; ++i) {
        const auto it = f.metadata().find(state_identity_keys[i]);
        require(it != f.metadata().end(), error_code::format, path, ": adapter state without metadata '",
                state_identity_keys[i], "' (which names the model it was adapted on)");
        *id[i] = it->second;
    }
    s.alpha = f.to_f32("alpha");
    s.deltas = f.to_f32("deltas");
    s.epsilon = f.to_f32("epsilon");
    s.similarity = f.to_f32("similarity");
    s.sgd_buffer = f.to_f32("sgd_buffer");
    s.hist = f.to_f32("hist");
    s.domain_mean = f.to_f32("domain_mean");
    s.domain_var = f.to_f32("domain_var");
    const auto c = f.read<std::int64_t>("counters");
    require(c.size() == 4, error_code::format, path, ": tensor 'counters' has ", c.size(), " entries, expected 4");
    for (std::size_t i = 0; i < 4; ++i)
        require(c[i] >= 0, error_code::format, path, ": tensor 'counters' entry ", i, " is negative (", c[i], ")");
    const std::pair<const char*, const std::vector<float>*> all[] = {
        {"alpha", &s.alpha},      {"deltas", &s.deltas}, {"epsilon", &s.epsilon},         {"similarity", &s.similarity},
        {"sgd_buffer", &s.sgd_buffer}, {"hist", &s.hist}, {"domain_mean", &s.domain_mean}, {"domain_var", &s.domain_var}};
    for (const auto& [name, v] : all)
        for (std::size_t i = 0; i < v->size(); ++i)
            require(std::isfinite((*v)[i]), error_code::format, path, ": tensor '", name, "' entry ", i, " is ",
                    (*v)[i], " (adapter state must be finite)");
    s.stats.batches = static_cast<std::uint64_t>(c[0]);
    s.stats.forwards = static_cast<std::uint64_t>(c[1]);
    s.stats.domain_shifts = static_cast<std::uint64_t>(c[2]);
    s.stats.skipped_updates = static_cast<std::uint64_t>(c[3]);
    return s;
}

/// Reads a file written by save_zoa_state. Throws: as above; zoa::error(io) when it cannot be opened.
inline zoa_state load_zoa_state(const std::string& path) { return load_zoa_state(io::safetensors_file::open(path)); }

}  // namespace zoa::adapt
