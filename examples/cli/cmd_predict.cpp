// zoa — `zoa predict`: classify images with a ViT (fp32, or PTQ4ViT W8A8/W6A6/W4A4 from a calibrated file or
// calibrated here on --calib images, optionally saved with --save); one line per image: path, top-1 class, every
// logit (%.9g)
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "model_files.hpp"
#include "model_options.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/io/image.hpp"
#include "zoa/io/preprocess.hpp"
#include "zoa/io/preprocess_metadata.hpp"
#include "zoa/io/safetensors_reader.hpp"
#include "zoa/models/resnet.hpp"
#include "zoa/models/vit.hpp"
#include "zoa/models/vit_calibration.hpp"
#include "zoa/models/vit_io.hpp"

namespace {

const char* const predict_usage =
    "usage: zoa predict --weights FILE [--arch NAME] [--precision fp32|w8a8|w6a6|w4a4] [--calib DIR] "
    "[--preprocess imagenet] [--mean a,b,c] [--std a,b,c] [--resize N | --crop-pct P] [--interpolation M] "
    "[--threads N] [--save FILE] IMAGE...";

/// Images per forward (bounds memory; results do not depend on it).
constexpr std::size_t predict_chunk = 32;
/// Calibration images taken from --calib DIR (PTQ4ViT uses 32).
constexpr std::size_t calib_images = 32;

struct predict_args {
    std::string weights, precision, calib, save;
    zoa_cli::model_flags model;  // --arch and the preprocessing flags (model_options.hpp)
    std::size_t threads = 1;
    std::vector<std::string> images;
};

predict_args parse(const std::vector<std::string>& args) {
    predict_args a;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& s = args[i];
        const auto value = [&]() -> const std::string& {
            zoa::require(i + 1 < args.size(), zoa::error_code::argument, "zoa predict: ", s, " needs a value (",
                         predict_usage, ")");
            return args[++i];
        };
        if (zoa_cli::parse_model_flag(args, i, a.model, "zoa predict"))
            continue;
        if (s == "--weights")
            a.weights = value();
        else if (s == "--precision")
            a.precision = value();
        else if (s == "--calib")
            a.calib = value();
        else if (s == "--save")
            a.save = value();
        else if (s == "--threads") {
            const std::string& v = value();
            char* end = nullptr;
            const unsigned long n = std::strtoul(v.c_str(), &end, 10);
            zoa::require(!v.empty() && *end == '\0' && n >= 1 && n <= 1024 && v[0] != '-', zoa::error_code::argument,
                         "zoa predict: --threads must be an integer in 1..1024, got '", v, "'");
            a.threads = n;
        } else if (s.size() > 1 && s[0] == '-' && s[1] == '-') {
            zoa::fail(zoa::error_code::argument, "zoa predict: unknown option '", s, "' (", predict_usage, ")");
        } else {
            a.images.push_back(s);
        }
    }
    zoa::require(!a.weights.empty(), zoa::error_code::argument, "zoa predict: --weights FILE is required (",
                 predict_usage, ")");
    zoa::require(!a.images.empty(), zoa::error_code::argument, "zoa predict: no IMAGE given (", predict_usage, ")");
    zoa::require(a.precision.empty() || a.precision == "fp32" || a.precision == "w8a8" || a.precision == "w6a6" ||
                     a.precision == "w4a4",
                 zoa::error_code::argument, "zoa predict: --precision must be fp32, w8a8, w6a6 or w4a4, got '",
                 a.precision, "'");
    return a;
}

/// The first `limit` image files under dir (recursive, sorted by path).
std::vector<std::string> calibration_files(const std::string& dir, std::size_t limit) {
    namespace fs = std::filesystem;
    std::error_code ec;
    zoa::require(fs::is_directory(dir, ec), zoa::error_code::io, "zoa predict: --calib '", dir, "' is not a directory");
    std::vector<std::string> files;
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
         !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec) && zoa::io::is_image_file_name(it->path())) files.push_back(it->path().string());
    zoa::require(!ec, zoa::error_code::io, "zoa predict: cannot list --calib '", dir, "': ", ec.message());
    zoa::require(!files.empty(), zoa::error_code::argument, "zoa predict: --calib '", dir,
                 "' holds no .png/.jpg/.jpeg/.bmp image");
    std::sort(files.begin(), files.end());
    if (files.size() > limit) files.resize(limit);
    return files;
}

