// Thread checks: a thread-bound function called off its reactor's thread
// aborts with a message that names the function and the rule; the any-thread
// functions and right-thread calls never do (docs/design.md, "Threading").
//
// The aborting calls run in forked children (tests/support/expect_abort.hpp).
// In each child the reactor belongs to a thread that has exited, and the
// wrong-thread call is made on the child's main thread.
#include <boost/test/unit_test.hpp>
#include <expect_abort.hpp>
#include <reactor_fixture.hpp>

#include <vow/config.hpp>
#include <vow/net/http/client.hpp>
#include <vow/net/dns/resolve.hpp>
#include <vow/net/tcp.hpp>
#include <vow/promise/event.hpp>
#include <vow/promise/loop.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/queue.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/semaphore.hpp>
#include <vow/promise/sleep.hpp>
#include <vow/promise/task_group.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/promise/with_timeout.hpp>
#include <vow/reactor/handle.hpp>
#include <vow/reactor/reactor.hpp>
#include <vow/reactor/stop_link.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(thread_check_test)

using namespace std::chrono_literals;
using vow::test::expect_abort;
using vow::test::reactor_of_another_thread;
using vow::test::thread_rule;

namespace {

// For the tests that need no fork: they are about the checks, so without
// them they would prove nothing.
auto thread_checks() {
    return boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
        boost::test_tools::assertion_result ok(VOW_THREAD_CHECKS != 0);
        if (!ok)
            ok.message() << "thread checks are compiled out of this build (NDEBUG without "
                            "-Dthread_checks=enabled)";
        return ok;
    });
}

struct counter_service : vow::reactor::service {
    explicit counter_service(vow::reactor&) {}
    int uses = 0;
};

}  // namespace

BOOST_AUTO_TEST_CASE(call_soon_off_the_reactors_thread_aborts_naming_the_function_the_threads_and_the_rule,
                     *vow::test::death_tests()) {
    std::string err = expect_abort([] { reactor_of_another_thread()->call_soon([] {}); },
                                   {"vow: reactor::call_soon called on thread 0x", "but the reactor belongs to thread 0x",
                                    thread_rule, "docs/design.md", "call_soon_threadsafe"});
    BOOST_TEST_MESSAGE("the child said: " << err);
}

BOOST_AUTO_TEST_CASE(timers_off_the_reactors_thread_abort, *vow::test::death_tests()) {
    expect_abort([] { (void)reactor_of_another_thread()->call_later(1s, [] {}); }, {"reactor::call_later", thread_rule});
    expect_abort([] { (void)reactor_of_another_thread()->call_at(vow::reactor::clock::now(), [] {}); },
                 {"reactor::call_at", thread_rule});
    expect_abort([] { (void)reactor_of_another_thread()->call_every(1s, [] {}); }, {"reactor::call_every", thread_rule});
    expect_abort(
        [] {
            std::stop_source stop;
            (void)reactor_of_another_thread()->call_every(1s, [] {}, stop.get_token());
        },
        {"reactor::call_every", thread_rule});
}

BOOST_AUTO_TEST_CASE(watchers_off_the_reactors_thread_abort, *vow::test::death_tests()) {
    expect_abort([] { (void)reactor_of_another_thread()->add_reader(0, [] {}); }, {"reactor::add_reader", thread_rule});
    expect_abort([] { (void)reactor_of_another_thread()->add_writer(1, [] {}); }, {"reactor::add_writer", thread_rule});
    expect_abort([] { (void)reactor_of_another_thread()->add_signal_handler(SIGUSR1, [] {}); },
                 {"reactor::add_signal_handler", thread_rule});
}

BOOST_AUTO_TEST_CASE(the_checks_come_before_argument_validation, *vow::test::death_tests()) {
    // A wrong-thread call with a bad argument is still the thread bug first.
    expect_abort([] { (void)reactor_of_another_thread()->call_later(-1s, [] {}); }, {"reactor::call_later", thread_rule});
    expect_abort([] { (void)reactor_of_another_thread()->add_reader(-1, [] {}); }, {"reactor::add_reader", thread_rule});
}

