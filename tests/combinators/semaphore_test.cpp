// vow::semaphore: FIFO-fair permits (CPython's test_locks SemaphoreTests).
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(semaphore_test)

using namespace std::chrono_literals;
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

BOOST_FIXTURE_TEST_SUITE(semaphore, fixture)

BOOST_AUTO_TEST_CASE(acquire_is_ready_while_permits_are_left) {
    vow::semaphore sem(r, 2);
    auto a = sem.acquire();
    auto b = sem.acquire();
    BOOST_TEST(a.available());
    BOOST_TEST(b.available());
    BOOST_TEST(sem.available() == 0u);
    auto c = sem.acquire();
    BOOST_TEST(!c.available());
    BOOST_TEST(sem.waiting() == 1u);
    sem.release();
    vow::run_until_complete(r, std::move(c));
    BOOST_TEST(sem.available() == 0u);
    BOOST_TEST(sem.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(waiters_are_served_in_acquire_order) {
    vow::semaphore sem(r, 0);
    std::vector<int> order;
    std::vector<vow::future<void>> chains;
    for (int i = 0; i < 5; ++i)
        chains.push_back(sem.acquire().then([&, i] { order.push_back(i); }));
    for (int i = 0; i < 5; ++i)
        r.call_soon([&] { sem.release(); });
    run();
    BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3, 4}), per_element());
}

BOOST_AUTO_TEST_CASE(a_released_permit_goes_to_the_oldest_waiter_not_to_a_newcomer) {
    vow::semaphore sem(r, 0);
    std::vector<std::string> order;
    auto old = sem.acquire().then([&] { order.push_back("old"); });
    sem.release();
    BOOST_TEST(!sem.try_acquire());  // the permit is promised to `old`
    auto newcomer = sem.acquire().then([&] { order.push_back("newcomer"); });
    run();
    BOOST_TEST(order == (std::vector<std::string>{"old"}), per_element());
    sem.release();
    run();
    BOOST_TEST(order == (std::vector<std::string>{"old", "newcomer"}), per_element());
}

BOOST_AUTO_TEST_CASE(release_with_no_waiters_increments_available) {
    vow::semaphore sem(r, 1);
    BOOST_TEST(sem.available() == 1u);
    sem.release();
    BOOST_TEST(sem.available() == 2u);
    sem.release(3);
    BOOST_TEST(sem.available() == 5u);
}

BOOST_AUTO_TEST_CASE(release_of_n_serves_the_waiters_first_and_keeps_the_rest) {
    vow::semaphore sem(r, 0);
    int served = 0;
    auto a = sem.acquire().then([&] { ++served; });
    auto b = sem.acquire().then([&] { ++served; });
    sem.release(5);
    BOOST_TEST(sem.available() == 3u);
    BOOST_TEST(sem.waiting() == 0u);
    run();
    BOOST_TEST(served == 2);
}

BOOST_AUTO_TEST_CASE(try_acquire_takes_a_free_permit_and_fails_when_none_is_left) {
    vow::semaphore sem(r, 1);
    BOOST_TEST(sem.try_acquire());
    BOOST_TEST(sem.available() == 0u);
    BOOST_TEST(!sem.try_acquire());
    sem.release();
    BOOST_TEST(sem.try_acquire());
}

BOOST_AUTO_TEST_CASE(limits_how_many_operations_run_at_once) {
    vow::semaphore sem(r, 3);
    int running = 0, peak = 0;
    std::vector<vow::future<void>> tasks;
    for (int i = 0; i < 12; ++i)
        tasks.push_back(sem.acquire()
                            .then([&, i] {
                                peak = std::max(peak, ++running);
                                return vow::sleep(r, std::chrono::microseconds(300 * (i % 4)));
                            })
                            .finally([&] {
                                --running;
                                sem.release();
                            }));
    vow::run_until_complete(r, vow::all(std::move(tasks)));
    BOOST_TEST(peak == 3);
    BOOST_TEST(sem.available() == 3u);
}

BOOST_AUTO_TEST_CASE(destroying_it_with_waiters_rejects_them_with_broken_promise) {
    auto sem = std::make_unique<vow::semaphore>(r, 0);
    auto a = sem->acquire();
    auto b = sem->acquire();
    sem.reset();
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(a)), vow::broken_promise);
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(b)), vow::broken_promise);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // semaphore_test
