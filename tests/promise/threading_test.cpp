// Promises across threads: settled or destroyed on any thread, while every
// continuation still runs on the reactor's thread. Run under ThreadSanitizer
// too (a build with -Db_sanitize=thread).
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/promise.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(threading_test)

using namespace std::chrono_literals;
using vow::test::tagged_error;

namespace {

// Starts `n` threads that wait on a shared flag, so their bodies begin as
// close together as the scheduler allows, then joins them.
template <class F>
void race(int n, F body) {
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
        threads.emplace_back([&go, &body, i] {
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            body(i);
        });
    go.store(true, std::memory_order_release);
    for (auto& t : threads)
        t.join();
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(threading, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(a_promise_resolved_on_another_thread_runs_its_continuation_on_the_reactor_thread) {
    vow::promise<std::string> p(r);
    std::thread::id ran_on, resolved_on;
    auto f = p.get_future().then([&](std::string s) {
        ran_on = std::this_thread::get_id();
        return s + "!";
    });
    std::thread worker([&, p = std::move(p)]() mutable {
        resolved_on = std::this_thread::get_id();
        p.resolve("from a worker");
    });
    BOOST_TEST(wait(std::move(f)) == "from a worker!");
    worker.join();
    BOOST_TEST((ran_on == reactor_thread));
    BOOST_TEST((resolved_on != reactor_thread));
}

BOOST_AUTO_TEST_CASE(a_promise_rejected_on_another_thread_delivers_that_exception) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    auto error = std::make_exception_ptr(tagged_error(8));
    std::thread worker([&, p = std::move(p)]() mutable { p.reject(error); });
    BOOST_TEST((wait_error(std::move(f)) == error));
    worker.join();
}

BOOST_AUTO_TEST_CASE(a_move_only_value_crosses_threads) {
    vow::promise<std::unique_ptr<std::vector<int>>> p(r);
    auto f = p.get_future();
    std::thread worker([p = std::move(p)]() mutable { p.resolve(std::make_unique<std::vector<int>>(1000, 7)); });
    auto v = wait(std::move(f));
    worker.join();
    BOOST_TEST_REQUIRE(v != nullptr);
    BOOST_TEST(v->size() == 1000u);
}

BOOST_AUTO_TEST_CASE(a_promise_settled_on_another_thread_before_the_loop_runs_is_seen) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    std::thread([&] { p.resolve(3); }).join();
    BOOST_TEST(!f.available());  // published on the reactor thread, on a later turn
    BOOST_TEST(wait(std::move(f)) == 3);
}

BOOST_AUTO_TEST_CASE(two_threads_racing_to_settle_exactly_one_wins) {
    // Many rounds, each with a fresh promise and both threads released at
    // once; half the rounds race resolve against reject.
    constexpr int rounds = 300;
    for (int round = 0; round < rounds; ++round) {
        vow::promise<int> p(r);
        auto f = p.get_future();
        std::atomic<int> winners{0}, losers{0};
        std::atomic<int> winner_id{-1};
        race(2, [&](int i) {
            try {
                if (round % 2 == 0 || i == 0)
                    p.resolve(i);
                else
                    p.reject(tagged_error(i));
                winners.fetch_add(1);
                winner_id.store(i);
            } catch (const vow::promise_already_satisfied&) {
                losers.fetch_add(1);
            }
        });
        BOOST_TEST_REQUIRE(winners.load() == 1);
        BOOST_TEST_REQUIRE(losers.load() == 1);
        try {
            BOOST_TEST_REQUIRE(wait(std::move(f)) == winner_id.load());
        } catch (const tagged_error& e) {
            BOOST_TEST_REQUIRE(e.tag == winner_id.load());
        }
    }
}

BOOST_AUTO_TEST_CASE(try_resolve_from_many_threads_succeeds_exactly_once) {
    for (int round = 0; round < 100; ++round) {
        vow::promise<int> p(r);
        auto f = p.get_future();
        std::atomic<int> wins{0};
        std::atomic<int> winner{-1};
        race(4, [&](int i) {
            if (p.try_resolve(i)) {
                wins.fetch_add(1);
                winner.store(i);
            }
        });
        BOOST_TEST_REQUIRE(wins.load() == 1);
        BOOST_TEST_REQUIRE(wait(std::move(f)) == winner.load());
    }
}

BOOST_AUTO_TEST_CASE(the_reactor_thread_racing_a_worker_also_has_one_winner) {
    for (int round = 0; round < 200; ++round) {
        vow::promise<int> p(r);
        auto f = p.get_future();
        std::atomic<bool> go{false};
        bool worker_won = false;
        std::thread worker([&] {
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            worker_won = p.try_resolve(1);
        });
        go.store(true, std::memory_order_release);
        bool reactor_won = p.try_resolve(2);
        worker.join();
        BOOST_TEST_REQUIRE(worker_won != reactor_won);
        BOOST_TEST_REQUIRE(wait(std::move(f)) == (reactor_won ? 2 : 1));
    }
}

BOOST_AUTO_TEST_CASE(a_promise_destroyed_unsettled_on_another_thread_rejects_with_broken_promise) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    std::thread([p = std::move(p)]() mutable { auto gone = std::move(p); }).join();
    BOOST_CHECK_THROW(wait(std::move(f)), vow::broken_promise);
}