BOOST_AUTO_TEST_CASE(now_and_update_time_off_the_reactors_thread_abort, *vow::test::death_tests()) {
    expect_abort([] { (void)reactor_of_another_thread()->now(); }, {"reactor::now", thread_rule});
    expect_abort([] { reactor_of_another_thread()->update_time(); }, {"reactor::update_time", thread_rule});
}

BOOST_AUTO_TEST_CASE(setters_and_report_exception_off_the_reactors_thread_abort, *vow::test::death_tests()) {
    expect_abort([] { reactor_of_another_thread()->set_exception_handler({}); },
                 {"reactor::set_exception_handler", thread_rule});
    expect_abort([] { reactor_of_another_thread()->set_slow_callback_duration(1ms); },
                 {"reactor::set_slow_callback_duration", thread_rule});
    expect_abort([] { reactor_of_another_thread()->set_slow_callback_handler({}); },
                 {"reactor::set_slow_callback_handler", thread_rule});
    expect_abort(
        [] { reactor_of_another_thread()->report_exception(std::make_exception_ptr(std::runtime_error("x")), "test"); },
        {"reactor::report_exception", thread_rule});
}

BOOST_AUTO_TEST_CASE(use_service_off_the_reactors_thread_aborts, *vow::test::death_tests()) {
    expect_abort([] { reactor_of_another_thread()->use_service<counter_service>(); },
                 {"reactor::use_service", thread_rule});
}

BOOST_AUTO_TEST_CASE(destroying_a_reactor_off_its_thread_aborts, *vow::test::death_tests()) {
    expect_abort([] { delete reactor_of_another_thread(); }, {"reactor::~reactor", thread_rule});
}

BOOST_AUTO_TEST_CASE(a_reactor_run_on_another_thread_stays_that_threads_after_run_returns,
                     *vow::test::death_tests()) {
    expect_abort(
        [] {
            vow::reactor r;
            std::thread([&] { r.run(); }).join();
            r.call_soon([] {});
        },
        {"reactor::call_soon", thread_rule});
}

BOOST_AUTO_TEST_CASE(an_armed_handle_used_or_destroyed_off_the_reactors_thread_aborts, *vow::test::death_tests()) {
    // The handle is made on the reactor's thread, then used on another one.
    // Static, so that valgrind does not count the child's objects as lost.
    static vow::handle* h = nullptr;
    static vow::reactor* owner = nullptr;
    auto armed_handle = [] {
        h = new vow::handle;
        std::thread([] {
            owner = new vow::reactor;
            *h = owner->call_later(1h, [] {});
        }).join();
        return h;
    };
    expect_abort([&] { armed_handle()->cancel(); }, {"handle::cancel", thread_rule});
    expect_abort([&] { (void)armed_handle()->active(); }, {"handle::active", thread_rule});
    expect_abort([&] { delete armed_handle(); }, {"handle::~handle", thread_rule});
    expect_abort([&] { *armed_handle() = vow::handle(); }, {"handle::operator=", thread_rule});
}

BOOST_AUTO_TEST_CASE(stop_link_assign_off_the_reactors_thread_aborts, *vow::test::death_tests()) {
    expect_abort(
        [] {
            std::stop_source stop;
            vow::stop_link link;
            link.assign(*reactor_of_another_thread(), stop.get_token(), [] {});
        },
        {"stop_link::assign", thread_rule});
}

