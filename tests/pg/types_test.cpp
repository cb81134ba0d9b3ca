// tests/pg/types_test.cpp - every type vow::pg binds and reads, both ways
// through a real server; NULLs; unicode; a large bytea; and the reads that
// would lose something refused with the column named.
#include "pg_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

using namespace std::chrono_literals;
using vow::pg::conversion_error;

BOOST_AUTO_TEST_SUITE(types_test)

BOOST_FIXTURE_TEST_CASE(integers_round_trip_at_their_limits, vow::test::pg_fixture) {
    auto c = connect();
    auto res = wait(c.query("SELECT $1::int2, $2::int4, $3::int8, $4::int8",
                            std::numeric_limits<std::int16_t>::min(), std::numeric_limits<std::int32_t>::max(),
                            std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()));
    auto row = res[0];
    BOOST_TEST(row.get<std::int16_t>(0) == std::numeric_limits<std::int16_t>::min());
    BOOST_TEST(row.get<std::int32_t>(1) == std::numeric_limits<std::int32_t>::max());
    BOOST_TEST(row.get<std::int64_t>(2) == std::numeric_limits<std::int64_t>::min());
    BOOST_TEST(row.get<std::int64_t>(3) == std::numeric_limits<std::int64_t>::max());
    // Widening is lossless: int2 and int4 read as int64, int2 as int.
    BOOST_TEST(row.get<std::int64_t>(0) == std::numeric_limits<std::int16_t>::min());
    BOOST_TEST(row.get<std::int64_t>(1) == std::numeric_limits<std::int32_t>::max());
    BOOST_TEST(row.get<int>(0) == std::numeric_limits<std::int16_t>::min());
    BOOST_TEST(row.get<double>(1) == static_cast<double>(std::numeric_limits<std::int32_t>::max()));
}

