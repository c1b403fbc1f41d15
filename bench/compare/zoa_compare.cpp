// zoa — bench/compare driver: calibrate once (prepare), then time plain quantized inference (infer), one ZOA/FOA
// adaptation step (adapt) and a long adapting stream's memory (stream), each in its own process for peak RSS
// SPDX-License-Identifier: MIT
//
// Usage (bench/compare/run.sh drives it):
//   zoa_compare prepare --model vit|resnet --precision w8a8|w6a6 --fp32 FILE --out FILE [--threads N]
//   zoa_compare infer   --model vit|resnet --precision P --weights FILE --batch B [--warmup W] [--reps R]
//   zoa_compare adapt   --model vit|resnet --precision P --weights FILE --batch B --method zoa|foa [--warmup W]
//                       [--reps R]
//   zoa_compare stream  --weights FILE (a calibrated W6A6 ViT, e.g. examples/assets/fmnist_vit_w6a6.safetensors)
//                       [--batches N] [--batch B]
// Every mode prints one `key=value` line on stdout. Timing: steady_clock around each call, warm-up calls excluded;
// ms values are the median of the timed repetitions. adapt alternates two input batches (as a stream, no step sees
// the previous call's batch again) and also times `reps` pairs (one plain predict, then one step, back to back on
// the same input) and prints the median per-pair step / inference ratio, wall and CPU time.
// Peak RSS: after loading the model (and, for adapt, computing the source statistics and building the adapter) the
// driver returns freed heap to the kernel (malloc_trim) and resets the kernel's high-water mark
// (`echo 5 > /proc/self/clear_refs`), so peak_rss_mb = VmHWM of the measured
// calls only (model + adapter state + scratch), not of the one-off fp32 load. Inputs are N(0, 1) images (seed 7).
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/models/resnet.hpp"
#include "zoa/models/vit.hpp"
#include "zoa/models/vit_calibration.hpp"
#include "zoa/models/vit_io.hpp"

namespace {

using batch_t = xt::xtensor<float, 4>;
using clock_type = std::chrono::steady_clock;

struct args {
    std::string mode, model = "vit", precision = "w8a8", fp32, out, weights, method = "zoa";
    std::size_t batch = 8, warmup = 1, reps = 3, threads = 2, batches = 1000;
};

args parse(int argc, char** argv) {
    zoa::require(argc >= 2, zoa::error_code::argument, "zoa_compare: expected a mode (prepare|infer|adapt|stream)");
    args a;
    a.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        const std::string k = argv[i];
        zoa::require(i + 1 < argc, zoa::error_code::argument, "zoa_compare: ", k, " needs a value");
        const std::string v = argv[++i];
        // a whole decimal count (no sign, no trailing text, no overflow), else zoa::error naming the option
        const auto count = [&]() {
            std::size_t pos = 0;
            unsigned long long n = 0;
            bool ok = !v.empty() && v[0] >= '0' && v[0] <= '9';
            try {
                if (ok) n = std::stoull(v, &pos);
            } catch (const std::exception&) {
                ok = false;
            }
            zoa::require(ok && pos == v.size(), zoa::error_code::argument, "zoa_compare: ", k,
                         " expects a whole number, got '", v, "'");
            return static_cast<std::size_t>(n);
        };
        if (k == "--model") a.model = v;
        else if (k == "--precision") a.precision = v;
        else if (k == "--fp32") a.fp32 = v;
        else if (k == "--out") a.out = v;
        else if (k == "--weights") a.weights = v;
        else if (k == "--method") a.method = v;
        else if (k == "--batch") a.batch = count();
        else if (k == "--warmup") a.warmup = count();
        else if (k == "--reps") a.reps = count();
        else if (k == "--threads") a.threads = count();
        else if (k == "--batches") a.batches = count();
        else zoa::fail(zoa::error_code::argument, "zoa_compare: unknown option '", k, "'");
    }
    zoa::require(a.model == "vit" || a.model == "resnet", zoa::error_code::argument,
                 "zoa_compare: --model must be vit or resnet, got '", a.model, "'");
    zoa::require(a.precision == "w8a8" || a.precision == "w6a6", zoa::error_code::argument,
                 "zoa_compare: --precision must be w8a8 or w6a6, got '", a.precision, "'");
    zoa::require(a.batch >= 1 && a.reps >= 1, zoa::error_code::argument, "zoa_compare: --batch and --reps >= 1");
    return a;
}