BOOST_AUTO_TEST_CASE(futures_queues_loops_and_groups_off_the_reactors_thread_abort, *vow::test::death_tests()) {
    // A promise and its future may be made anywhere; chaining on the future
    // is thread-bound.
    expect_abort(
        [] {
            auto r = reactor_of_another_thread();
            vow::promise<int> p(*r);
            (void)p.get_future().then([](int n) { return n; });
        },
        {"future::then", thread_rule});
    expect_abort(
        [] {
            auto r = reactor_of_another_thread();
            vow::promise<int> p(*r);
            (void)p.get_future().catch_([](std::exception_ptr) { return 0; });
        },
        {"future::catch_", thread_rule});
    expect_abort(
        [] {
            auto r = reactor_of_another_thread();
            vow::promise<int> p(*r);
            (void)p.get_future().finally([] {});
        },
        {"future::finally", thread_rule});
    expect_abort(
        [] {
            auto r = reactor_of_another_thread();
            vow::promise<int> p(*r);
            (void)p.get_future().share();
        },
        {"future::share", thread_rule});
    expect_abort(
        [] {
            auto r = reactor_of_another_thread();
            vow::queue<int> q(*r, 4);  // constructing is fine anywhere
            (void)q.pop();
        },
        {"queue::pop", thread_rule});
    expect_abort(
        [] {
            auto r = reactor_of_another_thread();
            vow::queue<int> q(*r, 4);
            q.close();
        },
        {"queue::close", thread_rule});
    expect_abort([] { (void)vow::repeat(*reactor_of_another_thread(), [] { return vow::stop_iteration::yes; }); },
                 {"repeat", thread_rule});
    expect_abort(
        [] {
            std::stop_source stop;
            (void)vow::keep_doing(*reactor_of_another_thread(), [] {}, stop.get_token());
        },
        {"keep_doing", thread_rule});
    expect_abort(
        [] {
            auto r = reactor_of_another_thread();
            vow::task_group tg(*r);  // constructing is fine anywhere
            (void)tg.spawn([&] { return vow::make_ready_future(*r, 1); });
        },
        {"task_group::spawn", thread_rule});
    expect_abort(
        [] {
            auto r = reactor_of_another_thread();
            vow::promise<int> p(*r);
            (void)vow::with_timeout(p.get_future(), 1s);
        },
        {"with_timeout", thread_rule});
}

BOOST_AUTO_TEST_CASE(promise_layer_objects_and_functions_off_the_reactors_thread_abort, *vow::test::death_tests()) {
    expect_abort(
        [] {
            vow::semaphore slots(*reactor_of_another_thread(), 1);  // constructing is fine anywhere
            (void)slots.acquire();
        },
        {"semaphore::acquire", thread_rule});
    expect_abort(
        [] {
            vow::event ready(*reactor_of_another_thread());
            ready.set();
        },
        {"event::set", thread_rule});
    expect_abort([] { (void)vow::sleep(*reactor_of_another_thread(), 1ms); }, {"sleep", thread_rule});
    expect_abort([] { (void)vow::make_ready_future(*reactor_of_another_thread(), 1); },
                 {"make_ready_future", thread_rule});
    expect_abort([] { (void)vow::to_thread(*reactor_of_another_thread(), [] { return 1; }); },
                 {"to_thread", thread_rule});
    expect_abort(
        [] {
            vow::reactor* r = nullptr;
            std::optional<vow::future<int>> f;
            std::thread([&] {
                r = new vow::reactor;
                f.emplace(vow::make_ready_future(*r, 1));
            }).join();
            (void)vow::run_until_complete(*r, std::move(*f));
        },
        {"run_until_complete", thread_rule});
}

