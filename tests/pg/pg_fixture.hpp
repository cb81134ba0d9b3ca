// tests/pg/pg_fixture.hpp - what the pg suite's tests share: the server's
// connection string (VOW_TEST_PG_DSN, set by scripts/pg_cluster) and a
// fixture that connects.
//
// Without VOW_TEST_PG_DSN the suite's global fixture (connect_test.cpp)
// exits with status 77 before any test runs: meson reports each test of the
// suite as SKIP, by name, never as passed.
#pragma once

#include <promise_fixture.hpp>

#include <vow/pg.hpp>

#include <cstdlib>
#include <string>

namespace vow::test {

inline std::string pg_dsn() {
    const char* dsn = std::getenv("VOW_TEST_PG_DSN");
    return dsn ? dsn : "";
}

struct pg_fixture : promise_fixture {
    std::string dsn = pg_dsn();

    vow::pg::connection connect(vow::pg::connect_options opts = {}) {
        return wait(vow::pg::connection::connect(r, dsn, opts));
    }
};

}  // namespace vow::test
