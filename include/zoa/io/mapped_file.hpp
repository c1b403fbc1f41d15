// zoa — read-only memory mapping of a whole regular file (POSIX mmap), RAII and move-only
// SPDX-License-Identifier: MIT
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoa/core/error.hpp"

namespace zoa::io {

/// A regular file mapped read-only into memory; the bytes are never copied.
/// An empty file is valid and has data() == nullptr, size() == 0.
/// Thread safety: all const members may be called concurrently.
/// Caveat (POSIX): if another process truncates the file while it is mapped, touching the lost pages raises SIGBUS;
/// zoa never writes files in place (its writer renames a temporary file over the target), so zoa-written files are
/// safe.
class mapped_file {
public:
    mapped_file() noexcept = default;

    /// Maps `path` read-only.
    /// Throws: zoa::error(io) naming the path and the reason when it does not exist, cannot be opened, is a directory
    /// or another non-regular file (FIFO, device, socket), or cannot be mapped.
    static mapped_file open(const std::string& path) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is rejected below as non-regular.
        int fd = -1;
        do {
            fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) fail(error_code::io, path, ": cannot open for reading: ", std::strerror(errno));
        fd_guard guard{fd};
        struct stat st {};
        if (::fstat(fd, &st) != 0) fail(error_code::io, path, ": cannot stat: ", std::strerror(errno));
        if (S_ISDIR(st.st_mode)) fail(error_code::io, path, ": is a directory, expected a regular file");
        if (!S_ISREG(st.st_mode)) fail(error_code::io, path, ": is not a regular file (FIFO, device or socket)");
        require(st.st_size >= 0, error_code::io, path, ": negative file size ", st.st_size);
        const auto size = static_cast<unsigned long long>(st.st_size);
        require(size <= static_cast<unsigned long long>(static_cast<std::size_t>(-1)), error_code::io, path,
                ": file of ", size, " bytes does not fit in the address space");
        mapped_file m;
        m.path_ = path;
        if (size == 0) return m;
        void* p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) fail(error_code::io, path, ": cannot map ", size, " bytes: ", std::strerror(errno));
        m.data_ = static_cast<const unsigned char*>(p);
        m.size_ = static_cast<std::size_t>(size);
        return m;  // the descriptor closes here; the mapping stays valid until munmap
    }

    mapped_file(mapped_file&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), path_(std::move(o.path_)) {}
    mapped_file& operator=(mapped_file&& o) noexcept {
        if (this != &o) {
            unmap();
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
            path_ = std::move(o.path_);
        }
        return *this;
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file() { unmap(); }

    /// First byte of the mapping (nullptr when the file is empty). No alignment beyond the page start is promised
    /// for interior offsets: copy with memcpy or use unaligned loads.
    const unsigned char* data() const noexcept { return data_; }
    /// Size of the file in bytes.
    std::size_t size() const noexcept { return size_; }
    /// The path given to open().
    const std::string& path() const noexcept { return path_; }

private:
    struct fd_guard {
        int fd;
        explicit fd_guard(int f) noexcept : fd(f) {}
        fd_guard(const fd_guard&) = delete;
        fd_guard& operator=(const fd_guard&) = delete;
        ~fd_guard() { ::close(fd); }
    };

    void unmap() noexcept {
        if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
        data_ = nullptr;
        size_ = 0;
    }

    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
    std::string path_;
};

}  // namespace zoa::io
