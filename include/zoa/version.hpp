// zoa — library version (CMake parses these three lines)
// SPDX-License-Identifier: MIT
#pragma once

#define ZOA_VERSION_MAJOR 0
#define ZOA_VERSION_MINOR 1
#define ZOA_VERSION_PATCH 0

namespace zoa {

/// The version as "MAJOR.MINOR.PATCH".
inline constexpr const char* version_string = "0.1.0";

}  // namespace zoa