xt::xtensor<float, 4> load_batch(const std::vector<std::string>& paths, std::size_t begin, std::size_t count,
                                 const zoa::io::preprocess_config& cfg, zoa::execution_context& ctx) {
    std::vector<zoa::io::image> imgs(count);
    ctx.parallel_for(count, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) imgs[i] = zoa::io::load_image(paths[begin + i]);
    });
    return zoa::io::make_batch(imgs, cfg, &ctx);
}

void print_rows(const std::vector<std::string>& paths, std::size_t begin, const xt::xtensor<float, 2>& logits) {
    for (std::size_t r = 0; r < logits.shape(0); ++r) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < logits.shape(1); ++c)
            if (logits(r, c) > logits(r, best)) best = c;
        std::printf("%s\t%zu\t", paths[begin + r].c_str(), best);
        for (std::size_t c = 0; c < logits.shape(1); ++c)
            std::printf(c ? ",%.9g" : "%.9g", static_cast<double>(logits(r, c)));
        std::printf("\n");
    }
}

template <class Policy>
int run_vit(const predict_args& a, const zoa::io::safetensors_file& f, const zoa::models::vit_weights& w,
            const zoa::io::preprocess_config& pre, const std::shared_ptr<zoa::execution_context>& ctx) {
    using model_t = zoa::models::vit<Policy>;
    std::unique_ptr<model_t> m;
    if constexpr (model_t::quantized) {
        const bool calibrated = !w.quant.modules.empty() && zoa_cli::file_precision(f) == a.precision;
        if (a.calib.empty()) {
            zoa::require(calibrated, zoa::error_code::argument, "zoa predict: --precision ", a.precision, " needs ",
                         f.path(), " to hold calibrated ", a.precision,
                         " parameters (it does not) or calibration images: --calib DIR");
            m = std::make_unique<model_t>(w);
        } else {
            const std::vector<std::string> files = calibration_files(a.calib, calib_images);
            const xt::xtensor<float, 4> images = load_batch(files, 0, files.size(), pre, *ctx);
            zoa::models::vit_calibration_options opt;
            opt.max_images = calib_images;
            const auto qp =
                zoa::models::calibrate_ptq4vit<typename model_t::bits>(w, images, opt, nullptr, ctx->threads());
            m = std::make_unique<model_t>(w, &qp);
        }
    } else {
        m = std::make_unique<model_t>(w);
    }
    m->set_context(ctx);
    if (!a.save.empty()) zoa::models::save_vit(*m, a.save);  // e.g. a calibrated model, reusable without --calib
    for (std::size_t b = 0; b < a.images.size(); b += predict_chunk) {
        const std::size_t n = std::min(predict_chunk, a.images.size() - b);
        print_rows(a.images, b, m->predict(load_batch(a.images, b, n, pre, *ctx)));
    }
    return 0;
}

int predict_vit(const predict_args& a, const zoa::io::safetensors_file& f,
                const std::shared_ptr<zoa::execution_context>& ctx) {
    const auto preset = zoa_cli::vit_arch_config(f, a.model.arch);
    zoa::models::vit_load_report report;
    const zoa::models::vit_weights w = zoa::models::load_vit_weights(f, preset.get(), {}, &report);
    const zoa::models::vit_config& c = w.config;
    const zoa::io::preprocess_config pre = zoa_cli::vit_preprocessing(f, a.model, c.img_size, c.in_chans);
    std::string precision = a.precision.empty() ? zoa_cli::file_precision(f) : a.precision;
    if (precision.empty()) precision = "fp32";
    predict_args b = a;
    b.precision = precision;
    if (precision == "fp32") return run_vit<zoa::policy<zoa::fp32>>(b, f, w, pre, ctx);
    if (precision == "w8a8") return run_vit<zoa::ptq4vit<zoa::w8a8>>(b, f, w, pre, ctx);
    if (precision == "w6a6") return run_vit<zoa::ptq4vit<zoa::w6a6>>(b, f, w, pre, ctx);
    if (precision == "w4a4") return run_vit<zoa::ptq4vit<zoa::w4a4>>(b, f, w, pre, ctx);
    zoa::fail(zoa::error_code::argument, f.path(), ": calibrated for '", precision,
              "', which zoa predict does not offer; pass --precision and --calib DIR");
}

