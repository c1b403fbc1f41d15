// zoa — `zoa stream`'s run: the arguments, the domains and their data, the report and checkpoints, and one method
// over the stream on one model type (run_vit / run_resnet). cmd_stream.cpp parses and dispatches; each model type
// (family × precision) is compiled in its own translation unit, examples/cli/stream/*.cpp: the eight of them compile
// in parallel instead of one file holding every model × precision × method (the CLI's longest compile).
// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include <cerrno>
#include <csignal>
#include <sys/types.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "model_files.hpp"
#include "model_options.hpp"
#include "outputs.hpp"
#include "report.hpp"
#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/shift_detector.hpp"
#include "zoa/adapt/state_io.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/data/batch_loader.hpp"
#include "zoa/data/corruptions.hpp"
#include "zoa/data/idx.hpp"
#include "zoa/data/image_folder.hpp"
#include "zoa/data/inflate.hpp"
#include "zoa/data/stream_sources.hpp"
#include "zoa/io/image.hpp"
#include "zoa/io/preprocess.hpp"
#include "zoa/io/preprocess_metadata.hpp"
#include "zoa/io/safetensors.hpp"
#include "zoa/models/resnet.hpp"
#include "zoa/models/vit.hpp"
#include "zoa/models/vit_calibration.hpp"
#include "zoa/models/vit_io.hpp"

namespace zoa_cli::stream {

namespace fs = std::filesystem;

/// Status lines ("loading...", "calibrating...") go to stderr only on a terminal: in logs and scripts stderr then
/// holds nothing but the one-line error of a failed run (exit status 2).
__attribute__((format(printf, 1, 2))) inline void note(const char* fmt, ...) {
    static const bool tty = isatty(fileno(stderr)) != 0;
    if (!tty) return;
    va_list args;
    va_start(args, fmt);
    std::vfprintf(stderr, fmt, args);
    va_end(args);
}

using batch_t = xt::xtensor<float, 4>;

struct stream_args {
    std::string weights, precision, source = "fmnist-train", calib = "fmnist-train", out, svg, save;
    std::string source_transform = "model";  ///< "model" (the file's preprocessing) or "reference" (Resize 256/224)
    std::string log, checkpoint, resume;
    std::vector<std::string> methods, data, zoa_set;  // zoa_set: key=value overrides of zoa_options
    std::size_t rounds = 1, batch = 64, limit = 0, threads = 1, source_images = 2048, calib_images = 32;
    std::size_t checkpoint_every = 50, prefetch = 2, loader_threads = 0;
    std::uint64_t seed = 2020;
    bool progress = false, source_given = false, calib_given = false, calib_images_given = false;
    bool allow_unused = false;  ///< --allow-unused: tensors the model does not use are not an error
    zoa_cli::model_flags model;
    zoa::io::decode_limits limits;
    std::vector<std::string> command;  // the arguments, for --out (without --resume FILE)
};

/// One domain of the stream: a Fashion-MNIST split (optionally corrupted) or a class folder.
struct domain {
    std::string name;        ///< printed name (the corruption, "fmnist", or the folder)
    std::string split;       ///< "test" or "train" for Fashion-MNIST domains, "" for folders
    std::string corruption;  ///< empty = clean
    int severity = 0;
    std::string folder;
};

inline std::vector<std::string> split_list(const std::string& s, char sep = ',') {
    std::vector<std::string> out;
    std::size_t b = 0;
    while (b <= s.size()) {
        const std::size_t e = s.find(sep, b);
        const std::string item = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
        if (!item.empty() || sep != ',') out.push_back(item);
        if (e == std::string::npos) break;
        b = e + 1;
    }
    return out;
}

inline std::string join(const std::vector<std::string>& v, const char* sep = ",") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

inline int parse_severity(const std::string& v, const std::string& spec) {
    return static_cast<int>(zoa_cli::parse_integer("zoa stream: severity " + v + " in '" + spec + "'", v, 1, 5));
}

inline bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

/// The domains of one --data item (imagenet-c:ROOT expands to the 15 corruptions).
inline std::vector<domain> parse_domains(const std::string& spec) {
    domain d;
    if (spec == "fmnist" || spec == "fmnist-test") {
        d.name = "fmnist", d.split = "test";
    } else if (spec == "fmnist-train") {
        d.name = "fmnist-train", d.split = "train";
    } else if (spec.rfind("fmnist-c:", 0) == 0) {
        const std::size_t colon = spec.find(':', 9);
        zoa::require(colon != std::string::npos, zoa::error_code::argument, "zoa stream: data spec '", spec,
                     "' must be fmnist-c:<corruption>:<severity 1..5>");
        d.corruption = spec.substr(9, colon - 9);
        d.severity = parse_severity(spec.substr(colon + 1), spec);
        zoa::data::corruption(d.corruption);  // throws with the list of valid names
        d.name = d.corruption, d.split = "test";
    } else if (spec.rfind("imagenet-c:", 0) == 0) {
        // imagenet-c:ROOT, imagenet-c:ROOT:SEV, imagenet-c:ROOT:CORRUPTION:SEV (ROOT may itself hold ':')
        std::vector<std::string> parts = split_list(spec.substr(11), ':');
        std::vector<std::string> corruptions;
        int severity = 5;
        if (parts.size() >= 3 && zoa::data::find_corruption(parts[parts.size() - 2]) != nullptr &&
            all_digits(parts.back())) {
            severity = parse_severity(parts.back(), spec);
            corruptions.push_back(parts[parts.size() - 2]);
            parts.resize(parts.size() - 2);
        } else {
            if (parts.size() >= 2 && all_digits(parts.back())) {
                severity = parse_severity(parts.back(), spec);
                parts.pop_back();
            }
            for (const auto c : zoa::data::benchmark_corruptions) corruptions.emplace_back(c);
        }
        const std::string root = join(parts, ":");
        zoa::require(!root.empty(), zoa::error_code::argument, "zoa stream: data spec '", spec,
                     "' must be imagenet-c:ROOT[:SEVERITY] or imagenet-c:ROOT:CORRUPTION:SEVERITY");
        std::vector<domain> out;
        for (const auto& c : corruptions) {
            domain x;
            x.name = c;
            x.corruption = c;
            x.severity = severity;
            x.folder = (fs::path(root) / c / std::to_string(severity)).string();
            out.push_back(x);
        }
        return out;
    } else {
        d.folder = spec;
        d.name = spec;
    }
    return {d};
}

/// Exactly one domain (--source, --calib).
inline domain parse_one_domain(const std::string& flag, const std::string& spec) {
    const auto ds = parse_domains(spec);
    zoa::require(ds.size() == 1, zoa::error_code::argument, "zoa stream: ", flag, " '", spec,
                 "' names ", ds.size(), " domains, expected one");
    return ds[0];
}

/// Where the images of every domain come from: Fashion-MNIST (read once, kept: 55 MB for both splits, whatever the
/// stream's length) and class folders (listed when the stream reaches them).
struct data_source {
    zoa::io::preprocess_config pre;
    zoa::io::decode_limits limits;
    std::mutex m;
    std::shared_ptr<const zoa::data::idx_dataset> test, train;

