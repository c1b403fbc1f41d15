// zoa — umbrella for image I/O and image data: stb_image/stb_image_write are compiled into each translation unit
// that includes this (static functions), so it is kept apart from zoa.hpp. Root of single_include/zoa/zoa_image.hpp.
// SPDX-License-Identifier: MIT
#pragma once

#include "zoa/zoa.hpp"

#include "zoa/data/corruptions.hpp"
#include "zoa/data/idx.hpp"
#include "zoa/data/image_folder.hpp"
#include "zoa/data/inflate.hpp"
#include "zoa/data/stream_sources.hpp"
#include "zoa/io/image.hpp"
