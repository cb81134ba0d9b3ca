// tests/support/reactor_fixture.hpp - a Boost.Test fixture that drives a
// reactor, so an asynchronous test reads as straight-line code.
//
//   BOOST_FIXTURE_TEST_CASE(timers_fire_in_deadline_order, vow::test::reactor_fixture) {
//       ... schedule on r ...
//       run();  // runs until idle; fails the test after a deadline instead of hanging
//   }
#pragma once

#include <vow/reactor/reactor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vow::test {

struct reactor_fixture {
    vow::reactor r;
    // Messages of exceptions that escaped callbacks, as the reactor reported them.
    std::vector<std::string> reported;

    reactor_fixture() {
        r.set_exception_handler([this](std::exception_ptr e, std::string_view where) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                reported.push_back(std::string(where) + ": " + ex.what());
            } catch (...) {
                reported.push_back(std::string(where) + ": non-std exception");
            }
        });
    }

    // Runs the reactor until it is idle or stopped. A watchdog thread stops it
    // and fails the test if that takes longer than `limit`: a bug must show
    // as a failure, never as a hung test run.
    void run(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
        std::mutex m;
        std::condition_variable cv;
        bool done = false, fired = false;
        std::thread watchdog([&] {
            std::unique_lock lock(m);
            if (!cv.wait_for(lock, limit, [&] { return done; })) {
                fired = true;
                r.stop();
            }
        });
        try {
            r.run();
        } catch (...) {
            {
                std::lock_guard lock(m);
                done = true;
            }
            cv.notify_one();
            watchdog.join();
            throw;
        }
        {
            std::lock_guard lock(m);
            done = true;
        }
        cv.notify_one();
        watchdog.join();
        BOOST_REQUIRE_MESSAGE(!fired, "the reactor was still running after the test's time limit");
    }
};

}  // namespace vow::test
