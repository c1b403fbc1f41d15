// zoa — GEMM/conv benchmark: zoa's kernels vs oneDNN in the same process with 2 threads, one summary line per shape
// SPDX-License-Identifier: MIT
//
// Prints, after the Google Benchmark table, one line per shape and bit-width:
//   gemm shape=<name> bits=<8|6|4|32> zoa_gops=<x> onednn_gops=<y> ratio=<x/y>
//   conv shape=<r50_...> bits=<8|6|4|32> zoa_gops=<x> onednn_gops=<y> ratio=<x/y> onednn_impl=<oneDNN's kernel>
// gemm bits 8/6/4: zoa's integer GEMM for that code range vs oneDNN's 8-bit u8s8s32 GEMM; bits 32: zoa's fp32 GEMM
// vs dnnl_sgemm. conv bits 8/6/4: a ResNet-50 layer as zoa's integer ResNet runs it (NHWC codes → conv2d_q8_nhwc with
// the fused BatchNorm + ReLU + requantization epilogue → NHWC codes) vs oneDNN's int8 convolution primitive (u8 → u8
// with output scales and a ReLU post-op, layouts of its choice); bits 32: zoa's conv2d_f32 vs oneDNN's f32 conv.
// Each number is the best of ZOA_BENCH_REPS repetitions (default 3; GOP/s = 2*M*N*K / wall time); on a machine
// whose speed drifts, add --benchmark_enable_random_interleaving=true so that both sides' repetitions are shuffled
// over the same minutes. Both sides run the same instruction set, chosen by ZOA_BENCH_ISA:
//   avx2 (default)  zoa Arch = xsimd::fma3<xsimd::avx2>,            oneDNN dnnl_set_max_cpu_isa(avx2)
//   avx2_vnni       zoa int Arch = with_vnni<fma3<avx2>>, fp32 avx2, oneDNN avx2_vnni
//   native          zoa q8_default_arch / zoa::default_arch,        oneDNN uncapped (AVX-512, VNNI, AMX if present)
// ONEDNN_MAX_CPU_ISA, when set, overrides oneDNN's cap. ZOA_BENCH_THREADS=1 runs both libraries on one thread and
// rates them by thread CPU time instead of wall time (robust when the machine is shared: time-slicing by other
// processes is not counted).
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <unistd.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "zoa/core/execution.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/kernels/conv2d.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/quant/bit_width.hpp"

