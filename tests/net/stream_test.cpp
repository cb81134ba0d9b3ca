// vow::net::stream, the handle the protocols take (vow/net/stream.hpp):
// an empty one refuses every operation, and a tcp_stream converted to one is
// the same connection (nothing allocated, same contract, same object).
#include <boost/test/unit_test.hpp>

#include <net_fixture.hpp>

#include <vow/net/stream.hpp>
#include <vow/net/tcp.hpp>

#include <optional>
#include <string>

BOOST_AUTO_TEST_SUITE(stream_test)

using namespace std::chrono_literals;
using vow::net::stream;
using vow::net::tcp_stream;

BOOST_FIXTURE_TEST_CASE(an_empty_stream_is_closed_and_every_operation_throws_usage_error,
                        vow::test::net_fixture) {
    stream s;
    BOOST_TEST(!s.is_open());
    BOOST_TEST(!s);
    BOOST_TEST(s.get() == nullptr);
    BOOST_TEST(s.buffered_input() == 0u);
    BOOST_TEST(s.peer_address().to_string() == vow::net::address{}.to_string());
    s.close();   // harmless
    BOOST_CHECK_THROW((void)s.read_some(), vow::usage_error);
    BOOST_CHECK_THROW((void)s.write("x"), vow::usage_error);
    BOOST_CHECK_THROW((void)s.read_line(), vow::usage_error);
    BOOST_CHECK_THROW((void)s.get_reactor(), vow::usage_error);
    try {
        (void)s.read_exactly(3);
        BOOST_FAIL("no exception");
    } catch (const vow::usage_error& e) {
        BOOST_TEST(std::string(e.what()).find("stream::read_exactly: the stream is empty") != std::string::npos);
    }
    // A default-constructed tcp_stream converts to an empty stream.
    stream from_empty = tcp_stream{};
    BOOST_TEST(from_empty.get() == nullptr);
}

BOOST_FIXTURE_TEST_CASE(a_tcp_stream_as_a_stream_is_the_same_connection, vow::test::stream_pair_fixture) {
    stream s = client;
    BOOST_TEST(s.get() != nullptr);
    BOOST_TEST(&s.get_reactor() == &r);
    BOOST_TEST(s.local_address().to_string() == client.local_address().to_string());
    BOOST_TEST(s.peer_address().port() == server.port());

    wait(s.write("one\ntwo"));
    BOOST_TEST(*wait(peer.read_line()) == "one");
    wait(peer.write("back\nrest"));
    BOOST_TEST(*wait(s.read_line()) == "back");
    // What the stream buffered, the tcp_stream sees: one object.
    BOOST_TEST(client.buffered_input() == s.buffered_input());
    BOOST_TEST(wait(client.read_exactly(4)) == "rest");

    // One read at a time, across both handles.
    auto pending = s.read_some();
    BOOST_TEST(client.read_pending());
    BOOST_CHECK_THROW((void)client.read_some(), vow::usage_error);
    wait(peer.write("x"));
    BOOST_TEST(wait(std::move(pending)) == "x");

    // Timeouts and end of stream keep tcp_stream's meaning.
    (void)wait_error(s.read_some({.timeout = 10ms}));
    wait(peer.shutdown());
    BOOST_TEST(wait(s.read_some()).empty());
    BOOST_TEST(!wait(s.read_line()).has_value());
    BOOST_TEST(s.at_eof());

    // Closing through the stream closes the tcp_stream.
    s.close();
    BOOST_TEST(!client.is_open());
    BOOST_TEST(!s.is_open());
}

BOOST_FIXTURE_TEST_CASE(a_stream_keeps_the_connection_open_after_the_tcp_stream_handle_is_gone,
                        vow::test::stream_pair_fixture) {
    stream s = std::exchange(client, tcp_stream{});
    BOOST_TEST(s.is_open());
    wait(peer.write("still here"));
    BOOST_TEST(wait(s.read_exactly(10)) == "still here");
    s = stream{};   // the last handle: the connection closes, the peer sees its end
    BOOST_TEST(wait(peer.read_some()).empty());
}

BOOST_AUTO_TEST_SUITE_END()
