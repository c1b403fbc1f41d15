// zoa — read a whole regular file into memory, refusing a file that changes while it is read
// SPDX-License-Identifier: MIT
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoa/core/error.hpp"

namespace zoa::io {

namespace detail {
/// Closes a POSIX file descriptor on scope exit.
struct fd_closer {
    int fd;
    explicit fd_closer(int f) noexcept : fd(f) {}
    fd_closer(const fd_closer&) = delete;
    fd_closer& operator=(const fd_closer&) = delete;
    ~fd_closer() {
        if (fd >= 0) ::close(fd);
    }
};

inline bool same_timestamp(const struct timespec& a, const struct timespec& b) noexcept {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}
}  // namespace detail

/// Reads the regular file `path` completely into memory (a private copy: what happens to the file afterwards —
/// replaced, truncated, rewritten in place — cannot affect the bytes, unlike a memory map, whose pages raise SIGBUS
/// when the file shrinks under them).
/// The file must not change while it is read: it is an error when it ends before the size it had when opened,
/// holds more bytes than that size, or its size or modification time differ after the read.
/// Throws: zoa::error(io) naming the path and the reason when it does not exist, cannot be opened or read, is a
/// directory or another non-regular file (FIFO, device, socket; opening never blocks), exceeds max_bytes, or changed
/// while being read.
inline std::vector<unsigned char> read_file(const std::string& path,
                                            std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is rejected below as non-regular.
    int fd = -1;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) fail(error_code::io, path, ": cannot open for reading: ", std::strerror(errno));
    detail::fd_closer guard{fd};
    struct stat before {};
    if (::fstat(fd, &before) != 0) fail(error_code::io, path, ": cannot stat: ", std::strerror(errno));
    if (S_ISDIR(before.st_mode)) fail(error_code::io, path, ": is a directory, expected a regular file");
    if (!S_ISREG(before.st_mode)) fail(error_code::io, path, ": is not a regular file (FIFO, device or socket)");
    require(before.st_size >= 0, error_code::io, path, ": negative file size ", before.st_size);
    const auto size = static_cast<unsigned long long>(before.st_size);
    require(size <= max_bytes, error_code::io, path, ": file of ", size, " bytes exceeds the ", max_bytes,
            "-byte limit");
    std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ::ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            fail(error_code::io, path, ": read failed after ", got, " of ", size, " bytes: ", std::strerror(errno));
        if (r == 0)
            fail(error_code::io, path, ": changed while being read: it ended after ", got, " of the ", size,
                 " bytes it had when opened (is another process writing it?)");
        got += static_cast<std::size_t>(r);
    }
    unsigned char extra = 0;
    ::ssize_t r = 0;
    do {
        r = ::read(fd, &extra, 1);
    } while (r < 0 && errno == EINTR);
    if (r > 0)
        fail(error_code::io, path, ": changed while being read: it grew beyond the ", size,
             " bytes it had when opened (is another process writing it?)");
    struct stat after {};
    if (::fstat(fd, &after) != 0) fail(error_code::io, path, ": cannot stat: ", std::strerror(errno));
    if (after.st_size != before.st_size || !detail::same_timestamp(after.st_mtim, before.st_mtim))
        fail(error_code::io, path, ": changed while being read (size ", size, " -> ", after.st_size,
             " bytes, or modified; is another process writing it?)");
    return bytes;
}

}  // namespace zoa::io
