// tests/support/temp_dir.hpp - a fresh directory under the system's
// temporary directory for one test, removed with everything in it when the
// test ends.
//
//   vow::test::temp_dir dir("vow-fs");
//   std::ofstream(dir.at("input")) << "bytes";
#pragma once

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>
#include <system_error>

#include <stdlib.h>

namespace vow::test {

class temp_dir {
public:
    // `prefix` names the test in the directory's name, for whoever finds
    // one left behind by a crash.
    explicit temp_dir(const std::string& prefix = "vow-test") {
        std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    // The path of `name` inside the directory.
    [[nodiscard]] std::string at(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

}  // namespace vow::test
