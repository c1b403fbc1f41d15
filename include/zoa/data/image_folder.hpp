// zoa — class-folder image datasets (torchvision ImageFolder layout, also ImageNet-C's <root>/<class>/<file>)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/data/folder_scan.hpp"
#include "zoa/data/image.hpp"
#include "zoa/io/image.hpp"

namespace zoa::data {

/// How an image_folder lists and loads its samples.
struct image_folder_options {
    bool shuffle = false;       ///< permute the sorted samples with a Fisher–Yates shuffle driven by zoa::rng(seed)
    std::uint64_t seed = 0;     ///< shuffle seed (same seed ⇒ same order on every platform)
    std::size_t limit = 0;      ///< keep only the first `limit` samples (after shuffling); 0 = all
    std::size_t channels = 3;   ///< channels of loaded images: 0 = as stored, 1 or 3 (see io::decode_image)
    io::decode_limits limits;   ///< pixel budget and file size cap of every decode (io::load_image)
};

/// One file of the folder and its class index.
struct image_sample {
    std::string path;  ///< the file: <root>/<class>/…/<name>
    int label = 0;     ///< index into the sorted class names
};

/// Images with their labels (one batch of a stream).
struct labeled_images {
    std::vector<image> images;  ///< decoded images, in stream order
    std::vector<int> labels;    ///< one label per image
};

/// A dataset laid out as torchvision's ImageFolder: <root>/<class>/**/<file>.
/// - Classes are the immediate subdirectories of root (symlinks followed), sorted by name (byte order, as Python's
///   sorted()); class index = position in that order. Hidden directories count, as in torchvision.
/// - Files are searched recursively below each class directory; .png, .jpg, .jpeg, .bmp (any case) are kept, other
///   files ignored; order = sorted by (directory path, file name), as torchvision's sorted(os.walk(...)).
/// - Directory links (folder_scan.hpp): each directory is listed once (cycles end), a link inside a class directory
///   must stay inside it, and a class directory may not link to the root or into another class.
/// - ImageNet-C: pass <imagenet-c>/<corruption>/<severity> as root.
/// Construction lists files only; images are decoded on load(). Copyable; thread-safe for concurrent const use.
class image_folder {
public:
    /// Throws: zoa::error(io) when root is not a directory; zoa::error(format) when it has no class subdirectory,
    /// a class directory holds no supported image or a directory link breaks the rules above;
    /// zoa::error(argument) when options.channels is not 0, 1 or 3.
    explicit image_folder(const std::string& root, image_folder_options options = {})
        : root_(root), options_(options) {
        require(options.channels == 0 || options.channels == 1 || options.channels == 3, error_code::argument,
                "image_folder: channels must be 0, 1 or 3, got ", options.channels);
        for (class_files& c : scan_class_folder(root)) {  // cycle-safe walk, links stay in their class
            require(!c.files.empty(), error_code::format, c.dir, ": class '", c.name,
                    "' has no image files (supported: .png .jpg .jpeg .bmp)");
            const int label = static_cast<int>(classes_.size());
            for (auto& f : c.files) samples_.push_back({std::move(f), label});
            classes_.push_back(std::move(c.name));
        }
        require(!classes_.empty(), error_code::format, root,
                ": no class subdirectories (expected <root>/<class>/<image files>)");
        if (options.shuffle) {
            rng r(options.seed);
            for (std::size_t i = samples_.size(); i > 1; --i)
                std::swap(samples_[i - 1], samples_[r.uniform_index(static_cast<std::uint32_t>(i))]);
        }
        if (options.limit > 0 && options.limit < samples_.size()) samples_.resize(options.limit);
    }

    /// The root directory and options given at construction.
    const std::string& root() const noexcept { return root_; }
    const image_folder_options& options() const noexcept { return options_; }
    /// Class names; index = label.
    const std::vector<std::string>& classes() const noexcept { return classes_; }
    /// Samples in stream order (sorted, then shuffled/limited per the options).
    const std::vector<image_sample>& samples() const noexcept { return samples_; }
    std::size_t size() const noexcept { return samples_.size(); }

    /// Decodes sample i with options().channels channels, within options().limits.
    /// Throws: zoa::error(argument) when i ≥ size(); the decoder's errors naming the file.
    image load(std::size_t i) const {
        require(i < size(), error_code::argument, root_, ": sample index ", i, " out of range (size ", size(), ")");
        return io::load_image(samples_[i].path, options_.channels, options_.limits);
    }

    /// Decodes samples [begin, begin + count) ∩ [0, size()), in parallel when a context is given.
    /// Throws: zoa::error(argument) when begin > size(); the decoder's errors naming the file.
    labeled_images load_range(std::size_t begin, std::size_t count, execution_context* ctx = nullptr) const {
        require(begin <= size(), error_code::argument, root_, ": range start ", begin, " beyond size ", size());
        const std::size_t n = std::min(count, size() - begin);
        labeled_images out;
        out.images.resize(n);
        out.labels.resize(n);
        const auto work = [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                out.images[i] = load(begin + i);
                out.labels[i] = samples_[begin + i].label;
            }
        };
        if (ctx != nullptr) ctx->parallel_for(n, work); else work(0, n);
        return out;
    }

private:
    std::string root_;
    image_folder_options options_;
    std::vector<std::string> classes_;
    std::vector<image_sample> samples_;
};

/// Consecutive batches of an image_folder in its sample order; the last batch may be smaller.
class image_folder_stream {
public:
    /// Throws: zoa::error(argument) when batch_size is 0.
    image_folder_stream(const image_folder& folder, std::size_t batch_size) : folder_(&folder), batch_(batch_size) {
        require(batch_size > 0, error_code::argument, "image_folder_stream: batch size must be > 0");
    }
    /// Loads the next batch into `out`; returns false (and leaves `out` empty) when the stream is exhausted.
    bool next(labeled_images& out, execution_context* ctx = nullptr) {
        out = folder_->load_range(pos_, batch_, ctx);
        pos_ += out.images.size();
        return !out.images.empty();
    }
    /// Restarts from the first sample.
    void reset() noexcept { pos_ = 0; }
    /// Samples delivered so far.
    std::size_t position() const noexcept { return pos_; }

private:
    const image_folder* folder_;
    std::size_t batch_;
    std::size_t pos_ = 0;
};

}  // namespace zoa::data
