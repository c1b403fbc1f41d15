// zoa — CLI outputs: refuse an output that is an input, create every output before the work, write it atomically,
// check standard output; plus the one-line error report and the step a failure happened in
// SPDX-License-Identifier: MIT
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "zoa/core/error.hpp"
#include "zoa/io/atomic_file.hpp"

namespace zoa_cli {

/// The files a command reads and writes. Inputs are registered first; each output is then checked against them
/// (same device and inode: a hard link, a symbolic link or another spelling of an input is caught too) and created
/// at once (io::atomic_file: an unwritable path fails now, not after an hour of work, and the result appears
/// complete or not at all). Standard output is checked the same way (`>> model.safetensors` would append to an
/// input).
class file_set {
public:
    explicit file_set(std::string command) : command_(std::move(command)) {}

    /// Registers an input; a path that does not exist (yet) is skipped (its own reader reports it).
    void input(const std::string& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) inputs_.push_back({path, st.st_dev, st.st_ino});
    }

    /// Registers a directory of inputs (a class folder, a dataset directory): an existing output file below it is
    /// refused (it may be one of its images). A directory that does not exist is skipped (its reader reports it).
    void input_dir(const std::string& path) {
        char* real = ::realpath(path.c_str(), nullptr);
        if (real == nullptr) return;
        input_dirs_.push_back({path, std::string(real)});
        std::free(real);
    }

    /// Checks `path` (given with `option`) against the inputs and the other outputs, then creates it.
    /// Throws: zoa::error(argument) when it is an input or another output; zoa::error(io) when it cannot be created.
    zoa::io::atomic_file& output(const std::string& option, const std::string& path) {
        check(option, path);
        files_.push_back(std::make_unique<zoa::io::atomic_file>(path));
        return *files_.back();
    }

    /// Checks `path` as output() does and that a file can be created there, without keeping one: for an output
    /// written later by its own writer (a checkpoint saved again and again, a log appended to as the run goes).
    /// Throws: as output().
    void check_output(const std::string& option, const std::string& path) {
        check(option, path);
        zoa::io::atomic_file probe(path);  // discarded: nothing is written
        checked_.push_back(path);
    }

    /// Throws zoa::error(argument) when standard output is one of the inputs (e.g. `>> model.safetensors`).
    void check_stdout() const {
        struct stat st {};
        if (::fstat(STDOUT_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) return;
        for (const auto& in : inputs_)
            zoa::require(!(in.dev == st.st_dev && in.ino == st.st_ino), zoa::error_code::argument, command_,
                         ": standard output is the input file ", in.path, "; refusing to write into an input");
    }

private:
    struct id {
        std::string path;
        dev_t dev;
        ino_t ino;
    };
    struct dir {
        std::string path, real;
    };

    void check(const std::string& option, const std::string& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            for (const auto& in : inputs_)
                zoa::require(!(in.dev == st.st_dev && in.ino == st.st_ino), zoa::error_code::argument, command_, ": ",
                             option, " ", path, " is the input file ", in.path, "; refusing to overwrite an input");
            for (const auto& out : outputs_)
                zoa::require(!(out.dev == st.st_dev && out.ino == st.st_ino), zoa::error_code::argument, command_,
                             ": ", option, " ", path, " is also the output ", out.path);
            char* real = ::realpath(path.c_str(), nullptr);
            const std::string r = real != nullptr ? std::string(real) : std::string();
            std::free(real);
            for (const auto& d : input_dirs_)
                zoa::require(r.empty() || r.compare(0, d.real.size() + 1, d.real + "/") != 0,
                             zoa::error_code::argument, command_, ": ", option, " ", path,
                             " is a file inside the input folder ", d.path, "; refusing to overwrite an input");
            outputs_.push_back({path, st.st_dev, st.st_ino});
        }
        for (const auto& f : files_)
            zoa::require(f->path() != path, zoa::error_code::argument, command_, ": ", option, " ", path,
                         " is already another output");
        for (const auto& c : checked_)
            zoa::require(c != path, zoa::error_code::argument, command_, ": ", option, " ", path,
                         " is already another output");
    }

    std::string command_;
    std::vector<id> inputs_, outputs_;
    std::vector<dir> input_dirs_;
    std::vector<std::string> checked_;
    std::vector<std::unique_ptr<zoa::io::atomic_file>> files_;
};

/// Whether two paths name the same existing file (same device and inode).
inline bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/// Flushes standard output and throws zoa::error(io) if anything written to it failed (disk full, closed pipe:
/// SIGPIPE is ignored by main, so a closed pipe is an error here, not a signal).
inline void flush_stdout() {
    const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0;
    if (failed) zoa::fail(zoa::error_code::io, "cannot write to standard output: ", std::strerror(errno));
}

/// What the command is doing now, for messages that do not say it themselves (std::bad_alloc names nothing).
/// Scoped: the previous step is restored on destruction, except while an exception unwinds the stack (the step it
/// failed in must still be current when main() reports the error).
class step {
public:
    explicit step(std::string what) : previous_(current()), exceptions_(std::uncaught_exceptions()) {
        current() = std::move(what);
    }
    step(const step&) = delete;
    step& operator=(const step&) = delete;
    ~step() {
        if (std::uncaught_exceptions() == exceptions_) current() = std::move(previous_);
    }
    /// The innermost active step ("" when none).
    static std::string& current() {
        static std::string s;
        return s;
    }

private:
    std::string previous_;
    int exceptions_;
};

/// `text` with every control character and backslash escaped (\n, \t, \r, \\, \xNN), so it stays on one line and
/// in one tab-separated field.
inline std::string escape_control(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c == '\\') out += "\\\\";
        else if (c < 0x20 || c == 0x7f) {
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

/// Prints the one line of a failed command to stderr: the error's message (control characters escaped, so a path
/// with a newline cannot split it), and for errors that do not name their context (std::bad_alloc, library
/// exceptions) the command and the step it was in.
inline void report_error(const std::string& command, const std::exception& e) {
    std::string line;
    if (dynamic_cast<const zoa::error*>(&e) != nullptr) {
        line = e.what();
    } else {
        const bool oom = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
        line = command + ": " + (oom ? std::string("out of memory") : std::string(e.what()));
        if (!step::current().empty()) line += " while " + step::current();
        if (oom) line += " (std::bad_alloc)";
    }
    std::fprintf(stderr, "%s\n", escape_control(line).c_str());
    std::fflush(stderr);
}

}  // namespace zoa_cli
