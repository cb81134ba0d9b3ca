// Exceptions that escape callbacks go to the exception handler; the loop
// goes on.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>

BOOST_AUTO_TEST_SUITE(exception_test)

using namespace std::chrono_literals;

namespace {

// Sends fd 2 to a temporary file for the scope; text() returns what was
// written to it.
class stderr_capture {
public:
    stderr_capture() : file_(std::tmpfile()) {
        BOOST_TEST_REQUIRE(file_ != nullptr);
        std::fflush(stderr);
        saved_ = ::dup(2);
        ::dup2(::fileno(file_), 2);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;
    ~stderr_capture() {
        restore();
        std::fclose(file_);
    }
    std::string text() {
        restore();
        std::string out;
        std::rewind(file_);
        char buf[512];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, file_))
            out.append(buf, n);
        return out;
    }

private:
    void restore() {
        if (saved_ >= 0) {
            std::fflush(stderr);
            ::dup2(saved_, 2);
            ::close(saved_);
            saved_ = -1;
        }
    }
    std::FILE* file_;
    int saved_ = -1;
};

struct counted_thrower {
    int* destroyed;
    explicit counted_thrower(int& d) : destroyed(&d) {}
    counted_thrower(counted_thrower&& o) noexcept
        : destroyed(std::exchange(o.destroyed, nullptr)) {}
    ~counted_thrower() {
        if (destroyed)
            ++*destroyed;
    }
    void operator()() const { throw std::runtime_error("boom"); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(exception, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(a_throwing_call_soon_callback_is_reported_and_the_loop_goes_on) {
    bool after = false;
    r.call_soon([] { throw std::runtime_error("boom"); });
    r.call_soon([&] { after = true; });
    run();
    BOOST_TEST(after);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "call_soon callback: boom");
}

BOOST_AUTO_TEST_CASE(several_throwing_callbacks_in_one_turn_are_each_reported) {
    int after = 0;
    for (int i = 0; i < 3; ++i) {
        r.call_soon([i] { throw std::runtime_error("boom " + std::to_string(i)); });
        r.call_soon([&] { ++after; });
    }
    run();
    BOOST_TEST(after == 3);
    BOOST_TEST_REQUIRE(reported.size() == 3u);
    BOOST_TEST(reported[0] == "call_soon callback: boom 0");
    BOOST_TEST(reported[2] == "call_soon callback: boom 2");
}

BOOST_AUTO_TEST_CASE(a_throwing_threadsafe_callback_is_reported_and_the_loop_goes_on) {
    bool after = false;
    std::thread([&] {
        r.call_soon_threadsafe([] { throw std::runtime_error("boom"); });
        r.call_soon_threadsafe([&] { after = true; });
    }).join();
    run();
    BOOST_TEST(after);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "call_soon callback: boom");
}

BOOST_AUTO_TEST_CASE(a_throwing_timer_callback_is_reported_and_the_loop_goes_on) {
    bool after = false;
    (void)r.call_later(1ms, [] { throw std::runtime_error("boom"); });
    (void)r.call_later(5ms, [&] { after = true; });
    run();
    BOOST_TEST(after);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "call_later callback: boom");
}

BOOST_AUTO_TEST_CASE(a_throwing_periodic_callback_is_reported_and_keeps_ticking) {
    int ticks = 0;
    vow::handle h;
    h = r.call_every(1ms, [&] {
        if (++ticks == 3)
            h.cancel();
        throw std::runtime_error("tick " + std::to_string(ticks));
    });
    run();
    BOOST_TEST(ticks == 3);
    BOOST_TEST_REQUIRE(reported.size() == 3u);
    BOOST_TEST(reported[0] == "call_every callback: tick 1");
    BOOST_TEST(reported[2] == "call_every callback: tick 3");
}

