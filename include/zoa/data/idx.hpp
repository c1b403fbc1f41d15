// zoa — IDX files (MNIST, Fashion-MNIST; raw or .gz) and the Debian dataset-fashion-mnist paths and class names
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"
#include "zoa/data/image.hpp"
#include "zoa/data/inflate.hpp"

namespace zoa::data {

/// Header of an IDX file: bytes 0–1 are zero, byte 2 is the element type, byte 3 the rank, then `rank` big-endian
/// uint32 extents, then the elements in row-major order (multi-byte elements big-endian).
struct idx_header {
    std::uint8_t dtype = 0;          ///< 0x08 u8, 0x09 s8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
    std::vector<std::size_t> dims;   ///< extents, outermost first
    std::size_t data_offset = 0;     ///< 4 + 4 · rank
};

/// Bytes per element of an IDX type code, 0 for an unknown code.
inline std::size_t idx_dtype_size(std::uint8_t dtype) noexcept {
    switch (dtype) {
        case 0x08: case 0x09: return 1;
        case 0x0B: return 2;
        case 0x0C: case 0x0D: return 4;
        case 0x0E: return 8;
        default: return 0;
    }
}

/// Name of an IDX type code ("u8", "f32", ...; "unknown" otherwise).
inline const char* idx_dtype_name(std::uint8_t dtype) noexcept {
    switch (dtype) {
        case 0x08: return "u8";
        case 0x09: return "s8";
        case 0x0B: return "i16";
        case 0x0C: return "i32";
        case 0x0D: return "f32";
        case 0x0E: return "f64";
        default: return "unknown";
    }
}

/// Parses and validates an IDX header against the buffer: zero magic bytes, a known type, rank ≥ 1, the extents
/// present, and exactly prod(dims) · sizeof(type) data bytes after them (checked without overflow).
/// Throws: zoa::error(format) naming `name`, the expected and the found value.
inline idx_header parse_idx_header(const std::uint8_t* data, std::size_t size, const std::string& name) {
    require(size >= 4, error_code::format, name, ": IDX file too short for its magic number (", size, " bytes, need 4)");
    require(data[0] == 0 && data[1] == 0, error_code::format, name, ": not an IDX file: magic starts with ",
            unsigned{data[0]}, " ", unsigned{data[1]}, ", expected 0 0");
    idx_header h;
    h.dtype = data[2];
    const std::size_t elem = idx_dtype_size(h.dtype);
    require(elem != 0, error_code::format, name, ": unknown IDX element type ", unsigned{h.dtype},
            " (expected 8, 9, 11, 12, 13 or 14)");
    const std::size_t rank = data[3];
    require(rank >= 1, error_code::format, name, ": IDX rank is 0");
    h.data_offset = 4 + 4 * rank;
    require(size >= h.data_offset, error_code::format, name, ": IDX header truncated: rank ", rank, " needs ",
            h.data_offset, " header bytes, file has ", size);
    // nonzero = the product of the non-zero extents: it must fit in ptrdiff_t (times the element size) even when
    // another extent is 0, because tensor strides are products of extents (N = 0 with rows·cols ≥ 2^63 would
    // overflow them).
    std::size_t count = 1, nonzero = 1;
    const auto limit = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
    for (std::size_t d = 0; d < rank; ++d) {
        const std::uint8_t* p = data + 4 + 4 * d;
        const std::size_t extent = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
        h.dims.push_back(extent);
        require(extent == 0 || nonzero <= limit / elem / extent, error_code::format, name,
                ": IDX extents overflow the addressable size");
        if (extent != 0) nonzero *= extent;
        count *= extent;
    }
    const std::size_t expected = count * elem, actual = size - h.data_offset;
    require(actual >= expected, error_code::format, name, ": IDX data truncated: extents need ", expected,
            " data bytes, file has ", actual);
    require(actual == expected, error_code::format, name, ": IDX file has ", actual - expected,
            " trailing bytes after the ", expected, " data bytes its extents describe");
    return h;
}

/// Images of an IDX file of type u8 and rank 3 [N, rows, cols] (the MNIST image layout).
/// Throws: zoa::error(format) as parse_idx_header, or when the type is not u8, the rank not 3, or rows/cols are 0.
inline xt::xtensor<std::uint8_t, 3> parse_idx_images(const std::vector<std::uint8_t>& bytes, const std::string& name) {
    const idx_header h = parse_idx_header(bytes.data(), bytes.size(), name);
    require(h.dtype == 0x08, error_code::format, name, ": IDX images must have element type u8 (8), got ",
            idx_dtype_name(h.dtype), " (", unsigned{h.dtype}, ")");
    require(h.dims.size() == 3, error_code::format, name, ": IDX images must have rank 3 [N, rows, cols], got rank ",
            h.dims.size());
    require(h.dims[1] > 0 && h.dims[2] > 0, error_code::format, name, ": IDX images have an empty extent (",
            h.dims[1], "x", h.dims[2], ")");
    xt::xtensor<std::uint8_t, 3> images(std::array<std::size_t, 3>{h.dims[0], h.dims[1], h.dims[2]});
    std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(h.data_offset), bytes.end(), images.data());
    return images;
}