    std::shared_ptr<const zoa::data::idx_dataset> fmnist(const std::string& split) {
        std::lock_guard<std::mutex> lk(m);  // openers run on loader threads
        auto& slot = split == "train" ? train : test;
        if (!slot) {
            const auto s =
                split == "train" ? zoa::data::fashion_mnist_split::train : zoa::data::fashion_mnist_split::test;
            zoa::require(zoa::data::fashion_mnist_available(s), zoa::error_code::io,
                         "zoa stream: Fashion-MNIST not found in ", zoa::data::fashion_mnist_dir(),
                         " (apt-get install dataset-fashion-mnist)");
            slot = std::make_shared<const zoa::data::idx_dataset>(zoa::data::load_fashion_mnist(s));
        }
        return slot;
    }

    zoa::data::image_folder_options folder_options(std::size_t limit, std::uint64_t seed) const {
        // Seeded shuffle, as the reference's test loaders (shuffle=True): sorted class order would feed the
        // adapter one class at a time, and --limit would keep only the first classes.
        zoa::data::image_folder_options fo;
        fo.shuffle = true;
        fo.seed = seed;
        fo.limit = limit;
        fo.channels = pre.channels;
        fo.limits = limits;
        return fo;
    }

    /// Up to `limit` images (0 = all) of the domain in a seeded shuffled order; Fashion-MNIST images corrupted per
    /// image with seed·1000003 + image index (the same corrupted image in every round).
    zoa::data::source_opener opener(const domain& d, std::size_t limit, std::uint64_t seed) {
        if (!d.folder.empty()) return zoa::data::folder_opener(d.folder, folder_options(limit, seed));
        return [this, d, limit, seed] {
            zoa::data::idx_source_options o;
            o.channels = pre.channels;
            o.seed = seed;
            o.limit = limit;
            o.corruption = d.corruption;
            o.severity = d.severity;
            return zoa::data::idx_source(fmnist(d.split), o);
        };
    }

    /// Images and classes of the domain (lists a folder; checks it exists before hours of streaming).
    std::pair<std::size_t, std::size_t> size_of(const domain& d, std::size_t limit, std::uint64_t seed) {
        if (!d.folder.empty()) {
            const zoa::data::image_folder f(d.folder, folder_options(limit, seed));
            return {f.size(), f.classes().size()};
        }
        const auto ds = fmnist(d.split);
        return {limit ? std::min(limit, ds->size()) : ds->size(), ds->class_names.size()};
    }

