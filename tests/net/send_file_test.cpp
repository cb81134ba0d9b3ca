// vow::net::tcp_stream::send_file over loopback: whole files and regions,
// the bytes queued before it, a region the file does not have, a peer that
// resets, cancellation and timeouts (the stream closes), and a 32 MiB file
// checked by hash at the receiver.
#include <vow/fs/file.hpp>
#include <vow/net/tcp.hpp>

#include <boost/test/unit_test.hpp>
#include <fnv1a.hpp>
#include <net_fixture.hpp>
#include <temp_dir.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <string>
#include <system_error>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(send_file_test)

using namespace std::chrono_literals;
using vow::net::io_error;
using vow::test::error_as;
using vow::test::fnv1a;
using vow::test::message_of;
using vow::test::pattern;

namespace {

// A connected pair and a temporary directory for the files it sends.
struct fixture : vow::test::stream_pair_fixture {
    vow::test::temp_dir tmp{"vow-send-file"};

    // A file holding `data`, opened for reading.
    vow::fs::file file_with(const std::string& data, const std::string& name = "data") {
        auto path = tmp.at(name);
        std::ofstream(path, std::ios::binary) << data;
        return wait(vow::fs::open(r, path));
    }

    // The peer reads until the client's send_file has gone: a send that has
    // to wait for the peer's window.
    vow::future<std::uint64_t> pending_send(vow::fs::file& f, std::size_t size, vow::net::io_options o = {}) {
        auto sent = client.send_file(f, 0, size, o);
        BOOST_REQUIRE(!sent.available());   // far more than the socket buffers hold
        return sent;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_whole_file_arrives_and_the_future_says_how_many_bytes, fixture) {
    const auto data = pattern(300 * 1024, 1);
    auto f = file_with(data);
    auto sent = client.send_file(f, 0, data.size());
    auto got = peer.read_exactly(data.size());
    BOOST_TEST(wait(std::move(sent)) == data.size());
    BOOST_TEST((wait(std::move(got)) == data));
    // The stream goes on as before.
    wait(client.write("after"));
    BOOST_TEST(wait(peer.read_exactly(5)) == "after");
}

BOOST_FIXTURE_TEST_CASE(a_region_sends_exactly_its_bytes, fixture) {
    const auto data = pattern(10000, 2);
    auto f = file_with(data);
    BOOST_TEST(wait(client.send_file(f, 1000, 5000)) == 5000u);
    BOOST_TEST((wait(peer.read_exactly(5000)) == data.substr(1000, 5000)));
    // The region may end where the file does.
    BOOST_TEST(wait(client.send_file(f, 9990, 10)) == 10u);
    BOOST_TEST((wait(peer.read_exactly(10)) == data.substr(9990)));
}

BOOST_FIXTURE_TEST_CASE(an_empty_length_resolves_with_zero_at_once, fixture) {
    auto f = file_with("abc");
    auto sent = client.send_file(f, 3, 0);
    BOOST_TEST(sent.available());
    BOOST_TEST(wait(std::move(sent)) == 0u);
    wait(client.write("x"));
    BOOST_TEST(wait(peer.read_exactly(1)) == "x");
}

BOOST_FIXTURE_TEST_CASE(a_region_past_the_end_of_the_file_rejects_and_sends_nothing, fixture) {
    auto f = file_with("0123456789", "short.txt");
    for (auto [offset, length] : {std::pair<std::uint64_t, std::uint64_t>{0, 11}, {5, 6}, {11, 0}, {20, 1}}) {
        auto e = wait_error(client.send_file(f, offset, length));
        auto err = error_as<io_error>(e);
        BOOST_TEST((err.code() == std::errc::no_message_available));
        BOOST_TEST(std::string(err.what()).find("short.txt") != std::string::npos, err.what());
        BOOST_TEST(std::string(err.what()).find("has 10 bytes") != std::string::npos, err.what());
    }
    // Nothing went out, and the stream is as it was.
    BOOST_TEST(client.is_open());
    wait(client.write("ok"));
    BOOST_TEST(wait(peer.read_exactly(2)) == "ok");
}

BOOST_FIXTURE_TEST_CASE(bytes_queued_by_write_go_before_the_file, fixture) {
    std::string sent;
    auto w = write_until_pending(client, sent);
    BOOST_TEST(client.buffered_output() > 0u);
    const auto data = pattern(1 << 20, 3);
    auto f = file_with(data);
    auto sf = client.send_file(f, 0, data.size());
    BOOST_TEST(!sf.available());
    // One at a time: no write, shutdown or second send_file meanwhile.
    BOOST_CHECK_THROW((void)client.write("x"), vow::usage_error);
    BOOST_CHECK_THROW((void)client.shutdown(), vow::usage_error);
    BOOST_CHECK_THROW((void)client.send_file(f, 0, 1), vow::usage_error);
    auto got = peer.read_exactly(sent.size() + data.size());
    wait(std::move(w));
    BOOST_TEST(wait(std::move(sf)) == data.size());
    auto all = wait(std::move(got));
    BOOST_TEST((all.substr(0, sent.size()) == sent));
    BOOST_TEST((all.substr(sent.size()) == data));
}

BOOST_FIXTURE_TEST_CASE(the_file_may_be_closed_once_send_file_returns, fixture) {
    const auto data = pattern(4 << 20, 4);
    auto f = file_with(data);
    auto sent = pending_send(f, data.size());
    wait(f.close());   // the stream holds its own descriptor
    auto got = peer.read_exactly(data.size());
    BOOST_TEST(wait(std::move(sent)) == data.size());
    BOOST_TEST((wait(std::move(got)) == data));
}

BOOST_FIXTURE_TEST_CASE(a_32_mib_file_arrives_whole_by_hash, fixture) {
    const auto data = pattern(32u << 20, 5);
    fnv1a expected;
    expected.add(data);
    auto f = file_with(data);
    auto sent = client.send_file(f, 0, data.size());
    fnv1a got;
    std::uint64_t n = 0;
    while (n < data.size()) {
        auto chunk = wait(peer.read_some());
        BOOST_REQUIRE(!chunk.empty());
        got.add(chunk);
        n += chunk.size();
    }
    BOOST_TEST(wait(std::move(sent), 60s) == data.size());
    wait(client.shutdown());
    BOOST_TEST(wait(peer.read_some()).empty());   // nothing more than the file
    BOOST_TEST(n == data.size());
    BOOST_TEST(got.h == expected.h);
}

BOOST_FIXTURE_TEST_CASE(a_peer_that_resets_mid_file_rejects_the_send_and_closes_the_stream, fixture) {
    const auto data = pattern(16 << 20, 6);
    auto f = file_with(data);
    auto sent = pending_send(f, data.size());
    auto read = client.read_some();
    BOOST_TEST(wait(peer.read_exactly(1000)).size() == 1000u);   // part of the file got there
    reset(peer);
    auto err = error_as<io_error>(wait_error(std::move(sent)));
    BOOST_TEST((err.code() == std::errc::connection_reset || err.code() == std::errc::broken_pipe), err.what());
    BOOST_TEST(!client.is_open());
    // What else waited on the stream fails with it.
    (void)error_as<io_error>(wait_error(std::move(read)));
}

BOOST_FIXTURE_TEST_CASE(a_file_that_shrinks_while_sent_rejects_and_closes_the_stream, fixture) {
    const auto data = pattern(16 << 20, 10);
    auto f = file_with(data, "shrinks");
    auto sent = pending_send(f, data.size());
    BOOST_REQUIRE(::truncate(tmp.at("shrinks").c_str(), 4 << 20) == 0);
    auto got = read_to_end(peer);   // the peer reads on; the stream closes at the new end
    auto err = error_as<io_error>(wait_error(std::move(sent)));
    BOOST_TEST((err.code() == std::errc::no_message_available));
    BOOST_TEST(std::string(err.what()).find("shrank") != std::string::npos, err.what());
    BOOST_TEST(!client.is_open());
    BOOST_TEST(got.size() == std::size_t{4} << 20);
    BOOST_TEST((got == data.substr(0, got.size())));
}

BOOST_FIXTURE_TEST_CASE(a_stop_request_rejects_the_send_and_closes_the_stream, fixture) {
    const auto data = pattern(16 << 20, 7);
    auto f = file_with(data);
    std::stop_source stop;
    vow::net::io_options o;
    o.stop = stop.get_token();
    auto sent = pending_send(f, data.size(), o);
    stop.request_stop();
    auto e = wait_error(std::move(sent));
    BOOST_TEST(message_of(e).find("send_file") != std::string::npos, message_of(e));
    (void)error_as<vow::cancelled_error>(e);
    BOOST_TEST(!client.is_open());
    // The peer sees the end of a part of the file: never more than it.
    auto rest = read_to_end(peer);
    BOOST_TEST(rest.size() < data.size());
    BOOST_TEST((rest == data.substr(0, rest.size())));
}

BOOST_FIXTURE_TEST_CASE(a_stop_requested_before_the_call_sends_nothing_and_keeps_the_stream, fixture) {
    auto f = file_with("abc");
    std::stop_source stop;
    stop.request_stop();
    vow::net::io_options o;
    o.stop = stop.get_token();
    (void)error_as<vow::cancelled_error>(wait_error(client.send_file(f, 0, 3, o)));
    BOOST_TEST(client.is_open());
    BOOST_TEST(wait(client.send_file(f, 0, 3)) == 3u);
    BOOST_TEST(wait(peer.read_exactly(3)) == "abc");
}

BOOST_FIXTURE_TEST_CASE(a_timeout_rejects_the_send_and_closes_the_stream, fixture) {
    const auto data = pattern(16 << 20, 8);
    auto f = file_with(data);
    vow::net::io_options o;
    o.timeout = 50ms;
    auto sent = pending_send(f, data.size(), o);
    (void)error_as<vow::timeout_error>(wait_error(std::move(sent)));
    BOOST_TEST(!client.is_open());
}

BOOST_FIXTURE_TEST_CASE(close_rejects_a_running_send, fixture) {
    const auto data = pattern(16 << 20, 9);
    auto f = file_with(data);
    auto sent = pending_send(f, data.size());
    client.close();
    auto err = error_as<io_error>(wait_error(std::move(sent)));
    BOOST_TEST((err.code() == std::errc::operation_canceled));
}

BOOST_FIXTURE_TEST_CASE(misuse_is_refused_at_the_call, fixture) {
    vow::fs::file closed;
    BOOST_CHECK_THROW((void)client.send_file(closed, 0, 1), vow::usage_error);
    auto device = wait(vow::fs::open(r, "/dev/null"));
    BOOST_CHECK_THROW((void)client.send_file(device, 0, 0), vow::invalid_argument);
    auto f = file_with("abc");
    wait(client.shutdown());
    BOOST_CHECK_THROW((void)client.send_file(f, 0, 3), vow::usage_error);
    vow::net::tcp_stream empty;
    BOOST_CHECK_THROW((void)empty.send_file(f, 0, 3), vow::usage_error);
}

BOOST_AUTO_TEST_SUITE_END()
