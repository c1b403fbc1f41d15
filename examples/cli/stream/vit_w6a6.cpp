// zoa — `zoa stream` on a w6a6 ViT: every method over the stream for this one model type (stream_run.hpp).
// SPDX-License-Identifier: MIT
#include "../stream_run.hpp"

namespace zoa_cli::stream {
ZOA_CLI_RUN_VIT(zoa::ptq4vit<zoa::w6a6>);
}  // namespace zoa_cli::stream
