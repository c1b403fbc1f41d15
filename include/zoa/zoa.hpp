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

#include "zoa/quant/bit_width.hpp"
#include "zoa/quant/calib_modules.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/granularity.hpp"
#include "zoa/quant/observer.hpp"
#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/presets.hpp"
#include "zoa/quant/ptq4vit_search.hpp"
#include "zoa/quant/quantizer.hpp"
#include "zoa/quant/twin.hpp"

#include "zoa/io/preprocess.hpp"
#include "zoa/io/preprocess_metadata.hpp"
#include "zoa/io/safetensors.hpp"

#include "zoa/data/idx.hpp"
#include "zoa/data/image.hpp"
#include "zoa/data/inflate.hpp"

#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/cma_es.hpp"
#include "zoa/adapt/eigen_sym.hpp"
#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/knowledge_bank.hpp"
#include "zoa/adapt/model_hooks.hpp"
#include "zoa/adapt/objective.hpp"
#include "zoa/adapt/optimizers.hpp"
#include "zoa/adapt/options.hpp"
#include "zoa/adapt/perturbation.hpp"
#include "zoa/adapt/shift_detector.hpp"
#include "zoa/adapt/spsa.hpp"
#include "zoa/adapt/t3a.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