BOOST_FIXTURE_TEST_CASE(narrowing_reads_are_refused_naming_the_column, vow::test::pg_fixture) {
    auto c = connect();
    auto row = wait(c.query("SELECT 1::int8 AS big, 2::int4 AS mid, 1.5::numeric AS num, 2.5::float8 AS dbl"))[0];
    try {
        (void)row.get<int>("big");
        BOOST_FAIL("int8 read as int");
    } catch (const conversion_error& e) {
        BOOST_TEST(std::string(e.what()).find("'big'") != std::string::npos, e.what());
        BOOST_TEST(std::string(e.what()).find("int8") != std::string::npos, e.what());
    }
    BOOST_CHECK_THROW((void)row.get<std::int16_t>("mid"), conversion_error);
    BOOST_CHECK_THROW((void)row.get<double>("num"), conversion_error);   // numeric: read it as text
    BOOST_CHECK_THROW((void)row.get<float>("dbl"), conversion_error);
    BOOST_CHECK_THROW((void)row.get<std::int64_t>("dbl"), conversion_error);
    BOOST_CHECK_THROW((void)row.get<bool>("mid"), conversion_error);
    BOOST_TEST(row.get<std::string>("num") == "1.5");
    BOOST_CHECK_THROW((void)row.get<int>("nosuch"), vow::invalid_argument);
    BOOST_CHECK_THROW((void)row.get<int>(7), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(floats_and_bools_round_trip, vow::test::pg_fixture) {
    auto c = connect();
    const double third = 1.0 / 3.0;
    auto row = wait(c.query("SELECT $1::float8, $2::float4, $3::bool, $4::bool, $5::float8, $6::float8", third,
                            0.25f, true, false, std::numeric_limits<double>::infinity(), std::nan("")))[0];
    BOOST_TEST(row.get<double>(0) == third);   // the shortest round-trip form loses nothing
    BOOST_TEST(row.get<float>(1) == 0.25f);
    BOOST_TEST(row.get<double>(1) == 0.25);
    BOOST_TEST(row.get<bool>(2) == true);
    BOOST_TEST(row.get<bool>(3) == false);
    BOOST_TEST(std::isinf(row.get<double>(4)));
    BOOST_TEST(std::isnan(row.get<double>(5)));
}

BOOST_FIXTURE_TEST_CASE(strings_and_unicode_round_trip, vow::test::pg_fixture) {
    auto c = connect();
    const std::string text = "héllo wörld — 日本語 🎉 'quotes' \"double\" \\backslash\t\n";
    std::string_view view = "a view";
    auto row = wait(c.query("SELECT $1::text, $2::varchar, $3, length($1::text)", text, view, "a literal"))[0];
    BOOST_TEST(row.get<std::string>(0) == text);
    BOOST_TEST(row.get<std::string_view>(1) == "a view");
    BOOST_TEST(row.get<std::string>(2) == "a literal");
    int code_points = 0;
    for (char ch : text)
        code_points += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    BOOST_TEST(code_points < static_cast<int>(text.size()));
    BOOST_TEST(row.get<int>(3) == code_points);   // characters, not bytes: the server saw UTF-8
}

BOOST_FIXTURE_TEST_CASE(nulls_are_optionals, vow::test::pg_fixture) {
    auto c = connect();
    std::optional<int> none;
    std::optional<std::string> some = "x";
    auto row = wait(c.query("SELECT $1::int AS a, $2::text AS b, $3::text AS c, NULL::int8 AS d", none, some,
                            std::nullopt))[0];
    BOOST_TEST(!row.get<std::optional<int>>("a").has_value());
    BOOST_TEST(row.get<std::optional<std::string>>("b").value() == "x");
    BOOST_TEST(row.is_null("c"));
    BOOST_TEST(!row.get<std::optional<std::int64_t>>("d").has_value());
    try {
        (void)row.get<std::int64_t>("d");
        BOOST_FAIL("NULL read as int64");
    } catch (const conversion_error& e) {
        BOOST_TEST(std::string(e.what()).find("'d'") != std::string::npos, e.what());
        BOOST_TEST(std::string(e.what()).find("NULL") != std::string::npos, e.what());
    }
}

BOOST_FIXTURE_TEST_CASE(bytea_round_trips_every_byte_and_large, vow::test::pg_fixture) {
    auto c = connect();
    vow::pg::bytes all(256);
    for (int i = 0; i < 256; ++i)
        all[static_cast<std::size_t>(i)] = static_cast<std::byte>(i);
    auto row = wait(c.query("SELECT $1::bytea, length($1::bytea)", all))[0];
    BOOST_TEST((row.get<vow::pg::bytes>(0) == all));
    BOOST_TEST(row.get<int>(1) == 256);
    BOOST_CHECK_THROW((void)row.get<std::string>(0), conversion_error);

    vow::pg::bytes big(8 * 1024 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::byte>((i * 2654435761u) >> 13);
    auto r2 = wait(c.query("SELECT $1::bytea, md5($1::bytea)", big))[0];
    BOOST_TEST((r2.get<vow::pg::bytes>(0) == big));
}

BOOST_FIXTURE_TEST_CASE(timestamptz_round_trips_in_microseconds, vow::test::pg_fixture) {
    auto c = connect();
    using namespace std::chrono;
    auto t = sys_days(year(2024) / 2 / 29) + 23h + 59min + 58s + microseconds(123456);
    auto tp = time_point_cast<system_clock::duration>(t);
    wait(c.execute("SET TimeZone = 'Asia/Kolkata'"));   // +05:30: the offset is applied
    auto row = wait(c.query("SELECT $1::timestamptz, $1::timestamptz::text, "
                            "'1970-01-01 00:00:00+00'::timestamptz, '2000-01-01 00:00:00-08'::timestamptz",
                            tp))[0];
    BOOST_TEST((row.get<system_clock::time_point>(0) == tp));
    BOOST_TEST(row.get<std::string>(1) == "2024-03-01 05:29:58.123456+05:30");
    BOOST_TEST((row.get<system_clock::time_point>(2) == system_clock::time_point{}));
    BOOST_TEST((row.get<system_clock::time_point>(3) ==
                time_point_cast<system_clock::duration>(sys_days(year(2000) / 1 / 1) + 8h)));
    auto bad = wait(c.query("SELECT 'infinity'::timestamptz AS inf, now()::timestamp AS naive"))[0];
    BOOST_CHECK_THROW((void)bad.get<system_clock::time_point>("inf"), conversion_error);
    BOOST_CHECK_THROW((void)bad.get<system_clock::time_point>("naive"), conversion_error);
}

BOOST_FIXTURE_TEST_CASE(numeric_uuid_json_and_arrays_as_text, vow::test::pg_fixture) {
    auto c = connect();
    auto row = wait(c.query("SELECT $1::numeric * 2, $2::uuid, $3::jsonb -> 'a', $4::int[], $5::date",
                            "12345678901234567890.125", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                            R"({"a": [1, 2]})", "{1,2,3}", "2024-01-31"))[0];
    BOOST_TEST(row.get<std::string>(0) == "24691357802469135780.250");
    BOOST_TEST(row.get<std::string>(1) == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    BOOST_TEST(row.get<std::string>(2) == "[1, 2]");
    BOOST_TEST(row.get<std::string>(3) == "{1,2,3}");
    BOOST_TEST(row.get<std::string>(4) == "2024-01-31");
}

BOOST_FIXTURE_TEST_CASE(columns_by_name_and_result_shape, vow::test::pg_fixture) {
    auto c = connect();
    auto res = wait(c.query("SELECT i AS n, i * 2 AS twice FROM generate_series(1, 5) i"));
    BOOST_TEST(res.size() == 5);
    BOOST_TEST(res.columns() == 2);
    BOOST_TEST(res.column_name(1) == "twice");
    BOOST_TEST(res.column_type(0) == vow::pg::oids::int4);
    BOOST_TEST(res.command_tag() == "SELECT 5");
    BOOST_TEST(res.affected_rows() == 5u);
    int sum = 0;
    for (auto row : res)
        sum += row.get<int>("twice") - 2 * row.get<int>("n");
    BOOST_TEST(sum == 0);
    BOOST_CHECK_THROW((void)res[5], vow::invalid_argument);
    BOOST_CHECK_THROW((void)res.column_index("nope"), vow::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
