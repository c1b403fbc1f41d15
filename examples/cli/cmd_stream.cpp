// zoa — `zoa stream`: a continual test stream (Fashion-MNIST(-C), ImageNet-C or class folders) through NoAdapt,
// BN-adapt, T3A, FOA or ZOA on a fp32 or quantized ViT/ResNet, one accuracy line per (round, domain). Batches are
// streamed (decoded, corrupted and preprocessed on loader threads while the model runs), so memory does not grow with
// the data; long runs show progress, log every batch, and checkpoint/resume bit-identically.
// SPDX-License-Identifier: MIT
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

namespace {

namespace fs = std::filesystem;

const char* const stream_usage_head =
    "usage: zoa stream --weights FILE --data SPEC[,SPEC...] [options]\n"
    "\n"
    "A continual test stream (no reset between domains) through each --method in turn; one line per\n"
    "(round, domain): domain=<name> round=<r> images=<n> accuracy=<pct> forwards_per_batch=<f> ms_per_batch=<t>\n"
    "bank=<N> skipped=<k>, then mean_accuracy=<pct> per method. A non-finite logit ends the run (exit 2).\n"
    "\n"
    "data (SPEC):\n"
    "  fmnist | fmnist-test       the 10,000 clean Fashion-MNIST test images\n"
    "  fmnist-train               the 60,000 training images\n"
    "  fmnist-c:CORRUPTION:SEV    Fashion-MNIST test images corrupted on the fly (severity 1..5)\n"
    "  imagenet-c:ROOT[:SEV]      the 15 ImageNet-C corruptions in the paper's order, ROOT/<corruption>/<SEV>/\n"
    "                             (severity 5 by default); labels = sorted class folders (torchvision ImageFolder)\n"
    "  imagenet-c:ROOT:CORRUPTION:SEV   one of them\n"
    "  DIR                        a class folder DIR/<class>/**/<image>\n"
    "\n"
    "method and model:\n"
    "  --method M[,M...]      none | bn | t3a | foa | zoa | zoa_nobank (default zoa)\n"
    "  --precision P          fp32 | w8a8 | w6a6 | w4a4 (default: the file's own; quantized = calibrated here)\n";
const char* const stream_usage_tail =
    "  --zoa-set k=v[,k=v]    ZOA options: lr, spsa_c, lambda, domain_t, weight_decay, lr_alpha, spsa_c_alpha,\n"
    "                         momentum, sp_avg\n"
    "  --calib SPEC --calib-images N    calibration images (default fmnist-train, 32)\n"
    "  --save-calibrated FILE           write the calibrated model (reuse it as --weights)\n"
    "  --source SPEC --source-images N  clean images for the source statistics (default fmnist-train, 2048)\n"
    "  --source-transform model|reference   their transform: the model's (default) or the reference code's\n"
    "                         Resize(256) + CenterCrop(224) (scaled to the model's input)\n"
    "  --allow-unused         load a file holding tensors the model does not use (an error by default)\n"
    "\n"
    "stream:\n"
    "  --rounds R --batch B --limit N --seed S   (defaults 1, 64, all images, 2020)\n"
    "  --threads T            model threads (results do not depend on it)\n"
    "  --prefetch D           batches prepared ahead by loader threads (default 2; 0 = on the main thread)\n"
    "  --loader-threads L     loader threads (default: --threads)\n"
    "  --max-megapixels M     refuse images above M Mpx, checked on the header (default 64)\n"
    "  --max-file-mb S        refuse image files above S MiB (default 256)\n"
    "\n"
    "long runs and outputs:\n"
    "  --progress             progress on stderr even when it is not a terminal\n"
    "  --log FILE.jsonl       one JSON object per batch (timing fields: ms, wait_ms)\n"
    "  --checkpoint FILE      write adapter state + stream position + all output so far, atomically\n"
    "  --checkpoint-every N   every N batches (default 50), and at the end of each method\n"
    "  --resume FILE          continue a checkpointed run (same options; differences are refused)\n"
    "  --out results.md --svg chart.svg\n"
    "Outputs are checked before any work: none may be an input (the model, the --resume file, a data folder's\n"
    "file) and each must be creatable; --checkpoint may be the --resume file, no other existing file.\n"
    "\n"
    "Exit status: 0 on success, 2 on bad input (one line on stderr).\n";

/// Status lines ("loading...", "calibrating...") go to stderr only on a terminal: in logs and scripts stderr then
/// holds nothing but the one-line error of a failed run (exit status 2).
__attribute__((format(printf, 1, 2))) void note(const char* fmt, ...) {
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

std::vector<std::string> split_list(const std::string& s, char sep = ',') {
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

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

int parse_severity(const std::string& v, const std::string& spec) {
    return static_cast<int>(zoa_cli::parse_integer("zoa stream: severity " + v + " in '" + spec + "'", v, 1, 5));
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

/// The domains of one --data item (imagenet-c:ROOT expands to the 15 corruptions).
std::vector<domain> parse_domains(const std::string& spec) {
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
domain parse_one_domain(const std::string& flag, const std::string& spec) {
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

std::size_t correct(const xt::xtensor<float, 2>& logits, const std::vector<int>& labels) {
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

constexpr const char* checkpoint_kind = "zoa_stream_checkpoint";

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
std::string file_fingerprint(const std::string& path) {
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
bool file_prefix_crc(const std::string& path, std::uint64_t n, std::uint32_t& crc) {
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
void apply_zoa_set(zoa::adapt::zoa_options& o, const std::vector<std::string>& sets) {
    for (const auto& item : sets) {
        const auto [k, v] = zoa_cli::split_key_value("zoa stream: --zoa-set", item);
        o.set(k, zoa_cli::parse_number("zoa stream: --zoa-set " + k, v));
    }
    o.validate();
}

zoa::adapt::foa_options foa_options_of(const stream_args& a) {
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

stream_args parse(const std::vector<std::string>& args) {
    const std::string cmd = "zoa stream";
    std::vector<std::string> valued = {
        "--weights",         "--method",      "--precision",       "--data",          "--rounds",
        "--batch",           "--limit",       "--seed",            "--threads",       "--prefetch",
        "--loader-threads",  "--source",      "--source-images",   "--source-transform", "--calib",
        "--calib-images",    "--out",         "--svg",             "--save-calibrated", "--log",
        "--checkpoint",      "--checkpoint-every", "--max-megapixels", "--max-file-mb", "--zoa-set",
        "--resume"};
    valued.insert(valued.end(), zoa_cli::model_option_names.begin(), zoa_cli::model_option_names.end());
    const zoa_cli::parsed_args p = zoa_cli::parse_args(cmd, args, valued, {"--progress", "--allow-unused"}, false,
                                                       "see zoa stream --help");
    stream_args a;
    for (std::size_t i = 0; i < args.size(); ++i) {  // the command recorded in --out and checkpoints: no --resume
        if (args[i] == "--resume") {
            ++i;
            continue;
        }
        if (args[i].rfind("--resume=", 0) != 0) a.command.push_back(args[i]);
    }
    const auto count = [&](const char* opt, std::uint64_t def, std::uint64_t lo, std::uint64_t hi) {
        return p.has(opt) ? zoa_cli::parse_integer(cmd + ": " + opt, p.get(opt), lo, hi) : def;
    };
    const auto given = [&](const char* opt, std::string& field) {
        if (p.has(opt)) field = p.get(opt);
        return p.has(opt);
    };
    a.model = zoa_cli::model_flags_from(p, cmd);
    given("--weights", a.weights);
    given("--precision", a.precision);
    a.source_given = given("--source", a.source);
    a.calib_given = given("--calib", a.calib);
    given("--source-transform", a.source_transform);
    given("--out", a.out);
    given("--svg", a.svg);
    given("--save-calibrated", a.save);
    given("--log", a.log);
    given("--checkpoint", a.checkpoint);
    given("--resume", a.resume);
    a.rounds = count("--rounds", 1, 1, 1000000);
    a.batch = count("--batch", 64, 1, 65536);
    a.limit = count("--limit", 0, 1, std::numeric_limits<std::uint32_t>::max());
    a.seed = count("--seed", 2020, 0, std::numeric_limits<std::uint64_t>::max());
    a.threads = count("--threads", 1, 1, zoa::execution_context::max_threads);
    a.prefetch = count("--prefetch", 2, 0, 64);
    a.loader_threads = count("--loader-threads", a.threads, 1, zoa::execution_context::max_threads);
    a.source_images = count("--source-images", 2048, 2, 100000000);
    a.calib_images = count("--calib-images", 32, 1, 4096);  // one batch in memory
    a.checkpoint_every = count("--checkpoint-every", 50, 1, std::numeric_limits<std::uint32_t>::max());
    a.limits.max_pixels = count("--max-megapixels", 64, 1, std::uint64_t{1} << 20) * 1000000;
    a.limits.max_file_bytes = count("--max-file-mb", 256, 1, std::uint64_t{1} << 30) << 20;
    a.progress = p.has("--progress");
    a.allow_unused = p.has("--allow-unused");
    a.calib_images_given = p.has("--calib-images");
    zoa::require(!a.weights.empty(), zoa::error_code::argument, cmd, ": --weights FILE is required");
    zoa::require(p.has("--data"), zoa::error_code::argument, cmd, ": --data SPEC[,SPEC...] is required");
    a.methods = zoa_cli::split_list(cmd + ": --method", p.get("--method", "zoa"));
    a.data = zoa_cli::split_list(cmd + ": --data", p.get("--data"));
    if (p.has("--zoa-set")) a.zoa_set = zoa_cli::split_list(cmd + ": --zoa-set", p.get("--zoa-set"));
    zoa::adapt::zoa_options check;
    apply_zoa_set(check, a.zoa_set);  // bad --zoa-set keys or values fail before any data is loaded
    for (const auto& m : a.methods)
        zoa::require(m == "none" || m == "bn" || m == "t3a" || m == "foa" || m == "zoa" || m == "zoa_nobank",
                     zoa::error_code::argument, cmd, ": unknown --method '", m,
                     "' (expected none, bn, t3a, foa, zoa or zoa_nobank)");
    zoa::require(a.precision.empty() || a.precision == "fp32" || a.precision == "w8a8" || a.precision == "w6a6" ||
                     a.precision == "w4a4",
                 zoa::error_code::argument, cmd, ": --precision must be fp32, w8a8, w6a6 or w4a4, got '",
                 a.precision, "'");
    zoa::require(a.source_transform == "model" || a.source_transform == "reference", zoa::error_code::argument, cmd,
                 ": --source-transform must be model or reference, got '", a.source_transform, "'");
    // options that would be ignored are errors, not silent no-ops
    const bool zoa_method = std::any_of(a.methods.begin(), a.methods.end(),
                                        [](const std::string& m) { return m == "zoa" || m == "zoa_nobank"; });
    const bool needs_source = zoa_method || std::find(a.methods.begin(), a.methods.end(), "foa") != a.methods.end();
    for (const char* opt : {"--source", "--source-images", "--source-transform"})
        zoa::require(needs_source || !p.has(opt), zoa::error_code::argument, cmd, ": ", opt,
                     " is for the source statistics of zoa, zoa_nobank and foa; --method ", join(a.methods),
                     " uses none");
    zoa::require(zoa_method || a.zoa_set.empty(), zoa::error_code::argument, cmd,
                 ": --zoa-set sets ZOA's options; --method ", join(a.methods), " has no zoa or zoa_nobank");
    return a;
}

/// Refuses a resume whose options differ from the checkpoint's, naming the first difference.
void check_identity(const std::vector<std::pair<std::string, std::string>>& now, const zoa::io::safetensors_file& ck) {
    const auto it = ck.metadata().find("zoa.stream.run");
    std::map<std::string, std::string> then;
    try {
        then = nlohmann::json::parse(it->second).get<std::map<std::string, std::string>>();
    } catch (const nlohmann::json::exception&) {
        zoa::fail(zoa::error_code::format, ck.path(), ": metadata zoa.stream.run is not a JSON object of strings");
    }
    const auto shown = [](const std::string& v) { return v.empty() ? std::string("<none>") : v; };
    const auto as_stored = [](const std::string& v) {  // the checkpoint holds non-UTF-8 bytes as U+FFFD
        return nlohmann::json::parse(nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
            .get<std::string>();
    };
    for (const auto& [k, raw] : now) {
        const std::string v = as_stored(raw);
        const auto t = then.find(k);
        const std::string was = t == then.end() ? "<unknown>" : t->second;
        zoa::require(was == v, zoa::error_code::argument, "zoa stream: --resume ", ck.path(),
                     ": the checkpoint was made with ", k, " ", shown(was), ", this run has ", k, " ", shown(v),
                     " (resume with the options of the checkpointed run)");
    }
}

int run_stream(const std::vector<std::string>& args) {
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
        std::fputs(stream_usage_head, stdout);
        std::fputs(zoa_cli::model_options_usage, stdout);
        std::fputs(stream_usage_tail, stdout);
        zoa_cli::flush_stdout();
        return 0;
    }
    stream_run run;
    run.a = parse(args);
    stream_args& a = run.a;
    for (const auto& s : a.data)
        for (auto& d : parse_domains(s)) run.domains.push_back(d);
    const domain source = parse_one_domain("--source", a.source), calib = parse_one_domain("--calib", a.calib);

    // Inputs first: the model, the checkpoint resumed from, every data folder (Fashion-MNIST's too). Then each output
    // is checked against them and created (--out, --svg, --save-calibrated: committed at the end) or tried
    // (--checkpoint, saved atomically again and again; --log, appended to as the run goes) before any work.
    // --checkpoint may be the --resume file (continue a run in place); any other existing --checkpoint is refused
    // (it would be lost). --log is the only output that may exist when resuming: its checkpointed prefix is kept.
    zoa_cli::file_set files("zoa stream");
    files.input(a.weights);
    const bool in_place = !a.resume.empty() && !a.checkpoint.empty() && zoa_cli::same_file(a.resume, a.checkpoint);
    if (!a.resume.empty() && !in_place) files.input(a.resume);
    std::vector<domain> read = run.domains;
    read.push_back(source);
    read.push_back(calib);
    for (const auto& d : read) files.input_dir(d.folder.empty() ? zoa::data::fashion_mnist_dir() : d.folder);
    files.check_stdout();
    if (!a.checkpoint.empty()) {
        files.check_output("--checkpoint", a.checkpoint);
        std::error_code ec;
        zoa::require(in_place || !fs::is_regular_file(a.checkpoint, ec), zoa::error_code::argument,
                     "zoa stream: --checkpoint ", a.checkpoint, " exists; continue it with --resume ", a.checkpoint,
                     ", or remove it to start over");
    }
    if (!a.log.empty()) files.check_output("--log", a.log);
    zoa::io::atomic_file* out_file = a.out.empty() ? nullptr : &files.output("--out", a.out);
    zoa::io::atomic_file* svg_file = a.svg.empty() ? nullptr : &files.output("--svg", a.svg);
    run.save = a.save.empty() ? nullptr : &files.output("--save-calibrated", a.save);
    if (!a.resume.empty()) {
        run.resumed = std::make_unique<zoa::io::safetensors_file>(zoa::io::safetensors_file::open(a.resume));
        const auto kind = run.resumed->metadata().find("zoa.kind");
        zoa::require(kind != run.resumed->metadata().end() && kind->second == checkpoint_kind &&
                         run.resumed->metadata().count("zoa.stream.run") && run.resumed->metadata().count("zoa.stream.report"),
                     zoa::error_code::format, a.resume, ": not a zoa stream checkpoint");
    }

    const auto f = [&] {
        zoa_cli::step s("reading " + a.weights);  // (errors without context, std::bad_alloc, name the step)
        return zoa::io::safetensors_file::open(a.weights);
    }();
    const zoa_cli::arch_info arch = zoa_cli::detect_arch(f, a.model.arch);
    zoa::require(arch.family == "vit" || arch.family == "resnet", zoa::error_code::format, a.weights,
                 ": cannot tell whether this is a ViT or a ResNet (no zoa.arch metadata, unknown tensor names); "
                 "pass --arch");
    auto ctx = std::make_shared<zoa::execution_context>(a.threads);

    const std::string stored = zoa_cli::file_precision(f);  // a calibrated file's own precision
    if (a.precision.empty()) a.precision = stored.empty() ? "fp32" : stored;
    zoa::require(stored.empty() || stored == a.precision, zoa::error_code::argument, a.weights,
                 " holds a model calibrated for ", stored, "; --precision ", a.precision, " needs the fp32 file");
    const bool calibrated = !stored.empty();
    // options that would be ignored are errors (a calibrated file or fp32 calibrates nothing)
    const bool calibrates = !calibrated && a.precision != "fp32";
    const char* why = calibrated ? " is already calibrated" : " is used at fp32 (--precision fp32)";
    zoa::require(calibrates || a.save.empty(), zoa::error_code::argument, "zoa stream: --save-calibrated ", a.save,
                 " would write a model calibrated by this run, but ", a.weights, why);
    zoa::require(calibrates || (!a.calib_given && !a.calib_images_given), zoa::error_code::argument, "zoa stream: ",
                 a.calib_given ? "--calib" : "--calib-images", " chooses calibration images, but ", a.weights, why);
    // ImageNet-C models must not silently take Fashion-MNIST's defaults for their clean images
    const bool imagenet = std::any_of(a.data.begin(), a.data.end(),
                                      [](const std::string& s) { return s.rfind("imagenet-c:", 0) == 0; });
    const bool need_source = std::any_of(a.methods.begin(), a.methods.end(), [](const std::string& m) {
        return m == "zoa" || m == "zoa_nobank" || m == "foa";
    });
    zoa::require(!imagenet || !need_source || a.source_given, zoa::error_code::argument,
                 "zoa stream: imagenet-c data needs --source DIR: clean in-distribution images (e.g. ImageNet train) "
                 "for the source statistics of ", join(a.methods));
    zoa::require(!imagenet || calibrated || a.precision == "fp32" || a.calib_given, zoa::error_code::argument,
                 "zoa stream: imagenet-c data needs --calib DIR: clean images (e.g. 32 ImageNet train images) to "
                 "calibrate ", a.precision, ", or a calibrated --weights file");
    const int bits = a.precision == "fp32" ? 32 : a.precision[1] - '0';

    // the model's topology and input, then its preprocessing (file metadata, family default, flags)
    std::unique_ptr<zoa::models::vit_weights> vw;
    zoa::models::resnet_load_options lo;
    std::size_t classes = 0;
    std::string pre_source;
    if (arch.family == "vit") {
        const auto preset = zoa_cli::vit_arch_config(f, a.model.arch);
        zoa::models::vit_load_options vlo;
        vlo.strict = !a.allow_unused;
        vw = std::make_unique<zoa::models::vit_weights>(zoa::models::load_vit_weights(f, preset.get(), vlo, nullptr));
        const auto& c = vw->config;
        run.ds.pre = zoa_cli::vit_preprocessing(f, a.model, c.img_size, c.in_chans, &pre_source);
        classes = c.num_classes;
    } else {
        lo.arch = a.model.arch;
        lo.threads = a.threads;
        lo.strict = !a.allow_unused;
        const zoa::models::resnet_config c = zoa::models::resolve_resnet_config(f, lo);
        run.ds.pre = zoa_cli::resnet_preprocessing(f, a.model, c.in_chans, &pre_source);
        classes = c.num_classes;
    }
    run.ds.limits = a.limits;
    note("preprocessing (%s): %s\n", pre_source.c_str(), zoa_cli::describe(run.ds.pre).c_str());

    // every domain exists and fits the model before hours of streaming; the sizes give the progress total
    // (more classes than the head is an error; fewer is a subset, as ImageNet-R/-A use: said once on stderr at the
    // end of a successful run, so that a failed run still ends with exactly one line there)
    note("checking %zu domain(s)...\n", run.domains.size());
    std::string subset_note;
    for (const auto& d : run.domains) {
        const auto [n, k] = run.ds.size_of(d, a.limit, a.seed);
        const std::string where = d.folder.empty() ? d.name : d.folder;
        zoa::require(k <= classes, zoa::error_code::argument, "zoa stream: ", where, " has ", k,
                     " classes, the model outputs ", classes);
        if (k < classes && subset_note.empty())
            subset_note = "zoa stream: note: " + where + " has " + std::to_string(k) + " classes, the model outputs " +
                          std::to_string(classes) + "; its sorted class folders are labels 0.." + std::to_string(k - 1);
        run.domain_images.push_back(n);
        run.run_total += n * a.rounds * a.methods.size();
    }
    // the clean images exist too (labels unused: any classes)
    if (need_source) run.ds.size_of(source, a.source_images, a.seed + 1);
    if (calibrates) run.ds.size_of(calib, a.calib_images, 3);

    // what a resume must match (timing, threads, prefetch and outputs other than the log may differ)
    std::vector<std::string> counts;
    for (auto n : run.domain_images) counts.push_back(std::to_string(n));
    const std::string ck_name = a.checkpoint.empty() ? a.resume : a.checkpoint;
    if (!ck_name.empty()) {
        run.identity = {{"model file", file_fingerprint(a.weights)},
                        {"--arch", arch.family + (a.model.arch.empty() ? "" : " " + a.model.arch)},
                        {"--precision", a.precision},
                        {"--method", join(a.methods)},
                        {"--data", join(a.data)},
                        {"--seed", std::to_string(a.seed)},
                        {"--batch", std::to_string(a.batch)},
                        {"--limit", std::to_string(a.limit)},
                        {"--rounds", std::to_string(a.rounds)},
                        {"--source", a.source + " x " + std::to_string(a.source_images)},
                        {"--source-transform", a.source_transform},
                        {"--calib", a.calib + " x " + std::to_string(a.calib_images)},
                        {"--zoa-set", join(a.zoa_set)},
                        {"preprocessing", zoa_cli::describe(run.ds.pre)},
                        {"images per domain", join(counts)},
                        {"--log", a.log}};
    }
    if (run.resumed) {
        check_identity(run.identity, *run.resumed);
        run.rep = report_state::from_json(run.resumed->metadata().at("zoa.stream.report"), a.resume);
        zoa::require(run.rep.method <= a.methods.size() && run.rep.acc.size() <= a.methods.size() &&
                         run.rep.acc.size() >= std::min(run.rep.method + (run.rep.next_batch > 0), a.methods.size()),
                     zoa::error_code::format, a.resume, ": inconsistent stream position");
        std::fputs(run.rep.printed.c_str(), stdout);  // everything reported before the interruption
        zoa_cli::flush_stdout();
        // images already done: the finished methods, and the current one's batches before next_batch
        const std::uint64_t per_method = run.run_total / a.methods.size();
        run.run_done = per_method * std::min(run.rep.method, a.methods.size());
        for (std::size_t s = 0, seq = 0; s < a.rounds * run.domains.size() && seq < run.rep.next_batch; ++s) {
            const std::size_t n = run.domain_images[s % run.domains.size()];
            const std::size_t nb = (n + a.batch - 1) / a.batch, take = std::min(nb, run.rep.next_batch - seq);
            run.run_done += std::min<std::uint64_t>(n, take * a.batch);
            seq += take;
        }
        note("resuming %s at method %zu, batch %zu\n", a.resume.c_str(), run.rep.method + 1, run.rep.next_batch);
    }
    if (!a.log.empty()) run.log.open(a.log, run.resumed ? &run.rep : nullptr);
    run.progress = progress_line(a.progress || isatty(fileno(stderr)) != 0);

    if (arch.family == "vit") {
        if (a.precision == "fp32")
            run_vit<zoa::policy<zoa::fp32>>(*vw, calibrated, bits, run, ctx);
        else if (a.precision == "w8a8")
            run_vit<zoa::ptq4vit<zoa::w8a8>>(*vw, calibrated, bits, run, ctx);
        else if (a.precision == "w6a6")
            run_vit<zoa::ptq4vit<zoa::w6a6>>(*vw, calibrated, bits, run, ctx);
        else
            run_vit<zoa::ptq4vit<zoa::w4a4>>(*vw, calibrated, bits, run, ctx);
    } else {
        if (a.precision == "fp32")
            run_resnet<zoa::policy<zoa::fp32>>(f, calibrated, bits, run, lo);
        else if (a.precision == "w8a8")
            run_resnet<zoa::mqbench<zoa::w8a8>>(f, calibrated, bits, run, lo);
        else if (a.precision == "w6a6")
            run_resnet<zoa::mqbench<zoa::w6a6>>(f, calibrated, bits, run, lo);
        else
            run_resnet<zoa::mqbench<zoa::w4a4>>(f, calibrated, bits, run, lo);
    }
    run.progress.clear();
    run.log.close();

    std::vector<std::string> labels;
    for (std::size_t r = 1; r <= a.rounds; ++r)
        for (const auto& d : run.domains)
            labels.push_back(a.rounds > 1 ? "r" + std::to_string(r) + ":" + d.name : d.name);
    std::vector<zoa_cli::series> rows;
    for (std::size_t m = 0; m < a.methods.size(); ++m) rows.push_back({a.methods[m], run.rep.acc[m]});
    const std::string title = "zoa stream: " + arch.family + " " + a.precision + ", accuracy per domain";
    if (out_file != nullptr) {
        std::vector<std::string> argv = {"zoa", "stream"};
        argv.insert(argv.end(), a.command.begin(), a.command.end());
        const std::string md = "# " + zoa_cli::markdown_cell(title) + "\n\nCommand:\n\n" +
                               zoa_cli::markdown_command(argv) + "\n" + zoa_cli::markdown_table(labels, rows);
        out_file->write(md);
        out_file->commit();
        note("wrote %s\n", a.out.c_str());
    }
    if (svg_file != nullptr) {
        svg_file->write(zoa_cli::svg_chart(labels, rows, title));
        svg_file->commit();
        note("wrote %s\n", a.svg.c_str());
    }
    zoa_cli::flush_stdout();
    if (!subset_note.empty()) std::fprintf(stderr, "%s\n", zoa_cli::escape_control(subset_note).c_str());
    return 0;
}

}  // namespace

int cmd_stream(const std::vector<std::string>& args) { return run_stream(args); }
