// zoa — safetensors support: validated mmap reader (safetensors_file) and atomic writer (safetensors_writer)
// SPDX-License-Identifier: MIT
#pragma once

#include "zoa/io/safetensors_reader.hpp"
#include "zoa/io/safetensors_writer.hpp"
