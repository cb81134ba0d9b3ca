// tests/pg/query_test.cpp - queries on one connection: the server's errors
// as typed vow::pg errors, pipelining (10,000 queries in flight at once,
// answered in order, an error touching no other query), the statement cache
// surviving the server's invalidations, the simple protocol, transactions,
// and cancellation by stop token and by timeout.
#include "pg_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <vow/promise/all.hpp>

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace pg = vow::pg;

BOOST_AUTO_TEST_SUITE(query_test)

BOOST_FIXTURE_TEST_CASE(errors_carry_the_servers_fields_and_type, vow::test::pg_fixture) {
    auto c = connect();
    auto e = wait_error(c.query("SELEC 1"));
    try {
        std::rethrow_exception(e);
    } catch (const pg::syntax_error& x) {
        BOOST_TEST(x.sqlstate() == pg::sqlstate::syntax_error);
        BOOST_TEST(x.severity() == "ERROR");
        BOOST_TEST(x.message().find("SELEC") != std::string::npos, x.message());
    }
    e = wait_error(c.query("SELECT 1 / $1::int", 0));
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::division_by_zero);
    e = wait_error(c.query("SELECT * FROM no_such_table"));
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::undefined_table);

    wait(c.execute("CREATE TEMP TABLE u (id int PRIMARY KEY, parent int REFERENCES u(id), v int CHECK (v > 0))"));
    wait(c.query("INSERT INTO u VALUES (1, NULL, 1)"));
    e = wait_error(c.query("INSERT INTO u VALUES (1, NULL, 1)"));
    try {
        std::rethrow_exception(e);
    } catch (const pg::unique_violation& x) {
        BOOST_TEST(x.constraint() == "u_pkey");
        BOOST_TEST(x.table() == "u");
        BOOST_TEST(x.detail().find("(id)=(1)") != std::string::npos, x.detail());
    }
    e = wait_error(c.query("INSERT INTO u VALUES (2, 99, 1)"));
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::foreign_key_violation);
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::integrity_violation);
    e = wait_error(c.query("INSERT INTO u VALUES (3, NULL, -1)"));
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::check_violation);
    // A hint, where the server gives one.
    e = wait_error(c.query("SELECT nosuchfunction(1)"));
    try {
        std::rethrow_exception(e);
    } catch (const pg::error& x) {
        BOOST_TEST(x.sqlstate() == "42883");
        BOOST_TEST(!x.hint().empty());
        BOOST_TEST(std::string(x.what()).find("HINT") != std::string::npos);
    }
    // The connection is fine after all that.
    BOOST_TEST(wait(c.query("SELECT count(*) FROM u")).value<std::int64_t>() == 1);
}

BOOST_FIXTURE_TEST_CASE(bad_calls_are_clear_errors_and_the_connection_goes_on, vow::test::pg_fixture) {
    auto c = connect();
    // Too few parameters: the server's protocol error (class 08, but an
    // ERROR: the session lives on), not a lost connection.
    auto e = wait_error(c.query("SELECT $1::int + $2::int", 1));
    try {
        std::rethrow_exception(e);
    } catch (const pg::connection_error& x) {
        BOOST_FAIL("a parameter count mismatch read as a lost connection: " << x.what());
    } catch (const pg::error& x) {
        BOOST_TEST(x.sqlstate() == "08P01", x.what());
    }
    BOOST_TEST(c.is_open());
    // NUL bytes cannot go through libpq's C strings: refused, not truncated.
    BOOST_CHECK_THROW(c.query(std::string("SELECT 1\0 garbage", 17)).discard(), vow::invalid_argument);
    BOOST_CHECK_THROW(c.query("SELECT $1::text", std::string("a\0b", 3)).discard(), pg::conversion_error);
    BOOST_TEST(wait(c.query("SELECT $1::bytea", pg::bytes{std::byte{'a'}, std::byte{0}, std::byte{'b'}}))
                   .value<pg::bytes>()
                   .size() == 3u);
    BOOST_TEST(wait(c.query("SELECT 7")).value<int>() == 7);
    // An empty connection handle is a usage error.
    pg::connection none;
    BOOST_CHECK_THROW(none.query("SELECT 1").discard(), vow::usage_error);
}

