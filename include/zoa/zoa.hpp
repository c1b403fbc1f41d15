// zoa — umbrella header: includes only, no code (root of the single-header amalgamation)
// SPDX-License-Identifier: MIT
#pragma once

#include "zoa/version.hpp"

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/core/rng.hpp"
