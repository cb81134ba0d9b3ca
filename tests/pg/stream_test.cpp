// tests/pg/stream_test.cpp - results and bulk data as streams: a 1M-row
// result in single-row mode with bounded memory and backpressure, COPY FROM
// STDIN of 1M rows and COPY TO STDOUT, failures of the producer and of the
// row callback, and LISTEN/NOTIFY.
#include "pg_fixture.hpp"

#include <memory_probe.hpp>

#include <boost/test/unit_test.hpp>

#include <vow/promise/sleep.hpp>

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

using namespace std::chrono_literals;
namespace pg = vow::pg;

BOOST_AUTO_TEST_SUITE(stream_test)

BOOST_FIXTURE_TEST_CASE(rows_arrive_one_at_a_time_with_backpressure, vow::test::pg_fixture) {
    auto c = connect();
    int seen = 0;
    bool overlap = false;
    bool busy = false;
    auto n = wait(c.for_each_row(
        "SELECT i, 'row ' || i FROM generate_series(1, $1::int) i",
        [&](const pg::row& row) -> vow::future<void> {
            overlap = overlap || busy;
            ++seen;
            if (row.get<int>(0) != seen || row.get<std::string>(1) != fmt::format("row {}", seen))
                throw std::runtime_error(fmt::format("row {} out of order", seen));
            if (seen % 100 != 0)
                return {};   // done at once
            busy = true;     // the next row waits for this future
            return vow::sleep(r, 1ms).then([&] { busy = false; });
        },
        1000));
    BOOST_TEST(n == 1000u);
    BOOST_TEST(seen == 1000);
    BOOST_TEST(!overlap);
    // The connection goes on.
    BOOST_TEST(wait(c.query("SELECT 1")).value<int>() == 1);
}

BOOST_FIXTURE_TEST_CASE(a_failing_row_callback_rejects_and_the_rest_is_dropped, vow::test::pg_fixture) {
    auto c = connect();
    int seen = 0;
    auto e = wait_error(c.for_each_row("SELECT i FROM generate_series(1, 1000) i", [&](const pg::row& row) {
        ++seen;
        if (row.get<int>(0) == 10)
            throw std::runtime_error("enough");
    }));
    BOOST_TEST(vow::test::message_of(e) == "enough");
    BOOST_TEST(seen == 10);
    BOOST_TEST(wait(c.query("SELECT 2")).value<int>() == 2);
    // A query error in the middle of the rows.
    e = wait_error(c.for_each_row("SELECT 10 / (5 - i) FROM generate_series(1, 10) i", [](const pg::row&) {}));
    BOOST_CHECK_THROW(std::rethrow_exception(e), pg::division_by_zero);
}

BOOST_FIXTURE_TEST_CASE(a_million_rows_in_bounded_memory, vow::test::pg_fixture) {
    auto c = connect();
    vow::test::memory_probe probe;
    std::int64_t sum = 0;
    auto n = wait(c.for_each_row("SELECT i, repeat('x', 100) FROM generate_series(1, 1000000) i",
                                 [&](const pg::row& row) { sum += row.get<std::int64_t>(0); }),
                  120s);
    BOOST_TEST(n == 1'000'000u);
    BOOST_TEST(sum == 500000500000);
    // The whole result is over 100 MB as text; one row at a time stays far below.
    if (vow::test::memory_tests_unavailable().empty())
        BOOST_TEST(probe.growth_kib() < 32 * 1024, "grew " << probe.growth_kib() << " KiB");
    else
        BOOST_TEST_MESSAGE("memory bound not checked: " << vow::test::memory_tests_unavailable());
}

