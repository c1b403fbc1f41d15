// zoa — `zoa stream` on a fp32 ViT: every method over the stream for this one model type (stream_run.hpp).
// SPDX-License-Identifier: MIT
#include "../stream_run.hpp"

namespace zoa_cli::stream {
ZOA_CLI_RUN_VIT(zoa::policy<zoa::fp32>);
}  // namespace zoa_cli::stream
