// tests/pool/submit_test.cpp - vow::submit_to: calls between the reactors of a
// vow::reactor_pool, their values, errors, order, cancellation, and misuse.
//
// Each test makes a pool, starts its work on reactor 0 (this thread, in
// pool.run()), stops the pool from that work, and checks what it recorded
// once run() has returned: every continuation has run by then.
#include <promise_fixture.hpp>
#include <vow/vow.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using vow::test::message_of;
using vow::test::tagged_error;

BOOST_AUTO_TEST_SUITE(submit_test)

BOOST_AUTO_TEST_CASE(a_call_runs_on_its_target_and_its_result_comes_back_to_the_caller) {
    vow::reactor_pool pool({.threads = 3});
    const auto main_thread = std::this_thread::get_id();
    std::vector<std::size_t> ran_on(3, 99), came_back_on(3, 99);
    std::vector<std::thread::id> target_threads(3);
    std::vector<char> back_on_main(3, false);
    pool.at(0).call_soon([&] {
        std::vector<vow::future<void>> calls;
        for (std::size_t i = 0; i < 3; ++i)
            calls.push_back(vow::submit_to(i, [&target_threads, i] {
                                target_threads[i] = std::this_thread::get_id();
                                return vow::this_shard();
                            }).then([&, i](std::size_t shard) {
                                ran_on[i] = shard;
                                came_back_on[i] = vow::this_shard();
                                back_on_main[i] = std::this_thread::get_id() == main_thread;
                            }));
        vow::all(std::move(calls)).finally([&] { pool.stop(0s); }).discard();
    });
    pool.run();
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST(ran_on[i] == i);
        BOOST_TEST(came_back_on[i] == 0u);
        BOOST_TEST(back_on_main[i]);
    }
    BOOST_TEST((target_threads[0] == main_thread));
    BOOST_TEST((target_threads[1] != main_thread));
    BOOST_TEST((target_threads[2] != target_threads[1]));
}

BOOST_AUTO_TEST_CASE(a_future_returned_by_the_function_is_awaited_on_the_target) {
    vow::reactor_pool pool({.threads = 2});
    int value = 0;
    pool.at(0).call_soon([&] {
        vow::submit_to(1, [&pool] {
            return vow::sleep(pool.at(1), 5ms).then([] { return vow::this_shard() * 10 + 7; });
        })
            .then([&](std::size_t v) { value = static_cast<int>(v); })
            .finally([&] { pool.stop(0s); })
            .discard();
    });
    pool.run();
    BOOST_TEST(value == 17);
}

BOOST_AUTO_TEST_CASE(errors_cross_reactors_as_the_very_exception_thrown) {
    vow::reactor_pool pool({.threads = 2});
    int thrown_tag = 0, rejected_tag = 0;
    std::string usage;
    pool.at(0).call_soon([&] {
        auto thrown = vow::submit_to(1, []() -> int { throw tagged_error(5); })
                          .then([](int) {})
                          .catch_([&](const tagged_error& e) { thrown_tag = e.tag; });
        auto rejected = vow::submit_to(1, [&pool] {
                            return vow::make_exception_future<void>(pool.at(1), tagged_error(6));
                        }).catch_([&](const tagged_error& e) { rejected_tag = e.tag; });
        // A usage error on the target (a sharded-free this_shard is fine;
        // submit_to to a shard that does not exist is not) comes back too.
        auto misuse = vow::submit_to(1, [] { return vow::submit_to(7, [] {}); })
                          .catch_([&](const vow::invalid_argument& e) { usage = e.what(); });
        vow::all(std::move(thrown), std::move(rejected), std::move(misuse)).finally([&] { pool.stop(0s); }).discard();
    });
    pool.run();
    BOOST_TEST(thrown_tag == 5);
    BOOST_TEST(rejected_tag == 6);
    BOOST_TEST(usage.find("no reactor 7") != std::string::npos, usage);
}

