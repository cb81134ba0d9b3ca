// vow::event: a flag futures can wait for (CPython's test_locks EventTests).
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <exception>
#include <memory>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(event_test)

using boost::test_tools::per_element;

namespace {

using vow::test::message_of;

struct fixture : vow::test::reactor_fixture {
    std::vector<std::string> unhandled;
    vow::unhandled_rejection_handler previous = vow::set_unhandled_rejection_handler(
        [this](std::exception_ptr e, const std::source_location&) { unhandled.push_back(message_of(e)); });
    fixture() = default;
    fixture(const fixture&) = delete;
    fixture& operator=(const fixture&) = delete;
    ~fixture() { vow::set_unhandled_rejection_handler(std::move(previous)); }
};

}  // namespace

// (Not `event`: libevent's struct event is declared at global scope.)
BOOST_FIXTURE_TEST_SUITE(event_primitive, fixture)

BOOST_AUTO_TEST_CASE(set_wakes_every_waiter_oldest_first) {
    vow::event ev(r);
    std::vector<int> woken;
    std::vector<vow::future<void>> chains;
    for (int i = 0; i < 4; ++i)
        chains.push_back(ev.wait().then([&, i] { woken.push_back(i); }));
    BOOST_TEST(ev.waiting() == 4u);
    run();  // idle: nobody set it
    BOOST_TEST(woken.empty());
    ev.set();
    BOOST_TEST(ev.waiting() == 0u);
    BOOST_TEST(woken.empty());  // handlers run on a later turn, never inside set()
    run();
    BOOST_TEST(woken == (std::vector<int>{0, 1, 2, 3}), per_element());
}

BOOST_AUTO_TEST_CASE(wait_on_a_set_event_is_ready) {
    vow::event ev(r);
    ev.set();
    BOOST_TEST(ev.is_set());
    auto f = ev.wait();
    BOOST_TEST(f.available());
    BOOST_TEST(ev.waiting() == 0u);
    vow::run_until_complete(r, std::move(f));
}

BOOST_AUTO_TEST_CASE(clear_makes_later_waits_block_again) {
    vow::event ev(r);
    ev.set();
    ev.clear();
    BOOST_TEST(!ev.is_set());
    bool woken = false;
    auto chain = ev.wait().then([&] { woken = true; });
    run();
    BOOST_TEST(!woken);
    ev.set();
    run();
    BOOST_TEST(woken);
}

BOOST_AUTO_TEST_CASE(clear_after_set_does_not_take_back_the_wakeups) {
    vow::event ev(r);
    bool woken = false;
    auto chain = ev.wait().then([&] { woken = true; });
    ev.set();
    ev.clear();
    run();
    BOOST_TEST(woken);
}

BOOST_AUTO_TEST_CASE(setting_twice_is_harmless) {
    vow::event ev(r);
    int calls = 0;
    auto chain = ev.wait().then([&] { ++calls; });
    ev.set();
    ev.set();
    run();
    BOOST_TEST(calls == 1);
    BOOST_TEST(ev.is_set());
}

BOOST_AUTO_TEST_CASE(a_waiter_can_wait_again_from_its_handler) {
    vow::event ev(r);
    int rounds = 0;
    auto chain = ev.wait().then([&] {
        ++rounds;
        ev.clear();
        return ev.wait().then([&] { ++rounds; });
    });
    ev.set();
    run();
    BOOST_TEST(rounds == 1);
    ev.set();
    run();
    BOOST_TEST(rounds == 2);
}

BOOST_AUTO_TEST_CASE(destroying_it_with_waiters_rejects_them_with_broken_promise) {
    auto ev = std::make_unique<vow::event>(r);
    auto f = ev->wait();
    ev.reset();
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(f)), vow::broken_promise);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // event_test