/// Labels of an IDX file of type u8 and rank 1 [N] (the MNIST label layout).
/// Throws: zoa::error(format) as parse_idx_header, or when the type is not u8 or the rank not 1.
inline std::vector<int> parse_idx_labels(const std::vector<std::uint8_t>& bytes, const std::string& name) {
    const idx_header h = parse_idx_header(bytes.data(), bytes.size(), name);
    require(h.dtype == 0x08, error_code::format, name, ": IDX labels must have element type u8 (8), got ",
            idx_dtype_name(h.dtype), " (", unsigned{h.dtype}, ")");
    require(h.dims.size() == 1, error_code::format, name, ": IDX labels must have rank 1 [N], got rank ",
            h.dims.size());
    return std::vector<int>(bytes.begin() + static_cast<std::ptrdiff_t>(h.data_offset), bytes.end());
}

/// Reads IDX images from a raw or gzip-compressed file. Throws: as read_file_maybe_gzip and parse_idx_images.
inline xt::xtensor<std::uint8_t, 3> read_idx_images(const std::string& path) {
    return parse_idx_images(read_file_maybe_gzip(path), path);
}

/// Reads IDX labels from a raw or gzip-compressed file. Throws: as read_file_maybe_gzip and parse_idx_labels.
inline std::vector<int> read_idx_labels(const std::string& path) {
    return parse_idx_labels(read_file_maybe_gzip(path), path);
}

/// A labelled set of 8-bit grayscale images held compactly (1 byte per pixel).
struct idx_dataset {
    xt::xtensor<std::uint8_t, 3> images;   ///< [N, rows, cols]
    std::vector<int> labels;               ///< N labels, each in [0, class_names.size())
    std::vector<std::string> class_names;  ///< class index → name

    /// Number of images N.
    std::size_t size() const noexcept { return labels.size(); }

    /// Image i as a zoa::data::image [rows, cols, channels]: channels 1 keeps the gray value, 3 replicates it
    /// into R, G and B. Pixel values are the file's bytes as floats in [0, 255].
    /// Throws: zoa::error(argument) when i ≥ size() or channels is not 1 or 3.
    image get(std::size_t i, std::size_t channels = 1) const {
        require(i < size(), error_code::argument, "idx_dataset::get: index ", i, " out of range (size ", size(), ")");
        const std::size_t rows = images.shape()[1], cols = images.shape()[2];
        const image gray = image_from_u8(images.data() + i * rows * cols, rows, cols, 1);
        return channels == 1 ? gray : to_channels(gray, channels);
    }
};