BOOST_FIXTURE_TEST_CASE(notices_reach_on_notice, vow::test::pg_fixture) {
    std::vector<pg::error_fields> notices;
    auto c = connect({.on_notice = [&](const pg::error_fields& n) { notices.push_back(n); }});
    wait(c.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42 USING HINT = 'a hint'; END $$"));
    wait(c.execute("ROLLBACK"));   // WARNING: there is no transaction in progress
    BOOST_REQUIRE(notices.size() == 2u);
    BOOST_TEST(notices[0].severity == "NOTICE");
    BOOST_TEST(notices[0].message == "hello 42");
    BOOST_TEST(notices[0].hint == "a hint");
    BOOST_TEST(notices[1].severity == "WARNING");
    BOOST_TEST(notices[1].sqlstate == "25P01");
}

BOOST_FIXTURE_TEST_CASE(ten_thousand_pipelined_queries_answer_in_order, vow::test::pg_fixture) {
    auto c = connect();
    constexpr int n = 10'000;
    std::vector<vow::future<pg::result>> fs;
    fs.reserve(n);
    for (int i = 0; i < n; ++i) {
        if (i == 5000)
            fs.push_back(c.query("SELECT 1 / 0"));   // one error in the middle
        else
            fs.push_back(c.query("SELECT $1::int + 1", i));
    }
    BOOST_TEST(c.pending() == static_cast<std::size_t>(n));
    auto results = wait(vow::all_settled(std::move(fs)), 60s);
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        if (i == 5000) {
            BOOST_TEST(results[static_cast<std::size_t>(i)].has_value() == false);
            continue;
        }
        ok += results[static_cast<std::size_t>(i)].value().value<int>() == i + 1;
    }
    BOOST_TEST(ok == n - 1);
    BOOST_TEST(c.pending() == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_statement_cache_survives_invalidation, vow::test::pg_fixture) {
    auto c = connect();
    wait(c.execute("CREATE TEMP TABLE t (a int)"));
    wait(c.query("INSERT INTO t VALUES (7)"));
    BOOST_TEST(wait(c.query("SELECT * FROM t")).columns() == 1);
    // The result's type changes: the cached plan is invalid (0A000); the
    // query is prepared again and retried.
    wait(c.execute("ALTER TABLE t ADD COLUMN b text DEFAULT 'x'"));
    auto res = wait(c.query("SELECT * FROM t"));
    BOOST_TEST(res.columns() == 2);
    BOOST_TEST(res[0].get<std::string>("b") == "x");
    // DISCARD ALL drops every prepared statement (26000 on the next use).
    BOOST_TEST(wait(c.query("SELECT $1::int * 2", 21)).value<int>() == 42);
    wait(c.execute("DISCARD ALL"));
    BOOST_TEST(wait(c.query("SELECT $1::int * 2", 4)).value<int>() == 8);
    // Inside a transaction a retry cannot help: the error is the caller's.
    wait(c.execute("CREATE TEMP TABLE t2 (a int)"));
    BOOST_TEST(wait(c.query("SELECT * FROM t2")).columns() == 1);
    wait(c.execute("BEGIN"));
    wait(c.execute("ALTER TABLE t2 ADD COLUMN b int"));
    auto e = wait_error(c.query("SELECT * FROM t2"));
    BOOST_TEST(vow::test::message_of(e).find("cached plan") != std::string::npos, vow::test::message_of(e));
    wait(c.execute("ROLLBACK"));
}

BOOST_FIXTURE_TEST_CASE(unprepared_queries_and_the_simple_protocol, vow::test::pg_fixture) {
    auto c = connect();
    auto res = wait(c.query(pg::query_options{.prepare = false}, "SELECT $1::text || '!'", "hi"));
    BOOST_TEST(res.value<std::string>() == "hi!");
    // Several statements at once; the last one's rows.
    auto last = wait(c.execute("CREATE TEMP TABLE s (x int); INSERT INTO s VALUES (1), (2); SELECT sum(x) FROM s"));
    BOOST_TEST(last.value<std::int64_t>() == 3);
    // Queries around an exclusive operation keep their order.
    auto a = c.query("INSERT INTO s VALUES (10)");
    auto b = c.execute("INSERT INTO s VALUES (20); INSERT INTO s VALUES (30)");
    auto d = c.query("SELECT sum(x) FROM s");
    wait(std::move(a));
    wait(std::move(b));
    BOOST_TEST(wait(std::move(d)).value<std::int64_t>() == 63);
}

BOOST_FIXTURE_TEST_CASE(transaction_commits_or_rolls_back, vow::test::pg_fixture) {
    auto c = connect();
    wait(c.execute("CREATE TEMP TABLE acct (id int PRIMARY KEY, balance int)"));
    wait(c.query("INSERT INTO acct VALUES (1, 100), (2, 0)"));
    auto moved = wait(pg::transaction(c, [](pg::connection& tx) {
        return tx.query("UPDATE acct SET balance = balance - 30 WHERE id = 1").then([tx](pg::result) mutable {
            return tx.query("UPDATE acct SET balance = balance + 30 WHERE id = 2 RETURNING balance");
        }).then([](pg::result res) { return res.value<int>(); });
    }));
    BOOST_TEST(moved == 30);
    BOOST_TEST(!c.in_transaction());
    // An error inside rolls everything back and is the caller's error.
    auto e = wait_error(pg::transaction(c, [](pg::connection& tx) {
        return tx.query("UPDATE acct SET balance = 0 WHERE id = 1").then([tx](pg::result) mutable {
            return tx.query("INSERT INTO acct VALUES (2, 5)");   // duplicate key
        });
    }));
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::unique_violation);
    BOOST_TEST(!c.in_transaction());
    BOOST_TEST(wait(c.query("SELECT balance FROM acct WHERE id = 1")).value<int>() == 70);
    // So does a C++ exception thrown by the function.
    e = wait_error(pg::transaction(c, [](pg::connection& tx) -> vow::future<void> {
        (void)tx.query("UPDATE acct SET balance = 0").then([](pg::result) {});
        throw std::runtime_error("changed my mind");
    }));
    BOOST_TEST(vow::test::message_of(e) == "changed my mind");
    BOOST_TEST(wait(c.query("SELECT sum(balance) FROM acct")).value<std::int64_t>() == 100);
    // By hand: begin / commit / rollback.
    wait(c.begin("ISOLATION LEVEL SERIALIZABLE"));
    BOOST_TEST(wait(c.query("SHOW transaction_isolation")).value<std::string>() == "serializable");
    wait(c.query("UPDATE acct SET balance = 1"));
    wait(c.rollback());
    BOOST_TEST(wait(c.query("SELECT sum(balance) FROM acct")).value<std::int64_t>() == 100);
    wait(c.begin());
    wait(c.query("UPDATE acct SET balance = 50"));
    wait(c.commit());
    BOOST_TEST(!c.in_transaction());
    BOOST_TEST(wait(c.query("SELECT sum(balance) FROM acct")).value<std::int64_t>() == 100);
}

