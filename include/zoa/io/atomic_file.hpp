// zoa — files written completely or not at all: an unnamed temporary file, renamed over the target on commit
// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoa/core/error.hpp"

namespace zoa::io {

/// A file that appears complete or not at all.
/// The constructor creates the new contents' file next to the target, without a name (Linux O_TMPFILE), so a
/// missing directory, missing permissions or a read-only file system show up before any work; write() appends;
/// commit() flushes the data to disk, links the file under a short temporary name (".zoa-tmp-<pid>-<n>", at most
/// 40 characters whatever the target's name) and renames it over the target, then flushes the directory. Until
/// commit() the target is untouched; a process that dies before it (even by kill -9) leaves nothing behind, because
/// the kernel frees an unnamed file with its last descriptor. Destroying an uncommitted atomic_file discards it.
///
/// Details:
/// - File systems without O_TMPFILE get a named temporary file (".zoa-tmp-<pid>-<n>") from the start; such files of
///   processes that no longer exist (killed during a save) are removed by the next atomic_file in that directory.
/// - An existing target keeps its permission bits; a symbolic link is followed (the file it names is replaced).
/// - A target that exists and is not a regular file or directory (/dev/null, /dev/full, a FIFO, /dev/stdout) is
///   written directly, without a temporary file; writes to it are still checked (/dev/full fails), and a FIFO
///   without a reader is an error, not a wait.
/// Throws (every member): zoa::error(io) naming the target and the system's reason.
/// Thread safety: one object per thread; distinct objects are independent.
class atomic_file {
public:
    /// Prepares `path` for writing (see the class comment). unnamed = false always takes the named temporary file of
    /// file systems without O_TMPFILE (for such file systems behind a layer that claims it, and for tests).
    /// Throws: zoa::error(io) when the target is a directory, its directory does not exist or is not writable, or a
    /// device/FIFO target cannot be opened.
    explicit atomic_file(std::string path, bool unnamed = true) : path_(std::move(path)) {
        require(!path_.empty(), error_code::io, "atomic_file: empty file name");
        target_ = path_;
        struct stat st {};
        if (::lstat(path_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
            char* real = ::realpath(path_.c_str(), nullptr);  // follow the link to the file it names
            if (real != nullptr) {
                target_ = real;
                std::free(real);
            }
        }
        const bool exists = ::stat(target_.c_str(), &st) == 0;
        if (exists && S_ISDIR(st.st_mode)) fail(error_code::io, path_, ": is a directory, cannot write a file there");
        if (exists && !S_ISREG(st.st_mode)) {  // device or FIFO: written in place
            direct_ = true;
            fd_ = open_retry(target_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
            if (fd_ < 0)
                fail(error_code::io, path_, ": cannot open for writing: ", std::strerror(errno),
                     errno == ENXIO ? " (a FIFO without a reader)" : "");
            const int flags = ::fcntl(fd_, F_GETFL);
            if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
            return;
        }
        const std::size_t slash = target_.rfind('/');
        dir_ = slash == std::string::npos ? "." : slash == 0 ? "/" : target_.substr(0, slash);
        mode_ = exists ? static_cast<unsigned>(st.st_mode & 07777) : 0u;
        keep_mode_ = exists;
#ifdef O_TMPFILE
        if (unnamed) {
            fd_ = open_retry(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
            if (fd_ >= 0) return;
            if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
                fail(error_code::io, path_, ": cannot create a file in ", dir_, ": ", std::strerror(errno));
        }
#else
        (void)unnamed;
#endif
        sweep_stale();
        fd_ = create_named();
    }
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    ~atomic_file() { discard(); }

    /// The path given to the constructor.
    const std::string& path() const noexcept { return path_; }
    /// Whether commit() succeeded.
    bool committed() const noexcept { return committed_; }

    /// Appends n bytes. Throws: zoa::error(io) on a write error (disk full, /dev/full, ...) or after commit().
    void write(const void* data, std::size_t n) {
        require(fd_ >= 0 && !committed_, error_code::io, path_, ": write after commit or discard");
        const auto* p = static_cast<const unsigned char*>(data);
        while (n > 0) {
            const ::ssize_t w = ::write(fd_, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) fail(error_code::io, path_, ": cannot write: ", w < 0 ? std::strerror(errno) : "no progress");
            p += w;
            n -= static_cast<std::size_t>(w);
        }
    }
    /// Appends a string's bytes.
    void write(const std::string& text) { write(text.data(), text.size()); }

    /// Makes the written bytes the target's contents (see the class comment).
    /// Throws: zoa::error(io) when flushing, linking or renaming fails; the target is then unchanged.
    void commit() {
        require(fd_ >= 0 && !committed_, error_code::io, path_, ": commit after commit or discard");
        if (direct_) {
            if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
                fail(error_code::io, path_, ": cannot flush: ", std::strerror(errno));
            close_checked();
            committed_ = true;
            return;
        }
        if (keep_mode_) ::fchmod(fd_, static_cast<mode_t>(mode_));
        if (::fsync(fd_) != 0) fail(error_code::io, path_, ": cannot flush to disk: ", std::strerror(errno));
        if (temp_.empty()) link_unnamed();
        close_checked();
        if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
            const int e = errno;
            ::unlink(temp_.c_str());
            temp_.clear();
            fail(error_code::io, path_, ": cannot rename the temporary file over it: ", std::strerror(e));
        }
        temp_.clear();
        committed_ = true;
        const int d = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // make the rename durable
        if (d >= 0) {
            ::fsync(d);
            ::close(d);
        }
    }

    /// Drops the uncommitted contents (the target stays as it was). Called by the destructor.
    void discard() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        if (!temp_.empty()) ::unlink(temp_.c_str());
        temp_.clear();
    }

private:
    static int open_retry(const char* p, int flags, unsigned mode) {
        int fd = -1;
        do {
            fd = ::open(p, flags, static_cast<mode_t>(mode));
        } while (fd < 0 && errno == EINTR);
        return fd;
    }

    static constexpr const char* temp_prefix = ".zoa-tmp-";

    std::string temp_name() const {
        static std::atomic<unsigned> counter{0};
        return dir_ + "/" + temp_prefix + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    }

    // A named temporary file (file systems without O_TMPFILE).
    int create_named() {
        for (int attempt = 0; attempt < 100; ++attempt) {
            std::string t = temp_name();
            const int fd = open_retry(t.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd >= 0) {
                temp_ = std::move(t);
                return fd;
            }
            if (errno != EEXIST)
                fail(error_code::io, path_, ": cannot create a file in ", dir_, ": ", std::strerror(errno));
        }
        fail(error_code::io, path_, ": cannot create a temporary file in ", dir_, " (100 names taken)");
    }

    // Gives the unnamed file a temporary name: linkat by descriptor (needs CAP_DAC_READ_SEARCH), else through
    // /proc/self/fd, else copy it into a named temporary file.
    void link_unnamed() {
        for (int attempt = 0; attempt < 100; ++attempt) {
            std::string t = temp_name();
            int rc = ::linkat(fd_, "", AT_FDCWD, t.c_str(), AT_EMPTY_PATH);
            if (rc != 0 && errno != EEXIST) {
                const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
                rc = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, t.c_str(), AT_SYMLINK_FOLLOW);
            }
            if (rc == 0) {
                temp_ = std::move(t);
                return;
            }
            if (errno != EEXIST) break;
        }
        copy_to_named();
    }

