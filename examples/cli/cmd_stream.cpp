// zoa — `zoa stream`: a continual test stream (Fashion-MNIST(-C) or class folders) through NoAdapt, BN-adapt, T3A,
// FOA or ZOA on a fp32 or quantized ViT/ResNet, one accuracy line per (round, domain)
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include "commands.hpp"
#include "model_files.hpp"
#include "report.hpp"
#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/shift_detector.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions.hpp"
#include "zoa/data/idx.hpp"
#include "zoa/data/image_folder.hpp"
#include "zoa/io/image.hpp"
#include "zoa/io/preprocess.hpp"
#include "zoa/io/preprocess_metadata.hpp"
#include "zoa/models/resnet.hpp"
#include "zoa/models/vit.hpp"
#include "zoa/models/vit_calibration.hpp"
#include "zoa/models/vit_io.hpp"

namespace {

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
    std::vector<std::string> methods, data, zoa_set;  // zoa_set: key=value overrides of zoa_options
    std::size_t rounds = 1, batch = 64, limit = 0, threads = 1, source_images = 2048, calib_images = 32;
    std::uint64_t seed = 2020;
};

/// One domain of the stream: a Fashion-MNIST split (optionally corrupted) or a class folder.
struct domain {
    std::string name;        ///< printed name (the corruption, "fmnist", or the folder)
    std::string split;       ///< "test" or "train" for Fashion-MNIST domains, "" for folders
    std::string corruption;  ///< empty = clean
    int severity = 0;
    std::string folder;
};

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::size_t b = 0;
    while (b <= s.size()) {
        const std::size_t e = s.find(',', b);
        const std::string item = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
        if (!item.empty()) out.push_back(item);
        if (e == std::string::npos) break;
        b = e + 1;
    }
    return out;
}

std::size_t parse_count(const std::string& flag, const std::string& v, std::size_t min) {
    std::size_t pos = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(v, &pos);
    } catch (...) {
        pos = 0;
    }
    zoa::require(pos == v.size() && !v.empty() && v[0] != '-' && n >= min, zoa::error_code::argument,
                 "zoa stream: ", flag, " expects an integer >= ", min, ", got '", v, "'");
    return static_cast<std::size_t>(n);
}

domain parse_domain(const std::string& spec) {
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
        d.severity = static_cast<int>(parse_count("fmnist-c severity", spec.substr(colon + 1), 1));
        zoa::require(d.severity <= 5, zoa::error_code::argument, "zoa stream: severity ", d.severity, " in '", spec,
                     "' is not in 1..5");
        zoa::data::corruption(d.corruption);  // throws with the list of valid names
        d.name = d.corruption, d.split = "test";
    } else {
        d.folder = spec;
        d.name = spec;
    }
    return d;
}

/// Labeled, preprocessed images of one domain (loaded once, reused every round).
struct domain_data {
    batch_t images;  ///< N × C × H × W, normalized
    std::vector<int> labels;
};

struct data_source {
    zoa::io::preprocess_config pre;
    std::size_t size = 0;  ///< model input size
    std::unique_ptr<zoa::data::idx_dataset> test, train;

    const zoa::data::idx_dataset& fmnist(const std::string& split) {
        auto& slot = split == "train" ? train : test;
        if (!slot) {
            const auto s =
                split == "train" ? zoa::data::fashion_mnist_split::train : zoa::data::fashion_mnist_split::test;
            zoa::require(zoa::data::fashion_mnist_available(s), zoa::error_code::io,
                         "zoa stream: Fashion-MNIST not found in ", zoa::data::fashion_mnist_dir(),
                         " (apt-get install dataset-fashion-mnist)");
            slot = std::make_unique<zoa::data::idx_dataset>(zoa::data::load_fashion_mnist(s));
        }
        return *slot;
    }

