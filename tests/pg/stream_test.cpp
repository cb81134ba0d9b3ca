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

BOOST_FIXTURE_TEST_CASE(binary_copy_with_every_type_and_nulls, vow::test::pg_fixture) {
    auto c = connect();
    wait(c.execute("CREATE TEMP TABLE typed (a int2, b int4, c int8, d float4, e float8, f bool, g text, "
                   "h bytea, i timestamptz)"));
    using namespace std::chrono;
    const auto t0 = time_point_cast<system_clock::duration>(sys_days(year(2024) / 2 / 29) + 12h + microseconds(5));
    constexpr int rows = 100'000;
    pg::copy_writer w;
    int next = 0;
    auto copied = wait(c.copy_from("COPY typed FROM STDIN (FORMAT binary)", [&]() {
        if (next > rows)
            return vow::make_ready_future(r, std::optional<std::string>());
        if (next == rows) {
            ++next;
            return vow::make_ready_future(r, std::optional<std::string>(w.finish()));
        }
        for (; next < rows && w.size() < 64 * 1024; ++next) {
            const pg::bytes blob{std::byte(next & 0xff), std::byte{0}};
            if (next % 10 == 0)   // a row of NULLs now and then
                w.row(std::optional<std::int16_t>{}, std::nullopt, std::optional<std::int64_t>{}, std::nullopt,
                      std::nullopt, std::nullopt, std::optional<std::string>{}, std::nullopt, std::nullopt);
            else
                w.row(static_cast<std::int16_t>(next % 30000), next, std::int64_t{next} << 32, 0.5f * static_cast<float>(next % 100),
                      next * 0.25, next % 2 == 0, fmt::format("row {} ü", next), blob, t0 + seconds(next));
        }
        return vow::make_ready_future(r, std::optional<std::string>(w.take()));
    }), 120s);
    BOOST_TEST(copied == static_cast<std::uint64_t>(rows));
    BOOST_TEST(w.rows() == static_cast<std::uint64_t>(rows));
    auto check = wait(c.query("SELECT count(*), count(a), sum(b::int8), sum(c / 4294967296), sum(e), count(*) FILTER (WHERE f) "
                              "FROM typed"))[0];
    BOOST_TEST(check.get<std::int64_t>(0) == rows);
    BOOST_TEST(check.get<std::int64_t>(1) == rows - rows / 10);
    std::int64_t sum_b = 0, sum_c_hi = 0, with_f = 0;
    double sum_e = 0;
    for (int i = 0; i < rows; ++i)
        if (i % 10 != 0) {
            sum_b += i;
            sum_c_hi += i;
            sum_e += i * 0.25;
            with_f += i % 2 == 0;
        }
    BOOST_TEST(check.get<std::string>(2) == std::to_string(sum_b));
    BOOST_TEST(check.get<std::string>(3) == std::to_string(sum_c_hi));   // c is i << 32
    BOOST_TEST(check.get<double>(4) == sum_e);
    BOOST_TEST(check.get<std::int64_t>(5) == with_f);
    auto one = wait(c.query("SELECT * FROM typed WHERE b = 12345"))[0];
    BOOST_TEST(one.get<std::int16_t>("a") == 12345);
    BOOST_TEST(one.get<float>("d") == 22.5f);
    BOOST_TEST(one.get<std::string>("g") == "row 12345 ü");
    BOOST_TEST((one.get<pg::bytes>("h") == pg::bytes{std::byte(12345 & 0xff), std::byte{0}}));
    BOOST_TEST((one.get<system_clock::time_point>("i") == t0 + seconds(12345)));
    BOOST_TEST(one.get<bool>("f") == false);

    // A value of the wrong width is the server's error; nothing is copied.
    wait(c.execute("TRUNCATE typed"));
    pg::copy_writer bad;
    bad.row(std::int64_t{1}, 2, std::int64_t{3}, 1.0f, 2.0, true, "x", pg::bytes{}, t0);   // a: int8 into int2
    auto e = wait_error(c.copy_from("COPY typed FROM STDIN (FORMAT binary)", [&, sent = false]() mutable {
        auto chunk = sent ? std::optional<std::string>() : std::optional<std::string>(bad.finish());
        sent = true;
        return vow::make_ready_future(r, std::move(chunk));
    }));
    BOOST_TEST(vow::test::message_of(e).find("22P03") != std::string::npos, vow::test::message_of(e));
    BOOST_TEST(wait(c.query("SELECT count(*) FROM typed")).value<std::int64_t>() == 0);
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
