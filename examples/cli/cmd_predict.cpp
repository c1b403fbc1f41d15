// zoa — `zoa predict`: classify images with a ViT (fp32, or PTQ4ViT W8A8/W6A6/W4A4 from a calibrated file or
// calibrated here on --calib images, optionally saved with --save); one line per image: path, top-1 class, every
// logit (%.9g)
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "model_files.hpp"
#include "model_options.hpp"
#include "outputs.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/data/folder_scan.hpp"
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
    "[--threads N] [--save FILE] [--allow-unused] [--] IMAGE...";

/// Images per forward (bounds memory; results do not depend on it).
constexpr std::size_t predict_chunk = 32;
/// Calibration images taken from --calib DIR (PTQ4ViT uses 32).
constexpr std::size_t calib_images = 32;

struct predict_args {
    std::string weights, precision, calib, save;
    zoa_cli::model_flags model;  // --arch and the preprocessing flags (model_options.hpp)
    std::size_t threads = 1;
    bool allow_unused = false;
    std::vector<std::string> images;
};

predict_args parse(const std::vector<std::string>& args) {
    const std::string cmd = "zoa predict";
    std::vector<std::string> valued = {"--weights", "--precision", "--calib", "--save", "--threads"};
    valued.insert(valued.end(), zoa_cli::model_option_names.begin(), zoa_cli::model_option_names.end());
    const zoa_cli::parsed_args p = zoa_cli::parse_args(cmd, args, valued, {"--allow-unused"}, true, predict_usage);
    predict_args a;
    a.weights = p.get("--weights");
    a.model = zoa_cli::model_flags_from(p, cmd);
    a.precision = p.get("--precision");
    a.calib = p.get("--calib");
    a.save = p.get("--save");
    if (p.has("--threads"))
        a.threads = zoa_cli::parse_integer(cmd + ": --threads", p.get("--threads"), 1,
                                           zoa::execution_context::max_threads);
    a.allow_unused = p.has("--allow-unused");
    a.images = p.positional;
    zoa::require(!a.weights.empty(), zoa::error_code::argument, cmd, ": --weights FILE is required (", predict_usage,
                 ")");
    zoa::require(!a.images.empty(), zoa::error_code::argument, cmd, ": no IMAGE given (", predict_usage, ")");
    zoa::require(a.precision.empty() || a.precision == "fp32" || a.precision == "w8a8" || a.precision == "w6a6" ||
                     a.precision == "w4a4",
                 zoa::error_code::argument, cmd, ": --precision must be fp32, w8a8, w6a6 or w4a4, got '", a.precision,
                 "'");
    zoa::require(a.calib.empty() || a.precision.empty() || a.precision != "fp32", zoa::error_code::argument, cmd,
                 ": --calib calibrates a quantized model; it has no use with --precision fp32");
    std::error_code ec;
    zoa::require(a.calib.empty() || std::filesystem::is_directory(a.calib, ec), zoa::error_code::io, cmd,
                 ": --calib '", a.calib, "' is not a directory");
    for (const auto& img : a.images) {  // a mistyped name fails before any work or output, not after image 5000
        struct stat st {};
        if (::stat(img.c_str(), &st) != 0) zoa::fail(zoa::error_code::io, img, ": cannot open: ", std::strerror(errno));
        zoa::require(S_ISREG(st.st_mode), zoa::error_code::io, img, ": is not a regular file");
    }
    return a;
}

