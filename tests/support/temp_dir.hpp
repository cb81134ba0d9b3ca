// tests/support/temp_dir.hpp - a fresh directory under $TMPDIR (or /tmp)
// for a test's files, removed with everything in it when the test ends.
//
//   vow::test::temp_dir dir("vow-fs");
//   std::ofstream(dir.at("a.txt")) << "hello";
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace vow::test {

struct temp_dir {
    std::filesystem::path dir;

    // `prefix` names the test in the directory's name, for whoever finds
    // one left behind by a crash.
    explicit temp_dir(const std::string& prefix) {
        std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    // The path of `name` in the directory.
    [[nodiscard]] std::string at(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace vow::test