    /// Up to `limit` images (0 = all) of the domain (Fashion-MNIST or a class folder), in a seeded shuffled order,
    /// Fashion-MNIST images corrupted per image with
    /// seed·1000003 + image index (the same corrupted image in every round), preprocessed to NCHW.
    domain_data load(const domain& d, std::size_t limit, std::uint64_t seed, zoa::execution_context& ctx,
                     const zoa::io::preprocess_config* transform = nullptr) {
        const zoa::io::preprocess_config& tf = transform ? *transform : pre;
        domain_data out;
        std::vector<zoa::data::image> imgs;
        if (d.folder.empty()) {
            const auto& ds = fmnist(d.split);
            std::vector<std::size_t> order(ds.size());
            std::iota(order.begin(), order.end(), std::size_t{0});
            zoa::rng r(seed, 0x5348554646ull);  // Fisher–Yates with our own generator
            for (std::size_t i = order.size(); i > 1; --i)
                std::swap(order[i - 1], order[r.uniform_index(static_cast<std::uint32_t>(i))]);
            const std::size_t n = limit ? std::min(limit, order.size()) : order.size();
            imgs.resize(n);
            out.labels.resize(n);
            ctx.parallel_for(n, [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) {
                    const std::size_t k = order[i];
                    zoa::data::image img = ds.get(k, tf.channels);
                    if (!d.corruption.empty())
                        img = zoa::data::corrupt(img, d.corruption, d.severity, seed * 1000003ull + k);
                    imgs[i] = std::move(img);
                    out.labels[i] = ds.labels[k];
                }
            });
        } else {
            // Seeded shuffle, as the reference's test loaders (shuffle=True): sorted class order would feed the
            // adapter one class at a time, and --limit would keep only the first classes.
            zoa::data::image_folder_options fo;
            fo.shuffle = true;
            fo.seed = seed;
            fo.channels = tf.channels;
            zoa::data::image_folder folder(d.folder, fo);
            const std::size_t n = limit ? std::min(limit, folder.size()) : folder.size();
            auto loaded = folder.load_range(0, n, &ctx);
            imgs = std::move(loaded.images);
            out.labels = std::move(loaded.labels);
        }
        const std::size_t C = tf.channels;
        out.images = batch_t::from_shape({imgs.size(), C, size, size});
        ctx.parallel_for(imgs.size(), [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i)
                zoa::io::normalize_chw(zoa::io::prepare_image(imgs[i], tf), tf,
                                       out.images.data() + i * C * size * size);
        });
        return out;
    }
};

batch_t slice(const batch_t& x, std::size_t b, std::size_t n) {
    const std::size_t per = x.shape(1) * x.shape(2) * x.shape(3);
    batch_t s = batch_t::from_shape({n, x.shape(1), x.shape(2), x.shape(3)});
    std::copy(x.data() + b * per, x.data() + (b + n) * per, s.data());
    return s;
}

std::size_t correct(const xt::xtensor<float, 2>& logits, const std::vector<int>& labels, std::size_t offset) {
    std::size_t ok = 0;
    for (std::size_t b = 0; b < logits.shape(0); ++b) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < logits.shape(1); ++c)
            if (logits(b, c) > logits(b, best)) best = c;
        ok += static_cast<int>(best) == labels[offset + b];
    }
    return ok;
}

/// Runs one method over the whole stream; returns accuracy (%) per (round, domain) segment.
template <class Method>
std::vector<double> run_method(Method& method, const std::string& name, const std::vector<domain>& domains,
                               const std::vector<domain_data>& data, const stream_args& a, bool print_header) {
    if (print_header) std::printf("# method=%s precision=%s\n", name.c_str(), a.precision.c_str());
    const bool tty = isatty(fileno(stderr)) != 0;  // the progress bar only on a terminal, not in logs
    std::vector<double> acc;
    double total = 0;
    for (std::size_t r = 1; r <= a.rounds; ++r) {
        for (std::size_t d = 0; d < domains.size(); ++d) {
            const domain_data& dd = data[d];
            const std::size_t N = dd.labels.size();
            std::size_t ok = 0, batches = 0, nonfinite = 0;
            std::uint64_t forwards = 0;
            double ms = 0;
            for (std::size_t b = 0; b < N; b += a.batch) {
                const std::size_t n = std::min(a.batch, N - b);
                const batch_t x = slice(dd.images, b, n);
                const auto t0 = std::chrono::steady_clock::now();
                const auto& logits = method.predict_and_adapt(x);
                ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                ok += correct(logits, dd.labels, b);
                nonfinite += std::any_of(logits.begin(), logits.end(), [](float v) { return !std::isfinite(v); });
                forwards += method.stats().last_forwards;
                ++batches;
                if (tty)
                    std::fprintf(stderr, "\r[%s] round %zu/%zu domain %zu/%zu %-18s batch %zu/%zu   ", name.c_str(), r,
                                 a.rounds, d + 1, domains.size(), domains[d].name.c_str(), batches,
                                 (N + a.batch - 1) / a.batch);
            }
            if (tty) std::fprintf(stderr, "\r%*s\r", 100, "");
            const double pct = N ? 100.0 * double(ok) / double(N) : 0.0;
            acc.push_back(pct);
            total += pct;
            const auto st = method.stats();
            std::printf("domain=%s round=%zu images=%zu accuracy=%.2f forwards_per_batch=%.2f ms_per_batch=%.2f "
                        "bank=%zu skipped=%llu nonfinite_batches=%zu\n",
                        domains[d].name.c_str(), r, N, pct, batches ? double(forwards) / double(batches) : 0.0,
                        batches ? ms / double(batches) : 0.0, st.bank_size,
                        static_cast<unsigned long long>(st.skipped_updates), nonfinite);
            std::fflush(stdout);
        }
    }
    std::printf("mean_accuracy=%.2f\n", acc.empty() ? 0.0 : total / double(acc.size()));
    return acc;
}