namespace {

namespace zk = zoa::kernels;
namespace zq = zoa::quant;
using avx2_arch = xsimd::fma3<xsimd::avx2>;
int bench_threads = 2;
int bench_reps = 3;  // repetitions per benchmark (ZOA_BENCH_REPS); the summary lines keep the best

struct gemm_case {
    const char* name;
    std::size_t m, n, k;
};
struct conv_case {
    const char* name;
    zk::conv2d_shape s;
};
const gemm_case gemm_cases[] = {{"vit_qkv", 1576, 2304, 768},
                                {"vit_proj", 1576, 768, 768},
                                {"vit_fc1", 1576, 3072, 768},
                                {"vit_fc2", 1576, 768, 3072}};
// ResNet-50 convolutions at batch 8 (224×224 images): the stem, the 3×3 of every stage, the 1×1 expand / reduce of
// layer1, the stride-2 downsample of layer2 and layer3's 1×1 expand.
const conv_case conv_cases[] = {{"r50_stem_7x7", {8, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3}},
                                {"r50_conv1x1_56", {8, 64, 56, 56, 256, 1, 1, 1, 1, 0, 0}},
                                {"r50_conv1x1_56r", {8, 256, 56, 56, 64, 1, 1, 1, 1, 0, 0}},
                                {"r50_conv3x3_56", {8, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1}},
                                {"r50_down_56", {8, 256, 56, 56, 512, 1, 1, 2, 2, 0, 0}},
                                {"r50_conv3x3_28", {8, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1}},
                                {"r50_conv3x3_14", {8, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1}},
                                {"r50_conv1x1_14", {8, 256, 14, 14, 1024, 1, 1, 1, 1, 0, 0}},
                                {"r50_conv3x3_7", {8, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1}}};

zoa::execution_context& pool() {
    static zoa::execution_context ctx(bench_threads);
    return ctx;
}

template <class Range>
std::vector<typename Range::storage> codes(std::size_t n, std::uint64_t seed) {
    zoa::rng g(seed);
    std::vector<typename Range::storage> v(n);
    for (auto& x : v) x = static_cast<typename Range::storage>(int(Range::min) + int(g.uniform_index(Range::levels)));
    return v;
}
std::vector<float> floats(std::size_t n, std::uint64_t seed) {
    zoa::rng g(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = 2.0f * g.uniform() - 1.0f;
    return v;
}

void set_ops(benchmark::State& st, double ops) { st.counters["ops"] = benchmark::Counter(ops); }

// ---- zoa ---------------------------------------------------------------------------------------------------------
template <int Bits, class Arch>
void zoa_gemm_q8(benchmark::State& st, gemm_case c) {
    using R = zq::signed_range<Bits>;  // PTQ4ViT: signed symmetric activations and weights
    const auto a = codes<R>(c.m * c.k, 1), w = codes<R>(c.n * c.k, 2);
    const zk::packed_q8<R, R, Arch> pw(w.data(), c.n, c.k, static_cast<std::ptrdiff_t>(c.k), 1);
    std::vector<std::int32_t> out(c.m * c.n);
    for (auto _ : st)
        zk::gemm_q8(a.data(), c.m, static_cast<std::ptrdiff_t>(c.k), 0, pw,
                    zk::out_i32{out.data(), zk::row_major(static_cast<std::ptrdiff_t>(c.n))}, &pool());
    set_ops(st, 2.0 * double(c.m) * double(c.n) * double(c.k));
}

template <class Arch>
void zoa_gemm_f32(benchmark::State& st, gemm_case c) {
    const auto a = floats(c.m * c.k, 1), w = floats(c.n * c.k, 2), bias = floats(c.n, 3);
    const zk::packed_f32<Arch> pw(w.data(), c.n, c.k, static_cast<std::ptrdiff_t>(c.k), 1);
    std::vector<float> out(c.m * c.n);
    for (auto _ : st)
        zk::gemm_f32<Arch>(a.data(), c.m, static_cast<std::ptrdiff_t>(c.k), pw,
                           zk::out_f32{out.data(), zk::row_major(static_cast<std::ptrdiff_t>(c.n)), bias.data()}, &pool());
    set_ops(st, 2.0 * double(c.m) * double(c.n) * double(c.k));
}

/// A ResNet layer as the integer path runs it: NHWC codes in, conv2d_q8_nhwc with the fused epilogue (dequantize,
/// BatchNorm, ReLU, requantize) out to NHWC codes.
template <int Bits, class Arch>
void zoa_conv_q8(benchmark::State& st, conv_case c) {
    using R = zq::unsigned_range<Bits>;  // MQBench: affine activations, per-channel affine weights
    using T = typename R::storage;
    const auto& s = c.s;
    const auto x = codes<R>(s.batch * s.in_channels * s.height * s.width, 4), w = codes<R>(s.out_channels * s.k(), 5);
    std::vector<std::int32_t> zw(s.out_channels);
    for (std::size_t o = 0; o < zw.size(); ++o) zw[o] = static_cast<std::int32_t>(o % (R::levels / 2)) + 1;
    const auto pw = zk::pack_conv2d_q8<R, R, Arch>(w.data(), s, zw.data(), zw.size());
    const std::vector<float> ws(s.out_channels, 1e-3f), mean(s.out_channels, 0.1f), scale(s.out_channels, 0.9f),
        shift(s.out_channels, 0.05f);
    std::vector<T> y(s.batch * s.out_channels * s.out_h() * s.out_w());
    zk::out_fused<T, T> stage;
    stage.c = y.data();
    stage.a_scale = 0.02f;
    stage.w_scale = ws.data();
    stage.w_scale_count = ws.size();
    stage.bn_mean = mean.data();
    stage.bn_scale = scale.data();
    stage.bn_shift = shift.data();
    stage.relu = true;
    stage.out_scale = 0.05f;
    stage.out_zero_point = 0;
    stage.out_max = int(R::max);
    for (auto _ : st) zk::conv2d_q8_nhwc(s, x.data(), 3, pw, stage, &pool());
    set_ops(st, 2.0 * double(s.m()) * double(s.out_channels) * double(s.k()));
}

template <class Arch>
void zoa_conv_f32(benchmark::State& st, conv_case c) {
    const auto& s = c.s;
    const auto x = floats(s.batch * s.in_channels * s.height * s.width, 4), w = floats(s.out_channels * s.k(), 5);
    const auto pw = zk::pack_conv2d_f32<Arch>(w.data(), s);
    std::vector<float> y(s.batch * s.out_channels * s.out_h() * s.out_w());
    for (auto _ : st) zk::conv2d_f32<Arch>(s, x.data(), pw, nullptr, y.data(), &pool());
    set_ops(st, 2.0 * double(s.m()) * double(s.out_channels) * double(s.k()));
}

// ---- oneDNN ------------------------------------------------------------------------------------------------------
void onednn_gemm_u8s8s32(benchmark::State& st, gemm_case c) {
    const auto a = codes<zq::unsigned_range<8>>(c.m * c.k, 1);
    const auto w = codes<zq::signed_range<8>>(c.n * c.k, 2);
    std::vector<std::int32_t> out(c.m * c.n);
    const std::int32_t co = 0;
    const auto m = static_cast<dnnl_dim_t>(c.m), n = static_cast<dnnl_dim_t>(c.n), k = static_cast<dnnl_dim_t>(c.k);
    for (auto _ : st)
        if (dnnl_gemm_u8s8s32('N', 'T', 'F', m, n, k, 1.0f, a.data(), k, 0, w.data(), k, 0, 0.0f, out.data(), n, &co) !=
            dnnl_success)
            st.SkipWithError("dnnl_gemm_u8s8s32 failed");
    set_ops(st, 2.0 * double(c.m) * double(c.n) * double(c.k));
}

void onednn_sgemm(benchmark::State& st, gemm_case c) {
    const auto a = floats(c.m * c.k, 1), w = floats(c.n * c.k, 2);
    std::vector<float> out(c.m * c.n);
    const auto m = static_cast<dnnl_dim_t>(c.m), n = static_cast<dnnl_dim_t>(c.n), k = static_cast<dnnl_dim_t>(c.k);
    for (auto _ : st)
        if (dnnl_sgemm('N', 'T', m, n, k, 1.0f, a.data(), k, w.data(), k, 0.0f, out.data(), n) != dnnl_success)
            st.SkipWithError("dnnl_sgemm failed");
    set_ops(st, 2.0 * double(c.m) * double(c.n) * double(c.k));
}

/// oneDNN's implementation names, per benchmark (e.g. "brg_conv_fwd:avx512_core_amx"), for the summary.
std::map<std::string, std::string>& onednn_impls() {
    static std::map<std::string, std::string> m;
    return m;
}

// A oneDNN forward convolution with layouts of its choice ("any"); only the primitive execution is timed. int8: u8
// source, s8 weights, u8 destination with per-channel output scales and a ReLU post-op (the static-int8 ResNet
// layer PyTorch runs on oneDNN); fp32: f32 throughout.
void onednn_conv(benchmark::State& st, conv_case c, bool int8) {
    using namespace dnnl;
    const auto& s = c.s;
    engine eng(engine::kind::cpu, 0);
    stream strm(eng);
    auto d = [](std::size_t v) { return static_cast<memory::dim>(v); };
    const memory::dims src{d(s.batch), d(s.in_channels), d(s.height), d(s.width)};
    const memory::dims wei{d(s.out_channels), d(s.in_channels), d(s.kernel_h), d(s.kernel_w)};
    const memory::dims dst{d(s.batch), d(s.out_channels), d(s.out_h()), d(s.out_w())};
    const auto ts = int8 ? memory::data_type::u8 : memory::data_type::f32;
    const auto tw = int8 ? memory::data_type::s8 : memory::data_type::f32;
    const auto td = int8 ? memory::data_type::u8 : memory::data_type::f32;
    const convolution_forward::desc desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                         memory::desc(src, ts, memory::format_tag::any),
                                         memory::desc(wei, tw, memory::format_tag::any),
                                         memory::desc(dst, td, memory::format_tag::any), {d(s.stride_h), d(s.stride_w)},
                                         {d(s.pad_h), d(s.pad_w)}, {d(s.pad_h), d(s.pad_w)});
    primitive_attr attr;
    if (int8) {
        attr.set_output_scales(2, std::vector<float>(s.out_channels, 1e-3f));  // mask 2: per output channel
        post_ops po;
        po.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
        attr.set_post_ops(po);
    }
    const convolution_forward::primitive_desc pd(desc, attr, eng);
    memory msrc(pd.src_desc(), eng), mwei(pd.weights_desc(), eng), mdst(pd.dst_desc(), eng);
    std::memset(msrc.get_data_handle(), 1, pd.src_desc().get_size());
    std::memset(mwei.get_data_handle(), 1, pd.weights_desc().get_size());
    convolution_forward conv(pd);
    for (auto _ : st) {
        conv.execute(strm, {{DNNL_ARG_SRC, msrc}, {DNNL_ARG_WEIGHTS, mwei}, {DNNL_ARG_DST, mdst}});
        strm.wait();
    }
    st.SetLabel(pd.impl_info_str());
    onednn_impls()[std::string(c.name) + (int8 ? "/8" : "/32")] = pd.impl_info_str();
    set_ops(st, 2.0 * double(s.m()) * double(s.out_channels) * double(s.k()));
}

// ---- summary -----------------------------------------------------------------------------------------------------
/// Console output as usual, plus the best GOP/s of each benchmark over its repetitions.
class summary_reporter : public benchmark::ConsoleReporter {
public:
    summary_reporter()
        : ConsoleReporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                : benchmark::ConsoleReporter::OO_Tabular) {}
    std::map<std::string, double> best;
    void ReportRuns(const std::vector<Run>& runs) override {
        std::vector<Run> shown;
        for (const auto& r : runs) {
            if (r.run_type == Run::RT_Aggregate) {
                if (r.aggregate_name == "median") shown.push_back(r);
                continue;
            }
            const double seconds = bench_threads == 1 ? r.cpu_accumulated_time : r.real_accumulated_time;
            if (r.error_occurred || r.iterations == 0 || seconds <= 0) continue;
            const auto it = r.counters.find("ops");
            if (it == r.counters.end()) continue;
            const double gops = it->second.value * double(r.iterations) / seconds / 1e9;
            const std::string key = r.run_name.function_name;
            if (gops > best[key]) best[key] = gops;
        }
        if (shown.empty()) shown = runs;
        ConsoleReporter::ReportRuns(shown);
    }
};

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

