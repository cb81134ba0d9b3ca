// vow::net::copy between two loopback connections: all bytes in order, the
// FIN passed on (or not), memory bounded by a slow far side, errors from
// either side, cancellation.
#include <boost/test/unit_test.hpp>

#include <net_fixture.hpp>

#include <vow/net/copy.hpp>
#include <vow/net/tcp.hpp>
#include <vow/promise/sleep.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <string>
#include <system_error>

BOOST_AUTO_TEST_SUITE(copy_test)

using namespace std::chrono_literals;
using vow::net::io_error;
using vow::test::error_as;
using vow::test::pattern;

namespace {

// Two connections: bytes go in at `src` (client), come out of the copy's
// `from` (its accepted end), go into `to` (a second client) and arrive at
// `dst` (its accepted end).
//   src ->  from ==copy==> to  -> dst
struct fixture : vow::test::stream_pair_fixture {
    vow::net::tcp_stream& src = client;
    vow::net::tcp_stream& from = peer;
    vow::net::tcp_stream to, dst;

    fixture() { std::tie(to, dst) = connect_to(server); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(every_byte_arrives_in_order_and_the_end_is_passed_on, fixture) {
    const auto data = pattern(3u << 20, 1);
    auto copied = vow::net::copy(from, to);
    auto sent = src.write(data).then([s = src]() mutable { return s.shutdown(); });
    auto got = read_to_end(dst);   // ends: the copy shut `to` down
    wait(std::move(sent));
    BOOST_TEST(wait(std::move(copied)) == data.size());
    BOOST_TEST(got.size() == data.size());
    BOOST_TEST((got == data));
}

BOOST_FIXTURE_TEST_CASE(without_shutdown_after_the_destination_stays_open_for_writes, fixture) {
    vow::net::copy_options o;
    o.shutdown_after = false;
    auto copied = vow::net::copy(from, to, o);
    wait(src.write("head "));
    wait(src.shutdown());
    BOOST_TEST(wait(std::move(copied)) == 5u);
    wait(to.write("tail"));
    BOOST_TEST(wait(dst.read_exactly(9)) == "head tail");
}

BOOST_FIXTURE_TEST_CASE(a_slow_far_side_keeps_the_copy_s_memory_bounded, fixture) {
    const std::size_t high_water = 32 * 1024;
    to.set_write_limits(high_water, 16u << 20);
    // A chunk is what one read_some may return: the read-ahead buffer plus
    // one 64 KiB receive.
    const std::size_t chunk = 64 * 1024 + 64 * 1024;
    const auto data = pattern(8u << 20, 2);
    auto copied = vow::net::copy(from, to);
    // The source writes as fast as its write futures allow.
    auto sent = src.write(data);
    std::size_t most_queued = 0, most_read_ahead = 0;
    std::string got;
    while (got.size() < data.size()) {
        most_queued = std::max(most_queued, to.buffered_output());
        most_read_ahead = std::max(most_read_ahead, from.buffered_input());
        auto part = wait(dst.read_exactly(std::min<std::size_t>(16 * 1024, data.size() - got.size())));
        got += part;
        if (got.size() % (1u << 20) < 16 * 1024)
            settle(2ms);   // slow: the copy has to wait on `to`
    }
    wait(std::move(sent));
    wait(src.shutdown());
    BOOST_TEST(wait(std::move(copied)) == data.size());
    BOOST_TEST((got == data));
    BOOST_TEST_MESSAGE("most queued in to: " << most_queued << ", most read ahead in from: " << most_read_ahead);
    BOOST_TEST(most_queued <= high_water + chunk, "to.buffered_output() reached " << most_queued);
    BOOST_TEST(most_read_ahead <= chunk, "from.buffered_input() reached " << most_read_ahead);
}

BOOST_FIXTURE_TEST_CASE(a_source_that_resets_rejects_the_copy, fixture) {
    auto copied = vow::net::copy(from, to);
    wait(src.write("some bytes"));
    BOOST_TEST(wait(dst.read_exactly(10)) == "some bytes");
    reset(src);
    auto err = error_as<io_error>(wait_error(std::move(copied)));
    BOOST_TEST((err.code() == std::errc::connection_reset), err.what());
    BOOST_TEST(std::string(err.what()).find("read from") != std::string::npos, err.what());
    BOOST_TEST(to.is_open());   // left as it is, for the caller to close
}

BOOST_FIXTURE_TEST_CASE(a_destination_that_resets_rejects_the_copy, fixture) {
    auto copied = vow::net::copy(from, to);
    wait(src.write("first"));
    BOOST_TEST(wait(dst.read_exactly(5)) == "first");
    reset(dst);
    settle();   // the RST reaches `to`
    auto more = src.write(pattern(1u << 20, 3));
    auto err = error_as<io_error>(wait_error(std::move(copied)));
    BOOST_TEST((err.code() == std::errc::connection_reset || err.code() == std::errc::broken_pipe), err.what());
    (void)more;
}

BOOST_FIXTURE_TEST_CASE(a_stop_request_cancels_the_copy_and_leaves_both_streams_open, fixture) {
    std::stop_source stop;
    vow::net::copy_options o;
    o.io.stop = stop.get_token();
    auto copied = vow::net::copy(from, to, o);
    wait(src.write("abc"));
    BOOST_TEST(wait(dst.read_exactly(3)) == "abc");
    stop.request_stop();
    (void)error_as<vow::cancelled_error>(wait_error(std::move(copied)));
    BOOST_TEST(from.is_open());
    BOOST_TEST(to.is_open());
    // Nothing was lost: the next bytes wait in `from` for its next reader.
    wait(src.write("def"));
    BOOST_TEST(wait(from.read_exactly(3)) == "def");
}

BOOST_FIXTURE_TEST_CASE(an_idle_timeout_fails_a_copy_that_stops_moving, fixture) {
    vow::net::copy_options o;
    o.io.timeout = 50ms;
    auto copied = vow::net::copy(from, to, o);
    auto e = wait_error(std::move(copied));
    (void)error_as<vow::timeout_error>(e);
    BOOST_TEST(vow::test::message_of(e).find("read_some") != std::string::npos, vow::test::message_of(e));
}

BOOST_FIXTURE_TEST_CASE(an_empty_stream_is_refused_at_the_call, fixture) {
    BOOST_CHECK_THROW((void)vow::net::copy(vow::net::stream(), to), vow::usage_error);
    BOOST_CHECK_THROW((void)vow::net::copy(from, vow::net::stream()), vow::usage_error);
}

BOOST_AUTO_TEST_SUITE_END()