/// `--zoa-set lr=2e-4,spsa_c=0.02,...`: overrides of the paper's options (the hyper-parameter search uses it).
void apply_zoa_set(zoa::adapt::zoa_options& o, const std::vector<std::string>& sets) {
    for (const auto& kv : sets) {
        const std::size_t eq = kv.find('=');
        const std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
        const std::vector<float> xs = zoa::io::parse_float_list(v, "zoa stream: --zoa-set " + k);
        zoa::require(xs.size() == 1, zoa::error_code::argument, "zoa stream: --zoa-set ", kv, ": expected key=number");
        const float x = xs[0];
        if (k == "lr") o.lr = x;
        else if (k == "spsa_c") o.spsa_c = x;
        else if (k == "lambda") o.lambda = x;
        else if (k == "domain_t") o.domain_t = x;
        else if (k == "weight_decay") o.weight_decay = x;
        else if (k == "lr_alpha") o.lr_alpha = x;
        else if (k == "spsa_c_alpha") o.spsa_c_alpha = x;
        else if (k == "momentum") o.momentum = x;
        else if (k == "sp_avg") {
            zoa::require(x == std::floor(x), zoa::error_code::argument, "zoa stream: --zoa-set sp_avg=", v,
                         ": expected an integer");
            o.sp_avg = static_cast<int>(x);
        }
        else
            zoa::fail(zoa::error_code::argument, "zoa stream: --zoa-set: unknown key '", k,
                      "' (expected lr, spsa_c, lambda, domain_t, weight_decay, lr_alpha, spsa_c_alpha, momentum, "
                      "sp_avg)");
    }
    o.validate();
}

zoa::adapt::foa_options foa_options_of(const stream_args& a) {
    zoa::adapt::foa_options o;
    o.seed = a.seed;
    return o;
}

template <class Model>
std::vector<double> run_named(const std::string& method, const Model& model, int bits,
                              const zoa::adapt::source_statistics& src, const zoa::adapt::source_statistics& foa_src,
                              const zoa::adapt::shift_detector& primed,
                              const std::vector<domain>& domains, const std::vector<domain_data>& data,
                              const stream_args& a) {
    const bool header = a.methods.size() > 1;
    const auto family = model.layout().family;
    if (method == "none") {
        zoa::adapt::no_adapt<Model> m(model);
        return run_method(m, method, domains, data, a, header);
    }
    if (method == "bn") {
        zoa::adapt::bn_adapt<Model> m(model);
        return run_method(m, method, domains, data, a, header);
    }
    if (method == "t3a") {
        zoa::adapt::t3a_adapter<Model> m(model);
        return run_method(m, method, domains, data, a, header);
    }
    if (method == "foa") {
        zoa::adapt::foa_adapter<Model> m(model, foa_options_of(a), foa_src);
        return run_method(m, method, domains, data, a, header);
    }
    zoa::adapt::zoa_options o = zoa::adapt::zoa_options::paper(family, bits);
    o.seed = a.seed;
    apply_zoa_set(o, a.zoa_set);
    const auto run_zoa = [&](auto policy_tag) {  // zoa: the paper's bank; zoa_nobank: a single ε, no stored domains
        zoa::adapt::zoa_adapter<Model, decltype(policy_tag)> m(model, o, src);
        if (family == zoa::adapt::model_family::resnet && primed.has_domain())
            m.prime_domain(primed.mean(), primed.var());
        return run_method(m, method, domains, data, a, header);
    };
    if (method == "zoa_nobank") return run_zoa(zoa::policy<zoa::bank::no_bank>{});
    return run_zoa(zoa::policy<>{});
}

