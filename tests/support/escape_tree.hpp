// tests/support/escape_tree.hpp - a temporary directory tree with ways out:
// a root that is served or opened beneath, files outside it that must never
// come back, and real symlinks both ways.
//
//   tmp/outside/secret.txt            (holds escape_tree::secret)
//   tmp/root/a.txt                    "hello, static\n" (14 bytes)
//   tmp/root/sub/b.css                "b { }\n"
//   tmp/root/link_in -> a.txt         (relative, inside)
//   tmp/root/link_out -> ../outside/secret.txt
//   tmp/root/link_dir -> ../outside   (a directory outside)
//   tmp/root/link_etc -> /etc
//   tmp/root/link_abs_in -> <root>/a.txt (absolute, though it points inside)
//
// Removed, whatever a test left in it, when the object goes.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace vow::test {

struct escape_tree {
    static constexpr std::string_view secret = "SECRET outside the root";
    std::filesystem::path tmp, root, outside;

    escape_tree() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "vow-escape-XXXXXX").string();
        BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        tmp = tmpl;
        root = tmp / "root";
        outside = tmp / "outside";
        std::filesystem::create_directories(root / "sub");
        std::filesystem::create_directories(outside);
        write(outside / "secret.txt", secret);
        write(root / "a.txt", "hello, static\n");
        write(root / "sub" / "b.css", "b { }\n");
        std::filesystem::create_symlink("a.txt", root / "link_in");
        std::filesystem::create_symlink("../outside/secret.txt", root / "link_out");
        std::filesystem::create_symlink("../outside", root / "link_dir");
        std::filesystem::create_symlink("/etc", root / "link_etc");
        std::filesystem::create_symlink(root / "a.txt", root / "link_abs_in");
    }
    ~escape_tree() {
        std::error_code ec;
        for (const auto& e : std::filesystem::recursive_directory_iterator(tmp, ec))
            if (!e.is_symlink())
                std::filesystem::permissions(e.path(), std::filesystem::perms::owner_all,
                                             std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(tmp, ec);
    }
    escape_tree(const escape_tree&) = delete;
    escape_tree& operator=(const escape_tree&) = delete;

    static void write(const std::filesystem::path& p, std::string_view data) {
        std::ofstream(p, std::ios::binary) << data;
    }
};

}  // namespace vow::test
