// tests/support/promise_fixture.hpp - the reactor fixture, plus what the
// promise tests need: a record of unhandled-rejection reports, `wait(future)`
// to drive the reactor until a future settles, and sources that settle in
// each of the three ways Promises/A+ distinguishes.
//
//   BOOST_FIXTURE_TEST_CASE(then_passes_the_value_on, vow::test::promise_fixture) {
//       auto f = vow::make_ready_future(r, 20).then([](int n) { return n + 1; });
//       BOOST_TEST(wait(std::move(f)) == 21);
//   }   // the fixture fails the test if a rejection went unreported or unexpected
//
// Every test that expects unhandled-rejection reports checks `unhandled` and
// then clears it: whatever is left when the test ends is a failure. Errors
// that escape reactor callbacks (`reported`, from the reactor fixture) are a
// failure too: the promise layer must never let one through.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/sleep.hpp>
#include <vow/promise/unhandled_rejection.hpp>

#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <ostream>
#include <source_location>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vow::test {

// The what() of the exception `e` holds ("a non-std exception" otherwise).
inline std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "a non-std exception";
    }
}

// An exception that carries an identity, so a test can tell that the error
// that arrives is the very one that was thrown, not a copy of a look-alike.
struct tagged_error : std::runtime_error {
    int tag;
    explicit tagged_error(int t) : std::runtime_error("tagged error " + std::to_string(t)), tag(t) {}
};

// A type derived from tagged_error, for catch_'s "E and derived" rule.
struct derived_error : tagged_error {
    using tagged_error::tagged_error;
};

// One call of the unhandled-rejection hook.
struct rejection_report {
    std::exception_ptr error;
    std::string message;
    std::string file;
    std::uint_least32_t line;
    std::string function;
};

// The three ways a source can settle (Promises/A+ runs every core case in
// each): before the handler is attached, on the next turn of the loop, and
// from a timer.
enum class settle_mode { already, next_turn, timer };

inline std::ostream& operator<<(std::ostream& os, settle_mode m) {
    switch (m) {
    case settle_mode::already:
        return os << "already";
    case settle_mode::next_turn:
        return os << "next_turn";
    case settle_mode::timer:
        return os << "timer";
    }
    return os << "?";
}

inline const std::vector<settle_mode> all_settle_modes = {settle_mode::already, settle_mode::next_turn,
                                                          settle_mode::timer};

struct promise_fixture : reactor_fixture {
    // Reports of the unhandled-rejection hook, in order, while the fixture lives.
    std::vector<rejection_report> unhandled;
    // The thread that runs the reactor: every continuation must run here.
    std::thread::id reactor_thread = std::this_thread::get_id();

    promise_fixture()
        : previous_(vow::set_unhandled_rejection_handler([this](std::exception_ptr e, const std::source_location& w) {
              unhandled.push_back({e, message_of(e), w.file_name(), w.line(), w.function_name()});
          })) {}
    promise_fixture(const promise_fixture&) = delete;
    promise_fixture& operator=(const promise_fixture&) = delete;

    ~promise_fixture() {
        // Futures that the reactor still owns are destroyed with it, after
        // this: what they report goes to the previous handler.
        vow::set_unhandled_rejection_handler(std::move(previous_));
        for (const auto& u : unhandled)
            BOOST_ERROR("unexpected unhandled rejection: " << u.message << " (created at " << u.file << ":" << u.line
                                                           << ")");
        for (const auto& e : reported)
            BOOST_ERROR("an exception escaped a reactor callback: " << e);
    }

    // Runs the reactor until `f` settles and returns its value or rethrows
    // its error (vow::run_until_complete). A watchdog stops the reactor after
    // `limit`, which makes run_until_complete throw vow::stalled_error: a bug
    // shows as a failure, never as a hung test run.
    template <class T>
    T wait(future<T> f, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
        watchdog w(r, limit);
        return vow::run_until_complete(r, std::move(f));
    }

    // Waits for every future of `fs` in turn (under one watchdog), leaving
    // them consumed. For future<void>; failures are rethrown.
    void wait_all(std::vector<future<void>>& fs, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
        watchdog w(r, limit);
        for (auto& f : fs)
            vow::run_until_complete(r, std::move(f));
    }

    // Waits for `f`, which must fail, and returns its error.
    template <class T>
    std::exception_ptr wait_error(future<T> f, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
        try {
            wait(std::move(f), limit);
        } catch (const vow::stalled_error& e) {
            BOOST_FAIL("the future did not settle: " << e.what());
        } catch (...) {
            return std::current_exception();
        }
        BOOST_FAIL("the future fulfilled; it should have failed");
        return nullptr;
    }

    // Runs the loop until pred() holds (or 10 s pass); whether it holds.
    template <class P>
    bool settle_until(P pred) {
        for (int i = 0; i < 1000 && !pred(); ++i)
            wait(vow::sleep(r, std::chrono::milliseconds(10)));
        return pred();
    }

    // A future<T> that fulfils with T(args...) in mode `m`.
    template <class T, class... A>
    future<T> fulfilled(settle_mode m, A&&... args) {
        if (m == settle_mode::already) {
            if constexpr (std::is_void_v<T>)
                return vow::make_ready_future(r);
            else
                return vow::make_ready_future<T>(r, T(std::forward<A>(args)...));
        }
        vow::promise<T> p(r);
        future<T> f = p.get_future();
        if constexpr (std::is_void_v<T>)
            settle_later(m, [p = std::move(p)]() mutable { p.resolve(); });
        else
            settle_later(m, [p = std::move(p), v = T(std::forward<A>(args)...)]() mutable { p.resolve(std::move(v)); });
        return f;
    }

    // A future<T> that rejects with `error` in mode `m`.
    template <class T>
    future<T> rejected(settle_mode m, std::exception_ptr error) {
        if (m == settle_mode::already)
            return vow::make_exception_future<T>(r, error);
        vow::promise<T> p(r);
        future<T> f = p.get_future();
        settle_later(m, [p = std::move(p), error]() mutable { p.reject(error); });
        return f;
    }

private:
    template <class F>
    void settle_later(settle_mode m, F&& fn) {
        if (m == settle_mode::next_turn)
            r.call_soon(std::forward<F>(fn));
        else
            (void)r.call_later(std::chrono::milliseconds(1), std::forward<F>(fn));
    }

    // Stops the reactor if the waited-for future takes longer than `limit`.
    class watchdog {
    public:
        watchdog(vow::reactor& r, std::chrono::milliseconds limit)
            : thread_([this, &r, limit] {
                  std::unique_lock lock(m_);
                  if (!cv_.wait_for(lock, limit, [this] { return done_; }))
                      r.stop();
              }) {}
        watchdog(const watchdog&) = delete;
        watchdog& operator=(const watchdog&) = delete;
        ~watchdog() {
            {
                std::lock_guard lock(m_);
                done_ = true;
            }
            cv_.notify_one();
            thread_.join();
        }

    private:
        std::mutex m_;
        std::condition_variable cv_;
        bool done_ = false;
        std::thread thread_;  // last: starts once the members above exist
    };

    vow::unhandled_rejection_handler previous_;
};

}  // namespace vow::test