template <class Policy>
int run_resnet(const predict_args& a, const zoa::io::safetensors_file& f, const zoa::models::resnet_load_options& lo,
               const zoa::io::preprocess_config& pre, const std::shared_ptr<zoa::execution_context>& ctx) {
    using model_t = zoa::models::resnet<Policy>;
    std::unique_ptr<model_t> m;
    if constexpr (model_t::quantized) {
        if (a.calib.empty()) {
            zoa::require(zoa_cli::file_precision(f) == a.precision, zoa::error_code::argument,
                         "zoa predict: --precision ", a.precision, " needs ", f.path(), " to hold calibrated ",
                         a.precision, " parameters (it does not) or calibration images: --calib DIR");
            m = std::make_unique<model_t>(model_t::from_file(f, lo));
        } else {  // MQBench academic calibration of the fp32 model on the --calib images
            const auto fp = zoa::models::resnet<zoa::policy<zoa::fp32>>::from_file(f, lo);
            const std::vector<std::string> files = calibration_files(a.calib, calib_images);
            m = std::make_unique<model_t>(model_t::calibrate(fp, load_batch(files, 0, files.size(), pre, *ctx)));
        }
    } else {
        m = std::make_unique<model_t>(model_t::from_file(f, lo));
    }
    m->set_context(ctx);
    if (!a.save.empty()) m->save(a.save);
    for (std::size_t b = 0; b < a.images.size(); b += predict_chunk) {
        const std::size_t n = std::min(predict_chunk, a.images.size() - b);
        print_rows(a.images, b, m->predict(load_batch(a.images, b, n, pre, *ctx)));
    }
    return 0;
}

/// ResNet: torchvision names; topology from --arch, the zoa.config metadata or the tensor shapes; preprocessing from
/// the zoa.preprocess metadata, else torchvision's ImageNet eval pipeline (resize 256, crop 224, ImageNet mean/std).
int predict_resnet(const predict_args& a, const zoa::io::safetensors_file& f,
                   const std::shared_ptr<zoa::execution_context>& ctx) {
    zoa::models::resnet_load_options lo;
    lo.arch = a.model.arch;
    lo.threads = a.threads;
    const zoa::models::resnet_config c = zoa::models::resolve_resnet_config(f, lo);
    const zoa::io::preprocess_config pre = zoa_cli::resnet_preprocessing(f, a.model, c.in_chans);
    std::string precision = a.precision.empty() ? zoa_cli::file_precision(f) : a.precision;
    if (precision.empty()) precision = "fp32";
    predict_args b = a;
    b.precision = precision;
    if (precision == "fp32") return run_resnet<zoa::policy<zoa::fp32>>(b, f, lo, pre, ctx);
    if (precision == "w8a8") return run_resnet<zoa::mqbench<zoa::w8a8>>(b, f, lo, pre, ctx);
    if (precision == "w6a6") return run_resnet<zoa::mqbench<zoa::w6a6>>(b, f, lo, pre, ctx);
    if (precision == "w4a4") return run_resnet<zoa::mqbench<zoa::w4a4>>(b, f, lo, pre, ctx);
    zoa::fail(zoa::error_code::argument, f.path(), ": calibrated for '", precision,
              "', which zoa predict does not offer; pass --precision and --calib DIR");
}

int run_predict(const std::vector<std::string>& args) {
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
        std::printf("%s\n", predict_usage);
        return 0;
    }
    const predict_args a = parse(args);
    const auto f = zoa::io::safetensors_file::open(a.weights);
    const zoa_cli::arch_info arch = zoa_cli::detect_arch(f, a.model.arch);
    const auto ctx = std::make_shared<zoa::execution_context>(a.threads);
    if (arch.family == "vit") return predict_vit(a, f, ctx);
    if (arch.family == "resnet") return predict_resnet(a, f, ctx);
    zoa::fail(zoa::error_code::argument, a.weights, ": cannot tell the architecture (no zoa.arch metadata, ",
              "no known tensor names); pass --arch");
}

}  // namespace

int cmd_predict(const std::vector<std::string>& args) {
    try {
        return run_predict(args);
    } catch (const zoa::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "zoa: %s\n", e.what());
    }
    return 2;
}
