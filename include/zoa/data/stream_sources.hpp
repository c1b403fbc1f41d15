// zoa — sources for batch_loader: a class folder (decoded per item) and an IDX data set corrupted on the fly
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/data/batch_loader.hpp"
#include "zoa/data/corruptions.hpp"
#include "zoa/data/idx.hpp"
#include "zoa/data/image_folder.hpp"

namespace zoa::data {

/// The folder's samples in its order (image_folder_options: shuffle, seed, limit, channels, decode limits): item i
/// = {folder.load(i), samples()[i].label}, named by its path. Images are decoded when a loader worker asks for them.
/// Throws: zoa::error(argument) for a null folder.
inline sample_source folder_source(std::shared_ptr<const image_folder> folder) {
    require(folder != nullptr, error_code::argument, "folder_source: no folder");
    sample_source s;
    s.size = folder->size();
    s.get = [f = folder](std::size_t i) { return labeled_image{f->load(i), f->samples()[i].label}; };
    s.name = [f = std::move(folder)](std::size_t i) { return f->samples()[i].path; };
    return s;
}

/// An opener that lists the folder when the stream reaches it (and releases the listing after its last batch).
inline source_opener folder_opener(std::string root, image_folder_options options) {
    return [root = std::move(root), options] {
        return folder_source(std::make_shared<const image_folder>(root, options));
    };
}

/// Which items of an IDX data set a stream takes, and how they are corrupted.
struct idx_source_options {
    std::size_t channels = 3;  ///< 1 or 3 (gray replicated)
    bool shuffle = true;       ///< items in shuffled_order(size, seed); false = file order
    std::uint64_t seed = 0;    ///< order seed, and the corruption seed base
    std::size_t limit = 0;     ///< keep the first `limit` items of the order; 0 = all
    std::string corruption;    ///< corruptions.hpp name; empty = clean
    int severity = 5;          ///< 1..5
};

/// Item i of the stream = data set image k = order[i] (shuffled_order(size, seed), or k = i), corrupted with
/// corrupt(image, corruption, severity, seed · 1000003 + k): the corruption seed follows the image, not its
/// position, so an image is corrupted the same way whatever the limit, and in every round.
/// Throws: zoa::error(argument) for an unknown corruption or a severity outside 1..5 (at once, not per item).
inline sample_source idx_source(std::shared_ptr<const idx_dataset> ds, idx_source_options options) {
    require(ds != nullptr, error_code::argument, "idx_source: no data set");
    if (!options.corruption.empty()) {
        corruption(options.corruption);  // throws with the valid names
        require(options.severity >= 1 && options.severity <= 5, error_code::argument, "idx_source: severity ",
                options.severity, " of '", options.corruption, "' is not in 1..5");
    }
    auto order = std::make_shared<std::vector<std::size_t>>(
        options.shuffle ? shuffled_order(ds->size(), options.seed) : std::vector<std::size_t>{});
    if (!options.shuffle) {
        order->resize(ds->size());
        for (std::size_t i = 0; i < order->size(); ++i) (*order)[i] = i;
    }
    if (options.limit > 0 && options.limit < order->size()) order->resize(options.limit);
    sample_source s;
    s.size = order->size();
    s.get = [ds = std::move(ds), order, o = std::move(options)](std::size_t i) {
        const std::size_t k = (*order)[i];
        labeled_image item{ds->get(k, o.channels), ds->labels[k]};
        if (!o.corruption.empty()) item.pixels = corrupt(item.pixels, o.corruption, o.severity, o.seed * 1000003ull + k);
        return item;
    };
    return s;
}

}  // namespace zoa::data