template <class Model>
std::vector<std::vector<double>> run_all(const Model& model, int bits, data_source& ds,
                                         const std::vector<domain>& domains, const std::vector<domain_data>& data,
                                         const stream_args& a, zoa::execution_context& ctx) {
    const bool resnet = model.layout().family == zoa::adapt::model_family::resnet;
    zoa::adapt::source_statistics src, foa_src;
    zoa::adapt::shift_detector primed;
    const bool need_src = std::any_of(a.methods.begin(), a.methods.end(), [](const std::string& m) {
        return m == "zoa" || m == "zoa_nobank" || m == "foa";
    });
    if (need_src) {
        note("computing source statistics on %zu images of %s...\n", a.source_images, a.source.c_str());
        const zoa::io::preprocess_config reference = ds.pre.reference_source();
        const domain_data clean = ds.load(parse_domain(a.source), a.source_images, a.seed + 1, ctx,
                                          a.source_transform == "reference" ? &reference : nullptr);
        primed.threshold = 0.2f;
        std::vector<batch_t> batches;
        for (std::size_t b = 0; b < clean.images.shape(0); b += a.batch)
            batches.push_back(slice(clean.images, b, std::min(a.batch, clean.images.shape(0) - b)));
        zoa::adapt::forward_request req;
        req.batch_statistics = resnet;
        src = zoa::adapt::compute_source_statistics(model, batches, req, resnet ? &primed : nullptr);
        // FOA-ResNet: the reference computes FOA's statistics with its random prompt conv already active
        const bool foa = std::find(a.methods.begin(), a.methods.end(), "foa") != a.methods.end();
        foa_src = foa && resnet ? zoa::adapt::compute_foa_source_statistics(model, batches, foa_options_of(a)) : src;
    }
    std::vector<std::vector<double>> out;
    for (const auto& m : a.methods) out.push_back(run_named(m, model, bits, src, foa_src, primed, domains, data, a));
    return out;
}

template <class Policy>
std::vector<std::vector<double>> run_vit(const zoa::models::vit_weights& w, bool calibrated, int bits, data_source& ds,
                                         const std::vector<domain>& domains, const std::vector<domain_data>& data,
                                         const stream_args& a, const std::shared_ptr<zoa::execution_context>& ctx) {
    using model_t = zoa::models::vit<Policy>;
    std::unique_ptr<model_t> m;
    if constexpr (model_t::quantized) {
        if (calibrated) {
            note("using the %s calibration stored in %s\n", a.precision.c_str(), a.weights.c_str());
            m = std::make_unique<model_t>(w);
        } else {
            note("calibrating %s (PTQ4ViT) on %zu images of %s...\n", a.precision.c_str(),
                         a.calib_images, a.calib.c_str());
            const domain_data calib = ds.load(parse_domain(a.calib), a.calib_images, 3, *ctx);
            zoa::models::vit_calibration_options opt;
            opt.max_images = a.calib_images;
            const auto qp =
                zoa::models::calibrate_ptq4vit<typename model_t::bits>(w, calib.images, opt, nullptr, ctx->threads());
            m = std::make_unique<model_t>(w, &qp);
            if (!a.save.empty()) {
                zoa::models::save_vit(*m, a.save);
                note("wrote the calibrated model to %s\n", a.save.c_str());
            }
        }
    } else {
        m = std::make_unique<model_t>(w);
    }
    m->set_context(ctx);
    return run_all(*m, bits, ds, domains, data, a, *ctx);
}