BOOST_AUTO_TEST_CASE(a_throwing_reader_callback_is_reported_and_keeps_watching) {
    int fds[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    BOOST_TEST_REQUIRE(::write(fds[1], "x", 1) == 1);
    int calls = 0;
    vow::handle reader = r.add_reader(fds[0], [&] {
        if (++calls == 2) {
            char c;
            BOOST_TEST(::read(fds[0], &c, 1) == 1);
            reader.cancel();
            return;
        }
        throw std::runtime_error("bad read");
    });
    run();
    BOOST_TEST(calls == 2);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "reader callback: bad read");
    ::close(fds[0]);
    ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(a_throwing_writer_callback_is_reported) {
    int fds[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    vow::handle writer = r.add_writer(fds[0], [&] {
        writer.cancel();
        throw std::runtime_error("bad write");
    });
    run();
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "writer callback: bad write");
    ::close(fds[0]);
    ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(a_throwing_signal_handler_is_reported_and_keeps_handling) {
    int calls = 0;
    vow::handle h = r.add_signal_handler(SIGUSR1, [&] {
        if (++calls == 2) {
            h.cancel();
            return;
        }
        r.call_soon([] { std::raise(SIGUSR1); });
        throw std::runtime_error("bad signal");
    });
    r.call_soon([] { std::raise(SIGUSR1); });
    run();
    BOOST_TEST(calls == 2);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "signal handler: bad signal");
}

BOOST_AUTO_TEST_CASE(a_non_std_exception_is_reported_too) {
    bool after = false;
    r.call_soon([] { throw 42; });
    r.call_soon([&] { after = true; });
    run();
    BOOST_TEST(after);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "call_soon callback: non-std exception");
}

BOOST_AUTO_TEST_CASE(a_throwing_callable_is_still_destroyed_once) {
    int soon = 0, later = 0, every = 0;
    r.call_soon(counted_thrower(soon));
    (void)r.call_later(1ms, counted_thrower(later));
    vow::handle h = r.call_every(1ms, counted_thrower(every));
    (void)r.call_later(20ms, [&] {
        BOOST_TEST(every == 0);  // kept between (throwing) ticks
        h.cancel();
    });
    run();
    BOOST_TEST(soon == 1);
    BOOST_TEST(later == 1);
    BOOST_TEST(every == 1);
    BOOST_TEST(reported.size() >= 3u);
}

BOOST_AUTO_TEST_CASE(the_default_handler_prints_one_line_to_stderr) {
    vow::reactor plain;  // no handler set
    bool after = false;
    plain.call_soon([] { throw std::runtime_error("boom on stderr"); });
    plain.call_soon([] { throw 7; });
    plain.call_soon([&] { after = true; });
    std::string text;
    {
        stderr_capture capture;
        plain.run();
        text = capture.text();
    }
    BOOST_TEST(after);
    BOOST_TEST(text.find("call_soon callback") != std::string::npos);
    BOOST_TEST(text.find("boom on stderr") != std::string::npos);
    BOOST_TEST(text.find("non-std exception") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_empty_handler_restores_the_default) {
    r.set_exception_handler({});
    r.call_soon([] { throw std::runtime_error("back to stderr"); });
    std::string text;
    {
        stderr_capture capture;
        run();
        text = capture.text();
    }
    BOOST_TEST(reported.empty());
    BOOST_TEST(text.find("back to stderr") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_throwing_exception_handler_falls_back_to_the_default) {
    bool after = false;
    r.set_exception_handler([](const std::exception_ptr&, std::string_view) {
        throw std::logic_error("handler failed");
    });
    r.call_soon([] { throw std::runtime_error("original error"); });
    r.call_soon([&] { after = true; });
    std::string text;
    {
        stderr_capture capture;
        run();
        text = capture.text();
    }
    BOOST_TEST(after);
    BOOST_TEST(text.find("original error") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(report_exception_passes_the_error_to_the_handler) {
    r.report_exception(std::make_exception_ptr(std::runtime_error("from a layer")),
                       "promise layer");
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "promise layer: from a layer");
}

BOOST_AUTO_TEST_CASE(the_exception_handler_runs_on_the_loop_thread) {
    bool on_loop = false;
    r.set_exception_handler([&](const std::exception_ptr&, std::string_view) {
        on_loop = r.in_reactor_thread() && r.running();
    });
    std::thread([&] { r.call_soon_threadsafe([] { throw std::runtime_error("x"); }); }).join();
    run();
    BOOST_TEST(on_loop);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // exception_test