BOOST_AUTO_TEST_CASE(a_promise_settled_and_destroyed_on_another_thread_while_the_loop_runs) {
    // The promise's last touch happens on the worker while the reactor
    // thread may already be running the continuation and freeing the state.
    constexpr int n = 200;
    std::vector<vow::future<int>> futures;
    std::vector<std::thread> workers;
    for (int i = 0; i < n; ++i) {
        vow::promise<int> p(r);
        futures.push_back(p.get_future().then([](int v) { return v + 1; }));
        workers.emplace_back([i, p = std::move(p)]() mutable {
            if (i % 3 == 0)
                p.reject(tagged_error(i));
            else if (i % 3 == 1)
                p.resolve(i);
            // else: destroyed unsettled, on this thread
        });
    }
    int values = 0, errors = 0, broken = 0;
    for (int i = 0; i < n; ++i) {
        try {
            BOOST_TEST(wait(std::move(futures[std::size_t(i)])) == i + 1);
            ++values;
        } catch (const tagged_error& e) {
            BOOST_TEST(e.tag == i);
            ++errors;
        } catch (const vow::broken_promise&) {
            ++broken;
        }
    }
    for (auto& w : workers)
        w.join();
    BOOST_TEST(values == 67);
    BOOST_TEST(errors == 67);
    BOOST_TEST(broken == 66);
}

BOOST_AUTO_TEST_CASE(many_threads_settling_many_promises_run_each_continuation_once_on_the_reactor_thread) {
    constexpr int threads = 8, per_thread = 500;
    std::vector<vow::promise<int>> promises;
    std::vector<vow::future<void>> done;
    std::vector<int> calls(std::size_t(threads * per_thread), 0);
    bool all_on_reactor_thread = true;
    for (int i = 0; i < threads * per_thread; ++i) {
        promises.emplace_back(r);
        done.push_back(promises.back().get_future().then([&, i](int v) {
            ++calls[std::size_t(i)];
            all_on_reactor_thread = all_on_reactor_thread && std::this_thread::get_id() == reactor_thread;
            BOOST_TEST(v == i);  // not _REQUIRE: it would throw into the reactor
        }));
    }
    // The workers settle while the reactor runs the continuations.
    std::thread workers([&] {
        race(threads, [&](int t) {
            for (int k = 0; k < per_thread; ++k) {
                int i = t * per_thread + k;
                promises[std::size_t(i)].resolve(i);
            }
        });
    });
    wait_all(done);
    workers.join();
    BOOST_TEST(all_on_reactor_thread);
    for (int c : calls)
        BOOST_TEST_REQUIRE(c == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // threading_test
