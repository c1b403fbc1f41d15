// zoa — helpers for the safetensors tests: build raw file images and scratch files
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace zoa_test {

using bytes = std::vector<unsigned char>;

/// A raw image: 8-byte little-endian n (whatever it is), then header text and data bytes.
inline bytes raw_image(std::uint64_t n, const std::string& header, const bytes& data = {}) {
    bytes out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<unsigned char>((n >> (8 * i)) & 0xffu));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

/// A safetensors image with a correct length prefix: header.size(), header text, data bytes.
inline bytes image(const std::string& header, const bytes& data = {}) {
    return raw_image(header.size(), header, data);
}

/// n bytes with values 0, 1, 2, ... (mod 256).
inline bytes ramp(std::size_t n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(i & 0xffu);
    return b;
}

/// A fresh directory removed (recursively) at scope exit.
class scratch_dir {
public:
    scratch_dir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("zoa_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline void write_file(const std::string& path, const bytes& b) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

inline bytes read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace zoa_test
