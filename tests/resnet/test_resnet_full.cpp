// zoa — opt-in full-size check: random-weight torchvision resnet50 vs PyTorch (fp32 logits/features, batch-statistics
// BN), MQBench W8A8 calibration, top-1 agreement, calibrated-file size, memory and timings.
//   /usr/bin/python3 tools/reference/gen_resnet_fixture.py --full-size build-resnet/full
//   ZOA_RESNET_FULL_DIR=build-resnet/full build-resnet/bin/test_resnet --no-skip -tc="*full-size*"
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>

#include "resnet_fixture.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// max |a − b| after subtracting each logit's mean over the images, relative to max |b| (issue 5's criterion)
float centred_rel_diff(const xt::xtensor<float, 2>& a, const xt::xtensor<float, 2>& b) {
    float worst = 0;
    for (std::size_t c = 0; c < a.shape(1); ++c) {
        double ma = 0, mb = 0;
        for (std::size_t i = 0; i < a.shape(0); ++i) {
            ma += a(i, c);
            mb += b(i, c);
        }
        ma /= double(a.shape(0));
        mb /= double(a.shape(0));
        for (std::size_t i = 0; i < a.shape(0); ++i)
            worst = std::max(worst, static_cast<float>(std::fabs((a(i, c) - ma) - (b(i, c) - mb))));
    }
    return worst / rt::max_abs(b);
}

}  // namespace

TEST_CASE("full-size resnet50 (torchvision names, random weights) vs PyTorch; W8A8" * doctest::skip()) {
    const char* dir = std::getenv("ZOA_RESNET_FULL_DIR");
    REQUIRE_MESSAGE(dir != nullptr, "set ZOA_RESNET_FULL_DIR to the directory written by gen_resnet_fixture.py --full-size");
    const char* th = std::getenv("ZOA_THREADS");
    const std::size_t threads = th ? std::strtoul(th, nullptr, 10) : 2;
    zoa::models::resnet_load_options opt;
    opt.threads = threads;
    auto t0 = std::chrono::steady_clock::now();
    const auto fp = rt::fp_resnet::load(std::string(dir) + "/resnet50.safetensors", opt);
    MESSAGE("load: " << seconds_since(t0) << " s; " << fp.report().to_string() << "; " << fp.summary());
    CHECK(fp.config() == zoa::models::resnet_config::resnet50());
    const auto g = zoa::io::safetensors_file::open(std::string(dir) + "/resnet50_golden.safetensors");
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({4, 3, 224, 224});
    g.to_f32("input", x.data(), x.size());
    auto mat = [&](const char* k) {
        const auto& s = g.info(k).shape;
        xt::xtensor<float, 2> m = xt::xtensor<float, 2>::from_shape({s[0], s[1]});
        g.to_f32(k, m.data(), m.size());
        return m;
    };

    t0 = std::chrono::steady_clock::now();
    const auto logits = fp.predict(x);
    const double t_fp = seconds_since(t0);
    const auto ref = mat("eval.logits");
    MESSAGE("fp32 predict, 4 images 224x224, " << threads << " threads: " << t_fp << " s; logits vs torch "
                                              << rt::rel_diff(logits, ref) << " (centred " << centred_rel_diff(logits, ref)
                                              << ")");
    CHECK(centred_rel_diff(logits, ref) <= 1e-3f);
    CHECK(rt::top1(logits) == rt::top1(ref));
    zoa::adapt::forward_result r;
    fp.forward_adapt(x, zoa::adapt::forward_request{}, r);
    CHECK(rt::rel_diff(r.features, mat("eval.features")) <= 1e-4f);
    zoa::adapt::forward_request bs;
    bs.batch_statistics = true;
    fp.forward_adapt(x, bs, r);
    MESSAGE("batch-statistics logits vs torch " << rt::rel_diff(r.logits, mat("batch.logits")));
    CHECK(rt::rel_diff(r.logits, mat("batch.logits")) <= 1e-3f);

    zoa::models::calibration_options copt;
    copt.batch_size = 4;
    t0 = std::chrono::steady_clock::now();
    const auto q = rt::w8_resnet::calibrate(fp, x, copt);
    MESSAGE("W8A8 calibration on 4 images: " << seconds_since(t0) << " s");
    t0 = std::chrono::steady_clock::now();
    const auto ql = q.predict(x);
    MESSAGE("W8A8 predict (integer kernels): " << seconds_since(t0) << " s; top-1 agreement with fp32 "
                                                << std::string(rt::top1(ql) == rt::top1(logits) ? "4/4" : "< 4/4")
                                                << "; logits vs fp32 " << rt::rel_diff(ql, logits));
    const rt::temp_file tf("r50q8");
    q.save(tf.path);
    const double ratio = double(std::filesystem::file_size(tf.path)) /
                         double(std::filesystem::file_size(std::string(dir) + "/resnet50.safetensors"));
    MESSAGE("calibrated W8A8 file / fp32 file = " << ratio);
    CHECK(ratio <= 0.3);
    MESSAGE("memory at batch 64, 224x224: fp32 " << fp.memory(64, 224, 224).to_string() << "; W8A8 "
                                                 << q.memory(64, 224, 224).to_string());
}