BOOST_FIXTURE_TEST_CASE(copy_a_million_rows_in_and_out, vow::test::pg_fixture) {
    auto c = connect();
    wait(c.execute("CREATE TEMP TABLE bulk (id int, name text, value float8)"));
    constexpr int rows = 1'000'000;
    constexpr int per_chunk = 5000;
    int next = 0;
    auto copied = wait(c.copy_from("COPY bulk FROM STDIN", [&]() {
        if (next >= rows)
            return vow::make_ready_future(r, std::optional<std::string>());
        std::string chunk;
        for (int i = 0; i < per_chunk; ++i, ++next)
            fmt::format_to(std::back_inserter(chunk), "{}\tname {}\t{}\n", next, next, next * 0.5);
        return vow::make_ready_future(r, std::optional<std::string>(std::move(chunk)));
    }), 120s);
    BOOST_TEST(copied == static_cast<std::uint64_t>(rows));
    auto check = wait(c.query("SELECT count(*), sum(id), sum(value) FROM bulk"))[0];
    BOOST_TEST(check.get<std::int64_t>(0) == rows);
    BOOST_TEST(check.get<std::string>(1) == "499999500000");
    BOOST_TEST(check.get<double>(2) == 249999750000.0);

    std::uint64_t bytes = 0;
    int lines = 0;
    bool ok = true;
    auto out = wait(c.copy_to("COPY (SELECT id, name FROM bulk WHERE id < 1000 ORDER BY id) TO STDOUT",
                              [&](std::string_view line) -> vow::future<void> {
                                  ok = ok && line == fmt::format("{}\tname {}\n", lines, lines);
                                  ++lines;
                                  bytes += line.size();
                                  if (lines % 100 == 0)
                                      return vow::sleep(r, 1ms);   // backpressure
                                  return {};
                              }));
    BOOST_TEST(out == 1000u);
    BOOST_TEST(lines == 1000);
    BOOST_TEST(ok);
}

BOOST_FIXTURE_TEST_CASE(a_failing_producer_aborts_the_copy, vow::test::pg_fixture) {
    auto c = connect();
    wait(c.execute("CREATE TEMP TABLE half (id int)"));
    int calls = 0;
    auto e = wait_error(c.copy_from("COPY half FROM STDIN", [&]() -> vow::future<std::optional<std::string>> {
        if (++calls == 3)
            return vow::make_exception_future<std::optional<std::string>>(r, std::runtime_error("disk on fire"));
        return vow::make_ready_future(r, std::optional<std::string>("1\n2\n"));
    }));
    BOOST_TEST(vow::test::message_of(e) == "disk on fire");
    BOOST_TEST(wait(c.query("SELECT count(*) FROM half")).value<std::int64_t>() == 0);   // nothing committed
    // Bad data is the server's error.
    e = wait_error(c.copy_from("COPY half FROM STDIN", [&, sent = false]() mutable {
        auto chunk = sent ? std::optional<std::string>() : std::optional<std::string>("not a number\n");
        sent = true;
        return vow::make_ready_future(r, std::move(chunk));
    }));
    BOOST_TEST(vow::test::message_of(e).find("22P02") != std::string::npos, vow::test::message_of(e));
    BOOST_TEST(wait(c.query("SELECT 3")).value<int>() == 3);
}

BOOST_FIXTURE_TEST_CASE(listen_and_notify, vow::test::pg_fixture) {
    auto listener = connect();
    auto sender = connect();
    wait(listener.listen("vow chan"));   // any name: quoted
    wait(sender.query("SELECT pg_notify('vow chan', 'first')"));
    wait(sender.query("NOTIFY \"vow chan\", 'second'"));
    auto a = wait(listener.next_notification(), 10s);
    auto b = wait(listener.next_notification(), 10s);
    BOOST_TEST(a.channel == "vow chan");
    BOOST_TEST(a.payload == "first");
    BOOST_TEST(b.payload == "second");
    BOOST_TEST(a.backend_pid == sender.backend_pid());
    // A wait that times out loses nothing that comes later.
    auto e = wait_error(listener.next_notification({}, 50ms));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::timeout_error);
    auto pending = listener.next_notification();
    wait(sender.query("SELECT pg_notify('vow chan', 'third')"));
    BOOST_TEST(wait(std::move(pending), 10s).payload == "third");
    wait(listener.unlisten("vow chan"));
    wait(sender.query("SELECT pg_notify('vow chan', 'unheard')"));
    wait(listener.query("SELECT 1"));   // a round trip: anything sent before is in
    BOOST_CHECK_THROW(std::rethrow_exception(wait_error(listener.next_notification({}, 50ms))), vow::timeout_error);
}

BOOST_FIXTURE_TEST_CASE(notifications_past_the_limit_are_counted_not_lost_silently, vow::test::pg_fixture) {
    auto listener = connect({.max_notifications = 3});
    auto sender = connect();
    wait(listener.listen("burst"));
    for (int i = 0; i < 5; ++i)
        wait(sender.query("SELECT pg_notify('burst', $1::text)", std::to_string(i)));
    wait(listener.query("SELECT pg_sleep(0.1)"));
    auto e = wait_error(listener.next_notification());
    try {
        std::rethrow_exception(e);
    } catch (const pg::notifications_lost& x) {
        BOOST_TEST(x.count() == 2u);
    }
    BOOST_TEST(wait(listener.next_notification()).payload == "2");
}

BOOST_AUTO_TEST_SUITE_END()