    /// One batch of `n` images of a domain (calibration), through the same pipeline as the stream.
    batch_t first_images(const domain& d, std::size_t n, std::uint64_t seed) {
        zoa::data::batch_loader_options o;
        o.batch_size = n;
        o.depth = 0;
        zoa::data::batch_loader l({opener(d, n, seed)}, pre, o);
        zoa::data::stream_batch b;
        zoa::require(l.next(b), zoa::error_code::argument, "zoa stream: '", d.name, "' holds no image");
        return std::move(b.images);
    }
};

inline std::size_t correct(const xt::xtensor<float, 2>& logits, const std::vector<int>& labels) {
    std::size_t ok = 0;
    for (std::size_t b = 0; b < logits.shape(0); ++b) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < logits.shape(1); ++c)
            if (logits(b, c) > logits(b, best)) best = c;
        ok += static_cast<int>(best) == labels[b];
    }
    return ok;
}

// ---- checkpoint: the run's identity, everything reported so far, the position, the adapter state ----------------

inline constexpr const char* checkpoint_kind = "zoa_stream_checkpoint";

/// Everything reported so far and where the stream stands (all of it goes into a checkpoint).
struct report_state {
    std::string printed;                    ///< stdout so far
    std::vector<std::vector<double>> acc;   ///< per method: accuracy of each finished (round, domain)
    std::size_t method = 0;                 ///< the method in progress (== methods.size(): finished)
    std::size_t next_batch = 0;             ///< its next batch (stream sequence number)
    // the (round, domain) in progress
    std::uint64_t ok = 0, images = 0, batches = 0, forwards = 0;
    double ms = 0;
    std::uint64_t log_bytes = 0;            ///< the log's length at this point
    std::uint32_t log_crc = 0;              ///< CRC-32 of those bytes

    nlohmann::json to_json() const {
        return {{"printed", printed},     {"acc", acc},         {"method", method},   {"next_batch", next_batch},
                {"ok", ok},               {"images", images},   {"batches", batches},
                {"forwards", forwards},   {"ms", ms},           {"log_bytes", log_bytes}, {"log_crc", log_crc}};
    }
    static report_state from_json(const std::string& text, const std::string& file) {
        report_state r;
        try {
            const auto j = nlohmann::json::parse(text);
            r.printed = j.at("printed").get<std::string>();
            r.acc = j.at("acc").get<std::vector<std::vector<double>>>();
            r.method = j.at("method").get<std::size_t>();
            r.next_batch = j.at("next_batch").get<std::size_t>();
            r.ok = j.at("ok").get<std::uint64_t>();
            r.images = j.at("images").get<std::uint64_t>();
            r.batches = j.at("batches").get<std::uint64_t>();
            r.forwards = j.at("forwards").get<std::uint64_t>();
            r.ms = j.at("ms").get<double>();
            r.log_bytes = j.at("log_bytes").get<std::uint64_t>();
            r.log_crc = j.at("log_crc").get<std::uint32_t>();
        } catch (const nlohmann::json::exception& e) {
            zoa::fail(zoa::error_code::format, file, ": metadata zoa.stream.report is not a valid stream report: ",
                      e.what());
        }
        return r;
    }
};

/// "crc32 1a2b3c4d, N bytes" of a file (identifies the model file of a checkpointed run).
inline std::string file_fingerprint(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    zoa::require(f.good(), zoa::error_code::io, path, ": cannot open");
    std::vector<char> buf(1 << 20);
    std::uint32_t crc = 0;
    std::uint64_t n = 0;
    while (f) {
        f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto got = static_cast<std::size_t>(f.gcount());
        crc = zoa::data::crc32_update(crc, reinterpret_cast<const std::uint8_t*>(buf.data()), got);
        n += got;
    }
    char s[64];
    std::snprintf(s, sizeof s, "crc32 %08x, %llu bytes", crc, static_cast<unsigned long long>(n));
    return s;
}

/// CRC-32 of the first n bytes of a file; false when it is shorter.
inline bool file_prefix_crc(const std::string& path, std::uint64_t n, std::uint32_t& crc) {
    std::ifstream f(path, std::ios::binary);
    if (!f.good()) return false;
    std::vector<char> buf(1 << 20);
    crc = 0;
    while (n > 0) {
        f.read(buf.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(n, buf.size())));
        const auto got = static_cast<std::size_t>(f.gcount());
        if (got == 0) return false;
        crc = zoa::data::crc32_update(crc, reinterpret_cast<const std::uint8_t*>(buf.data()), got);
        n -= got;
    }
    return true;
}

