// tests/support/open_fds.hpp - how many of this process's descriptors are
// open on a path (read from /proc/self/fd): a test's proof that a file was
// closed, not leaked.
//
//   BOOST_TEST(vow::test::fds_on(path) == 0u);
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>

namespace vow::test {

inline std::size_t fds_on(const std::string& path) {
    std::size_t n = 0;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        auto target = std::filesystem::read_symlink(e.path(), ec);
        if (!ec && target == path)
            ++n;
    }
    return n;
}

}  // namespace vow::test