batch_t random_images(std::size_t n, std::size_t c, std::size_t hw, std::uint32_t seed) {
    batch_t x = batch_t::from_shape({n, c, hw, hw});
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (auto& v : x) v = d(g);
    return x;
}

/// FNV-1a over the bytes of a float tensor: y = (y ^ byte)·1099511628211 from 14695981039346656037.
template <class T>
std::uint64_t fnv1a(const T& x) {
    std::uint64_t h = 14695981039346656037ull;
    for (const float v : x) {
        unsigned char b[sizeof(float)];
        std::memcpy(b, &v, sizeof(float));
        for (const unsigned char c : b) h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

/// A /proc/self/status field in MiB (VmRSS, VmHWM).
double status_mb(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const std::string key = std::string(field) + ":";
    while (std::getline(f, line))
        if (line.compare(0, key.size(), key) == 0) return std::stod(line.substr(key.size())) / 1024.0;  // kB
    return 0.0;
}

/// Returns freed heap to the kernel and restarts the peak-RSS count from the current RSS.
void reset_peak() {
    malloc_trim(0);
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
}

/// CPU time of the whole process (all threads) in ms: a load-independent cost measure next to the wall time.
double cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Median ms of `reps` calls of f after `warmup` untimed calls.
template <class F>
double time_ms(std::size_t warmup, std::size_t reps, F&& f) {
    for (std::size_t i = 0; i < warmup; ++i) f();
    std::vector<double> t;
    for (std::size_t i = 0; i < reps; ++i) {
        const auto t0 = clock_type::now();
        f();
        t.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    }
    return median(t);
}

template <class Bits>
using vit_q = zoa::models::vit<zoa::ptq4vit<Bits>>;
template <class Bits>
using resnet_q = zoa::models::resnet<zoa::mqbench<Bits>>;

/// The cheapest calibration the APIs offer (the numbers are for speed, not accuracy): ViT = PTQ4ViT on 1 image with
/// a 4-candidate, 1-round search and 4 softmax splits; ResNet = MQBench observers on 2 images.
template <class Bits>
void prepare(const args& a) {
    const auto t0 = clock_type::now();
    if (a.model == "vit") {
        const zoa::models::vit_config cfg = zoa::models::vit_base_patch16_224();
        const zoa::models::vit_weights w = zoa::models::load_vit_weights(a.fp32, &cfg);
        zoa::models::vit_calibration_options opt;
        opt.max_images = 1;
        opt.search.eq_n = 4;
        opt.search.search_round = 1;
        opt.search.split_count = 4;
        const batch_t images = random_images(1, cfg.in_chans, cfg.img_size, 11);
        const auto qp = zoa::models::calibrate_ptq4vit<Bits>(w, images, opt, nullptr, a.threads);
        zoa::models::save_vit(vit_q<Bits>(w, &qp), a.out);
    } else {
        zoa::models::resnet_load_options lo;
        lo.arch = "resnet50";
        lo.threads = a.threads;
        const auto fp = zoa::models::resnet<zoa::policy<zoa::fp32>>::load(a.fp32, lo);
        zoa::models::calibration_options opt;
        opt.images = 2;
        opt.batch_size = 2;
        resnet_q<Bits>::calibrate(fp, random_images(2, 3, 224, 11), opt).save(a.out);
    }
    std::printf("prepare model=%s precision=%s seconds=%.1f\n", a.model.c_str(), a.precision.c_str(),
                std::chrono::duration<double>(clock_type::now() - t0).count());
}

template <class M>
struct is_vit : std::false_type {};
template <class P>
struct is_vit<zoa::models::vit<P>> : std::true_type {};

template <class Model>
Model load_model(const args& a) {
    if constexpr (is_vit<Model>::value) {
        Model m(zoa::models::load_vit_weights(a.weights));
        m.set_threads(a.threads);
        return m;
    } else {
        zoa::models::resnet_load_options lo;
        lo.threads = a.threads;
        return Model::load(a.weights, lo);
    }
}

template <class Model>
void infer(const args& a, std::size_t hw) {
    const Model m = load_model<Model>(a);
    const batch_t x = random_images(a.batch, 3, hw, 7);
    const double load_peak = status_mb("VmHWM");
    reset_peak();
    double cpu = 0;
    const double ms = time_ms(a.warmup, a.reps, [&] {
        const double c0 = cpu_ms();
        (void)m.predict(x);
        cpu += cpu_ms() - c0;
    });
    std::printf("infer model=%s precision=%s batch=%zu threads=%zu ms_per_batch=%.2f ms_per_image=%.2f "
                "cpu_ms_per_image=%.2f peak_rss_mb=%.1f load_peak_rss_mb=%.1f\n",
                a.model.c_str(), a.precision.c_str(), a.batch, a.threads, ms, ms / double(a.batch),
                cpu / double((a.warmup + a.reps) * a.batch), status_mb("VmHWM"), load_peak);
}

template <class Model>
void adapt(const args& a, std::size_t hw) {
    const Model m = load_model<Model>(a);
    const bool resnet = m.layout().family == zoa::adapt::model_family::resnet;
    // source statistics from 2 random batches (the statistics' values do not change the cost of a step)
    std::vector<batch_t> src_batches = {random_images(a.batch, 3, hw, 21), random_images(a.batch, 3, hw, 22)};
    zoa::adapt::forward_request req;
    req.batch_statistics = resnet;
    const zoa::adapt::source_statistics src = zoa::adapt::compute_source_statistics(m, src_batches, req);
    src_batches.clear();
    src_batches.shrink_to_fit();
    // Two batches, alternated: a stream never repeats a batch, and the ResNet reuses the unadapted prefix of the
    // previous forward only for the same input bytes (the step's second, perturbed forward); with one repeated batch
    // every step's first forward would reuse it too and the step would look ≈ 4 % cheaper than on a stream.
    const batch_t xs[2] = {random_images(a.batch, 3, hw, 7), random_images(a.batch, 3, hw, 8)};
    std::size_t call = 0;
    const auto next = [&]() -> const batch_t& { return xs[call++ % 2]; };
    const double load_peak = status_mb("VmHWM");
    double ms = 0, cpu = 0, peak = 0;
    std::uint64_t forwards = 0;
    std::vector<double> pair_step, pair_infer, pair_ratio, pair_cpu_ratio;
    std::uint64_t logits_fnv = 0;  // of the last step's logits: equal across builds that compute the same bits
    const auto run = [&](auto& adapter) {
        reset_peak();
        ms = time_ms(a.warmup, a.reps, [&] {
            const double c0 = cpu_ms();
            (void)adapter.predict_and_adapt(next());
            cpu += cpu_ms() - c0;
        });
        forwards = adapter.stats().last_forwards;
        peak = status_mb("VmHWM");  // of the steps alone, read before the paired calls below
        // Paired calls: `reps` times one plain inference then one step on the same input, back to back, so that
        // both see the same machine state; ratio = median over pairs of step_ms / infer_ms (same for CPU time).
        for (std::size_t i = 0; i < a.reps; ++i) {
            const batch_t& x = next();
            const double c0 = cpu_ms();
            const auto t0 = clock_type::now();
            (void)m.predict(x);
            const double c1 = cpu_ms();
            const auto t1 = clock_type::now();
            const auto& y = adapter.predict_and_adapt(x);
            const double c2 = cpu_ms();
            logits_fnv = fnv1a(y);
            const auto t2 = clock_type::now();
            pair_infer.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            pair_step.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
            pair_ratio.push_back(pair_step.back() / pair_infer.back());
            pair_cpu_ratio.push_back((c2 - c1) / (c1 - c0));
        }
    };
    if (a.method == "foa") {
        zoa::adapt::foa_adapter<Model> f(m, zoa::adapt::foa_options{}, src);
        run(f);
    } else {
        const int bits = a.precision == "w8a8" ? 8 : 6;
        const auto family = resnet ? zoa::adapt::model_family::resnet : zoa::adapt::model_family::vit;
        zoa::adapt::zoa_adapter<Model> z(m, zoa::adapt::zoa_options::paper(family, bits), src);
        run(z);
    }
    std::printf("adapt model=%s precision=%s method=%s batch=%zu threads=%zu step_ms=%.2f step_cpu_ms=%.2f "
                "forwards=%llu peak_rss_mb=%.1f load_peak_rss_mb=%.1f paired_step_ms=%.2f paired_infer_ms=%.2f "
                "paired_ratio=%.2f paired_cpu_ratio=%.2f logits_fnv=%016llx\n",
                a.model.c_str(), a.precision.c_str(), a.method.c_str(), a.batch, a.threads, ms,
                cpu / double(a.warmup + a.reps), static_cast<unsigned long long>(forwards), peak, load_peak,
                median(pair_step), median(pair_infer), median(pair_ratio), median(pair_cpu_ratio),
                static_cast<unsigned long long>(logits_fnv));
}

/// ZOA over a long stream of random batches on a small calibrated W6A6 ViT: RSS sampled every batches/10 batches.
void stream(const args& a) {
    using model_t = vit_q<zoa::w6a6>;
    model_t m(zoa::models::load_vit_weights(a.weights));
    m.set_threads(a.threads);
    const std::size_t hw = m.config().img_size, c = m.config().in_chans;
    std::vector<batch_t> src_batches = {random_images(a.batch, c, hw, 21), random_images(a.batch, c, hw, 22)};
    const auto src = zoa::adapt::compute_source_statistics(m, src_batches, zoa::adapt::forward_request{});
    zoa::adapt::zoa_adapter<model_t> z(m, zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, 6), src);
    std::vector<double> rss;
    const std::size_t every = std::max<std::size_t>(1, a.batches / 10);
    const auto t0 = clock_type::now();
    for (std::size_t b = 0; b < a.batches; ++b) {
        // a new random batch each time (the domain drifts: the input scale changes every 100 batches)
        batch_t x = random_images(a.batch, c, hw, static_cast<std::uint32_t>(1000 + b));
        x *= 1.0f + 0.1f * static_cast<float>((b / 100) % 5);
        (void)z.predict_and_adapt(x);
        if ((b + 1) % every == 0) rss.push_back(status_mb("VmRSS"));
    }
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::string name = a.weights.substr(a.weights.find_last_of('/') + 1);
    name = name.substr(0, name.find('.'));
    std::printf("stream model=%s method=zoa batches=%zu batch=%zu seconds=%.1f rss_mb=", name.c_str(), a.batches,
                a.batch, s);
    for (std::size_t i = 0; i < rss.size(); ++i) std::printf("%s%.1f", i ? "," : "", rss[i]);
    std::printf(" rss_growth_mb=%.1f peak_rss_mb=%.1f\n", rss.empty() ? 0.0 : rss.back() - rss.front(),
                status_mb("VmHWM"));
}

template <class Bits>
void run_bits(const args& a) {
    if (a.mode == "prepare") return prepare<Bits>(a);
    const bool vit = a.model == "vit";
    if (a.mode == "infer") return vit ? infer<vit_q<Bits>>(a, 224) : infer<resnet_q<Bits>>(a, 224);
    if (a.mode == "adapt") return vit ? adapt<vit_q<Bits>>(a, 224) : adapt<resnet_q<Bits>>(a, 224);
    zoa::fail(zoa::error_code::argument, "zoa_compare: unknown mode '", a.mode, "'");
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const args a = parse(argc, argv);
        if (a.mode == "stream") stream(a);
        else if (a.precision == "w8a8") run_bits<zoa::w8a8>(a);
        else run_bits<zoa::w6a6>(a);
        std::fflush(stdout);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "zoa_compare: %s\n", e.what());
        return 1;
    }
}