template <class Policy>
std::vector<std::vector<double>> run_resnet(const zoa::io::safetensors_file& f, bool calibrated, int bits,
                                            data_source& ds, const std::vector<domain>& domains,
                                            const std::vector<domain_data>& data, const stream_args& a,
                                            const std::shared_ptr<zoa::execution_context>& ctx) {
    using model_t = zoa::models::resnet<Policy>;
    zoa::models::resnet_load_options lo;
    lo.threads = a.threads;
    if constexpr (model_t::quantized) {
        if (calibrated) {
            note("using the %s calibration stored in %s\n", a.precision.c_str(), a.weights.c_str());
            return run_all(model_t::from_file(f, lo), bits, ds, domains, data, a, *ctx);
        }
        note("calibrating %s (MQBench academic) on %zu images of %s...\n", a.precision.c_str(),
                     a.calib_images, a.calib.c_str());
        const domain_data calib = ds.load(parse_domain(a.calib), a.calib_images, 3, *ctx);
        const auto fp = zoa::models::resnet<zoa::policy<zoa::fp32>>::from_file(f, lo);
        const auto q = model_t::calibrate(fp, calib.images);
        if (!a.save.empty()) {
            q.save(a.save);
            note("wrote the calibrated model to %s\n", a.save.c_str());
        }
        return run_all(q, bits, ds, domains, data, a, *ctx);
    } else {
        return run_all(model_t::from_file(f, lo), bits, ds, domains, data, a, *ctx);
    }
}

stream_args parse(const std::vector<std::string>& args) {
    stream_args a;
    std::string methods = "zoa", data;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& k = args[i];
        auto value = [&]() -> const std::string& {
            zoa::require(i + 1 < args.size(), zoa::error_code::argument, "zoa stream: ", k, " needs a value");
            return args[++i];
        };
        if (k == "--weights")
            a.weights = value();
        else if (k == "--method")
            methods = value();
        else if (k == "--precision")
            a.precision = value();
        else if (k == "--data")
            data = value();
        else if (k == "--rounds")
            a.rounds = parse_count(k, value(), 1);
        else if (k == "--batch")
            a.batch = parse_count(k, value(), 1);
        else if (k == "--limit")
            a.limit = parse_count(k, value(), 1);
        else if (k == "--seed")
            a.seed = parse_count(k, value(), 0);
        else if (k == "--threads")
            a.threads = parse_count(k, value(), 1);
        else if (k == "--source")
            a.source = value();
        else if (k == "--source-images")
            a.source_images = parse_count(k, value(), 2);
        else if (k == "--calib")
            a.calib = value();
        else if (k == "--calib-images")
            a.calib_images = parse_count(k, value(), 1);
        else if (k == "--out")
            a.out = value();
        else if (k == "--svg")
            a.svg = value();
        else if (k == "--save-calibrated")
            a.save = value();
        else if (k == "--source-transform")
            a.source_transform = value();
        else if (k == "--zoa-set") {
            for (auto& kv : split_list(value())) a.zoa_set.push_back(kv);
        }
        else
            zoa::fail(zoa::error_code::argument, "zoa stream: unknown option '", k, "' (see zoa --help)");
    }
    zoa::require(!a.weights.empty(), zoa::error_code::argument, "zoa stream: --weights FILE is required");
    zoa::require(!data.empty(), zoa::error_code::argument, "zoa stream: --data SPEC[,SPEC...] is required");
    a.methods = split_list(methods);
    a.data = split_list(data);
    zoa::require(a.source_transform == "model" || a.source_transform == "reference", zoa::error_code::argument,
                 "zoa stream: --source-transform must be model or reference, got '", a.source_transform, "'");
    zoa::adapt::zoa_options check;
    apply_zoa_set(check, a.zoa_set);  // bad --zoa-set keys fail before any data is loaded
    for (const auto& m : a.methods)
        zoa::require(m == "none" || m == "bn" || m == "t3a" || m == "foa" || m == "zoa" || m == "zoa_nobank",
                     zoa::error_code::argument, "zoa stream: unknown --method '", m,
                     "' (expected none, bn, t3a, foa, zoa or zoa_nobank)");
    zoa::require(a.precision.empty() || a.precision == "fp32" || a.precision == "w8a8" || a.precision == "w6a6" ||
                     a.precision == "w4a4",
                 zoa::error_code::argument, "zoa stream: --precision must be fp32, w8a8, w6a6 or w4a4, got '",
                 a.precision, "'");
    return a;
}

}  // namespace