BOOST_FIXTURE_TEST_CASE(a_cancelled_query_rolls_its_transaction_back, vow::test::pg_fixture) {
    auto c = connect();
    wait(c.execute("CREATE TEMP TABLE tx_cancel (x int)"));
    std::stop_source stop;
    auto f = pg::transaction(c, [&](pg::connection& tx) {
        return tx.query("INSERT INTO tx_cancel VALUES (1)").then([tx, &stop](pg::result) mutable {
            return tx.query(pg::query_options{.stop = stop.get_token()}, "SELECT pg_sleep(30)");
        }).then([](pg::result) {});
    });
    auto h = r.call_later(200ms, [&] { stop.request_stop(); });
    auto e = wait_error(std::move(f), 20s);
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
    BOOST_TEST(!c.in_transaction());
    BOOST_TEST(wait(c.query("SELECT count(*) FROM tx_cancel")).value<std::int64_t>() == 0);
}

BOOST_FIXTURE_TEST_CASE(a_stop_request_cancels_a_running_query, vow::test::pg_fixture) {
    auto c = connect();
    std::stop_source stop;
    auto f = c.query(pg::query_options{.stop = stop.get_token()}, "SELECT pg_sleep(30)");
    auto h = r.call_later(100ms, [&] { stop.request_stop(); });
    auto e = wait_error(std::move(f), 20s);   // pg_sleep(30) ended by the cancel, not by its end
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
    // The connection goes on.
    BOOST_TEST(wait(c.query("SELECT 5")).value<int>() == 5);
}

