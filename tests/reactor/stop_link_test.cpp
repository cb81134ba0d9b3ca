// vow::stop_link: a stop request, from any thread, runs a function on the
// reactor's thread on a later turn, unless the link was reset first.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <vow/reactor/reactor.hpp>
#include <vow/reactor/stop_link.hpp>

#include <memory>
#include <stop_token>
#include <thread>

BOOST_AUTO_TEST_SUITE(stop_link_test)

BOOST_FIXTURE_TEST_SUITE(stop_link, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(a_stop_on_another_thread_runs_fn_on_the_reactors_thread) {
    std::stop_source stop;
    std::thread::id ran_on;
    int runs = 0;
    vow::stop_link link(r, stop.get_token(), [&] {
        ran_on = std::this_thread::get_id();
        ++runs;
    });
    std::thread([&] { stop.request_stop(); }).join();
    BOOST_TEST(runs == 0);  // not on the requesting thread
    run();
    BOOST_TEST(runs == 1);
    BOOST_TEST((ran_on == std::this_thread::get_id()));
}

BOOST_AUTO_TEST_CASE(a_stop_requested_before_assign_runs_fn_on_a_later_turn_never_inside_assign) {
    std::stop_source stop;
    stop.request_stop();
    int runs = 0;
    vow::stop_link link;
    link.assign(r, stop.get_token(), [&] { ++runs; });
    BOOST_TEST(runs == 0);
    run();
    BOOST_TEST(runs == 1);
}

BOOST_AUTO_TEST_CASE(reset_before_the_stop_means_fn_never_runs_and_is_destroyed_at_once) {
    std::stop_source stop;
    auto alive = std::make_shared<int>(0);
    std::weak_ptr<int> watch = alive;
    int runs = 0;
    vow::stop_link link(r, stop.get_token(), [&runs, a = std::move(alive)] { ++runs; });
    link.reset();
    BOOST_TEST(watch.expired());
    stop.request_stop();
    run();
    BOOST_TEST(runs == 0);
}

BOOST_AUTO_TEST_CASE(reset_after_the_stop_was_posted_but_before_it_ran_means_fn_never_runs) {
    std::stop_source stop;
    int runs = 0;
    vow::stop_link link(r, stop.get_token(), [&] { ++runs; });
    stop.request_stop();  // posted to the loop
    link.reset();
    run();
    BOOST_TEST(runs == 0);
}

BOOST_AUTO_TEST_CASE(a_token_that_cannot_stop_registers_nothing_and_fn_is_destroyed_at_once) {
    auto alive = std::make_shared<int>(0);
    std::weak_ptr<int> watch = alive;
    vow::stop_link link(r, std::stop_token{}, [a = std::move(alive)] {});
    BOOST_TEST(watch.expired());
}

BOOST_AUTO_TEST_CASE(fn_may_destroy_its_own_link) {
    std::stop_source stop;
    int runs = 0;
    auto link = std::make_unique<vow::stop_link>();
    link->assign(r, stop.get_token(), [&] {
        ++runs;
        link.reset();  // the link goes while its fn runs
    });
    stop.request_stop();
    run();
    BOOST_TEST(runs == 1);
    BOOST_TEST(!link);
}

BOOST_AUTO_TEST_CASE(assign_replaces_the_previous_link) {
    std::stop_source first, second;
    int a = 0, b = 0;
    vow::stop_link link(r, first.get_token(), [&] { ++a; });
    link.assign(r, second.get_token(), [&] { ++b; });
    first.request_stop();
    second.request_stop();
    run();
    BOOST_TEST(a == 0);
    BOOST_TEST(b == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()