BOOST_AUTO_TEST_CASE(calls_from_one_reactor_to_another_run_in_the_order_made) {
    vow::reactor_pool pool({.threads = 2});
    constexpr int n = 5000;
    std::vector<int> seen_on_target;   // touched on reactor 1 only, read after run()
    std::vector<int> results;
    pool.at(0).call_soon([&] {
        std::vector<vow::future<int>> calls;
        for (int i = 0; i < n; ++i)
            calls.push_back(vow::submit_to(1, [&seen_on_target, i] {
                seen_on_target.push_back(i);
                return i * 2;
            }));
        vow::all(std::move(calls))
            .then([&](std::vector<int> v) { results = std::move(v); })
            .finally([&] { pool.stop(0s); })
            .discard();
    });
    pool.run();
    std::vector<int> expected(n);
    std::iota(expected.begin(), expected.end(), 0);
    BOOST_TEST(seen_on_target == expected);
    BOOST_REQUIRE(results.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        BOOST_TEST_REQUIRE(results[static_cast<std::size_t>(i)] == 2 * i);
}

BOOST_AUTO_TEST_CASE(reactors_call_each_other_in_both_directions_at_once) {
    vow::reactor_pool pool({.threads = 3});
    constexpr int per_pair = 2000;
    std::atomic<int> done{0};
    std::vector<std::int64_t> sums(3, 0);   // sums[i]: written on reactor i only
    auto start = [&](std::size_t from) {
        std::vector<vow::future<int>> calls;
        for (std::size_t to = 0; to < 3; ++to)
            for (int k = 0; k < per_pair; ++k)
                calls.push_back(vow::submit_to(to, [from, to, k] {
                    // A call from `from` runs on `to`, which may call back.
                    if (vow::this_shard() != to)
                        throw std::logic_error("ran on the wrong reactor");
                    return static_cast<int>(from) + k;
                }));
        return vow::all(std::move(calls)).then([&sums, from](std::vector<int> v) {
            for (int x : v)
                sums[from] += x;
        });
    };
    pool.at(0).call_soon([&] {
        std::vector<vow::future<void>> everyone;
        for (std::size_t from = 0; from < 3; ++from)
            everyone.push_back(vow::submit_to(from, [&start, from] { return start(from); }));
        vow::all(std::move(everyone)).then([&] { done = 1; }).finally([&] { pool.stop(0s); }).discard();
    });
    pool.run();
    BOOST_TEST(done.load() == 1);
    const std::int64_t ks = std::int64_t{per_pair} * (per_pair - 1) / 2;
    for (std::size_t from = 0; from < 3; ++from)
        BOOST_TEST(sums[from] == 3 * (static_cast<std::int64_t>(from) * per_pair + ks));
}

BOOST_AUTO_TEST_CASE(a_stop_token_cancels_the_call_at_once_and_the_work_on_the_target) {
    vow::reactor_pool pool({.threads = 2});
    std::string caller_saw, target_saw;
    bool prestopped_ran = false;
    std::string prestopped_error;
    pool.at(0).call_soon([&] {
        auto source = std::make_shared<std::stop_source>();
        // The target's sleep ends when the caller's token is stopped; it
        // then tells reactor 0, through a promise (any-thread).
        vow::promise<void> target_done(pool.at(0));
        auto target_done_f = target_done.get_future();
        auto call = vow::submit_to(
                        1,
                        [&pool, &target_saw, p = std::move(target_done)](std::stop_token t) mutable {
                            return vow::sleep(pool.at(1), 1h, t)
                                .catch_([&target_saw](const vow::cancelled_error& e) { target_saw = e.what(); })
                                .finally([p = std::move(p)]() mutable { p.resolve(); });
                        },
                        source->get_token())
                        .catch_([&](const vow::cancelled_error& e) { caller_saw = e.what(); });
        // A token stopped before the call: nothing runs.
        std::stop_source stopped;
        stopped.request_stop();
        auto never = vow::submit_to(1, [&] { prestopped_ran = true; }, stopped.get_token())
                         .catch_([&](const vow::cancelled_error& e) { prestopped_error = e.what(); });
        // Stop once the target has certainly started sleeping.
        (void)pool.at(0).call_later(20ms, [source] { source->request_stop(); });
        vow::all(std::move(call), std::move(target_done_f), std::move(never))
            .finally([&] { pool.stop(0s); })
            .discard();
    });
    pool.run();
    BOOST_TEST(caller_saw.find("cancelled by its stop token") != std::string::npos, caller_saw);
    BOOST_TEST(!target_saw.empty());
    BOOST_TEST(!prestopped_ran);
    BOOST_TEST(prestopped_error.find("reactor 1") != std::string::npos, prestopped_error);
}

BOOST_AUTO_TEST_CASE(the_function_is_destroyed_on_the_target_and_a_call_to_oneself_runs_on_a_later_turn) {
    // What the function captured belongs to the target's side: it goes
    // there, and is destroyed there, whether fn returned a value or a
    // future, or was cancelled before it ran.
    struct witness {
        std::atomic<int>* on_target;
        std::thread::id target;
        witness(std::atomic<int>* c, std::thread::id t) : on_target(c), target(t) {}
        witness(witness&& o) noexcept : on_target(std::exchange(o.on_target, nullptr)), target(o.target) {}
        ~witness() {
            if (on_target && std::this_thread::get_id() == target)
                ++*on_target;
        }
    };
    vow::reactor_pool pool({.threads = 2});
    std::atomic<int> on_target{0};
    std::thread::id t1;
    bool ran_inline = true, returned = false;
    pool.at(0).call_soon([&] {
        vow::submit_to(1, [] { return std::this_thread::get_id(); })
            .then([&](std::thread::id id) {
                t1 = id;
                auto a = vow::submit_to(1, [w = witness(&on_target, t1)] { return 1; });
                auto b = vow::submit_to(1, [&pool, w = witness(&on_target, t1)] {
                    return vow::sleep(pool.at(1), 1ms).then([] { return 2; });
                });
                auto self = vow::submit_to(0, [&] { ran_inline = !returned; });
                returned = true;
                return vow::all(std::move(a), std::move(b), std::move(self));
            })
            .finally([&] { pool.stop(0s); })
            .discard();
    });
    pool.run();
    BOOST_TEST(on_target.load() == 2);
    BOOST_TEST(!ran_inline);
}

BOOST_AUTO_TEST_CASE(misuse_is_a_usage_error_that_says_what_to_do) {
    // From a plain thread: no pool.
    std::string plain_thread;
    std::thread t([&] {
        try {
            (void)vow::submit_to(0, [] {});
        } catch (const vow::usage_error& e) {
            plain_thread = e.what();
        }
    });
    t.join();
    BOOST_TEST(plain_thread.find("not a reactor of a vow::reactor_pool") != std::string::npos, plain_thread);
    BOOST_TEST(plain_thread.find("call_soon_threadsafe") != std::string::npos, plain_thread);
    BOOST_CHECK_THROW((void)vow::this_shard(), vow::usage_error);

    vow::reactor_pool pool({.threads = 2});
    BOOST_TEST(pool.size() == 2u);
    BOOST_CHECK_THROW((void)pool.at(2), vow::invalid_argument);
    BOOST_CHECK_THROW(vow::reactor_pool({.threads = 1}), vow::usage_error);   // this thread has one
    BOOST_CHECK_THROW(vow::reactor_pool({.threads = 1, .stop_signals = {0}}), vow::invalid_argument);
    BOOST_TEST(vow::reactor_pool::current() == &pool);
    BOOST_TEST(vow::this_shard() == 0u);
    std::string from_other;
    std::thread other([&] {
        try {
            pool.run();
        } catch (const vow::usage_error& e) {
            from_other = e.what();
        }
    });
    other.join();
    BOOST_TEST(from_other.find("thread that made the pool") != std::string::npos, from_other);
    std::string hook_from_other;
    std::thread hooker([&] {
        try {
            pool.on_stop([](vow::reactor::duration) { return vow::future<void>(); });
        } catch (const vow::usage_error& e) {
            hook_from_other = e.what();
        }
    });
    hooker.join();
    BOOST_TEST(hook_from_other.find("reactor_pool::on_stop") != std::string::npos, hook_from_other);
}

BOOST_AUTO_TEST_SUITE_END()
