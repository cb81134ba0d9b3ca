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

#include <cstdio>
#include <cstdlib>
#include <string>

namespace vow::test {

inline std::string pg_dsn() {
    const char* dsn = std::getenv("VOW_TEST_PG_DSN");
    return dsn ? dsn : "";
}

// A cluster of a test's own (scripts/pg_cluster, whose path the build
// passes as VOW_PG_CLUSTER), for what the shared one must not suffer
// (a restart, a configuration change); stopped and removed when the test
// ends, however it ends.
struct private_cluster {
    std::string dir, dsn, error;
    private_cluster() {
        std::string out;
        if (FILE* p = ::popen(VOW_PG_CLUSTER " start 2>&1", "r")) {
            char buf[512];
            while (std::fgets(buf, sizeof buf, p))
                out += buf;
            if (::pclose(p) != 0)
                error = out;
        }
        auto value = [&](const std::string& key) {
            auto at = out.find(key + "=");
            if (at == std::string::npos)
                return std::string();
            auto start = at + key.size() + 1;
            auto end = out.find('\n', start);
            std::string v = out.substr(start, end - start);
            if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'')
                v = v.substr(1, v.size() - 2);
            return v;
        };
        dir = value("VOW_PG_DIR");
        dsn = value("VOW_TEST_PG_DSN");
        if (dsn.empty() && error.empty())
            error = "no VOW_TEST_PG_DSN in: " + out;
    }
    ~private_cluster() {
        if (!dir.empty())
            (void)std::system((std::string(VOW_PG_CLUSTER " stop ") + dir + " >/dev/null 2>&1").c_str());
    }
    void restart() const {
        (void)std::system((std::string(VOW_PG_CLUSTER " restart ") + dir + " >/dev/null 2>&1").c_str());
    }
};

struct pg_fixture : promise_fixture {
    std::string dsn = pg_dsn();

    vow::pg::connection connect(vow::pg::connect_options opts = {}) {
        return wait(vow::pg::connection::connect(r, dsn, opts));
    }
};

}  // namespace vow::test
