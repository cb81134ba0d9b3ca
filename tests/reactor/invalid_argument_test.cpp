// Bad arguments throw vow::invalid_argument with a message that says which
// call and which value; nothing is armed and the callable is not run.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <string>
#include <utility>

BOOST_AUTO_TEST_SUITE(invalid_argument_test)

using namespace std::chrono_literals;

namespace {

// Runs `call`, requires it to throw vow::invalid_argument, and returns the
// message.
std::string message_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const vow::invalid_argument& e) {
        return e.what();
    } catch (...) {
        BOOST_ERROR("threw something other than vow::invalid_argument");
        return {};
    }
    BOOST_ERROR("did not throw");
    return {};
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

struct counted {
    int* runs;
    int* destroyed;
    counted(int& r, int& d) : runs(&r), destroyed(&d) {}
    counted(counted&& o) noexcept : runs(o.runs), destroyed(std::exchange(o.destroyed, nullptr)) {}
    ~counted() {
        if (destroyed)
            ++*destroyed;
    }
    void operator()() const { ++*runs; }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(invalid_argument, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(call_later_with_a_negative_delay_throws_invalid_argument) {
    auto msg = message_of([&] { (void)r.call_later(-1ms, [] {}); });
    BOOST_TEST(contains(msg, "call_later"), msg);
    BOOST_TEST(contains(msg, "delay"), msg);
    BOOST_TEST(contains(msg, "-1000"), msg);  // the value, in microseconds
    // And it is a std::invalid_argument for generic handlers.
    BOOST_CHECK_THROW((void)r.call_later(-1ns, [] {}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(call_later_with_a_zero_delay_is_fine) {
    bool ran = false;
    (void)r.call_later(0ms, [&] { ran = true; });
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(call_every_with_a_zero_or_negative_period_throws_invalid_argument) {
    auto zero = message_of([&] { (void)r.call_every(0ms, [] {}); });
    BOOST_TEST(contains(zero, "call_every"), zero);
    BOOST_TEST(contains(zero, "period"), zero);
    auto negative = message_of([&] { (void)r.call_every(-5s, [] {}); });
    BOOST_TEST(contains(negative, "call_every"), negative);
}

BOOST_AUTO_TEST_CASE(add_reader_and_add_writer_with_a_negative_fd_throw_invalid_argument) {
    auto rd = message_of([&] { (void)r.add_reader(-1, [] {}); });
    BOOST_TEST(contains(rd, "add_reader"), rd);
    BOOST_TEST(contains(rd, "-1"), rd);
    auto wr = message_of([&] { (void)r.add_writer(-7, [] {}); });
    BOOST_TEST(contains(wr, "add_writer"), wr);
    BOOST_TEST(contains(wr, "-7"), wr);
}

BOOST_AUTO_TEST_CASE(add_signal_handler_with_a_bad_signal_number_throws_invalid_argument) {
    for (int bad : {-1, 0, NSIG, 100000}) {
        auto msg = message_of([&] { (void)r.add_signal_handler(bad, [] {}); });
        BOOST_TEST(contains(msg, "add_signal_handler"), msg);
        BOOST_TEST(contains(msg, std::to_string(bad)), msg);
    }
}

BOOST_AUTO_TEST_CASE(a_rejected_callable_is_destroyed_without_running_and_nothing_stays_armed) {
    int runs = 0, destroyed = 0;
    BOOST_CHECK_THROW((void)r.call_later(-1ms, counted(runs, destroyed)), vow::invalid_argument);
    BOOST_CHECK_THROW((void)r.call_every(0ms, counted(runs, destroyed)), vow::invalid_argument);
    BOOST_CHECK_THROW((void)r.add_reader(-1, counted(runs, destroyed)), vow::invalid_argument);
    BOOST_CHECK_THROW((void)r.add_signal_handler(0, counted(runs, destroyed)),
                      vow::invalid_argument);
    BOOST_TEST(destroyed == 4);
    run();  // nothing armed: returns at once
    BOOST_TEST(runs == 0);
}

BOOST_AUTO_TEST_CASE(an_fd_libevent_refuses_throws_reactor_error) {
    // Valid as a number, but not an open descriptor.
    BOOST_CHECK_THROW((void)r.add_reader(1'000'000, [] {}), vow::reactor_error);
    run();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // invalid_argument_test
