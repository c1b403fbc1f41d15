// zoa — tests for io::atomic_file (complete-or-nothing outputs) and io::read_file (no SIGBUS, no torn reads);
// issue #16 items 1, 5, 6, 7
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safetensors_test_util.hpp"
#include "zoa/io/atomic_file.hpp"
#include "zoa/io/read_file.hpp"
#include "zoa/io/safetensors_reader.hpp"
#include "zoa/io/safetensors_writer.hpp"
#include "../error_of.hpp"

namespace fs = std::filesystem;
using zoa::io::atomic_file;

namespace {

std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
}

std::string text_of(const std::string& p) {
    const auto b = zoa_test::read_file(p);
    return std::string(b.begin(), b.end());
}

using zoa_test::error_of;

// Runs fn in a child process; fn ends by killing it with SIGKILL (die()); returns when the child is gone.
void die() { ::kill(::getpid(), SIGKILL); }

template <class Fn>
void in_killed_child(Fn&& fn) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        fn();
        ::_exit(1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
}

}  // namespace

TEST_CASE("atomic_file: nothing appears before commit, the target is replaced whole, its mode is kept") {
    for (bool unnamed : {true, false}) {
        CAPTURE(unnamed);
        zoa_test::scratch_dir dir;
        const std::string p = dir.file("out.md");
        {
            atomic_file f(p, unnamed);
            f.write("half");
            CHECK_FALSE(fs::exists(p));
        }  // destroyed uncommitted: discarded
        CHECK(entries(dir.path()).empty());
        zoa_test::write_file(p, {'o', 'l', 'd'});
        ::chmod(p.c_str(), 0640);
        atomic_file f(p, unnamed);
        f.write("new contents");
        CHECK(text_of(p) == "old");  // untouched until commit
        f.commit();
        CHECK(f.committed());
        CHECK(text_of(p) == "new contents");
        struct stat st {};
        REQUIRE(::stat(p.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0640);
        CHECK(entries(dir.path()) == std::vector<std::string>{"out.md"});
        CHECK_THROWS_AS(f.write("more"), zoa::error);
    }
}

TEST_CASE("atomic_file: kill -9 during a save leaves no temporary file (stale named ones are swept)") {
    zoa_test::scratch_dir dir;
    const std::string p = dir.file("state.safetensors");
    zoa_test::write_file(p, {'o', 'l', 'd'});
    in_killed_child([&] {  // the default, unnamed temporary file: the kernel frees it with the process
        atomic_file f(p);
        f.write(std::string(1 << 20, 'x'));
        die();
    });
    CHECK(entries(dir.path()) == std::vector<std::string>{"state.safetensors"});
    CHECK(text_of(p) == "old");
    in_killed_child([&] {  // a named temporary file (file systems without O_TMPFILE) survives the kill ...
        atomic_file f(p, false);
        f.write(std::string(1 << 20, 'x'));
        die();
    });
    CHECK(entries(dir.path()).size() == 2);
    {
        atomic_file f(p, false);  // ... until the next save into that directory removes it (its process is gone)
        f.write("new");
        f.commit();
    }
    CHECK(entries(dir.path()) == std::vector<std::string>{"state.safetensors"});
    CHECK(text_of(p) == "new");
}

TEST_CASE("atomic_file: a 250-character file name works (the temporary name does not grow with it)") {
    zoa_test::scratch_dir dir;
    const std::string p = dir.file(std::string(245, 'n') + ".safe");
    zoa::io::safetensors_writer w;
    w.add("a", {2}, std::vector<float>{1, 2});
    w.save(p);
    CHECK(zoa::io::safetensors_file::open(p).size() == 1);
    CHECK(entries(dir.path()).size() == 1);
}

TEST_CASE("atomic_file: bad targets fail when created, before any work; devices are written in place") {
    zoa_test::scratch_dir dir;
    const std::string missing = dir.file("no/such/dir/r.md");
    const std::string m = error_of([&] { atomic_file f(missing); });
    CHECK(m.find("zoa: io: " + missing + ": cannot create a file in") == 0);
    CHECK(error_of([&] { atomic_file f(dir.path().string()); }).find("is a directory") != std::string::npos);
    if (fs::is_character_file("/dev/null")) {
        {
            atomic_file f("/dev/null");
            f.write("discarded");
            f.commit();
        }
        CHECK(fs::is_character_file("/dev/null"));  // not replaced by a regular file
    }
    if (fs::is_character_file("/dev/full")) {
        atomic_file f("/dev/full");
        CHECK(error_of([&] { f.write(std::string(1 << 16, 'x')); }).find("/dev/full: cannot write: No space left") !=
              std::string::npos);
    }
    const std::string fifo = dir.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(error_of([&] { atomic_file f(fifo); }).find("without a reader") != std::string::npos);  // no wait
}

TEST_CASE("atomic_file: a symbolic link keeps pointing at the replaced file") {
    zoa_test::scratch_dir dir;
    const std::string real = dir.file("real.md"), link = dir.file("link.md");
    zoa_test::write_file(real, {'o'});
    fs::create_symlink(real, link);
    atomic_file f(link);
    f.write("via link");
    f.commit();
    CHECK(fs::is_symlink(link));
    CHECK(text_of(real) == "via link");
}

TEST_CASE("read_file: the bytes are a private copy, a file that changes while read is refused") {
    zoa_test::scratch_dir dir;
    const std::string p = dir.file("m.safetensors");
    zoa::io::safetensors_writer w;
    w.add("a", {4}, std::vector<float>{1, 2, 3, 4});
    w.save(p);
    const auto f = zoa::io::safetensors_file::open(p);
    // What cp over a running model does: truncate in place, then write. A memory map raised SIGBUS on the next
    // access to the lost pages; the read copy does not notice.
    ::truncate(p.c_str(), 0);
    CHECK(f.to_f32("a") == std::vector<float>{1, 2, 3, 4});
    // /proc files report size 0 and then deliver bytes: the "grew while read" check, deterministically
    const std::string m = error_of([] { zoa::io::read_file("/proc/self/status"); });
    CHECK(m.find("/proc/self/status: changed while being read: it grew beyond the 0 bytes") != std::string::npos);
    CHECK(error_of([&] { zoa::io::read_file(dir.path().string()); }).find("is a directory") != std::string::npos);
    w.save(p);
    CHECK(error_of([&] { zoa::io::read_file(p, 4); }).find("exceeds the 4-byte limit") != std::string::npos);
}
