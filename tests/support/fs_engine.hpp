// tests/support/fs_engine.hpp - which engine of vow::fs a test file runs
// on, and its skip where that engine is unavailable.
//
//   BOOST_AUTO_TEST_SUITE(uring_test, *boost::unit_test::fixture<vow::test::need_io_uring>())
//
// meson runs each test file as its own test; a file whose engine is not
// there exits 77, which meson reports as SKIP, by name, with the reason on
// stderr. A skip is never a pass.
#pragma once

#include <vow/fs/file.hpp>
#include <vow/reactor/reactor.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace vow::test {

// The engine VOW_FS_ENGINE names (what engine::automatic becomes), or
// automatic if it is not set.
inline vow::fs::engine engine_from_environment() {
    const char* env = std::getenv("VOW_FS_ENGINE");
    const std::string_view value = env ? env : "";
    if (value == "io_uring")
        return vow::fs::engine::io_uring;
    if (value == "thread_pool")
        return vow::fs::engine::thread_pool;
    return vow::fs::engine::automatic;
}

// Exits 77 unless io_uring works on a reactor of this thread.
inline void skip_unless_io_uring(const char* what) {
    vow::reactor r;
    if (auto why = vow::fs::engine_unavailable(r, vow::fs::engine::io_uring); !why.empty()) {
        std::fprintf(stderr, "skipped: %s: io_uring is unavailable: %s\n", what, why.c_str());
        std::fflush(stderr);
        std::_Exit(77);
    }
}

// A suite fixture: the suite needs io_uring.
struct need_io_uring {
    need_io_uring() { skip_unless_io_uring("this test file runs on vow::fs's io_uring engine"); }
};

// A suite fixture: the suite runs on the engine VOW_FS_ENGINE names, and
// needs io_uring when that is it.
struct need_environment_engine {
    need_environment_engine() {
        if (engine_from_environment() == vow::fs::engine::io_uring)
            skip_unless_io_uring("VOW_FS_ENGINE=io_uring");
    }
};

}  // namespace vow::test
