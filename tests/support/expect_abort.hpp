// tests/support/expect_abort.hpp - death tests for Boost.Test, which has none:
// run a function in a forked child and require that it aborts with a message.
//
//   BOOST_AUTO_TEST_CASE(call_soon_off_thread_aborts, *vow::test::death_tests()) {
//       vow::test::expect_abort([] {
//           auto r = vow::test::reactor_of_another_thread();
//           r->call_soon([] {});
//       }, {"reactor::call_soon", vow::test::thread_rule});
//   }
//
// The child is a fork of a test process, so it runs only what `fn` does and
// then dies: it never returns into Boost.Test, and never runs exit handlers.
// Keep `fn` to the one call under test. If the test process has other
// threads when it forks, only the forking thread exists in the child; `fn`
// may start its own threads (reactor_of_another_thread does).
//
// Death tests need thread checks compiled in (VOW_THREAD_CHECKS, from the
// `thread_checks` build option): death_tests() is a Boost.Test precondition
// that skips the case, saying why, otherwise. They work under ASan, UBSan,
// valgrind (the child is traced too) and TSan (as long as the test process
// has one thread when it forks; otherwise the call is skipped with a
// message).
#pragma once

#include <vow/config.hpp>
#include <vow/reactor/reactor.hpp>

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <memory>
#include <poll.h>
#include <string>
#include <string_view>
#include <system_error>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace vow::test {

// What every thread-check message says, whatever the function.
inline constexpr std::string_view thread_rule =
    "thread-bound functions must be called on the reactor's thread";

// True in a ThreadSanitizer build. TSan allows a forked child to start
// threads (as reactor_of_another_thread does) only if the parent had a single
// thread when it forked (its die_after_fork rule); expect_abort checks that.
inline constexpr bool under_tsan =
#if defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

// Why death tests cannot run in this build, or "" if they can.
inline std::string death_tests_unavailable() {
#if !VOW_THREAD_CHECKS
    return "thread checks are compiled out of this build (NDEBUG without -Dthread_checks=enabled): "
           "nothing would abort";
#else
    return "";
#endif
}

// The number of threads of this process (Linux: /proc/self/task).
inline std::size_t thread_count() {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

// A Boost.Test precondition: the case is skipped, with the reason in the
// log, where death tests cannot run. Never a silent pass.
inline auto death_tests() {
    return boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
        boost::test_tools::assertion_result ok(death_tests_unavailable().empty());
        if (!ok)
            ok.message() << death_tests_unavailable();
        return ok;
    });
}

// A reactor whose thread is not the calling one: constructed on a thread
// that has since exited (and been joined, so handing it over is race-free).
// For death tests only: it is never destroyed, as destroying it here would
// itself be a wrong-thread call.
inline vow::reactor* reactor_of_another_thread() {
    vow::reactor* r = nullptr;
    std::thread([&] { r = new vow::reactor; }).join();
    return r;
}

// Runs `fn` in a forked child with its stderr captured, and requires that the
// child dies of SIGABRT (within `limit`) and that its stderr contains every
// string of `expected`. Returns what the child wrote to stderr.
inline std::string expect_abort(const std::function<void()>& fn, std::initializer_list<std::string_view> expected,
                                std::chrono::seconds limit = std::chrono::seconds(60)) {
    if (under_tsan && thread_count() > 1) {
        BOOST_TEST_MESSAGE("death test not run: under TSan a child forked from a process with "
                           << thread_count() << " threads may not start threads");
        return {};
    }
    int fds[2];
    BOOST_REQUIRE_MESSAGE(::pipe(fds) == 0, "pipe() failed");
    pid_t pid = ::fork();
    BOOST_REQUIRE_MESSAGE(pid >= 0, "fork() failed");
    if (pid == 0) {
        ::close(fds[0]);
        ::dup2(fds[1], STDERR_FILENO);
        ::close(fds[1]);
        // Boost.Test catches SIGABRT to report it; the child must die of it.
        std::signal(SIGABRT, SIG_DFL);
        sigset_t abrt;
        sigemptyset(&abrt);
        sigaddset(&abrt, SIGABRT);
        ::sigprocmask(SIG_UNBLOCK, &abrt, nullptr);
        rlimit no_core{0, 0};  // the abort is expected: no core file
        ::setrlimit(RLIMIT_CORE, &no_core);
        try {
            fn();
        } catch (...) {
            ::_exit(3);
        }
        ::_exit(0);  // returned without aborting
    }
    ::close(fds[1]);
    std::string err;
    auto deadline = std::chrono::steady_clock::now() + limit;
    bool timed_out = false;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        char buf[4096];
        ssize_t got = ::read(fds[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;  // EOF: the child is gone (or closed stderr)
        err.append(buf, static_cast<std::size_t>(got));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    BOOST_REQUIRE_MESSAGE(!timed_out, "the child did not finish within " << limit.count() << " s; stderr:\n" << err);
    if (WIFEXITED(status))
        BOOST_FAIL("the child exited with status " << WEXITSTATUS(status)
                                                    << (WEXITSTATUS(status) == 3 ? " (it threw)" : " (it returned)")
                                                    << " instead of aborting; stderr:\n"
                                                    << err);
    BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                          "the child died of signal " << WTERMSIG(status) << ", not SIGABRT; stderr:\n" << err);
    for (std::string_view e : expected)
        BOOST_TEST(err.find(e) != std::string::npos, "stderr contains \"" << e << "\"; stderr:\n" << err);
    return err;
}

}  // namespace vow::test