BOOST_AUTO_TEST_CASE(net_objects_and_functions_off_the_reactors_thread_abort, *vow::test::death_tests()) {
    expect_abort([] { vow::net::tcp_server server(*reactor_of_another_thread(), "127.0.0.1", 0); },
                 {"net::tcp_server::tcp_server", thread_rule});
    expect_abort(
        [] {
            int fds[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
                throw std::runtime_error("socketpair");
            vow::net::tcp_stream s;
            std::thread([&] { s = vow::net::tcp_stream::adopt(*new vow::reactor, fds[0]); }).join();
            (void)s.write("hello");
        },
        {"net::tcp_stream::write", thread_rule});
    expect_abort([] { (void)vow::net::connect(*reactor_of_another_thread(), "127.0.0.1", 9); },
                 {"net::connect", thread_rule});
    expect_abort([] { (void)vow::net::resolve(*reactor_of_another_thread(), "localhost"); },
                 {"net::resolve", thread_rule});
    expect_abort([] { vow::net::configure_resolver(*reactor_of_another_thread(), {}); },
                 {"net::configure_resolver", thread_rule});
    expect_abort([] { vow::net::http_client client(*reactor_of_another_thread()); },
                 {"net::http_client::http_client", thread_rule});
}

// ------------------------------------------------- what must not abort

BOOST_FIXTURE_TEST_CASE(right_thread_calls_and_any_thread_functions_from_other_threads_do_not_abort,
                        vow::test::reactor_fixture, *thread_checks()) {
    // Every checked reactor function, on the reactor's thread.
    int pipe_fds[2];
    BOOST_REQUIRE(::pipe(pipe_fds) == 0);
    int ran = 0;
    r.set_slow_callback_duration(0ms);
    r.set_slow_callback_handler({});
    r.update_time();
    (void)r.now();
    r.use_service<counter_service>().uses++;
    r.call_soon([&] { ++ran; });
    (void)r.call_later(1ms, [&] { ++ran; });
    (void)r.call_at(r.now(), [&] { ++ran; });
    vow::handle tick = r.call_every(1ms, [&] { ++ran; });
    BOOST_TEST(tick.active());
    tick.cancel();
    std::stop_source stop;
    vow::handle stoppable = r.call_every(1ms, [&] { ++ran; }, stop.get_token());
    vow::handle reader = r.add_reader(pipe_fds[0], [] {});
    vow::handle writer = r.add_writer(pipe_fds[1], [&] {
        ++ran;
        writer.cancel();
    });
    reader.cancel();

    // The any-thread functions, from other threads, while the loop runs:
    // posts, work guards (create, copy, destroy), settling a promise,
    // in_reactor_thread, a stop request for the call_every above, and stop().
    vow::promise<int> p(r);
    auto f = p.get_future();
    bool helper_thought_it_was_the_reactors = true;
    std::thread helper([&, guard = vow::reactor::work_guard(r), p = std::move(p)]() mutable {
        helper_thought_it_was_the_reactors = r.in_reactor_thread();
        vow::reactor::work_guard copy = guard;
        r.call_soon_threadsafe([&] { ++ran; });
        p.resolve(42);
        stop.request_stop();
        copy.reset();
        guard.reset();
    });
    auto done = std::move(f).then([&](int v) {
        BOOST_TEST(v == 42);
        ++ran;
    });
    run();
    helper.join();
    BOOST_TEST(!helper_thought_it_was_the_reactors);
    BOOST_TEST(!stoppable.active());
    BOOST_TEST(ran >= 6);  // every one-shot above, the writer, the post and the future

    std::thread([&] { r.stop(); }).join();  // kept for the next run
    run();
    BOOST_TEST(r.stopped());
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

BOOST_FIXTURE_TEST_CASE(callbacks_of_a_reactor_running_on_another_thread_may_use_it, vow::test::reactor_fixture,
                        *thread_checks()) {
    // run() moves the reactor to its thread: callbacks there are on the
    // reactor's thread. Running it again on this thread hands it back.
    int ran = 0;
    r.call_soon([&] {
        r.call_soon([&] { ++ran; });
        (void)r.call_later(1ms, [&] { ++ran; });
    });
    std::thread([&] { r.run(); }).join();
    BOOST_TEST(ran == 2);
    BOOST_TEST(!r.in_reactor_thread());
    r.run();  // nothing to do: returns at once, and the reactor is this thread's again
    BOOST_TEST(r.in_reactor_thread());
    r.call_soon([&] { ++ran; });
    run();
    BOOST_TEST(ran == 3);
}

BOOST_AUTO_TEST_CASE(an_inactive_handle_is_left_alone_on_any_thread, *thread_checks()) {
    // Fired, cancelled, or outliving its reactor: the handle no longer knows
    // its reactor, so using or dropping it elsewhere touches nothing shared.
    vow::handle fired, cancelled, orphan;
    {
        vow::reactor r;
        fired = r.call_later(0ms, [] {});
        cancelled = r.call_later(1h, [] {});
        cancelled.cancel();
        orphan = r.call_every(1h, [] {});
        r.run_once(false);
        while (fired.active())
            r.run_once();
    }
    bool any_active = true;
    std::thread([&] {
        any_active = fired.active() || cancelled.active() || orphan.active();
        cancelled.cancel();
        orphan.cancel();
        fired = vow::handle();
        cancelled = vow::handle();
        orphan = vow::handle();
    }).join();
    BOOST_TEST(!any_active);
}

BOOST_AUTO_TEST_SUITE_END()
