// vow::to_thread and vow::thread_pool: work runs on a worker, its result or
// exception comes back on the loop thread (asyncio.to_thread).
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(to_thread_test)

using namespace std::chrono_literals;

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

struct worker_error : std::runtime_error {
    using std::runtime_error::runtime_error;
    int code = 42;
};

// A one-shot gate a worker can wait on.
class gate {
public:
    void open() {
        {
            std::lock_guard lock(m_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(m_);
        cv_.wait(lock, [this] { return open_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool open_ = false;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(to_thread, fixture)

BOOST_AUTO_TEST_CASE(the_result_is_delivered_on_the_loop_thread) {
    vow::thread_pool pool(2);
    std::thread::id worker, continuation;
    auto loop = std::this_thread::get_id();
    auto f = vow::to_thread(r, pool, [&] {
                 worker = std::this_thread::get_id();
                 return 6 * 7;
             }).then([&](int v) {
        continuation = std::this_thread::get_id();
        return v;
    });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 42);
    BOOST_TEST((worker != loop));
    BOOST_TEST((continuation == loop));
}

BOOST_AUTO_TEST_CASE(an_exception_from_the_worker_rejects_with_the_same_type) {
    vow::thread_pool pool(1);
    int code = 0;
    std::thread::id where;
    auto f = vow::to_thread(r, pool, []() -> int { throw worker_error("from the worker"); })
                 .catch_([&](const worker_error& e) {
                     code = e.code;
                     where = std::this_thread::get_id();
                     return -1;
                 });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == -1);
    BOOST_TEST(code == 42);
    BOOST_TEST((where == std::this_thread::get_id()));
}

BOOST_AUTO_TEST_CASE(a_void_function_gives_a_future_void) {
    vow::thread_pool pool(1);
    std::atomic<bool> ran{false};
    auto f = vow::to_thread(r, pool, [&] { ran = true; });
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    vow::run_until_complete(r, std::move(f));
    BOOST_TEST(ran.load());

    auto g = vow::to_thread(r, pool, [] { throw std::runtime_error("void failed"); });
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(g)), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(a_move_only_result_is_moved_back) {
    vow::thread_pool pool(1);
    auto p = vow::run_until_complete(r, vow::to_thread(r, pool, [] { return std::make_unique<std::string>("moved"); }));
    BOOST_TEST(*p == "moved");
}

BOOST_AUTO_TEST_CASE(ten_thousand_jobs_on_a_four_thread_pool_all_complete) {
    vow::thread_pool pool(4);
    BOOST_TEST(pool.size() == 4u);
    constexpr int n = 10'000;
    std::vector<vow::future<std::int64_t>> fs;
    fs.reserve(n);
    std::int64_t continuations = 0;
    for (int i = 0; i < n; ++i)
        fs.push_back(vow::to_thread(r, pool, [i] { return std::int64_t(i) * i; }).then([&](std::int64_t v) {
            ++continuations;  // loop thread only: no race
            return v;
        }));
    auto values = vow::run_until_complete(r, vow::all(std::move(fs)));
    BOOST_REQUIRE(values.size() == std::size_t(n));
    bool right = true;
    for (int i = 0; i < n; ++i)
        right = right && values[std::size_t(i)] == std::int64_t(i) * i;
    BOOST_TEST(right);
    BOOST_TEST(continuations == n);
}

BOOST_AUTO_TEST_CASE(the_workers_really_run_in_parallel) {
    // Two jobs that each wait for the other: they finish only if the pool
    // runs them at the same time.
    vow::thread_pool pool(2);
    gate a, b;
    auto f = vow::all(vow::to_thread(r, pool,
                                     [&] {
                                         a.open();
                                         b.wait();
                                         return 1;
                                     }),
                      vow::to_thread(r, pool, [&] {
                          b.open();
                          a.wait();
                          return 2;
                      }));
    auto [x, y] = vow::run_until_complete(r, std::move(f));
    BOOST_TEST(x + y == 3);
}

BOOST_AUTO_TEST_CASE(destroying_a_pool_runs_the_jobs_already_queued) {
    constexpr int n = 100;
    std::atomic<int> ran{0};
    gate hold;
    std::thread opener;
    {
        vow::thread_pool pool(1);
        pool.submit([&] { hold.wait(); });  // the only worker is busy...
        for (int i = 0; i < n; ++i)
            pool.submit([&] { ran.fetch_add(1); });  // ...so these stay queued
        // Open the gate while the destructor is (most likely) already waiting.
        opener = std::thread([&] {
            std::this_thread::sleep_for(20ms);
            hold.open();
        });
    }  // ~thread_pool: runs every queued job, then joins
    BOOST_TEST(ran.load() == n);
    opener.join();
}

BOOST_AUTO_TEST_CASE(a_pool_of_zero_threads_gets_one) {
    vow::thread_pool pool(0);
    BOOST_TEST(pool.size() == 1u);
    BOOST_TEST(vow::run_until_complete(r, vow::to_thread(r, pool, [] { return 1; })) == 1);
}

BOOST_AUTO_TEST_CASE(the_default_pool_runs_work_too) {
    BOOST_TEST(vow::thread_pool::default_pool().size() >= 1u);
    BOOST_TEST(!vow::thread_pool::set_default_size(3));  // too late: it exists
    auto id = vow::run_until_complete(r, vow::to_thread(r, [] { return std::this_thread::get_id(); }));
    BOOST_TEST((id != std::this_thread::get_id()));
}

BOOST_AUTO_TEST_CASE(results_from_workers_are_not_lost_when_nobody_waits_yet) {
    // The worker settles before the loop runs: the value waits in the
    // reactor's cross-thread queue, and the continuation still runs once.
    vow::thread_pool pool(1);
    std::atomic<bool> done{false};
    int calls = 0;
    auto f = vow::to_thread(r, pool, [&] {
        done = true;
        return 5;
    });
    while (!done.load())
        std::this_thread::sleep_for(1ms);
    vow::run_until_complete(r, std::move(f).then([&](int v) {
        ++calls;
        BOOST_TEST(v == 5);
    }));
    run();
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // to_thread_test
