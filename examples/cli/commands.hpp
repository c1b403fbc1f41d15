// zoa — CLI subcommands implemented outside zoa.cpp: `zoa info FILE` and `zoa predict ...`
// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

// Every command returns 0 on success and throws zoa::error for bad input; main() prints it as one line on stderr
// (zoa_cli::report_error) and exits with status 2.

/// `zoa info FILE`: tensors, parameter count, detected architecture, config and metadata of a safetensors model file.
/// args = everything after "info".
int cmd_info(const std::vector<std::string>& args);

/// `zoa predict --weights FILE [--arch NAME] [--precision fp32|w8a8|w6a6|w4a4] [--calib DIR] [--mean a,b,c]
/// [--std a,b,c] [--threads N] [--save FILE] [--allow-unused] [--] IMAGE...`: one line per image,
/// `<path>\t<top-1>\t<logit_0>,<logit_1>,...` (%.9g; the path with control characters and '\' escaped).
/// args = everything after "predict".
int cmd_predict(const std::vector<std::string>& args);

/// `zoa stream --weights FILE --data SPEC[,SPEC...] [options]` (zoa stream --help lists them): a continual stream (no
/// reset between domains), streamed batch by batch, one line per (round, domain): `domain=<name> round=<r>
/// images=<n> accuracy=<pct> forwards_per_batch=<f> ms_per_batch=<t> bank=<N> skipped=<k> nonfinite_batches=<m>`,
/// then `mean_accuracy=<pct>`; optional per-batch JSON log, checkpoints and resume.
/// args = everything after "stream". Returns 0, or 2 after one line on stderr for bad input.
int cmd_stream(const std::vector<std::string>& args);
