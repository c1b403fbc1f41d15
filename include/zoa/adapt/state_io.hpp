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

#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/objective.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/error.hpp"
#include "zoa/io/safetensors.hpp"

namespace zoa::adapt {

/// Adds source statistics to a writer: tensors `<prefix>mean`, `<prefix>std` (F32) and `<prefix>groups` (I64).
template <class = void>
inline void write_source_statistics(io::safetensors_writer& w, const source_statistics& s,
                                    const std::string& prefix = "") {
    w.add(prefix + "mean", {s.mean.size()}, s.mean);
    w.add(prefix + "std", {s.std.size()}, s.std);
    const std::vector<std::int64_t> groups(s.groups.begin(), s.groups.end());
    w.add(prefix + "groups", {groups.size()}, groups);
}

/// Reads what write_source_statistics wrote under `prefix` (no provenance).
/// Throws: zoa::error(format) when sizes disagree, a mean/std value is not finite or a std value is negative.
template <class = void>
inline source_statistics read_source_statistics(const io::safetensors_file& f, const std::string& prefix = "") {
    const std::string& path = f.path();
    source_statistics s;
    s.mean = f.to_f32(prefix + "mean");
    s.std = f.to_f32(prefix + "std");
    for (auto g : f.read<std::int64_t>(prefix + "groups")) {
        require(g > 0, error_code::format, path, ": tensor '", prefix, "groups' has a non-positive size ", g);
        s.groups.push_back(static_cast<std::size_t>(g));
    }
    std::size_t total = 0;
    bool overflow = false;
    for (auto g : s.groups) {
        overflow = overflow || g > std::numeric_limits<std::size_t>::max() - total;
        total = overflow ? total : total + g;
    }
    require(!overflow, error_code::format, path, ": tensor '", prefix, "groups' sizes overflow size_t");
    require(s.mean.size() == s.std.size() && total == s.mean.size(), error_code::format, path, ": '", prefix,
            "mean' has ", s.mean.size(), " entries, '", prefix, "std' ", s.std.size(), ", '", prefix,
            "groups' sum to ", total);
    for (std::size_t i = 0; i < s.mean.size(); ++i)
        require(std::isfinite(s.mean[i]) && std::isfinite(s.std[i]) && s.std[i] >= 0.0f, error_code::format, path,
                ": source statistics entry ", i, " is mean ", s.mean[i], ", std ", s.std[i],
                " (expected finite values, std >= 0)");
    return s;
}

/// Writes source statistics (write_source_statistics); the provenance map goes to __metadata__ together with
/// "zoa.kind" = "source_statistics".
template <class = void>
inline void save_source_statistics(const source_statistics& s, const std::string& path) {
    io::safetensors_writer w;
    write_source_statistics(w, s);
    for (const auto& [k, v] : s.provenance) w.set_metadata(k, v);
    w.set_metadata("zoa.kind", "source_statistics");
    w.save(path);
}

/// Reads source statistics from a validated safetensors image (a file or a buffer; f.path() names it in messages).
/// Throws: zoa::error(format) when it is not a source-statistics file, and as read_source_statistics.
template <class = void>
inline source_statistics load_source_statistics(const io::safetensors_file& f) {
    const auto& meta = f.metadata();
    const auto kind = meta.find("zoa.kind");
    require(kind != meta.end() && kind->second == "source_statistics", error_code::format, f.path(),
            ": not a zoa source-statistics file (metadata zoa.kind is '",
            kind == meta.end() ? std::string("<missing>") : kind->second, "')");
    source_statistics s = read_source_statistics(f);
    for (const auto& [k, v] : meta)
        if (k != "zoa.kind") s.provenance[k] = v;
    return s;
}

/// Reads a file written by save_source_statistics. Throws: as above; zoa::error(io) when it cannot be opened.
template <class = void>
inline source_statistics load_source_statistics(const std::string& path) {
    return load_source_statistics(io::safetensors_file::open(path));
}

/// Throws zoa::error(argument) naming the first provenance key whose value differs from `expected`
/// (keys absent from the statistics are reported as missing).
template <class = void>
inline void check_provenance(const source_statistics& s, const std::map<std::string, std::string>& expected) {
    for (const auto& [k, v] : expected) {
        const auto it = s.provenance.find(k);
        require(it != s.provenance.end(), error_code::argument, "source statistics lack provenance '", k,
                "' (expected '", v, "')");
        require(it->second == v, error_code::argument, "source statistics were computed for ", k, " = '",
                it->second, "', but the model has '", v, "'");
    }
}

/// Adds adapter counters as the I64 tensor `<prefix>counters` = [batches, forwards, domain_shifts, skipped_updates].
template <class = void>
inline void write_adapter_stats(io::safetensors_writer& w, const adapter_stats& s, const std::string& prefix = "") {
    const std::vector<std::int64_t> counters{static_cast<std::int64_t>(s.batches), static_cast<std::int64_t>(s.forwards),
                                             static_cast<std::int64_t>(s.domain_shifts),
                                             static_cast<std::int64_t>(s.skipped_updates)};
    w.add(prefix + "counters", {counters.size()}, counters);
}

/// Reads what write_adapter_stats wrote. Throws: zoa::error(format) unless `<prefix>counters` holds 4
/// non-negative entries.
template <class = void>
inline adapter_stats read_adapter_stats(const io::safetensors_file& f, const std::string& prefix = "") {
    const std::string name = prefix + "counters";
    const auto c = f.read<std::int64_t>(name);
    require(c.size() == 4, error_code::format, f.path(), ": tensor '", name, "' has ", c.size(), " entries, expected 4");
    for (std::size_t i = 0; i < 4; ++i)
        require(c[i] >= 0, error_code::format, f.path(), ": tensor '", name, "' entry ", i, " is negative (", c[i], ")");
    adapter_stats s;
    s.batches = static_cast<std::uint64_t>(c[0]);
    s.forwards = static_cast<std::uint64_t>(c[1]);
    s.domain_shifts = static_cast<std::uint64_t>(c[2]);
    s.skipped_updates = static_cast<std::uint64_t>(c[3]);
    return s;
}

namespace detail {
/// `<prefix><name>` as F32, every entry finite. Throws: zoa::error(format) naming the tensor and the entry.
template <class = void>
inline std::vector<float> read_finite_f32(const io::safetensors_file& f, const std::string& name) {
    std::vector<float> v = f.to_f32(name);
    for (std::size_t i = 0; i < v.size(); ++i)
        require(std::isfinite(v[i]), error_code::format, f.path(), ": tensor '", name, "' entry ", i, " is ", v[i],
                " (adapter state must be finite)");
    return v;
}
}  // namespace detail

/// Metadata keys of the model identity of an adapter state (state_identity's fields; prefixed like the tensors).
inline constexpr const char* state_identity_keys[4] = {"zoa.model_family", "zoa.precision", "zoa.adapted_layout",
                                                       "zoa.weights_fingerprint"};

/// Adds a ZOA adapter's mutable state (bank, α, ε, similarity, SGD buffer, shift history, domain statistics,
/// counters) to a writer, every tensor name prefixed with `prefix`, and the identity of its model as metadata
/// `<prefix>zoa.model_family`, `<prefix>zoa.precision`, `<prefix>zoa.adapted_layout`, `<prefix>zoa.weights_fingerprint`.
/// Throws: zoa::error(argument) when the state carries no identity (it did not come from zoa_adapter::snapshot()).
template <class = void>
inline void write_zoa_state(io::safetensors_writer& w, const zoa_state& s, const std::string& prefix = "") {
    require(!s.identity.family.empty() && !s.identity.fingerprint.empty(), error_code::argument,
            "write_zoa_state: the adapter state has no model identity (take it with zoa_adapter::snapshot())");
    const std::string* id[4] = {&s.identity.family, &s.identity.precision, &s.identity.layout,
                                &s.identity.fingerprint};
    for (int i = 0; i < 4; ++i) w.set_metadata(prefix + state_identity_keys[i], *id[i]);
    auto put = [&](const char* name, const std::vector<float>& v) { w.add(prefix + name, {v.size()}, v); };
    put("alpha", s.alpha);
    put("deltas", s.deltas);
    put("epsilon", s.epsilon);
    put("similarity", s.similarity);
    put("sgd_buffer", s.sgd_buffer);
    put("hist", s.hist);
    put("domain_mean", s.domain_mean);
    put("domain_var", s.domain_var);
    write_adapter_stats(w, s.stats, prefix);
}

/// Reads what write_zoa_state wrote under `prefix`; pass the result to zoa_adapter::restore (which checks the
/// identity, the sizes against the model and the bank capacity, and the value ranges, before changing anything).
/// Throws: zoa::error(format) when the model identity metadata is missing, a tensor is missing or has the wrong
/// dtype, a value is not finite, or 'counters' does not hold 4 non-negative entries.
template <class = void>
inline zoa_state read_zoa_state(const io::safetensors_file& f, const std::string& prefix = "") {
    zoa_state s;
    std::string* id[4] = {&s.identity.family, &s.identity.precision, &s.identity.layout, &s.identity.fingerprint};
    for (int i = 0; i < 4; ++i) {
        const auto it = f.metadata().find(prefix + state_identity_keys[i]);
        require(it != f.metadata().end(), error_code::format, f.path(), ": adapter state without metadata '",
                prefix + state_identity_keys[i], "' (which names the model it was adapted on)");
        *id[i] = it->second;
    }
    s.alpha = detail::read_finite_f32(f, prefix + "alpha");
    s.deltas = detail::read_finite_f32(f, prefix + "deltas");
    s.epsilon = detail::read_finite_f32(f, prefix + "epsilon");
    s.similarity = detail::read_finite_f32(f, prefix + "similarity");
    s.sgd_buffer = detail::read_finite_f32(f, prefix + "sgd_buffer");
    s.hist = detail::read_finite_f32(f, prefix + "hist");
    s.domain_mean = detail::read_finite_f32(f, prefix + "domain_mean");
    s.domain_var = detail::read_finite_f32(f, prefix + "domain_var");
    s.stats = read_adapter_stats(f, prefix);
    return s;
}

/// Writes an adapter's mutable state (write_zoa_state) as a file of its own, metadata zoa.kind = "zoa_state",
/// atomically (io::atomic_file: a crash or kill -9 during the save leaves the previous file and no temporary).
template <class = void>
inline void save_zoa_state(const zoa_state& s, const std::string& path) {
    io::safetensors_writer w;
    write_zoa_state(w, s);
    w.set_metadata("zoa.kind", "zoa_state");
    w.save(path);
}

/// Reads adapter state written by save_zoa_state from a validated safetensors image (a file or a buffer; f.path()
/// names it in messages); pass the result to zoa_adapter::restore.
/// Throws: zoa::error(format) when it is not an adapter-state file, and as read_zoa_state.
template <class = void>
inline zoa_state load_zoa_state(const io::safetensors_file& f) {
    const auto kind = f.metadata().find("zoa.kind");
    require(kind != f.metadata().end() && kind->second == "zoa_state", error_code::format, f.path(),
            ": not a zoa adapter-state file");
    return read_zoa_state(f);
}

/// Adds a FOA adapter's state: the CMA-ES state (F64 `<prefix>es.{mean,pc,ps,c,bt,d,best_x}`, `es.scalars` =
/// [σ, best f], I64 `es.counters` = [identity, dirty, generation, evaluations, last eigen generation, eigen
/// updates, best generation, best valid]), `best_prompt`, `hist` (F32) and the counters.
template <class = void>
inline void write_foa_state(io::safetensors_writer& w, const foa_state& s, const std::string& prefix = "") {
    const auto put = [&](const std::string& name, const std::vector<double>& v) { w.add(prefix + name, {v.size()}, v); };
    put("es.mean", s.es.mean);
    put("es.pc", s.es.pc);
    put("es.ps", s.es.ps);
    put("es.c", s.es.c);
    put("es.bt", s.es.bt);
    put("es.d", s.es.d);
    const std::vector<double> best(s.es.best.x.begin(), s.es.best.x.end());
    put("es.best_x", best);
    put("es.scalars", {s.es.sigma, s.es.best.f});
    const std::vector<std::int64_t> c{s.es.identity, s.es.dirty, static_cast<std::int64_t>(s.es.generation),
                                      static_cast<std::int64_t>(s.es.evaluations),
                                      static_cast<std::int64_t>(s.es.last_eigen_generation),
                                      static_cast<std::int64_t>(s.es.eigen_updates),
                                      static_cast<std::int64_t>(s.es.best.generation), s.es.best.valid};
    w.add(prefix + "es.counters", {c.size()}, c);
    w.add(prefix + "best_prompt", {s.best_prompt.size()}, s.best_prompt);
    w.add(prefix + "hist", {s.hist.size()}, s.hist);
    write_adapter_stats(w, s.stats, prefix);
}

/// Reads what write_foa_state wrote under `prefix`; foa_adapter::restore checks the sizes against the model.
/// Throws: zoa::error(format) when a tensor is missing, has the wrong dtype or count, or a value is not finite
/// (best f may be +inf before the first generation).
template <class = void>
inline foa_state read_foa_state(const io::safetensors_file& f, const std::string& prefix = "") {
    const auto get = [&](const std::string& name) {
        std::vector<double> v = f.read<double>(prefix + name);
        for (std::size_t i = 0; i < v.size(); ++i)
            require(std::isfinite(v[i]), error_code::format, f.path(), ": tensor '", prefix + name, "' entry ", i,
                    " is ", v[i], " (adapter state must be finite)");
        return v;
    };
    foa_state s;
    s.es.mean = get("es.mean");
    s.es.pc = get("es.pc");
    s.es.ps = get("es.ps");
    s.es.c = get("es.c");
    s.es.bt = get("es.bt");
    s.es.d = get("es.d");
    const std::vector<double> best = get("es.best_x");
    s.es.best.x.assign(best.begin(), best.end());
    const std::vector<double> sc = f.read<double>(prefix + "es.scalars");
    const std::vector<std::int64_t> c = f.read<std::int64_t>(prefix + "es.counters");
    require(sc.size() == 2 && c.size() == 8, error_code::format, f.path(), ": tensors '", prefix, "es.scalars' and '",
            prefix, "es.counters' have ", sc.size(), " and ", c.size(), " entries, expected 2 and 8");
    require(std::isfinite(sc[0]) && !std::isnan(sc[1]), error_code::format, f.path(), ": tensor '", prefix,
            "es.scalars' holds ", sc[0], ", ", sc[1], " (expected a finite sigma and a best fitness)");
    for (std::size_t i = 0; i < 8; ++i)
        require(c[i] >= 0, error_code::format, f.path(), ": tensor '", prefix, "es.counters' entry ", i,
                " is negative (", c[i], ")");
    s.es.sigma = sc[0];
    s.es.best.f = sc[1];
    s.es.identity = c[0] != 0;
    s.es.dirty = c[1] != 0;
    s.es.generation = static_cast<std::size_t>(c[2]);
    s.es.evaluations = static_cast<std::size_t>(c[3]);
    s.es.last_eigen_generation = static_cast<std::size_t>(c[4]);
    s.es.eigen_updates = static_cast<std::size_t>(c[5]);
    s.es.best.generation = static_cast<std::size_t>(c[6]);
    s.es.best.valid = c[7] != 0;
    s.best_prompt = detail::read_finite_f32(f, prefix + "best_prompt");
    s.hist = detail::read_finite_f32(f, prefix + "hist");
    s.stats = read_adapter_stats(f, prefix);
    return s;
}

/// Adds a T3A adapter's state: I64 `<prefix>t3a.counts` (supports per class), F32 `t3a.rows`, F64
/// `t3a.entropies`, and the counters.
template <class State>
void write_t3a_state(io::safetensors_writer& w, const State& s, const std::string& prefix = "") {
    const std::vector<std::int64_t> counts(s.supports.counts.begin(), s.supports.counts.end());
    w.add(prefix + "t3a.counts", {counts.size()}, counts);
    w.add(prefix + "t3a.rows", {s.supports.rows.size()}, s.supports.rows);
    w.add(prefix + "t3a.entropies", {s.supports.entropies.size()}, s.supports.entropies);
    write_adapter_stats(w, s.stats, prefix);
}

/// Reads what write_t3a_state wrote into `s` (t3a_adapter<Model>::state); t3a_adapter::restore checks the sizes.
/// Throws: zoa::error(format) when a tensor is missing or has the wrong dtype, a count is negative.
template <class State>
void read_t3a_state(const io::safetensors_file& f, State& s, const std::string& prefix = "") {
    for (const auto c : f.read<std::int64_t>(prefix + "t3a.counts")) {
        require(c >= 0, error_code::format, f.path(), ": tensor '", prefix, "t3a.counts' holds a negative count ", c);
        s.supports.counts.push_back(static_cast<std::size_t>(c));
    }
    s.supports.rows = f.read<float>(prefix + "t3a.rows");
    s.supports.entropies = f.read<double>(prefix + "t3a.entropies");
    s.stats = read_adapter_stats(f, prefix);
}

/// Reads a file written by save_zoa_state. Throws: as above; zoa::error(io) when it cannot be opened.
template <class = void>
inline zoa_state load_zoa_state(const std::string& path) { return load_zoa_state(io::safetensors_file::open(path)); }

}  // namespace zoa::adapt