template <class IntArch, class FloatArch>
void register_all() {
    auto reg = [](const std::string& name, auto fn, auto arg) {
        benchmark::RegisterBenchmark(name.c_str(), fn, arg)
            ->UseRealTime()
            ->MinTime(0.2)
            ->Repetitions(bench_reps)
            ->Unit(benchmark::kMillisecond);
    };
    for (const auto& c : gemm_cases) {
        const std::string n = c.name;
        reg("onednn/" + n + "/8", onednn_gemm_u8s8s32, c);
        reg("zoa/" + n + "/8", zoa_gemm_q8<8, IntArch>, c);
        reg("zoa/" + n + "/6", zoa_gemm_q8<6, IntArch>, c);
        reg("zoa/" + n + "/4", zoa_gemm_q8<4, IntArch>, c);
        reg("onednn/" + n + "/32", onednn_sgemm, c);
        reg("zoa/" + n + "/32", zoa_gemm_f32<FloatArch>, c);
    }
    for (const auto& c : conv_cases) {
        const std::string n = c.name;
        reg("onednn/" + n + "/8", [](benchmark::State& st, conv_case cc) { onednn_conv(st, cc, true); }, c);
        reg("zoa/" + n + "/8", zoa_conv_q8<8, IntArch>, c);
        reg("zoa/" + n + "/6", zoa_conv_q8<6, IntArch>, c);
        reg("zoa/" + n + "/4", zoa_conv_q8<4, IntArch>, c);
        reg("onednn/" + n + "/32", [](benchmark::State& st, conv_case cc) { onednn_conv(st, cc, false); }, c);
        reg("zoa/" + n + "/32", zoa_conv_f32<FloatArch>, c);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (const char* t = std::getenv("ZOA_BENCH_THREADS")) bench_threads = std::string(t) == "1" ? 1 : 2;
    if (const char* r = std::getenv("ZOA_BENCH_REPS")) {
        char* end = nullptr;
        const long v = std::strtol(r, &end, 10);
        if (end == r || *end != '\0' || v < 1 || v > 100) {
            std::fprintf(stderr, "zoa_bench: ZOA_BENCH_REPS must be an integer in 1..100, got '%s'\n", r);
            return 2;
        }
        bench_reps = static_cast<int>(v);
    }
    const std::string mode = std::getenv("ZOA_BENCH_ISA") ? std::getenv("ZOA_BENCH_ISA") : "avx2";
    std::string zoa_isa, onednn_isa = std::getenv("ONEDNN_MAX_CPU_ISA") ? std::getenv("ONEDNN_MAX_CPU_ISA") : "";
    auto cap = [&](dnnl_cpu_isa_t isa, const char* name) {
        if (onednn_isa.empty()) {
            dnnl_set_max_cpu_isa(isa);
            onednn_isa = name;
        }
    };
    if (mode == "native") {
        register_all<zk::q8_default_arch, zoa::default_arch>();
        zoa_isa = std::string("int8: ") + zk::q8_kernels_compiled() +
                  (zk::x86::amx_compiled && !zk::amx_active() ? " (AMX not granted)" : "") +
                  ", fp32: " + zk::f32_kernel_name<zoa::default_arch>();
        if (onednn_isa.empty()) onednn_isa = "native";
    } else if (mode == "avx2_vnni") {
        if constexpr (zk::vnni_compiled) {
            register_all<zk::with_vnni<avx2_arch>, avx2_arch>();
            zoa_isa = "int8: avx-vnni, fp32: avx2-fma";
            cap(dnnl_cpu_isa_avx2_vnni, "avx2_vnni");
        } else {
            std::fprintf(stderr, "zoa_bench: ZOA_BENCH_ISA=avx2_vnni needs a build with AVX-VNNI (-march=native)\n");
            return 1;
        }
    } else if (mode == "avx2") {
        register_all<avx2_arch, avx2_arch>();
        zoa_isa = "int8: avx2, fp32: avx2-fma";
        cap(dnnl_cpu_isa_avx2, "avx2");
    } else {
        std::fprintf(stderr, "zoa_bench: unknown ZOA_BENCH_ISA=%s (avx2, avx2_vnni, native)\n", mode.c_str());
        return 1;
    }
    // oneDNN's OpenMP runtime: pin it to the same thread count as zoa (libgomp is loaded by libdnnl).
    using set_threads_fn = void (*)(int);
    if (auto* f = reinterpret_cast<set_threads_fn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) f(bench_threads);

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    const std::string load_before = load_average();
    summary_reporter rep;
    benchmark::RunSpecifiedBenchmarks(&rep);
    benchmark::Shutdown();

    std::printf("# ZOA_BENCH_ISA=%s: zoa %s; oneDNN max ISA %s; %d thread(s) each, rated by %s\n", mode.c_str(),
                zoa_isa.c_str(), onednn_isa.c_str(), bench_threads,
                bench_threads == 1 ? "thread CPU time" : "wall time");
    std::printf("# load average (1/5/15 min) before: %s, after: %s\n", load_before.c_str(), load_average().c_str());
    auto line = [&](const char* kind, const char* shape, int bits) {
        const std::string s = shape, b = std::to_string(bits), ob = bits == 32 ? "32" : "8";
        const auto z = rep.best.find("zoa/" + s + "/" + b), o = rep.best.find("onednn/" + s + "/" + ob);
        if (z == rep.best.end() || o == rep.best.end()) return;
        std::printf("%s shape=%s bits=%d zoa_gops=%.1f onednn_gops=%.1f ratio=%.3f", kind, shape, bits, z->second,
                    o->second, z->second / o->second);
        const auto impl = onednn_impls().find(s + "/" + ob);
        if (impl != onednn_impls().end()) std::printf(" onednn_impl=%s", impl->second.c_str());
        std::printf("\n");
    };
    for (const auto& c : gemm_cases)
        for (int bits : {8, 6, 4, 32}) line("gemm", c.name, bits);
    // convolutions: zoa conv2d_q8_nhwc with the fused ResNet epilogue vs oneDNN's convolution primitive
    for (const auto& c : conv_cases)
        for (int bits : {8, 6, 4, 32}) line("conv", c.name, bits);
    return 0;
}