BOOST_FIXTURE_TEST_CASE(a_timeout_cancels_a_query_and_spares_the_others, vow::test::pg_fixture) {
    auto c = connect();
    auto before = c.query("SELECT 1");
    auto slow = c.query(pg::query_options{.timeout = 200ms}, "SELECT pg_sleep(30)");
    auto after = c.query("SELECT 2");
    BOOST_TEST(wait(std::move(before)).value<int>() == 1);
    auto e = wait_error(std::move(slow), 20s);
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::timeout_error);
    BOOST_TEST(wait(std::move(after)).value<int>() == 2);
}

BOOST_FIXTURE_TEST_CASE(a_query_waiting_its_turn_is_cancelled_when_it_comes, vow::test::pg_fixture) {
    auto c = connect();
    auto first = c.query("SELECT pg_sleep(0.3), 1");
    auto second = c.query(pg::query_options{.timeout = 50ms}, "SELECT pg_sleep(30)");
    BOOST_TEST(wait(std::move(first))[0].get<int>(1) == 1);
    auto e = wait_error(std::move(second), 20s);
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::timeout_error);
    BOOST_TEST(wait(c.query("SELECT 3")).value<int>() == 3);
}

BOOST_FIXTURE_TEST_CASE(a_slow_query_does_not_hold_up_other_connections, vow::test::pg_fixture) {
    auto slow_conn = connect();
    auto fast_conn = connect();
    bool slow_done = false;
    auto slow = slow_conn.query("SELECT pg_sleep(1)").then([&](pg::result) { slow_done = true; });
    int answered = 0;
    for (int i = 0; i < 50; ++i)
        answered += wait(fast_conn.query("SELECT $1::int", i)).value<int>() == i;
    BOOST_TEST(answered == 50);
    BOOST_TEST(!slow_done);   // the loop served the other connection while the slow one waited
    wait(std::move(slow));
    BOOST_TEST(slow_done);
}

BOOST_FIXTURE_TEST_CASE(a_terminated_backend_fails_its_queries_clearly, vow::test::pg_fixture) {
    auto victim = connect();
    auto killer = connect();
    auto f = victim.query("SELECT pg_sleep(30)");
    auto later = victim.query("SELECT 1");
    auto h = r.call_later(100ms, [&] {
        killer.query("SELECT pg_terminate_backend($1)", victim.backend_pid()).discard();
    });
    auto e = wait_error(std::move(f), 20s);
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::connection_error);
    BOOST_CHECK_THROW(std::rethrow_exception(wait_error(std::move(later))), pg::connection_error);
    BOOST_TEST(!victim.is_open());
    auto again = wait_error(victim.query("SELECT 1"));
    BOOST_CHECK_THROW(std::rethrow_exception(again), pg::connection_error);
    BOOST_TEST(!victim.error_message().empty());
}

BOOST_AUTO_TEST_SUITE_END()
