// zoa — `zoa stream`: a continual test stream (Fashion-MNIST(-C), ImageNet-C or class folders) through NoAdapt,
// BN-adapt, T3A, FOA or ZOA on a fp32 or quantized ViT/ResNet, one accuracy line per (round, domain). Batches are
// streamed (decoded, corrupted and preprocessed on loader threads while the model runs), so memory does not grow with
// the data; long runs show progress, log every batch, and checkpoint/resume bit-identically.
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "commands.hpp"
#include "model_files.hpp"
#include "model_options.hpp"
#include "outputs.hpp"
#include "report.hpp"
#include "stream_run.hpp"

namespace {

using namespace zoa_cli::stream;

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
