// tests/support/nobody_pool.hpp - a one-worker thread pool whose worker is
// the user nobody, for EACCES tests when the tests run as root (who reads
// anything).
//
//   vow::test::nobody_pool nobody;
//   if (!nobody.ready()) { BOOST_TEST_MESSAGE("skipped: " << nobody.why()); return; }
//   ... fs::open(r, path, fs::open_mode::read, {.pool = &nobody.pool}) ... // EACCES
//
// Linux keeps credentials per thread; the raw system calls change only the
// calling thread's (glibc's setuid would change every thread's), so the
// rest of the process stays root. No fork: a forked child of a threaded
// process may not start threads (TSan).
#pragma once

#include <vow/promise/thread_pool.hpp>

#include <cerrno>
#include <future>
#include <string>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>

namespace vow::test {

struct nobody_pool {
    vow::thread_pool pool{1};

    nobody_pool() {
        std::promise<int> dropped;
        pool.submit([&dropped] {
            long rc = ::syscall(SYS_setgroups, 0, nullptr);
            if (rc == 0)
                rc = ::syscall(SYS_setresgid, 65534, 65534, 65534);
            if (rc == 0)
                rc = ::syscall(SYS_setresuid, 65534, 65534, 65534);
            dropped.set_value(rc == 0 ? 0 : errno);
        });
        error_ = dropped.get_future().get();
    }

    // Whether the worker became nobody; if not, why().
    [[nodiscard]] bool ready() const noexcept { return error_ == 0; }
    [[nodiscard]] std::string why() const {
        return "a worker cannot become nobody here: " + std::generic_category().message(error_);
    }

private:
    int error_ = 0;
};

}  // namespace vow::test
