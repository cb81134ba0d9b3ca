// vow::fs::directory and open_beneath: real files and real symlinks in a
// temporary directory (tests/support/escape_tree.hpp).
#include <vow/fs.hpp>
#include <vow/vow.hpp>

#include <boost/test/unit_test.hpp>
#include <escape_tree.hpp>
#include <fs/internal.hpp>
#include <promise_fixture.hpp>

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

BOOST_AUTO_TEST_SUITE(directory_test)

namespace fs = vow::fs;

namespace {

struct fixture : vow::test::promise_fixture, vow::test::escape_tree {};

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_directory_is_opened_at_once_and_refuses_a_file, fixture) {
    fs::directory dir(root.string());
    BOOST_TEST(dir.is_open());
    BOOST_TEST(dir.path() == root.string());
    BOOST_TEST(dir.real_path() == std::filesystem::canonical(root).string());
    fs::directory copy = dir;  // shares the descriptor
    BOOST_TEST(copy.real_path() == dir.real_path());
    try {
        fs::directory file((root / "a.txt").string());
        BOOST_ERROR("a file opened as a directory");
    } catch (const fs::fs_error& e) {
        BOOST_TEST(e.code().value() == ENOTDIR);
        BOOST_TEST(std::string(e.what()).starts_with("vow::fs::open_directory: '" + root.string() +
                                                     "/a.txt'"));
    }
    BOOST_CHECK_THROW((void)fs::directory().path(), vow::usage_error);
}

BOOST_FIXTURE_TEST_CASE(open_beneath_refuses_what_leads_outside_with_exdev, fixture) {
    fs::directory dir(root.string());
    auto errno_of = [&](std::string relative, fs::open_beneath_options o = {}) {
        try {
            wait(fs::open_beneath(r, dir, std::move(relative), std::move(o)));
        } catch (const fs::fs_error& e) {
            BOOST_TEST(
                std::string(e.what()).starts_with("vow::fs::open_beneath: '" + root.string() + "/"),
                e.what());
            return e.code().value();
        }
        return 0;
    };
    BOOST_TEST(errno_of("a.txt") == 0);
    BOOST_TEST(errno_of("link_in") == 0);
    BOOST_TEST(errno_of("sub/../a.txt") == EXDEV);  // ".." is refused by its spelling
    BOOST_TEST(errno_of("../outside/secret.txt") == EXDEV);
    BOOST_TEST(errno_of("/etc/passwd") == EXDEV);
    BOOST_TEST(errno_of("link_out") == EXDEV);
    BOOST_TEST(errno_of("link_dir/secret.txt") == EXDEV);
    BOOST_TEST(errno_of("link_out", {.follow_symlinks_outside = true}) == 0);
    BOOST_TEST(errno_of("../outside/secret.txt", {.follow_symlinks_outside = true}) == EXDEV);
    BOOST_TEST(errno_of(std::string("a.txt\0x", 7)) == EINVAL);
    BOOST_TEST(errno_of("missing") == ENOENT);
    BOOST_TEST(errno_of("a.txt/") == ENOTDIR);
    BOOST_TEST(errno_of("sub") == EISDIR);
    BOOST_TEST(errno_of("") == ENOENT);
    BOOST_CHECK_THROW((void)fs::open_beneath(r, fs::directory(), "a.txt"), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(open_beneath_gives_a_file_that_reads, fixture) {
    fs::directory dir(root.string());
    auto f = wait(fs::open_beneath(r, dir, "sub/b.css"));
    BOOST_TEST(f.path() == root.string() + "/sub/b.css");
    BOOST_TEST(wait(f.read(100)) == "b { }\n");
    auto opened = wait(fs::open_beneath_with_status(r, dir, "a.txt"));
    BOOST_TEST(opened.status.size == 14u);
    BOOST_TEST((opened.status.type == fs::file_type::regular));
    BOOST_TEST(wait(opened.f.pread(7, 6)) == "static");
    BOOST_REQUIRE(::mkfifo((root / "pipe").c_str(), 0644) == 0);
    BOOST_CHECK_THROW(wait(fs::open_beneath(r, dir, "pipe")), fs::fs_error);
}

// The fallback (kernels without openat2) cannot be reached through
// open_beneath here: it is called directly.
BOOST_FIXTURE_TEST_CASE(the_fallback_verifies_through_proc_what_it_opened, fixture) {
    fs::directory dir(root.string());
    const auto& state = *fs::detail::directory_access::state(dir);
    auto open = [&](const char* relative, bool outside_ok) -> std::pair<int, int> {
        errno = 0;
        int fd =
            fs::detail::open_beneath_fallback(state, relative, O_RDONLY | O_CLOEXEC, outside_ok);
        int error = errno;
        if (fd >= 0)
            ::close(fd);
        return {fd >= 0 ? 0 : -1, fd >= 0 ? 0 : error};
    };
    BOOST_TEST(open("a.txt", false).first == 0);
    BOOST_TEST(open("link_in", false).first == 0);
    BOOST_TEST(open("sub/b.css", false).first == 0);
    BOOST_TEST(open("link_out", false).second == EXDEV);
    BOOST_TEST(open("link_dir/secret.txt", false).second == EXDEV);
    BOOST_TEST(open("link_etc/hostname", false).second != 0);
    BOOST_TEST(open("link_out", true).first == 0);
    BOOST_TEST(open("missing", false).second == ENOENT);
}

BOOST_AUTO_TEST_SUITE_END()