    void copy_to_named() {
        const int src = fd_;
        const off_t size = ::lseek(src, 0, SEEK_END);
        if (size < 0) fail(error_code::io, path_, ": cannot size the temporary file: ", std::strerror(errno));
        fd_ = create_named();
        char buf[1 << 16];
        for (off_t off = 0; off < size;) {
            const ::ssize_t r = ::pread(src, buf, sizeof buf, off);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                ::close(src);
                fail(error_code::io, path_, ": cannot read back the temporary file: ", std::strerror(errno));
            }
            try {
                write(buf, static_cast<std::size_t>(r));
            } catch (...) {
                ::close(src);
                throw;
            }
            off += r;
        }
        ::close(src);
        if (keep_mode_) ::fchmod(fd_, static_cast<mode_t>(mode_));
        if (::fsync(fd_) != 0) fail(error_code::io, path_, ": cannot flush to disk: ", std::strerror(errno));
    }

    void close_checked() {
        const int rc = ::close(fd_);
        fd_ = -1;
        if (rc != 0) fail(error_code::io, path_, ": cannot close: ", std::strerror(errno));
    }

    // Removes ".zoa-tmp-<pid>-<n>" files in dir_ whose process no longer exists (left by a killed save).
    void sweep_stale() const noexcept {
        DIR* d = ::opendir(dir_.c_str());
        if (d == nullptr) return;
        const std::size_t plen = std::strlen(temp_prefix);
        while (const dirent* e = ::readdir(d)) {
            if (std::strncmp(e->d_name, temp_prefix, plen) != 0) continue;
            char* end = nullptr;
            const long pid = std::strtol(e->d_name + plen, &end, 10);
            if (pid <= 0 || end == nullptr || *end != '-' || pid == static_cast<long>(::getpid())) continue;
            if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
                ::unlinkat(::dirfd(d), e->d_name, 0);
        }
        ::closedir(d);
    }

    std::string path_, target_, dir_, temp_;
    int fd_ = -1;
    unsigned mode_ = 0;
    bool keep_mode_ = false, direct_ = false, committed_ = false;
};

}  // namespace zoa::io
