// vow::net::tcp_stream over loopback: reads, writes, end of stream, errors.
#define BOOST_TEST_MODULE net_tcp_stream
#include <boost/test/unit_test.hpp>

#include <promise_fixture.hpp>

#include <vow/net/tcp.hpp>
#include <vow/promise/sleep.hpp>

using namespace std::chrono_literals;
using vow::net::tcp_server;
using vow::net::tcp_stream;

namespace {

// A connected pair: the client end from connect(), the server end from accept().
struct pair_fixture : vow::test::promise_fixture {
    tcp_server server{r, "127.0.0.1", 0};
    tcp_stream client, peer;
    pair_fixture() {
        auto accepted = server.accept();
        client = wait(vow::net::connect(r, "127.0.0.1", server.port()));
        peer = wait(std::move(accepted));
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(bytes_written_arrive_in_order, pair_fixture) {
    wait(client.write("hello "));
    wait(client.write("world\n"));
    BOOST_TEST(wait(peer.read_until("\n", 100)) == "hello world\n");
    BOOST_TEST(client.peer_address() == server.local_address());
    BOOST_TEST(peer.peer_address() == client.local_address());
}

BOOST_FIXTURE_TEST_CASE(read_exactly_waits_for_all_bytes, pair_fixture) {
    auto f = peer.read_exactly(10);
    wait(client.write("01234"));
    wait(vow::sleep(r, 10ms));
    wait(client.write("56789abc"));
    BOOST_TEST(wait(std::move(f)) == "0123456789");
    BOOST_TEST(wait(peer.read_some()) == "abc");
}

BOOST_FIXTURE_TEST_CASE(end_of_stream_is_an_empty_read, pair_fixture) {
    wait(client.write("last"));
    wait(client.shutdown());
    BOOST_TEST(wait(peer.read_some()) == "last");
    BOOST_TEST(wait(peer.read_some()) == "");
    BOOST_TEST(peer.at_eof());
    // The other direction still works after a half-close.
    wait(peer.write("reply"));
    BOOST_TEST(wait(client.read_exactly(5)) == "reply");
}

BOOST_FIXTURE_TEST_CASE(read_until_over_its_limit_is_a_limit_error, pair_fixture) {
    wait(client.write(std::string(100, 'x')));
    auto e = wait_error(peer.read_until("\n", 50));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::net::limit_error);
    BOOST_TEST(peer.buffered_input() >= 50u);
}