/// The --log file: one JSON line per batch, appended; its length and CRC go into each checkpoint.
class batch_log {
public:
    batch_log() = default;
    batch_log(const batch_log&) = delete;
    batch_log& operator=(const batch_log&) = delete;
    ~batch_log() {
        if (f_ != nullptr) std::fclose(f_);
    }
    /// A new log (truncates), or, when resuming, the checkpoint's prefix of the existing one (the lines written
    /// after the checkpoint are cut off). Throws: zoa::error(io|argument) when it cannot be opened or its prefix is
    /// not the checkpoint's.
    void open(const std::string& path, const report_state* resume) {
        path_ = path;
        if (resume == nullptr) {
            f_ = std::fopen(path.c_str(), "wb");
            zoa::require(f_ != nullptr, zoa::error_code::io, path, ": cannot open the log for writing");
            return;
        }
        std::uint32_t crc = 0;
        zoa::require(file_prefix_crc(path, resume->log_bytes, crc) && crc == resume->log_crc,
                     zoa::error_code::argument, "zoa stream: --log ", path, " does not start with the ",
                     resume->log_bytes, " bytes the checkpoint recorded (another or an edited log)");
        zoa::require(::truncate(path.c_str(), static_cast<off_t>(resume->log_bytes)) == 0, zoa::error_code::io, path,
                     ": cannot cut the log back to the checkpoint");
        f_ = std::fopen(path.c_str(), "ab");
        zoa::require(f_ != nullptr, zoa::error_code::io, path, ": cannot open the log for appending");
        bytes_ = resume->log_bytes;
        crc_ = resume->log_crc;
    }
    bool active() const noexcept { return f_ != nullptr; }
    void write(const std::string& line) {
        if (f_ == nullptr) return;
        const std::string l = line + "\n";
        if (std::fwrite(l.data(), 1, l.size(), f_) != l.size())
            zoa::fail(zoa::error_code::io, path_, ": cannot write the log: ", std::strerror(errno));
        bytes_ += l.size();
        crc_ = zoa::data::crc32_update(crc_, reinterpret_cast<const std::uint8_t*>(l.data()), l.size());
    }
    /// Flushes to disk (before a checkpoint records its length). A file that cannot be synced (a device such as
    /// /dev/null: EINVAL) is only flushed.
    void sync() {
        if (f_ == nullptr) return;
        // (fail, not require: the message's strerror(errno) must be read after the call that failed)
        if (std::fflush(f_) != 0)
            zoa::fail(zoa::error_code::io, path_, ": cannot write the log: ", std::strerror(errno));
        if (::fsync(fileno(f_)) != 0 && errno != EINVAL && errno != EROFS)
            zoa::fail(zoa::error_code::io, path_, ": cannot flush the log to disk: ", std::strerror(errno));
    }
    /// Flushes and closes the log at the end of the run. Throws: zoa::error(io) when a write failed.
    void close() {
        if (f_ == nullptr) return;
        sync();
        std::FILE* f = f_;
        f_ = nullptr;
        const bool failed = std::ferror(f) != 0;
        if (std::fclose(f) != 0 || failed)
            zoa::fail(zoa::error_code::io, path_, ": cannot write the log: ", std::strerror(errno));
    }
    std::uint64_t bytes() const noexcept { return bytes_; }
    std::uint32_t crc() const noexcept { return crc_; }

private:
    std::string path_;
    std::FILE* f_ = nullptr;
    std::uint64_t bytes_ = 0;
    std::uint32_t crc_ = 0;
};

// adapter state in a checkpoint, per method kind (tensors "adapter.*")
template <class M>
void write_state(zoa::io::safetensors_writer& w, const zoa::adapt::no_adapt<M>& a) {
    zoa::adapt::write_adapter_stats(w, a.snapshot(), "adapter.");
}
template <class M>
void read_state(zoa::adapt::no_adapt<M>& a, const zoa::io::safetensors_file& f) {
    a.restore(zoa::adapt::read_adapter_stats(f, "adapter."));
}
template <class M>
void write_state(zoa::io::safetensors_writer& w, const zoa::adapt::t3a_adapter<M>& a) {
    zoa::adapt::write_t3a_state(w, a.snapshot(), "adapter.");
}
template <class M>
void read_state(zoa::adapt::t3a_adapter<M>& a, const zoa::io::safetensors_file& f) {
    typename zoa::adapt::t3a_adapter<M>::state s;
    zoa::adapt::read_t3a_state(f, s, "adapter.");
    a.restore(s);
}
template <class M>
void write_state(zoa::io::safetensors_writer& w, const zoa::adapt::foa_adapter<M>& a) {
    zoa::adapt::write_foa_state(w, a.snapshot(), "adapter.");
}
template <class M>
void read_state(zoa::adapt::foa_adapter<M>& a, const zoa::io::safetensors_file& f) {
    a.restore(zoa::adapt::read_foa_state(f, "adapter."));
}
template <class M, class P>
void write_state(zoa::io::safetensors_writer& w, const zoa::adapt::zoa_adapter<M, P>& a) {
    zoa::adapt::write_zoa_state(w, a.snapshot(), "adapter.");
}
template <class M, class P>
void read_state(zoa::adapt::zoa_adapter<M, P>& a, const zoa::io::safetensors_file& f) {
    a.restore(zoa::adapt::read_zoa_state(f, "adapter."));
}

