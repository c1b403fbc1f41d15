// zoa — the command-line tool: `zoa info`, `zoa predict`, `zoa stream`, `zoa version`
// SPDX-License-Identifier: MIT
#include <csignal>

#include "commands.hpp"
#include "outputs.hpp"
#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/version.hpp"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

const char* const usage =
    "zoa — test-time adaptation of quantized vision models on CPUs\n"
    "\n"
    "usage: zoa <command> [options]\n"
    "\n"
    "commands:\n"
    "  version        print the library version, the SIMD architecture and the int8 / fp32 GEMM kernels compiled in\n"
    "  info FILE      tensors, parameters, architecture, config and metadata of a model file\n"
    "  predict ...    classify images: zoa predict --weights FILE [options] IMAGE... (zoa predict --help)\n"
    "  stream ...     continual test-time adaptation over a stream of domains (zoa stream --help):\n"
    "                 zoa stream --weights FILE --method none|bn|t3a|foa|zoa|zoa_nobank[,...]\n"
    "                   --data SPEC[,SPEC...] [--precision fp32|w8a8|w6a6|w4a4] [--arch NAME]\n"
    "                   [--rounds R] [--batch B] [--limit N] [--seed S] [--threads T] [--log FILE.jsonl]\n"
    "                   [--checkpoint FILE] [--resume FILE] [--out results.md] [--svg chart.svg] ...\n"
    "                 SPEC: imagenet-c:ROOT[:SEV], imagenet-c:ROOT:CORRUPTION:SEV, a class-folder directory,\n"
    "                 fmnist, fmnist-train, fmnist-c:CORRUPTION:SEV; one line per (round, domain)\n"
    "  --help, help   print this text\n"
    "\n"
    "Exit status: 0 on success, 2 on bad input (one line on stderr). Options are given at most once. Outputs\n"
    "are created before any work and never name an input file; --out, --svg, --save, --save-calibrated and\n"
    "--checkpoint are written completely or not at all (--log grows as the run goes).\n";

int run(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(usage, stdout);
        zoa_cli::flush_stdout();
        return 0;
    }
    if (args[0] == "version" || args[0] == "--version") {
        // e.g. "zoa 0.4.0 (arm64+neon; int8: neon-dotprod; fp32: neon-fma)"
        const bool amx_refused = zoa::kernels::x86::amx_compiled && !zoa::kernels::amx_active();
        std::printf("zoa %s (%s; int8: %s%s; fp32: %s)\n", zoa::version_string, zoa::arch_name(),
                    zoa::kernels::q8_kernels_compiled(), amx_refused ? " (AMX not granted by the OS: avx512-vnni runs)" : "",
                    zoa::kernels::f32_kernel_name());
        zoa_cli::flush_stdout();
        return 0;
    }
    if (args[0] == "info") return cmd_info({args.begin() + 1, args.end()});
    if (args[0] == "predict") return cmd_predict({args.begin() + 1, args.end()});
    if (args[0] == "stream") return cmd_stream({args.begin() + 1, args.end()});
    zoa::fail(zoa::error_code::argument, "unknown command '", args[0], "' (try: zoa --help)");
}

}  // namespace

int main(int argc, char** argv) {
    // A closed pipe on stdout is a write error (exit 2, one line), not a SIGPIPE death.
    std::signal(SIGPIPE, SIG_IGN);
    const std::vector<std::string> args(argv + 1, argv + argc);
    const std::string command = args.empty() ? std::string("zoa") : "zoa " + args[0];
    try {
        return run(args);
    } catch (const std::exception& e) {
        zoa_cli::report_error(command, e);
        return 2;
    } catch (...) {
        zoa_cli::report_error(command, std::runtime_error("unknown exception"));
        return 2;
    }
}
