// tests/pg/pool_test.cpp - vow::pg::pool: connections made on demand up to
// max_size, waiters served first come first served and within their
// timeout, connections reset when they come back, lost ones replaced, and
// a graceful close.
#include "pg_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <vow/promise/all.hpp>
#include <vow/promise/sleep.hpp>

#include <vow/promise/loop.hpp>
#include <vow/promise/task_group.hpp>
#include <vow/promise/thread_pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace pg = vow::pg;

BOOST_AUTO_TEST_SUITE(pool_test)

BOOST_FIXTURE_TEST_CASE(connections_are_made_on_demand_up_to_max_size, vow::test::pg_fixture) {
    pg::pool db(r, dsn, {.max_size = 3});
    BOOST_TEST(db.size() == 0u);
    std::vector<vow::future<pg::result>> fs;
    for (int i = 0; i < 30; ++i)
        fs.push_back(db.query("SELECT pg_backend_pid(), $1::int", i));
    auto results = wait(vow::all(std::move(fs)));
    std::set<int> pids;
    int ok = 0;
    for (int i = 0; i < 30; ++i) {
        pids.insert(results[static_cast<std::size_t>(i)][0].get<int>(0));
        ok += results[static_cast<std::size_t>(i)][0].get<int>(1) == i;
    }
    BOOST_TEST(ok == 30);
    BOOST_TEST(pids.size() <= 3u);
    BOOST_TEST(db.size() <= 3u);
    // A connect begun for a waiter that a returned connection served first
    // may still be under way: once it lands, every connection is idle.
    wait(vow::sleep(r, 500ms));
    BOOST_TEST(db.idle() == db.size());
    wait(db.close());
    BOOST_TEST(db.size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(waiters_are_served_in_order_and_time_out, vow::test::pg_fixture) {
    pg::pool db(r, dsn, {.max_size = 1, .acquire_timeout = 300ms});
    auto first = wait(db.acquire());
    std::vector<int> order;
    auto a = db.acquire().then([&](pg::pool::lease) { order.push_back(1); });
    auto b = db.acquire().then([&](pg::pool::lease) { order.push_back(2); });
    BOOST_TEST(db.waiting() == 2u);
    first = {};   // back to the pool: to the first waiter, then the second
    wait(std::move(a));
    wait(std::move(b));
    BOOST_TEST((order == std::vector<int>{1, 2}));
    // Held too long: the waiter's timeout.
    auto held = wait(db.acquire());
    auto e = wait_error(db.acquire());
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::timeout_error);
    BOOST_TEST(db.waiting() == 0u);
}

BOOST_FIXTURE_TEST_CASE(an_open_transaction_is_rolled_back_on_return, vow::test::pg_fixture) {
    pg::pool db(r, dsn, {.max_size = 1});
    wait(db.query("CREATE TABLE IF NOT EXISTS pool_reset (x int)"));
    wait(db.query("TRUNCATE pool_reset"));
    {
        auto l = wait(db.acquire());
        wait(l->execute("BEGIN"));
        wait(l->query("INSERT INTO pool_reset VALUES (1)"));
        BOOST_TEST(l->in_transaction());
    }   // returned mid-transaction
    auto l = wait(db.acquire());
    BOOST_TEST(!l->in_transaction());
    BOOST_TEST(wait(l->query("SELECT count(*) FROM pool_reset")).value<std::int64_t>() == 0);
    l = {};
    wait(db.query("DROP TABLE pool_reset"));
}

BOOST_FIXTURE_TEST_CASE(a_terminated_connection_is_replaced, vow::test::pg_fixture) {
    pg::pool db(r, dsn, {.max_size = 1});
    int pid = wait(db.query("SELECT pg_backend_pid()")).value<int>();
    auto killer = connect();
    wait(killer.query("SELECT pg_terminate_backend($1)", pid));
    // The idle connection notices its socket closing; the next query gets a
    // new one. (Give the loop a moment to see the close.)
    wait(vow::sleep(r, 200ms));
    int pid2 = wait(db.query("SELECT pg_backend_pid()")).value<int>();
    BOOST_TEST(pid2 != pid);
    BOOST_TEST(db.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_failed_connect_rejects_the_waiter, vow::test::pg_fixture) {
    pg::pool db(r, dsn + " password=wrong", {.max_size = 2});
    auto e = wait_error(db.query("SELECT 1"));
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::connection_error);
    BOOST_TEST(db.size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(close_waits_for_leases_and_refuses_new_acquires, vow::test::pg_fixture) {
    pg::pool db(r, dsn, {.max_size = 2});
    auto l = wait(db.acquire());
    bool closed = false, closed_too = false;
    auto c = db.close().then([&] { closed = true; });
    auto c2 = db.close().then([&] { closed_too = true; });   // a second close settles with the first
    auto e = wait_error(db.acquire());
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::pool_closed);
    wait(vow::sleep(r, 50ms));
    BOOST_TEST(!closed);
    BOOST_TEST(!closed_too);
    BOOST_TEST(wait(l->query("SELECT 1")).value<int>() == 1);   // a lease still works
    l = {};
    wait(std::move(c));
    wait(std::move(c2));
    BOOST_TEST(closed);
    BOOST_TEST(closed_too);
    BOOST_TEST(db.size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_server_restart_under_load_is_survived, vow::test::pg_fixture) {
    vow::test::private_cluster cluster;
    BOOST_REQUIRE_MESSAGE(cluster.error.empty(), "the private cluster did not start: " << cluster.error);
    pg::pool db(r, cluster.dsn, {.max_size = 4, .acquire_timeout = 10s, .connect = {.timeout = 5s}});
    int ok = 0, failed = 0, other = 0;
    bool restarted = false;
    int ok_after = 0;
    std::string odd;
    // Four workers query without pause until the restart is over and each
    // has had ten answers since.
    vow::task_group workers(r);
    for (int w = 0; w < 4; ++w)
        workers.spawn([&, w] {
            return vow::repeat(r, [&, w] {
                return db.query(pg::query_options{.timeout = 10s}, "SELECT 1 + $1::int", w)
                    .then([&, w](pg::result res) {
                        ok += res.value<int>() == w + 1;
                        ok_after += restarted;
                    })
                    .catch_([&](std::exception_ptr e) {
                        try {
                            std::rethrow_exception(e);
                        } catch (const pg::connection_error&) {
                            ++failed;   // in flight at the restart, or refused while it was down
                        } catch (const std::exception& x) {
                            ++other;
                            odd = x.what();
                        }
                        return vow::sleep(r, 10ms);   // not a busy loop while the server is down
                    })
                    .then([&] { return ok_after >= 40 ? vow::stop_iteration::yes : vow::stop_iteration::no; });
            });
        });
    auto restart = vow::sleep(r, 300ms).then([&] {
        return vow::to_thread(r, [&cluster] { cluster.restart(); });
    }).then([&] { restarted = true; });
    wait(std::move(restart), 60s);
    wait(workers.join(), 60s);
    BOOST_TEST(ok > 0);
    BOOST_TEST(ok_after >= 40);
    BOOST_TEST(failed > 0);           // the restart was felt...
    BOOST_TEST(other == 0, odd);      // ...only as connection errors
    BOOST_TEST(db.size() <= 4u);
    wait(db.close(), 10s);
}

BOOST_AUTO_TEST_SUITE_END()
