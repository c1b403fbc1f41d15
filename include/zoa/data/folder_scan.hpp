// zoa — listing image files and class folders: directory links followed without cycles or escapes
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "zoa/core/error.hpp"
#include "zoa/io/image.hpp"

namespace zoa::data {

/// One class of a class folder: its name (the entry under the root) and its image files.
struct class_files {
    std::string name;                ///< the class directory's name
    std::string dir;                 ///< <root>/<name>
    std::vector<std::string> files;  ///< image files below dir, sorted (list_image_files)
};

namespace detail {
/// Whether canonical path `inner` is `outer` or lies below it (both canonical, so a component-wise prefix test).
inline bool path_within(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;  // trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

inline std::filesystem::path canonical_dir(const std::filesystem::path& p) {
    std::error_code ec;
    std::filesystem::path c = std::filesystem::canonical(p, ec);
    require(!ec, error_code::io, p.string(), ": cannot resolve the directory: ", ec.message());
    return c;
}
}  // namespace detail

/// The image files (.png .jpg .jpeg .bmp, any case) below `dir`, recursively, sorted by (directory path, file name)
/// as torchvision's sorted(os.walk(dir, followlinks=True)). Directory links are followed with two rules that keep
/// the walk finite and every image under the directory it belongs to:
///  - every physical directory (device, inode) is listed once: a link to a directory already listed — a cycle such
///    as `s -> .`, or a second link to the same place — adds nothing;
///  - a directory link must resolve to a place inside `dir`: `up -> ..` would list a sibling's images (in a class
///    folder: another class's images under this class's label), so it is an error.
/// File links are followed wherever they point; broken links are ignored.
/// Throws: zoa::error(io) when a directory cannot be listed; zoa::error(format) naming a link that leaves `dir`.
inline std::vector<std::string> list_image_files(const std::string& dir) {
    namespace fs = std::filesystem;
    const fs::path realm = detail::canonical_dir(dir);
    std::set<std::pair<dev_t, ino_t>> seen;
    struct stat st {};
    if (::stat(realm.c_str(), &st) == 0) seen.insert({st.st_dev, st.st_ino});
    std::vector<std::pair<fs::path, fs::path>> todo = {{fs::path(dir), realm}};  // (listed path, canonical path)
    std::vector<std::pair<std::string, std::string>> files;                      // (directory, file name)
    while (!todo.empty()) {
        const auto [path, canon] = todo.back();
        todo.pop_back();
        std::error_code ec;
        std::vector<fs::directory_entry> entries;
        for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
        require(!ec, error_code::io, path.string(), ": cannot list directory: ", ec.message());
        std::sort(entries.begin(), entries.end(),
                  [](const fs::directory_entry& a, const fs::directory_entry& b) { return a.path() < b.path(); });
        std::vector<std::pair<fs::path, fs::path>> subdirs;
        for (const fs::directory_entry& e : entries) {
            std::error_code eec;  // a broken link is neither a directory nor a file: not an error
            if (e.is_directory(eec)) {
                const bool link = e.is_symlink(eec);
                fs::path c = link ? fs::canonical(e.path(), eec) : canon / e.path().filename();
                if (eec) continue;
                if (link && !detail::path_within(c, realm))
                    fail(error_code::format, e.path().string(), ": directory link to ", c.string(), " leads outside ",
                         dir, " (", realm.string(), "); its images would be listed under the wrong directory");
                if (::stat(e.path().c_str(), &st) != 0 || !seen.insert({st.st_dev, st.st_ino}).second) continue;
                subdirs.emplace_back(e.path(), std::move(c));
            } else if (e.is_regular_file(eec) && io::is_image_file_name(e.path())) {
                files.emplace_back(path.string(), e.path().filename().string());
            }
        }
        todo.insert(todo.end(), subdirs.rbegin(), subdirs.rend());  // depth first, in name order
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    out.reserve(files.size());
    for (const auto& f : files) out.push_back((fs::path(f.first) / f.second).string());
    return out;
}

/// The classes of a torchvision ImageFolder layout: the immediate subdirectories of `root` (links followed, hidden
/// ones included), sorted by name (byte order), each with list_image_files (possibly empty).
/// A class directory may be a link to anywhere (a subset assembled from links), except to `root` or above it (it
/// would hold every class) or into another class directory (that class's images would get two labels).
/// Throws: zoa::error(io) when root is not a directory or cannot be listed; zoa::error(format) for the link rules
/// here and in list_image_files.
inline std::vector<class_files> scan_class_folder(const std::string& root) {
    namespace fs = std::filesystem;
    std::error_code ec;
    require(fs::is_directory(root, ec), error_code::io, root, ": image folder root is not a directory");
    const fs::path canon_root = detail::canonical_dir(root);
    std::vector<class_files> classes;
    std::error_code entry_ec;  // a broken symlink is neither a directory nor a file; not an error
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(entry_ec)) classes.push_back({it->path().filename().string(), it->path().string(), {}});
    require(!ec, error_code::io, root, ": cannot list directory: ", ec.message());
    std::sort(classes.begin(), classes.end(),
              [](const class_files& a, const class_files& b) { return a.name < b.name; });
    std::vector<std::pair<fs::path, std::size_t>> canon;  // canonical class directory, class index
    for (std::size_t c = 0; c < classes.size(); ++c) {
        fs::path p = detail::canonical_dir(classes[c].dir);
        require(!detail::path_within(canon_root, p), error_code::format, classes[c].dir, ": class directory links to ",
                p.string(), ", which contains the root ", root, " itself");
        canon.emplace_back(std::move(p), c);
    }
    std::sort(canon.begin(), canon.end());
    for (std::size_t i = 0; i + 1 < canon.size(); ++i)  // sorted, so a directory's descendants follow it directly
        if (detail::path_within(canon[i + 1].first, canon[i].first))
            fail(error_code::format, classes[canon[i + 1].second].dir, " (", canon[i + 1].first.string(),
                 ") lies inside class '", classes[canon[i].second].name, "' (", canon[i].first.string(),
                 "): its images would have two labels");
    for (auto& c : classes) c.files = list_image_files(c.dir);
    return classes;
}

}  // namespace zoa::data
