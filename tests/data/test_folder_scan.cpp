// zoa — tests for the cycle- and escape-safe folder walk (zoa/data/folder_scan.hpp), issue #16 item 3
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>


#include "zoa/data/folder_scan.hpp"
#include "zoa/data/image_folder.hpp"

#include "temp_dir.hpp"
#include "../error_of.hpp"

namespace fs = std::filesystem;
using zoa_test::temp_dir;

namespace {

const std::string png = std::string(ZOA_FIXTURES_DIR) + "/images/folder/bee/a.png";

using zoa_test::error_of;

// root/a/{1.png, sub/2.png}, root/b/{3.png}
void make_two_classes(const fs::path& root) {
    fs::create_directories(root / "a" / "sub");
    fs::create_directories(root / "b");
    fs::copy_file(png, root / "a" / "1.png");
    fs::copy_file(png, root / "a" / "sub" / "2.png");
    fs::copy_file(png, root / "b" / "3.png");
}

}  // namespace

TEST_CASE("links to '.' inside a class end the walk instead of looping (each directory is listed once)") {
    temp_dir t("cycle");
    make_two_classes(t.path);
    fs::create_directory_symlink(".", t.path / "a" / "s1");
    fs::create_directory_symlink(".", t.path / "a" / "s2");
    fs::create_directory_symlink("..", t.path / "a" / "sub" / "back");  // to a, still inside the class
    const zoa::data::image_folder ds(t.path.string());                  // used to never finish
    REQUIRE(ds.size() == 3);
    CHECK(ds.samples()[0].path == (t.path / "a" / "1.png").string());
    CHECK(ds.samples()[1].path == (t.path / "a" / "sub" / "2.png").string());
    CHECK(ds.samples()[2].label == 1);
}

TEST_CASE("a link inside a class to another place inside it lists that place once") {
    temp_dir t("inner");
    make_two_classes(t.path);
    fs::create_directory_symlink("sub", t.path / "a" / "alias");  // sorted before "sub": listed under the link
    const auto files = zoa::data::list_image_files((t.path / "a").string());
    REQUIRE(files.size() == 2);
    CHECK(files[0] == (t.path / "a" / "1.png").string());
    CHECK(files[1] == (t.path / "a" / "alias" / "2.png").string());
}

TEST_CASE("a directory link leaving its class directory is an error, not a relabelling") {
    temp_dir t("escape");
    make_two_classes(t.path);
    fs::create_directory_symlink("..", t.path / "a" / "up");  // a/up/b/3.png would become class a
    const std::string m = error_of([&] { zoa::data::image_folder ds(t.path.string()); });
    CHECK(m.find("zoa: format: ") == 0);
    CHECK(m.find((t.path / "a" / "up").string() + ": directory link to " + fs::canonical(t.path).string() +
                 " leads outside") != std::string::npos);
    fs::remove(t.path / "a" / "up");
    fs::create_directory_symlink(fs::temp_directory_path(), t.path / "a" / "tmp");  // outside the root entirely
    CHECK(error_of([&] { zoa::data::image_folder ds(t.path.string()); }).find("leads outside") != std::string::npos);
    // --calib-style listing of one directory follows the same rule
    CHECK(error_of([&] { zoa::data::list_image_files((t.path / "a").string()); }).find("leads outside") !=
          std::string::npos);
}

TEST_CASE("class directory links: anywhere outside is a subset; the root itself or another class is an error") {
    temp_dir t("classlinks");
    temp_dir elsewhere("classlinks_src");
    make_two_classes(elsewhere.path);
    fs::create_directories(t.path);
    fs::create_directory_symlink(elsewhere.path / "a", t.path / "cat");  // a subset built from links: fine
    fs::create_directory_symlink(elsewhere.path / "b", t.path / "dog");
    {
        const zoa::data::image_folder ds(t.path.string());
        CHECK(ds.size() == 3);
        CHECK(ds.classes() == std::vector<std::string>{"cat", "dog"});
    }
    fs::create_directory_symlink(".", t.path / "all");  // would hold every class
    CHECK(error_of([&] { zoa::data::image_folder ds(t.path.string()); }).find("which contains the root") !=
          std::string::npos);
    fs::remove(t.path / "all");
    fs::create_directory_symlink(elsewhere.path / "a" / "sub", t.path / "cat2");  // inside class 'cat'
    const std::string m = error_of([&] { zoa::data::image_folder ds(t.path.string()); });
    CHECK(m.find("lies inside class 'cat'") != std::string::npos);
    CHECK(m.find("two labels") != std::string::npos);
}