/// Progress on stderr, updated in place: method, round, domain, images, running accuracy, images/s, ETA.
class progress_line {
public:
    explicit progress_line(bool on) : on_(on), start_(clock::now()), last_(start_ - std::chrono::seconds(1)) {}
    bool on() const noexcept { return on_; }
    /// Images processed by this process (for the rate) and in the whole run so far (for the ETA).
    void count(std::size_t n) { processed_ += n; }
    void show(const std::string& text, std::uint64_t run_done, std::uint64_t run_total, bool force = false) {
        if (!on_) return;
        const auto now = clock::now();
        if (!force && now - last_ < std::chrono::milliseconds(250)) return;
        last_ = now;
        const double s = std::chrono::duration<double>(now - start_).count();
        const double rate = s > 0 ? double(processed_) / s : 0.0;
        char eta[32] = "--";
        if (rate > 0 && run_total >= run_done) {
            const auto left = static_cast<unsigned long long>(double(run_total - run_done) / rate);
            std::snprintf(eta, sizeof eta, "%lluh%02llum%02llus", left / 3600, left / 60 % 60, left % 60);
        }
        std::fprintf(stderr, "\r%s | %.1f img/s | ETA %s\033[K", text.c_str(), rate, eta);
        std::fflush(stderr);
    }
    void clear() {
        if (on_) std::fprintf(stderr, "\r\033[K");
    }

private:
    using clock = std::chrono::steady_clock;
    bool on_;
    clock::time_point start_, last_;
    std::uint64_t processed_ = 0;
};

/// The whole run: arguments, domains, the data, the report so far, the log, checkpoints.
struct stream_run {
    stream_args a;
    std::vector<domain> domains;
    std::vector<std::size_t> domain_images;
    data_source ds;
    report_state rep;
    batch_log log;
    std::vector<std::pair<std::string, std::string>> identity;  ///< what a resume must match, in checking order
    std::unique_ptr<zoa::io::safetensors_file> resumed;  ///< the checkpoint resumed from
    const zoa::adapt::source_statistics* foa_src = nullptr;  ///< FOA-ResNet's own source statistics (checkpointed)
    zoa::io::atomic_file* save = nullptr;  ///< --save-calibrated, created before any work (file_set)
    progress_line progress{false};
    std::uint64_t run_total = 0, run_done = 0;  ///< images of the whole run (all methods) and done so far