int cmd_stream(const std::vector<std::string>& args) {
    stream_args a = parse(args);
    const auto f = zoa::io::safetensors_file::open(a.weights);
    const zoa_cli::arch_info arch = zoa_cli::detect_arch(f);
    zoa::require(arch.family == "vit" || arch.family == "resnet", zoa::error_code::format, a.weights,
                 ": cannot tell whether this is a ViT or a ResNet (no zoa.arch metadata, unknown tensor names)");
    auto ctx = std::make_shared<zoa::execution_context>(a.threads);
    std::vector<domain> domains;
    for (const auto& s : a.data) domains.push_back(parse_domain(s));

    data_source ds;
    const auto meta = f.metadata().find(zoa::io::preprocess_metadata_key);
    zoa::require(meta != f.metadata().end(), zoa::error_code::format, a.weights, ": no ",
                 zoa::io::preprocess_metadata_key, " metadata (preprocessing must come from the model file)");
    ds.pre = zoa::io::preprocess_from_json(meta->second, a.weights);
    const std::string stored = zoa_cli::file_precision(f);  // a calibrated file's own precision
    if (a.precision.empty()) a.precision = stored.empty() ? "fp32" : stored;
    zoa::require(stored.empty() || stored == a.precision, zoa::error_code::argument, a.weights,
                 " holds a model calibrated for ", stored, "; --precision ", a.precision, " needs the fp32 file");
    const bool calibrated = !stored.empty();
    const int bits = a.precision == "fp32" ? 32 : a.precision[1] - '0';

    std::unique_ptr<zoa::models::vit_weights> vw;
    if (arch.family == "vit") {
        vw = std::make_unique<zoa::models::vit_weights>(zoa::models::load_vit_weights(f, nullptr, {}, nullptr));
        ds.size = vw->config.img_size;
    } else {
        ds.size = ds.pre.crop ? ds.pre.crop : 224;  // ResNets take any size: the file's preprocessing decides
    }
    if (ds.pre.crop == 0) ds.pre.crop = ds.size;

    note("loading %zu domain(s)...\n", domains.size());
    std::vector<domain_data> data;
    for (const auto& d : domains) data.push_back(ds.load(d, a.limit, a.seed, *ctx));

    std::vector<std::vector<double>> acc;
    if (arch.family == "vit") {
        if (a.precision == "fp32")
            acc = run_vit<zoa::policy<zoa::fp32>>(*vw, calibrated, bits, ds, domains, data, a, ctx);
        else if (a.precision == "w8a8")
            acc = run_vit<zoa::ptq4vit<zoa::w8a8>>(*vw, calibrated, bits, ds, domains, data, a, ctx);
        else if (a.precision == "w6a6")
            acc = run_vit<zoa::ptq4vit<zoa::w6a6>>(*vw, calibrated, bits, ds, domains, data, a, ctx);
        else
            acc = run_vit<zoa::ptq4vit<zoa::w4a4>>(*vw, calibrated, bits, ds, domains, data, a, ctx);
    } else {
        if (a.precision == "fp32")
            acc = run_resnet<zoa::policy<zoa::fp32>>(f, calibrated, bits, ds, domains, data, a, ctx);
        else if (a.precision == "w8a8")
            acc = run_resnet<zoa::mqbench<zoa::w8a8>>(f, calibrated, bits, ds, domains, data, a, ctx);
        else if (a.precision == "w6a6")
            acc = run_resnet<zoa::mqbench<zoa::w6a6>>(f, calibrated, bits, ds, domains, data, a, ctx);
        else
            acc = run_resnet<zoa::mqbench<zoa::w4a4>>(f, calibrated, bits, ds, domains, data, a, ctx);
    }

    std::vector<std::string> labels;
    for (std::size_t r = 1; r <= a.rounds; ++r)
        for (const auto& d : domains) labels.push_back(a.rounds > 1 ? "r" + std::to_string(r) + ":" + d.name : d.name);
    std::vector<zoa_cli::series> rows;
    for (std::size_t m = 0; m < a.methods.size(); ++m) rows.push_back({a.methods[m], acc[m]});
    const std::string title = "zoa stream: " + arch.family + " " + a.precision + ", accuracy per domain";
    if (!a.out.empty()) {
        std::string md = "# " + title + "\n\n";
        md += "Command: `zoa stream";
        for (const auto& s : args) md += " " + s;
        md += "`\n\n" + zoa_cli::markdown_table(labels, rows);
        zoa_cli::write_file(a.out, md);
        note("wrote %s\n", a.out.c_str());
    }
    if (!a.svg.empty()) {
        zoa_cli::write_file(a.svg, zoa_cli::svg_chart(labels, rows, title));
        note("wrote %s\n", a.svg.c_str());
    }
    return 0;
}
