// tests/pch/tests_pch.hpp - the precompiled header of every suite executable.
//
// Boost.Test and vow's headers are most of what each test file parses; one
// suite's files share this header compiled once (meson's cpp_pch). It only
// speeds the build: each test file still includes what it uses.

#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <vow/vow.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>