    void print(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        va_list args, again;
        va_start(args, fmt);
        va_copy(again, args);
        const int n = std::vsnprintf(nullptr, 0, fmt, args);
        va_end(args);
        std::string s(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
        if (n > 0) std::vsnprintf(&s[0], s.size() + 1, fmt, again);
        va_end(again);
        std::fputs(s.c_str(), stdout);
        zoa_cli::flush_stdout();  // a full disk or a closed pipe ends the run now (exit 2), not after hours
        rep.printed += s;
    }

    /// Writes the checkpoint (atomically: temporary file in the same directory, fsync, rename).
    template <class Writer>
    void checkpoint(const Writer& adapter_state, const zoa::adapt::source_statistics* src,
                    const zoa::adapt::shift_detector* primed) {
        if (a.checkpoint.empty()) return;
        log.sync();
        rep.log_bytes = log.bytes();
        rep.log_crc = log.crc();
        zoa::io::safetensors_writer w;
        adapter_state(w);
        if (src != nullptr && !src->empty()) zoa::adapt::write_source_statistics(w, *src, "source.");
        if (foa_src != nullptr && !foa_src->empty()) zoa::adapt::write_source_statistics(w, *foa_src, "foa_source.");
        if (primed != nullptr && primed->has_domain()) {
            w.add("primed.mean", {primed->mean().size()}, primed->mean());
            w.add("primed.var", {primed->var().size()}, primed->var());
        }
        const std::vector<std::int64_t> pos{static_cast<std::int64_t>(rep.method),
                                            static_cast<std::int64_t>(rep.next_batch)};
        w.add("position", {2}, pos);
        w.set_metadata("zoa.kind", checkpoint_kind);
        nlohmann::ordered_json id;
        for (const auto& [k, v] : identity) id[k] = v;
        // paths that are not UTF-8 get U+FFFD in the JSON (the checkpoint must still be written)
        constexpr auto replace = nlohmann::json::error_handler_t::replace;
        w.set_metadata("zoa.stream.run", id.dump(-1, ' ', false, replace));
        w.set_metadata("zoa.stream.report", rep.to_json().dump(-1, ' ', false, replace));
        w.save(a.checkpoint);
    }
};

/// Runs one method over the whole stream (rounds × domains as one continual stream of batches); returns accuracy
/// (%) per (round, domain) segment. Resumes at rep.next_batch when `resuming`.
template <class Method>
std::vector<double> run_method(Method& method, const std::string& name, stream_run& run, bool resuming,
                               const zoa::adapt::source_statistics* src, const zoa::adapt::shift_detector* primed) {
    stream_args& a = run.a;
    report_state& rep = run.rep;
    const zoa_cli::step streaming("streaming --method " + name);
    if (!resuming) {
        if (a.methods.size() > 1) run.print("# method=%s precision=%s\n", name.c_str(), a.precision.c_str());
        rep.acc.emplace_back();
        rep.next_batch = 0;
        rep.ok = rep.images = rep.batches = rep.forwards = 0;
        rep.ms = 0;
    }
    std::vector<double>& acc = rep.acc.back();
    const std::size_t D = run.domains.size();
    std::vector<zoa::data::source_opener> segments;
    for (std::size_t r = 0; r < a.rounds; ++r)
        for (const auto& d : run.domains) segments.push_back(run.ds.opener(d, a.limit, a.seed));
    zoa::data::batch_loader_options lo;
    lo.batch_size = a.batch;
    lo.depth = a.prefetch;
    lo.workers = a.loader_threads;
    lo.start = rep.next_batch;
    zoa::data::batch_loader loader(segments, run.ds.pre, lo);
    const auto save = [&] {
        run.checkpoint([&](zoa::io::safetensors_writer& w) { write_state(w, method); }, src, primed);
    };
    zoa::data::stream_batch b;
    for (;;) {
        const auto t_wait = std::chrono::steady_clock::now();
        if (!loader.next(b)) break;
        const auto t0 = std::chrono::steady_clock::now();
        const std::uint64_t shifts = method.stats().domain_shifts;
        const auto& logits = method.predict_and_adapt(b.images);
        const auto t1 = std::chrono::steady_clock::now();
        const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
        const double wait_ms = std::chrono::duration<double, std::milli>(t0 - t_wait).count();
        const std::size_t round = b.segment / D + 1, d = b.segment % D;
        // a non-finite logit would be counted as a prediction of class 0: the run ends instead
        for (std::size_t i = 0; i < logits.size(); ++i)
            if (!std::isfinite(logits.data()[i]))
                zoa::fail(zoa::error_code::numeric, "zoa stream: ", name, " on ", run.domains[d].name, " (round ",
                          round, ", batch ", b.index + 1, "): logit ", i % logits.shape(1), " of image ",
                          b.first + i / logits.shape(1) + 1, " is ", logits.data()[i],
                          "; the model overflows on this data (check its weights and --mean/--std)");
        const std::size_t n = b.labels.size(), ok = correct(logits, b.labels);
        const auto st = method.stats();
        rep.ok += ok;
        rep.images += n;
        rep.forwards += st.last_forwards;
        rep.ms += ms;
        ++rep.batches;
        rep.next_batch = b.sequence + 1;
        run.run_done += n;
        run.progress.count(n);
        if (run.log.active()) {
            nlohmann::ordered_json j;
            j["method"] = name;
            j["round"] = round;
            j["domain"] = run.domains[d].name;
            j["domain_index"] = d + 1;
            j["batch"] = b.index;
            j["images"] = n;
            j["correct"] = ok;
            j["loss"] = st.last_loss.total;
            j["entropy"] = st.last_loss.entropy;
            j["discrepancy"] = st.last_loss.discrepancy;
            j["bank"] = st.bank_size;
            j["state_bytes"] = st.state_bytes;
            j["shift"] = st.domain_shifts > shifts;
            j["forwards"] = st.last_forwards;
            j["ms"] = std::round(ms * 1000.0) / 1000.0;  // timing fields: ms, wait_ms
            j["wait_ms"] = std::round(wait_ms * 1000.0) / 1000.0;
            run.log.write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
        if (b.last_in_segment()) {
            run.progress.clear();
            const double pct = rep.images ? 100.0 * double(rep.ok) / double(rep.images) : 0.0;
            acc.push_back(pct);
            run.print("domain=%s round=%zu images=%llu accuracy=%.2f forwards_per_batch=%.2f ms_per_batch=%.2f "
                      "bank=%zu skipped=%llu\n",
                      run.domains[d].name.c_str(), round, static_cast<unsigned long long>(rep.images), pct,
                      rep.batches ? double(rep.forwards) / double(rep.batches) : 0.0,
                      rep.batches ? rep.ms / double(rep.batches) : 0.0, st.bank_size,
                      static_cast<unsigned long long>(st.skipped_updates));
            rep.ok = rep.images = rep.batches = rep.forwards = 0;
            rep.ms = 0;
        } else if (run.progress.on()) {
            char text[512];
            std::snprintf(text, sizeof text, "[%s] round %zu/%zu domain %zu/%zu %s: %zu/%zu images, accuracy %.2f%%",
                          name.c_str(), round, a.rounds, d + 1, D, run.domains[d].name.c_str(), b.first + n,
                          b.segment_size, rep.images ? 100.0 * double(rep.ok) / double(rep.images) : 0.0);
            run.progress.show(text, run.run_done, run.run_total);
        }
        if (a.checkpoint_every > 0 && rep.next_batch % a.checkpoint_every == 0) save();
    }
    double total = 0;
    for (double x : acc) total += x;
    run.print("mean_accuracy=%.2f\n", acc.empty() ? 0.0 : total / double(acc.size()));
    return acc;
}

/// `--zoa-set lr=2e-4,spsa_c=0.02,...`: overrides of the paper's options (the hyper-parameter search uses it); each
/// key=value is checked by zoa_options::set (known key, number in the key's range).
inline void apply_zoa_set(zoa::adapt::zoa_options& o, const std::vector<std::string>& sets) {
    for (const auto& item : sets) {
        const auto [k, v] = zoa_cli::split_key_value("zoa stream: --zoa-set", item);
        o.set(k, zoa_cli::parse_number("zoa stream: --zoa-set " + k, v));
    }
    o.validate();
}

inline zoa::adapt::foa_options foa_options_of(const stream_args& a) {
    zoa::adapt::foa_options o;
    o.seed = a.seed;
    return o;
}

/// Runs one method: a fresh adapter, or the checkpoint's when this is the method the run stopped in.
/// `foa_src`: FOA's source statistics (on ResNet computed with FOA's initial prompt, compute_foa_source_statistics).
template <class Model>
std::vector<double> run_named(std::size_t index, const Model& model, int bits,
                              const zoa::adapt::source_statistics& src, const zoa::adapt::source_statistics& foa_src,
                              const zoa::adapt::shift_detector& primed, stream_run& run) {
    const std::string& method = run.a.methods[index];
    const bool resuming = run.resumed != nullptr && run.rep.method == index && run.rep.next_batch > 0;
    const auto go = [&](auto& m) {
        if (resuming) read_state(m, *run.resumed);
        return run_method(m, method, run, resuming, &src, &primed);
    };
    const auto family = model.layout().family;
    if (method == "none") {
        zoa::adapt::no_adapt<Model> m(model);
        return go(m);
    }
    if (method == "bn") {
        zoa::adapt::bn_adapt<Model> m(model);
        return go(m);
    }
    if (method == "t3a") {
        zoa::adapt::t3a_adapter<Model> m(model);
        return go(m);
    }
    if (method == "foa") {
        zoa::adapt::foa_adapter<Model> m(model, foa_options_of(run.a), foa_src);
        return go(m);
    }
    zoa::adapt::zoa_options o = zoa::adapt::zoa_options::paper(family, bits);
    o.seed = run.a.seed;
    apply_zoa_set(o, run.a.zoa_set);
    const auto run_zoa = [&](auto policy_tag) {  // zoa: the paper's bank; zoa_nobank: a single ε, no stored domains
        zoa::adapt::zoa_adapter<Model, decltype(policy_tag)> m(model, o, src);
        if (family == zoa::adapt::model_family::resnet && primed.has_domain())
            m.prime_domain(primed.mean(), primed.var());
        return go(m);
    };
    if (method == "zoa_nobank") return run_zoa(zoa::policy<zoa::bank::no_bank>{});
    return run_zoa(zoa::policy<>{});
}

template <class Model>
void run_all(const Model& model, int bits, stream_run& run) {
    stream_args& a = run.a;
    const bool resnet = model.layout().family == zoa::adapt::model_family::resnet;
    zoa::adapt::source_statistics src, foa_src;
    zoa::adapt::shift_detector primed;
    primed.threshold = 0.2f;
    const bool need_src = std::any_of(a.methods.begin(), a.methods.end(), [](const std::string& m) {
        return m == "zoa" || m == "zoa_nobank" || m == "foa";
    });
    // FOA-ResNet: the reference computes FOA's statistics with its random prompt conv already active
    const bool foa_own = resnet && std::find(a.methods.begin(), a.methods.end(), "foa") != a.methods.end();
    const bool pending = run.rep.method < a.methods.size();
    if (need_src && pending && run.resumed != nullptr && run.resumed->contains("source.mean")) {
        src = zoa::adapt::read_source_statistics(*run.resumed, "source.");  // as computed before the interruption
        foa_src = foa_own ? zoa::adapt::read_source_statistics(*run.resumed, "foa_source.") : src;
        if (run.resumed->contains("primed.mean"))
            primed.assign(run.resumed->to_f32("primed.mean"), run.resumed->to_f32("primed.var"));
    } else if (need_src && pending) {
        note("computing source statistics on %zu images of %s...\n", a.source_images, a.source.c_str());
        zoa_cli::step s("computing source statistics on --source " + a.source);
        // the clean images go through the model's preprocessing, or the reference's Resize(256)+CenterCrop(224)
        const zoa::io::preprocess_config tf =
            a.source_transform == "reference" ? run.ds.pre.reference_source() : run.ds.pre;
        const auto clean_batches = [&] {  // a fresh stream of the same clean images (one per statistics pass)
            zoa::data::batch_loader_options lo;
            lo.batch_size = a.batch;
            lo.depth = a.prefetch;
            lo.workers = a.loader_threads;
            return std::make_unique<zoa::data::batch_loader>(
                std::vector<zoa::data::source_opener>{
                    run.ds.opener(parse_one_domain("--source", a.source), a.source_images, a.seed + 1)},
                tf, lo);
        };
        zoa::adapt::forward_request req;
        req.batch_statistics = resnet;
        const auto clean = clean_batches();
        src = zoa::adapt::compute_source_statistics(model, zoa::data::images_of(*clean), req,
                                                    resnet ? &primed : nullptr);
        foa_src = src;
        if (foa_own) {
            const auto again = clean_batches();
            foa_src = zoa::adapt::compute_foa_source_statistics(model, zoa::data::images_of(*again),
                                                                foa_options_of(a));
        }
    }
    run.foa_src = foa_own ? &foa_src : nullptr;
    for (std::size_t m = 0; m < a.methods.size(); ++m) {
        if (m < run.rep.method) continue;  // finished before the interruption: its lines are in rep.printed
        run_named(m, model, bits, src, foa_src, primed, run);
        run.rep.method = m + 1;
        run.rep.next_batch = 0;
        run.checkpoint([](zoa::io::safetensors_writer&) {}, &src, &primed);
    }
}

template <class Policy>
void run_vit(const zoa::models::vit_weights& w, bool calibrated, int bits, stream_run& run,
             const std::shared_ptr<zoa::execution_context>& ctx) {
    const stream_args& a = run.a;
    using model_t = zoa::models::vit<Policy>;
    std::unique_ptr<model_t> m;
    if constexpr (model_t::quantized) {
        if (calibrated) {
            note("using the %s calibration stored in %s\n", a.precision.c_str(), a.weights.c_str());
            m = std::make_unique<model_t>(w);
        } else {
            zoa_cli::step s("calibrating " + a.precision + " on --calib " + a.calib);
            note("calibrating %s (PTQ4ViT) on %zu images of %s...\n", a.precision.c_str(), a.calib_images,
                 a.calib.c_str());
            const batch_t calib = run.ds.first_images(parse_one_domain("--calib", a.calib), a.calib_images, 3);
            zoa::models::vit_calibration_options opt;
            opt.max_images = a.calib_images;
            const auto qp =
                zoa::models::calibrate_ptq4vit<typename model_t::bits>(w, calib, opt, nullptr, ctx->threads());
            m = std::make_unique<model_t>(w, &qp);
            if (!a.save.empty()) {
                zoa::models::vit_to_safetensors(
                    *m, {{zoa::io::preprocess_metadata_key, zoa::io::preprocess_to_json(run.ds.pre)}})
                    .save(*run.save);
                note("wrote the calibrated model to %s\n", a.save.c_str());
            }
        }
    } else {
        m = std::make_unique<model_t>(w);
    }
    m->set_context(ctx);
    run_all(*m, bits, run);
}

template <class Policy>
void run_resnet(const zoa::io::safetensors_file& f, bool calibrated, int bits, stream_run& run,
                const zoa::models::resnet_load_options& lo) {
    const stream_args& a = run.a;
    using model_t = zoa::models::resnet<Policy>;
    if constexpr (model_t::quantized) {
        if (calibrated) {
            note("using the %s calibration stored in %s\n", a.precision.c_str(), a.weights.c_str());
            return run_all(model_t::from_file(f, lo), bits, run);
        }
        zoa_cli::step s("calibrating " + a.precision + " on --calib " + a.calib);
        note("calibrating %s (MQBench academic) on %zu images of %s...\n", a.precision.c_str(), a.calib_images,
             a.calib.c_str());
        const batch_t calib = run.ds.first_images(parse_one_domain("--calib", a.calib), a.calib_images, 3);
        const auto fp = zoa::models::resnet<zoa::policy<zoa::fp32>>::from_file(f, lo);
        const auto q = model_t::calibrate(fp, calib);
        if (!a.save.empty()) {
            q.to_safetensors().save(*run.save);
            note("wrote the calibrated model to %s\n", a.save.c_str());
        }
        return run_all(q, bits, run);
    } else {
        return run_all(model_t::from_file(f, lo), bits, run);
    }
}

// One explicit instantiation per model type, each in examples/cli/stream/<family>_<precision>.cpp; every other
// translation unit only declares them (extern), so no file compiles more than one model type.
#define ZOA_CLI_RUN_VIT(POLICY)                                                                                       \
    template void run_vit<POLICY>(const zoa::models::vit_weights&, bool, int, stream_run&,                          \
                                  const std::shared_ptr<zoa::execution_context>&)
#define ZOA_CLI_RUN_RESNET(POLICY)                                                                                    \
    template void run_resnet<POLICY>(const zoa::io::safetensors_file&, bool, int, stream_run&,                      \
                                     const zoa::models::resnet_load_options&)
extern ZOA_CLI_RUN_VIT(zoa::policy<zoa::fp32>);
extern ZOA_CLI_RUN_VIT(zoa::ptq4vit<zoa::w8a8>);
extern ZOA_CLI_RUN_VIT(zoa::ptq4vit<zoa::w6a6>);
extern ZOA_CLI_RUN_VIT(zoa::ptq4vit<zoa::w4a4>);
extern ZOA_CLI_RUN_RESNET(zoa::policy<zoa::fp32>);
extern ZOA_CLI_RUN_RESNET(zoa::mqbench<zoa::w8a8>);
extern ZOA_CLI_RUN_RESNET(zoa::mqbench<zoa::w6a6>);
extern ZOA_CLI_RUN_RESNET(zoa::mqbench<zoa::w4a4>);

}  // namespace zoa_cli::stream