/// The first `limit` image files under dir (recursive, sorted by path; directory links followed without cycles and
/// not out of dir: data::list_image_files).
std::vector<std::string> calibration_files(const std::string& dir, std::size_t limit) {
    std::vector<std::string> files = zoa::data::list_image_files(dir);
    zoa::require(!files.empty(), zoa::error_code::argument, "zoa predict: --calib '", dir,
                 "' holds no .png/.jpg/.jpeg/.bmp image");
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

/// One line per image: `<path>\t<top-1>\t<logit_0>,<logit_1>,...`, the path with control characters and backslashes
/// escaped (zoa_cli::escape_control: a name with a tab or newline cannot split the line or the fields).
/// Throws: zoa::error(numeric) naming the image when a logit is not finite (all-NaN logits used to print class 0).
void print_rows(const std::vector<std::string>& paths, std::size_t begin, const xt::xtensor<float, 2>& logits) {
    for (std::size_t r = 0; r < logits.shape(0); ++r) {
        for (std::size_t c = 0; c < logits.shape(1); ++c)
            zoa::require(std::isfinite(logits(r, c)), zoa::error_code::numeric, "zoa predict: ", paths[begin + r],
                         ": logit ", c, " is ", logits(r, c),
                         "; the model overflows on this image (check its weights and --mean/--std)");
        std::size_t best = 0;
        for (std::size_t c = 1; c < logits.shape(1); ++c)
            if (logits(r, c) > logits(r, best)) best = c;
        std::printf("%s\t%zu\t", zoa_cli::escape_control(paths[begin + r]).c_str(), best);
        for (std::size_t c = 0; c < logits.shape(1); ++c)
            std::printf(c ? ",%.9g" : "%.9g", static_cast<double>(logits(r, c)));
        std::printf("\n");
    }
}

/// Classifies every image in chunks and checks standard output at the end.
template <class Model>
void predict_all(const Model& m, const predict_args& a, const zoa::io::preprocess_config& pre,
                 zoa::execution_context& ctx) {
    for (std::size_t b = 0; b < a.images.size(); b += predict_chunk) {
        const std::size_t n = std::min(predict_chunk, a.images.size() - b);
        zoa_cli::step s("classifying " + a.images[b] + (n > 1 ? " and the next " + std::to_string(n - 1) : ""));
        print_rows(a.images, b, m.predict(load_batch(a.images, b, n, pre, ctx)));
    }
    zoa_cli::flush_stdout();
}

template <class Policy>
int run_vit(const predict_args& a, std::unique_ptr<zoa::io::safetensors_file>& f, const zoa::models::vit_weights& w,
            const zoa::io::preprocess_config& pre, const std::shared_ptr<zoa::execution_context>& ctx,
            zoa::io::atomic_file* save) {
    using model_t = zoa::models::vit<Policy>;
    std::unique_ptr<model_t> m;
    if constexpr (model_t::quantized) {
        const bool calibrated = !w.quant.modules.empty() && zoa_cli::file_precision(*f) == a.precision;
        if (a.calib.empty()) {
            zoa::require(calibrated, zoa::error_code::argument, "zoa predict: --precision ", a.precision, " needs ",
                         f->path(), " to hold calibrated ", a.precision,
                         " parameters (it does not) or calibration images: --calib DIR");
            m = std::make_unique<model_t>(w);
        } else {
            zoa_cli::step s("calibrating " + a.precision + " on --calib " + a.calib);
            const std::vector<std::string> files = calibration_files(a.calib, calib_images);
            const xt::xtensor<float, 4> images = load_batch(files, 0, files.size(), pre, *ctx);
            zoa::models::vit_calibration_options opt;
            opt.max_images = calib_images;
            const auto qp =
                zoa::models::calibrate_ptq4vit<typename model_t::bits>(w, images, opt, nullptr, ctx->threads());
            m = std::make_unique<model_t>(w, &qp);
        }
    } else {
        zoa::require(a.calib.empty(), zoa::error_code::argument,
                     "zoa predict: --calib calibrates a quantized model; it has no use with precision fp32");
        m = std::make_unique<model_t>(w);
    }
    f.reset();  // the model holds its own copy of the weights now
    m->set_context(ctx);
    if (save) {  // e.g. a calibrated model, reusable without --calib
        zoa_cli::step s("writing --save " + a.save);
        zoa::models::vit_to_safetensors(*m).save(*save);
    }
    predict_all(*m, a, pre, *ctx);
    return 0;
}

int predict_vit(const predict_args& a, std::unique_ptr<zoa::io::safetensors_file>& f,
                const std::shared_ptr<zoa::execution_context>& ctx, zoa::io::atomic_file* save) {
    const auto preset = zoa_cli::vit_arch_config(*f, a.model.arch);
    zoa::models::vit_load_options lo;
    lo.strict = !a.allow_unused;
    zoa::models::vit_load_report report;
    zoa_cli::step s("loading the ViT weights of " + a.weights);
    const zoa::models::vit_weights w = zoa::models::load_vit_weights(*f, preset.get(), lo, &report);
    const zoa::models::vit_config& c = w.config;
    const zoa::io::preprocess_config pre = zoa_cli::vit_preprocessing(*f, a.model, c.img_size, c.in_chans);
    std::string precision = a.precision.empty() ? zoa_cli::file_precision(*f) : a.precision;
    if (precision.empty()) precision = "fp32";
    predict_args b = a;
    b.precision = precision;
    if (precision == "fp32") return run_vit<zoa::policy<zoa::fp32>>(b, f, w, pre, ctx, save);
    if (precision == "w8a8") return run_vit<zoa::ptq4vit<zoa::w8a8>>(b, f, w, pre, ctx, save);
    if (precision == "w6a6") return run_vit<zoa::ptq4vit<zoa::w6a6>>(b, f, w, pre, ctx, save);
    if (precision == "w4a4") return run_vit<zoa::ptq4vit<zoa::w4a4>>(b, f, w, pre, ctx, save);
    zoa::fail(zoa::error_code::argument, f->path(), ": calibrated for '", precision,
              "', which zoa predict does not offer; pass --precision and --calib DIR");
}

template <class Policy>
int run_resnet(const predict_args& a, std::unique_ptr<zoa::io::safetensors_file>& f,
               const zoa::models::resnet_load_options& lo, const zoa::io::preprocess_config& pre,
               const std::shared_ptr<zoa::execution_context>& ctx, zoa::io::atomic_file* save) {
    using model_t = zoa::models::resnet<Policy>;
    std::unique_ptr<model_t> m;
    zoa_cli::step s("loading the ResNet weights of " + a.weights);
    if constexpr (model_t::quantized) {
        if (a.calib.empty()) {
            zoa::require(zoa_cli::file_precision(*f) == a.precision, zoa::error_code::argument,
                         "zoa predict: --precision ", a.precision, " needs ", f->path(), " to hold calibrated ",
                         a.precision, " parameters (it does not) or calibration images: --calib DIR");
            m = std::make_unique<model_t>(model_t::from_file(*f, lo));
        } else {  // MQBench academic calibration of the fp32 model on the --calib images
            const auto fp = zoa::models::resnet<zoa::policy<zoa::fp32>>::from_file(*f, lo);
            zoa_cli::step c("calibrating " + a.precision + " on --calib " + a.calib);
            const std::vector<std::string> files = calibration_files(a.calib, calib_images);
            m = std::make_unique<model_t>(model_t::calibrate(fp, load_batch(files, 0, files.size(), pre, *ctx)));
        }
    } else {
        zoa::require(a.calib.empty(), zoa::error_code::argument,
                     "zoa predict: --calib calibrates a quantized model; it has no use with precision fp32");
        m = std::make_unique<model_t>(model_t::from_file(*f, lo));
    }
    f.reset();  // the model holds its own copy of the weights now
    m->set_context(ctx);
    if (save) {
        zoa_cli::step w("writing --save " + a.save);
        m->to_safetensors().save(*save);
    }
    predict_all(*m, a, pre, *ctx);
    return 0;
}

/// ResNet: torchvision names; topology from --arch, the zoa.config metadata or the tensor shapes; preprocessing from
/// the zoa.preprocess metadata, else torchvision's ImageNet eval pipeline (resize 256, crop 224, ImageNet mean/std).
int predict_resnet(const predict_args& a, std::unique_ptr<zoa::io::safetensors_file>& f,
                   const std::shared_ptr<zoa::execution_context>& ctx, zoa::io::atomic_file* save) {
    zoa::models::resnet_load_options lo;
    lo.arch = a.model.arch;
    lo.threads = a.threads;
    lo.strict = !a.allow_unused;
    const zoa::models::resnet_config c = zoa::models::resolve_resnet_config(*f, lo);
    const zoa::io::preprocess_config pre = zoa_cli::resnet_preprocessing(*f, a.model, c.in_chans);
    std::string precision = a.precision.empty() ? zoa_cli::file_precision(*f) : a.precision;
    if (precision.empty()) precision = "fp32";
    predict_args b = a;
    b.precision = precision;
    if (precision == "fp32") return run_resnet<zoa::policy<zoa::fp32>>(b, f, lo, pre, ctx, save);
    if (precision == "w8a8") return run_resnet<zoa::mqbench<zoa::w8a8>>(b, f, lo, pre, ctx, save);
    if (precision == "w6a6") return run_resnet<zoa::mqbench<zoa::w6a6>>(b, f, lo, pre, ctx, save);
    if (precision == "w4a4") return run_resnet<zoa::mqbench<zoa::w4a4>>(b, f, lo, pre, ctx, save);
    zoa::fail(zoa::error_code::argument, f->path(), ": calibrated for '", precision,
              "', which zoa predict does not offer; pass --precision and --calib DIR");
}

}  // namespace

int cmd_predict(const std::vector<std::string>& args) {
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
        std::printf("%s\n", predict_usage);
        zoa_cli::flush_stdout();
        return 0;
    }
    const predict_args a = parse(args);
    // inputs first, then every output is checked against them and created before any work
    zoa_cli::file_set files("zoa predict");
    files.input(a.weights);
    for (const auto& img : a.images) files.input(img);
    files.check_stdout();
    zoa::io::atomic_file* save = a.save.empty() ? nullptr : &files.output("--save", a.save);
    auto f = std::make_unique<zoa::io::safetensors_file>([&] {
        zoa_cli::step s("reading " + a.weights);
        return zoa::io::safetensors_file::open(a.weights);
    }());
    const zoa_cli::arch_info arch = zoa_cli::detect_arch(*f, a.model.arch);
    const auto ctx = std::make_shared<zoa::execution_context>(a.threads);
    if (arch.family == "vit") return predict_vit(a, f, ctx, save);
    if (arch.family == "resnet") return predict_resnet(a, f, ctx, save);
    zoa::fail(zoa::error_code::argument, a.weights, ": cannot tell the architecture (no zoa.arch metadata, ",
              "no known tensor names); pass --arch");
}
