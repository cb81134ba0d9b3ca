// tests/support/open_fds.hpp - how many of this process's descriptors are
// open, on a path or at all (read from /proc/self/fd): a test's proof that
// a file or a socket was closed, not leaked.
//
//   BOOST_TEST(vow::test::fds_on(path) == 0u);
//   BOOST_TEST(vow::test::open_fds() == before);
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

inline std::size_t open_fds() {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

}  // namespace vow::test
