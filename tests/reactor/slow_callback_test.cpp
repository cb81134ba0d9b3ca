// Slow callback detection: callbacks that hold the loop longer than a
// threshold are reported through a hook.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

BOOST_AUTO_TEST_SUITE(slow_callback_test)

using namespace std::chrono_literals;

namespace {

struct report {
    vow::reactor::duration took;
    std::string where;
};

struct slow_fixture : vow::test::reactor_fixture {
    std::vector<report> slow;
    slow_fixture() {
        r.set_slow_callback_handler([this](vow::reactor::duration took, std::string_view where) {
            slow.push_back({took, std::string(where)});
        });
    }
};

void hold_the_loop(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(slow_callback, slow_fixture)

BOOST_AUTO_TEST_CASE(the_check_is_off_by_default) {
    BOOST_TEST((r.slow_callback_duration() == vow::reactor::duration::zero()));
    r.call_soon([] { hold_the_loop(20ms); });
    run();
    BOOST_TEST(slow.empty());
}

BOOST_AUTO_TEST_CASE(slow_callback_duration_reads_back_the_threshold) {
    r.set_slow_callback_duration(15ms);
    BOOST_TEST((r.slow_callback_duration() == 15ms));
}

BOOST_AUTO_TEST_CASE(a_slow_call_soon_callback_is_reported_with_a_duration_at_least_the_threshold) {
    r.set_slow_callback_duration(5ms);
    r.call_soon([] { hold_the_loop(20ms); });
    run();
    BOOST_TEST_REQUIRE(slow.size() == 1u);
    BOOST_TEST((slow[0].took >= 5ms));
    BOOST_TEST((slow[0].took >= 20ms));  // at least as long as the callback slept
    BOOST_TEST(slow[0].where == "call_soon callback");
}

BOOST_AUTO_TEST_CASE(slow_timer_periodic_and_watcher_callbacks_are_reported) {
    r.set_slow_callback_duration(5ms);
    (void)r.call_later(1ms, [] { hold_the_loop(20ms); });
    vow::handle every;
    every = r.call_every(1ms, [&] {
        every.cancel();
        hold_the_loop(20ms);
    });
    int fds[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    vow::handle writer = r.add_writer(fds[0], [&] {
        writer.cancel();
        hold_the_loop(20ms);
    });
    run();
    ::close(fds[0]);
    ::close(fds[1]);
    BOOST_TEST_REQUIRE(slow.size() == 3u);
    std::vector<std::string> where;
    for (auto& s : slow) {
        BOOST_TEST((s.took >= 20ms));
        where.push_back(s.where);
    }
    std::sort(where.begin(), where.end());
    BOOST_TEST(where == (std::vector<std::string>{"call_every callback", "call_later callback",
                                                  "writer callback"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_fast_callback_is_not_reported) {
    r.set_slow_callback_duration(10s);
    r.call_soon([] {});
    (void)r.call_later(1ms, [] {});
    run();
    BOOST_TEST(slow.empty());
}

BOOST_AUTO_TEST_CASE(nothing_is_reported_once_the_check_is_turned_off_again) {
    r.set_slow_callback_duration(5ms);
    r.call_soon([&] { r.set_slow_callback_duration(vow::reactor::duration::zero()); });
    r.call_soon([] { hold_the_loop(20ms); });
    (void)r.call_later(1ms, [] { hold_the_loop(20ms); });
    run();
    BOOST_TEST(slow.empty());
}

BOOST_AUTO_TEST_CASE(a_slow_throwing_callback_is_reported_both_as_slow_and_as_an_error) {
    r.set_slow_callback_duration(5ms);
    bool after = false;
    r.call_soon([] {
        hold_the_loop(20ms);
        throw std::runtime_error("slow and wrong");
    });
    r.call_soon([&] { after = true; });
    run();
    BOOST_TEST(after);
    BOOST_TEST(slow.size() == 1u);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "call_soon callback: slow and wrong");
}

BOOST_AUTO_TEST_CASE(a_throwing_slow_callback_handler_does_not_stop_the_loop) {
    r.set_slow_callback_duration(5ms);
    int hook_calls = 0;
    r.set_slow_callback_handler([&](vow::reactor::duration, std::string_view) {
        ++hook_calls;
        throw std::runtime_error("hook failed");
    });
    bool after = false;
    r.call_soon([] { hold_the_loop(20ms); });
    r.call_soon([&] { after = true; });
    run();
    BOOST_TEST(hook_calls == 1);
    BOOST_TEST(after);
}

BOOST_AUTO_TEST_CASE(the_default_slow_callback_handler_prints_one_line_to_stderr) {
    r.set_slow_callback_handler({});
    r.set_slow_callback_duration(5ms);
    r.call_soon([] { hold_the_loop(20ms); });

    std::FILE* file = std::tmpfile();
    BOOST_TEST_REQUIRE(file != nullptr);
    std::fflush(stderr);
    int saved = ::dup(2);
    ::dup2(::fileno(file), 2);
    run();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);

    std::string text;
    std::rewind(file);
    char buf[512];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, file))
        text.append(buf, n);
    std::fclose(file);
    BOOST_TEST(slow.empty());
    BOOST_TEST(text.find("slow call_soon callback") != std::string::npos, text);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // slow_callback_test