/// Reads an images file and a labels file (raw or .gz) into a dataset and checks they agree: same N, and every
/// label in [0, class_names.size()).
/// Throws: zoa::error(io/format) from the readers; zoa::error(format) on a count mismatch or a label out of range.
inline idx_dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                                    std::vector<std::string> class_names) {
    idx_dataset ds;
    ds.images = read_idx_images(images_path);
    ds.labels = read_idx_labels(labels_path);
    ds.class_names = std::move(class_names);
    require(ds.images.shape()[0] == ds.labels.size(), error_code::format, labels_path, ": ", ds.labels.size(),
            " labels, but ", images_path, " has ", ds.images.shape()[0], " images");
    for (std::size_t i = 0; i < ds.labels.size(); ++i)
        require(static_cast<std::size_t>(ds.labels[i]) < ds.class_names.size(), error_code::format, labels_path,
                ": label ", ds.labels[i], " of item ", i, " is not a class index in [0, ", ds.class_names.size(), ")");
    return ds;
}

/// Fashion-MNIST splits (train: 60 000 images, test = "t10k": 10 000 images, 28×28, 10 classes).
enum class fashion_mnist_split { train, test };

/// The 10 Fashion-MNIST class names in label order (Xiao et al. 2017; torchvision.datasets.FashionMNIST.classes).
inline const std::vector<std::string>& fashion_mnist_class_names() {
    static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

/// Where Debian's dataset-fashion-mnist package installs the files.
inline constexpr const char* fashion_mnist_debian_dir = "/usr/share/datasets/fashion-mnist";

/// The Fashion-MNIST directory: $ZOA_FASHION_MNIST_DIR when set and non-empty, else fashion_mnist_debian_dir.
inline std::string fashion_mnist_dir() {
    const char* env = std::getenv("ZOA_FASHION_MNIST_DIR");
    return env != nullptr && *env != '\0' ? std::string(env) : std::string(fashion_mnist_debian_dir);
}

namespace detail {

/// `dir/name` as std::filesystem::path's operator/ joins them (no separator added after an empty dir or a
/// trailing '/'); <filesystem> would cost every translation unit that includes this header up to ~40 MB of g++ memory.
inline std::string join_path(const std::string& dir, const char* name) {
    return dir.empty() || dir.back() == '/' ? dir + name : dir + '/' + name;
}

/// True when `path` names a regular file (following symbolic links, as std::filesystem::is_regular_file).
inline bool is_regular_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace detail

/// <dir>/{train,t10k}-images-idx3-ubyte.gz
inline std::string fashion_mnist_images_path(fashion_mnist_split split, const std::string& dir = fashion_mnist_dir()) {
    return detail::join_path(
        dir, split == fashion_mnist_split::train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz");
}

/// <dir>/{train,t10k}-labels-idx1-ubyte.gz
inline std::string fashion_mnist_labels_path(fashion_mnist_split split, const std::string& dir = fashion_mnist_dir()) {
    return detail::join_path(
        dir, split == fashion_mnist_split::train ? "train-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz");
}

/// True when both files of the split exist in `dir`.
inline bool fashion_mnist_available(fashion_mnist_split split, const std::string& dir = fashion_mnist_dir()) {
    return detail::is_regular_file(fashion_mnist_images_path(split, dir)) &&
           detail::is_regular_file(fashion_mnist_labels_path(split, dir));
}

/// Loads a Fashion-MNIST split: images [N, 28, 28] u8, labels in [0, 10), the class names.
/// Throws: zoa::error(io) with an installation hint when the files are absent; the readers' errors otherwise;
/// zoa::error(format) when the images are not 28×28.
inline idx_dataset load_fashion_mnist(fashion_mnist_split split, const std::string& dir = fashion_mnist_dir()) {
    require(fashion_mnist_available(split, dir), error_code::io, "Fashion-MNIST not found: ",
            fashion_mnist_images_path(split, dir), " or ", fashion_mnist_labels_path(split, dir),
            " is missing (install the Debian package dataset-fashion-mnist, or set ZOA_FASHION_MNIST_DIR)");
    idx_dataset ds = read_idx_dataset(fashion_mnist_images_path(split, dir), fashion_mnist_labels_path(split, dir),
                                      fashion_mnist_class_names());
    require(ds.images.shape()[1] == 28 && ds.images.shape()[2] == 28, error_code::format,
            fashion_mnist_images_path(split, dir), ": Fashion-MNIST images must be 28x28, got ", ds.images.shape()[1],
            "x", ds.images.shape()[2]);
    return ds;
}

}  // namespace zoa::data
