// vow::net::tcp_stream over loopback: reads, writes, end of stream, errors,
// timeouts, cancellation, backpressure and closing.
#include <boost/test/unit_test.hpp>

#include <net_fixture.hpp>

#include <vow/net/tcp.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/sleep.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(tcp_stream_test)

using namespace std::chrono_literals;
using vow::net::io_error;
using vow::net::tcp_server;
using vow::net::tcp_stream;
using vow::test::error_as;
using vow::test::pattern;

namespace {

using pair_fixture = vow::test::stream_pair_fixture;

// A pair whose accepted end (`peer`) reads ahead at most 1 KiB.
struct small_read_ahead_fixture : vow::test::stream_pair_fixture {
    small_read_ahead_fixture() : stream_pair_fixture(options()) {}
    static vow::net::server_options options() {
        vow::net::server_options o;
        o.stream.read_ahead_limit = 1024;
        return o;
    }
};

// A read_line result as text BOOST_TEST can print: the line, or
// "<end of stream>" for std::nullopt.
std::string text(const std::optional<std::string>& line) { return line ? *line : "<end of stream>"; }

int nodelay_of(const tcp_stream& s) {
    int v = -1;
    socklen_t len = sizeof v;
    BOOST_REQUIRE(::getsockopt(s.native_handle(), IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0);
    return v;
}

}  // namespace

// ------------------------------------------------------------------ reads

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

BOOST_FIXTURE_TEST_CASE(read_exactly_zero_resolves_at_once_with_nothing, pair_fixture) {
    auto f = peer.read_exactly(0);
    BOOST_TEST(f.available());
    BOOST_TEST(wait(std::move(f)) == "");
}

BOOST_FIXTURE_TEST_CASE(read_some_waits_for_the_next_chunk_when_nothing_is_buffered, pair_fixture) {
    auto f = peer.read_some();
    settle();
    BOOST_TEST(!f.available());
    wait(client.write("chunk"));
    BOOST_TEST(wait(std::move(f)) == "chunk");
}

// read_some_into puts the bytes in the string it is given, whether they
// arrive while it waits (read straight into it) or were buffered before it
// (copied into it): the same storage comes back, so a loop that hands it
// back allocates nothing per pass.
BOOST_FIXTURE_TEST_CASE(read_some_into_gives_back_the_storage_it_was_given, pair_fixture) {
    std::string storage;
    storage.reserve(64 * 1024);
    const char* const at = storage.data();

    auto f = peer.read_some_into(std::move(storage));
    settle();
    BOOST_TEST(!f.available());
    wait(client.write("while waiting"));
    std::string got = wait(std::move(f));
    BOOST_TEST(got == "while waiting");
    BOOST_TEST(static_cast<const void*>(got.data()) == static_cast<const void*>(at));

    wait(client.write("read ahead"));
    wait_until([&] { return peer.buffered_input() == 10; });
    auto g = peer.read_some_into(std::move(got));
    BOOST_TEST(g.available());
    std::string again = wait(std::move(g));
    BOOST_TEST(again == "read ahead");
    BOOST_TEST(static_cast<const void*>(again.data()) == static_cast<const void*>(at));
    BOOST_TEST(peer.buffered_input() == 0u);
}

// Storage too small for the bytes grows; none (or a small one) reads as
// read_some does. Every byte arrives, in order, whatever the storage.
BOOST_FIXTURE_TEST_CASE(read_some_into_with_small_or_no_storage_loses_nothing, pair_fixture) {
    const std::string sent = pattern(200 * 1024, 7);
    auto w = client.write(sent);
    std::string received, buf;
    for (int pass = 0; received.size() < sent.size(); ++pass) {
        if (pass % 3 == 0)
            buf = std::string();          // none
        else if (pass % 3 == 1)
            buf.reserve(100);             // smaller than a direct read needs
        std::string chunk = wait(peer.read_some_into(std::move(buf)));
        BOOST_REQUIRE(!chunk.empty());
        received += chunk;
        buf = std::move(chunk);
    }
    wait(std::move(w));
    BOOST_TEST(received == sent);
}

// The end of stream is "", as for read_some; a stop request cancels the
// wait and the stream reads on.
BOOST_FIXTURE_TEST_CASE(read_some_into_ends_with_an_empty_string_and_can_be_cancelled, pair_fixture) {
    std::stop_source stop;
    std::string storage(8192, 'x');
    auto f = peer.read_some_into(std::move(storage), {.stop = stop.get_token()});
    stop.request_stop();
    error_as<vow::cancelled_error>(wait_error(std::move(f)));

    std::string more(8192, 'y');
    auto g = peer.read_some_into(std::move(more));
    client.close();
    BOOST_TEST(wait(std::move(g)).empty());
    BOOST_TEST(peer.at_eof());
}

BOOST_FIXTURE_TEST_CASE(bytes_sent_while_no_read_is_pending_are_read_ahead, pair_fixture) {
    wait(client.write("early bytes"));
    wait_until([&] { return peer.buffered_input() == 11; });
    // Already buffered: the read needs no wait on the socket.
    auto f = peer.read_some();
    BOOST_TEST(f.available());
    BOOST_TEST(wait(std::move(f)) == "early bytes");
    BOOST_TEST(peer.buffered_input() == 0u);
}

BOOST_FIXTURE_TEST_CASE(read_ahead_pauses_at_its_limit_and_loses_nothing, small_read_ahead_fixture) {
    // The peer reads ahead 1 KiB at most (plus the one chunk that crossed
    // the limit); the rest waits in the kernel until a read asks for it.
    const auto data = pattern(4 * 1024 * 1024, 1);
    auto w = client.write(data);
    settle(50ms);
    BOOST_TEST(peer.buffered_input() <= 1024u + 64 * 1024);
    BOOST_TEST(wait(peer.read_exactly(data.size())) == data);
    wait(std::move(w));
    // Reading resumes for the end of stream too.
    wait(client.shutdown());
    BOOST_TEST(wait(peer.read_some()) == "");
}

BOOST_FIXTURE_TEST_CASE(read_until_returns_through_the_delimiter_and_keeps_the_rest, pair_fixture) {
    wait(client.write("one\r\ntwo\r\nrest"));
    BOOST_TEST(wait(peer.read_until("\r\n", 100)) == "one\r\n");
    BOOST_TEST(wait(peer.read_until("\r\n", 100)) == "two\r\n");
    wait_until([&] { return peer.buffered_input() == 4; });
    BOOST_TEST(wait(peer.read_some()) == "rest");
}

BOOST_FIXTURE_TEST_CASE(read_until_finds_a_delimiter_split_across_chunks, pair_fixture) {
    auto f = peer.read_until("\r\n", 100);
    wait(client.write("ab\r"));
    settle();
    BOOST_TEST(!f.available());
    wait(client.write("\ncd"));
    BOOST_TEST(wait(std::move(f)) == "ab\r\n");
    BOOST_TEST(wait(peer.read_exactly(2)) == "cd");
    // A longer delimiter, split after three of its four bytes.
    auto head = peer.read_until("\r\n\r\n", 100);
    wait(client.write("GET / HTTP/1.1\r\nHost: x\r\n\r"));
    settle();
    BOOST_TEST(!head.available());
    wait(client.write("\nbody"));
    BOOST_TEST(wait(std::move(head)) == "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST(wait(peer.read_exactly(4)) == "body");
}

BOOST_FIXTURE_TEST_CASE(read_until_counts_the_delimiter_in_max_bytes, pair_fixture) {
    wait(client.write("abcd\nabcd\n"));
    wait_until([&] { return peer.buffered_input() == 10; });
    BOOST_TEST(wait(peer.read_until("\n", 5)) == "abcd\n");
    auto e = wait_error(peer.read_until("\n", 4));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::net::limit_error);
    BOOST_TEST(wait(peer.read_until("\n", 5)) == "abcd\n");
}

BOOST_FIXTURE_TEST_CASE(read_until_over_its_limit_is_a_limit_error, pair_fixture) {
    wait(client.write(std::string(100, 'x')));
    auto e = wait_error(peer.read_until("\n", 50));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::net::limit_error);
    BOOST_TEST(peer.buffered_input() >= 50u);
}

BOOST_FIXTURE_TEST_CASE(a_pending_read_until_rejects_once_max_bytes_arrive_and_keeps_them, pair_fixture) {
    auto f = peer.read_until("\n", 50);
    const auto data = std::string(60, 'y');
    wait(client.write(data));
    auto e = wait_error(std::move(f));
    BOOST_TEST(vow::test::message_of(e).find("50") != std::string::npos);
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::net::limit_error);
    // Nothing was consumed: the bytes are there for the next read.
    BOOST_TEST(wait(peer.read_exactly(60)) == data);
}

BOOST_FIXTURE_TEST_CASE(read_until_rejects_an_empty_delimiter_or_a_max_below_its_size, pair_fixture) {
    BOOST_CHECK_THROW((void)peer.read_until("", 10), vow::invalid_argument);
    BOOST_CHECK_THROW((void)peer.read_until("\r\n", 1), vow::invalid_argument);
    // Neither left a read pending.
    wait(client.write("ok\r\n"));
    BOOST_TEST(wait(peer.read_until("\r\n", 2 + 2)) == "ok\r\n");
}

BOOST_FIXTURE_TEST_CASE(a_second_concurrent_read_throws_usage_error, pair_fixture) {
    auto first = peer.read_some();
    BOOST_CHECK_THROW((void)peer.read_some(), vow::usage_error);
    BOOST_CHECK_THROW((void)peer.read_exactly(3), vow::usage_error);
    BOOST_CHECK_THROW((void)peer.read_until("\n", 10), vow::usage_error);
    BOOST_CHECK_THROW((void)peer.read_line(), vow::usage_error);
    // The first read is unharmed.
    wait(client.write("data"));
    BOOST_TEST(wait(std::move(first)) == "data");
    // And once it is done, the next read may start.
    wait(client.write("more"));
    BOOST_TEST(wait(peer.read_exactly(4)) == "more");
}

// ------------------------------------------------------------ read_line

BOOST_FIXTURE_TEST_CASE(read_line_returns_each_line_without_its_lf_or_crlf, pair_fixture) {
    wait(client.write("one\ntwo\r\nthree\n"));
    BOOST_TEST(text(wait(peer.read_line())) == "one");
    BOOST_TEST(text(wait(peer.read_line())) == "two");
    BOOST_TEST(text(wait(peer.read_line())) == "three");
    BOOST_TEST(peer.buffered_input() == 0u);
}

BOOST_FIXTURE_TEST_CASE(read_line_strips_only_one_carriage_return_and_only_before_the_newline, pair_fixture) {
    wait(client.write("a\rb\nc\r\r\n\rd\n"));
    BOOST_TEST(text(wait(peer.read_line())) == "a\rb");
    BOOST_TEST(text(wait(peer.read_line())) == "c\r");
    BOOST_TEST(text(wait(peer.read_line())) == "\rd");
}

BOOST_FIXTURE_TEST_CASE(empty_lines_are_empty_strings_not_the_end, pair_fixture) {
    wait(client.write("\n\r\n\nlast\n"));
    for (int i = 0; i < 3; ++i) {
        auto line = wait(peer.read_line());
        BOOST_REQUIRE(line.has_value());
        BOOST_TEST(line->empty());
    }
    BOOST_TEST(text(wait(peer.read_line())) == "last");
}

BOOST_FIXTURE_TEST_CASE(a_line_already_read_ahead_resolves_at_once, pair_fixture) {
    wait(client.write("ready\n"));
    wait_until([&] { return peer.buffered_input() == 6; });
    auto f = peer.read_line();
    BOOST_TEST(f.available());
    BOOST_TEST(text(wait(std::move(f))) == "ready");
}

BOOST_FIXTURE_TEST_CASE(a_line_split_across_many_segments_arrives_whole, pair_fixture) {
    auto f = peer.read_line();
    for (std::string_view piece : {"he", "l", "lo, wo", "rld", "\r"}) {
        wait(client.write(piece));
        settle(5ms);
        BOOST_TEST(!f.available());   // no '\n' yet
    }
    wait(client.write("\nnext"));
    BOOST_TEST(text(wait(std::move(f))) == "hello, world");
    auto g = peer.read_line();
    settle(5ms);
    BOOST_TEST(!g.available());
    wait(client.write(" one\n"));
    BOOST_TEST(text(wait(std::move(g))) == "next one");
}

BOOST_FIXTURE_TEST_CASE(a_line_sent_one_byte_at_a_time_arrives_whole, pair_fixture) {
    const std::string line = "GET /index.html HTTP/1.0";
    auto f = peer.read_line();
    for (char c : line + "\r\n") {
        wait(client.write(std::string(1, c)));
        wait(vow::sleep(r, 1ms));
    }
    BOOST_TEST(text(wait(std::move(f))) == line);
}

BOOST_FIXTURE_TEST_CASE(the_unterminated_last_line_is_returned_at_end_of_stream_then_nullopt, pair_fixture) {
    wait(client.write("first\nno newline"));
    wait(client.shutdown());
    BOOST_TEST(text(wait(peer.read_line())) == "first");
    BOOST_TEST(text(wait(peer.read_line())) == "no newline");
    BOOST_TEST(!wait(peer.read_line()).has_value());
    BOOST_TEST(peer.at_eof());
}

BOOST_FIXTURE_TEST_CASE(a_carriage_return_ending_the_last_line_is_dropped_at_end_of_stream, pair_fixture) {
    wait(client.write("cut short\r"));
    wait(client.shutdown());
    BOOST_TEST(text(wait(peer.read_line())) == "cut short");
    BOOST_TEST(!wait(peer.read_line()).has_value());
}

BOOST_FIXTURE_TEST_CASE(read_line_at_a_clean_end_of_stream_is_nullopt_every_time, pair_fixture) {
    wait(client.write("only\n"));
    wait(client.shutdown());
    BOOST_TEST(text(wait(peer.read_line())) == "only");
    BOOST_TEST(!wait(peer.read_line()).has_value());
    BOOST_TEST(!wait(peer.read_line()).has_value());
    BOOST_TEST(peer.at_eof());
    BOOST_TEST(peer.is_open());
    BOOST_TEST(wait(peer.read_some()) == "");
}

BOOST_FIXTURE_TEST_CASE(a_pending_read_line_resolves_with_nullopt_when_the_peer_shuts_down, pair_fixture) {
    auto f = peer.read_line();
    settle();
    BOOST_TEST(!f.available());
    wait(client.shutdown());
    BOOST_TEST(!wait(std::move(f)).has_value());
}

BOOST_FIXTURE_TEST_CASE(a_line_longer_than_max_is_a_limit_error_and_the_next_read_line_gets_the_next_line,
                        pair_fixture) {
    wait(client.write("this line is too long\nnext\n"));
    wait_until([&] { return peer.buffered_input() == 27; });
    auto e = wait_error(peer.read_line(10));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::net::limit_error);
    const auto message = vow::test::message_of(e);
    BOOST_TEST(message.find("read_line") != std::string::npos);
    BOOST_TEST(message.find("max (10 bytes)") != std::string::npos);
    BOOST_TEST(message.find("dropped") != std::string::npos);
    BOOST_TEST(peer.buffered_input() == 5u);   // "next\n": the long line is gone
    BOOST_TEST(text(wait(peer.read_line(10))) == "next");
}

BOOST_FIXTURE_TEST_CASE(max_bounds_the_line_as_returned_and_the_line_end_does_not_count, pair_fixture) {
    wait(client.write("abcde\nabcde\r\nabcdef\nok\nabcd\r\r\nabcde\rx\nend\n"));
    BOOST_TEST(text(wait(peer.read_line(5))) == "abcde");   // exactly max, LF
    BOOST_TEST(text(wait(peer.read_line(5))) == "abcde");   // exactly max, CRLF
    BOOST_CHECK_THROW(wait(peer.read_line(5)), vow::net::limit_error);   // max + 1
    BOOST_TEST(text(wait(peer.read_line(5))) == "ok");
    BOOST_TEST(text(wait(peer.read_line(5))) == "abcd\r");   // the first '\r' is part of the line
    BOOST_CHECK_THROW(wait(peer.read_line(5)), vow::net::limit_error);   // a '\r' not before '\n' counts
    BOOST_TEST(text(wait(peer.read_line(5))) == "end");
}

BOOST_FIXTURE_TEST_CASE(a_max_of_zero_allows_only_empty_lines, pair_fixture) {
    wait(client.write("\r\nx\n\n"));
    BOOST_TEST(text(wait(peer.read_line(0))) == "");
    BOOST_CHECK_THROW(wait(peer.read_line(0)), vow::net::limit_error);
    BOOST_TEST(text(wait(peer.read_line(0))) == "");
}

BOOST_FIXTURE_TEST_CASE(a_line_of_max_bytes_and_a_carriage_return_waits_for_the_byte_after_it, pair_fixture) {
    auto f = peer.read_line(5);
    wait(client.write("abcde\r"));
    settle();
    BOOST_TEST(!f.available());   // a '\n' next would make it fit
    wait(client.write("\n"));
    BOOST_TEST(text(wait(std::move(f))) == "abcde");
    auto g = peer.read_line(5);
    wait(client.write("abcde\r"));
    settle();
    BOOST_TEST(!g.available());
    wait(client.write("x"));   // it does not fit after all
    BOOST_CHECK_THROW(wait(std::move(g)), vow::net::limit_error);
    wait(client.write("yz\nafter\n"));
    BOOST_TEST(text(wait(peer.read_line(5))) == "after");
}

BOOST_FIXTURE_TEST_CASE(a_pending_read_line_rejects_as_soon_as_the_line_passes_max, pair_fixture) {
    auto f = peer.read_line(10);
    wait(client.write(std::string(11, 'x')));
    BOOST_CHECK_THROW(wait(std::move(f)), vow::net::limit_error);   // no need to wait for its '\n'
    BOOST_TEST(peer.buffered_input() == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_rest_of_a_too_long_line_arriving_later_in_pieces_is_dropped_through_its_newline,
                        pair_fixture) {
    auto f = peer.read_line(10);
    wait(client.write(std::string(20, 'x')));
    BOOST_CHECK_THROW(wait(std::move(f)), vow::net::limit_error);
    auto next = peer.read_line(10);
    for (std::string_view piece : {"yyyy", "zzzz", "still the long line"}) {
        wait(client.write(piece));
        settle(5ms);
        BOOST_TEST(!next.available());
        BOOST_TEST(peer.buffered_input() == 0u);   // dropped, not buffered
    }
    wait(client.write("...its end\r\nnext"));
    settle(5ms);
    BOOST_TEST(!next.available());
    wait(client.write(" line\n"));
    BOOST_TEST(text(wait(std::move(next))) == "next line");
}

BOOST_FIXTURE_TEST_CASE(a_too_long_line_longer_than_the_read_ahead_limit_is_dropped_and_the_next_line_is_intact,
                        small_read_ahead_fixture) {
    // 1 MiB without a '\n', then two lines: read ahead 1 KiB at a time,
    // rejected at 101 bytes, dropped through its '\n' across many reads.
    std::string junk(1024 * 1024, 'j');
    auto w = client.write(junk + "\nnext\nand more\n");
    settle(20ms);
    BOOST_TEST(peer.buffered_input() <= 1024u + 64 * 1024);
    BOOST_CHECK_THROW(wait(peer.read_line(100)), vow::net::limit_error);
    BOOST_TEST(text(wait(peer.read_line(100))) == "next");
    BOOST_TEST(text(wait(peer.read_line(100))) == "and more");
    wait(std::move(w));
}

BOOST_FIXTURE_TEST_CASE(an_endless_line_after_a_limit_error_is_dropped_as_it_arrives_and_never_buffered,
                        pair_fixture) {
    wait(client.write("0123456789+"));
    BOOST_CHECK_THROW(wait(peer.read_line(10)), vow::net::limit_error);
    // No read is pending: the stream still drops what arrives, so the
    // writer is never pushed back and the buffer never grows.
    std::size_t most = 0;
    const std::string chunk(256 * 1024, 'z');
    for (int i = 0; i < 32; ++i) {   // 8 MiB
        wait(client.write(chunk));
        most = std::max(most, peer.buffered_input());
    }
    wait_until([&] {
        most = std::max(most, peer.buffered_input());
        return client.buffered_output() == 0;
    });
    BOOST_TEST(most == 0u);
    wait(client.write("\nafter\n"));
    BOOST_TEST(text(wait(peer.read_line(10))) == "after");
}

BOOST_FIXTURE_TEST_CASE(every_read_waits_for_the_bytes_after_a_line_being_dropped, pair_fixture) {
    wait(client.write(std::string(50, 'x')));
    BOOST_CHECK_THROW(wait(peer.read_line(10)), vow::net::limit_error);
    auto some = peer.read_some();
    wait(client.write("rest of the long line"));
    settle();
    BOOST_TEST(!some.available());
    wait(client.write("\nfresh"));
    BOOST_TEST(wait(std::move(some)) == "fresh");
    // read_until and read_exactly see the same: the dropped line is gone.
    wait(client.write(std::string(30, 'y')));
    BOOST_CHECK_THROW(wait(peer.read_line(10)), vow::net::limit_error);
    auto exactly = peer.read_exactly(3);
    wait(client.write("yyy\nabc"));
    BOOST_TEST(wait(std::move(exactly)) == "abc");
}

BOOST_FIXTURE_TEST_CASE(end_of_stream_while_a_too_long_line_is_dropped_gives_nullopt, pair_fixture) {
    wait(client.write(std::string(50, 'x')));
    BOOST_CHECK_THROW(wait(peer.read_line(10)), vow::net::limit_error);
    wait(client.write("more of it, and no newline"));
    wait(client.shutdown());
    BOOST_TEST(!wait(peer.read_line(10)).has_value());
    BOOST_TEST(peer.at_eof());
}

BOOST_FIXTURE_TEST_CASE(a_too_long_unterminated_last_line_is_a_limit_error_then_nullopt, pair_fixture) {
    wait(client.write("short\n" + std::string(20, 'x')));
    wait(client.shutdown());
    BOOST_TEST(text(wait(peer.read_line(10))) == "short");
    BOOST_CHECK_THROW(wait(peer.read_line(10)), vow::net::limit_error);
    BOOST_TEST(!wait(peer.read_line(10)).has_value());
}

BOOST_FIXTURE_TEST_CASE(a_read_line_that_times_out_keeps_the_partial_line_for_the_next_read, pair_fixture) {
    vow::net::io_options o;
    o.timeout = 30ms;
    auto f = peer.read_line(64 * 1024, o);
    wait(client.write("par"));
    auto e = wait_error(std::move(f));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::timeout_error);
    BOOST_TEST(vow::test::message_of(e).find("read_line") != std::string::npos);
    wait(client.write("tial\n"));
    BOOST_TEST(text(wait(peer.read_line())) == "partial");
}

BOOST_FIXTURE_TEST_CASE(stopping_a_pending_read_line_rejects_with_cancelled_error_and_loses_nothing,
                        pair_fixture) {
    std::stop_source stop;
    vow::net::io_options o;
    o.stop = stop.get_token();
    auto f = peer.read_line(64 * 1024, o);
    wait(client.write("half a "));
    wait_until([&] { return peer.buffered_input() == 7; });
    stop.request_stop();
    auto e = wait_error(std::move(f));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
    BOOST_TEST(vow::test::message_of(e).find("read_line") != std::string::npos);
    wait(client.write("line\n"));
    BOOST_TEST(text(wait(peer.read_line())) == "half a line");
    // With a token stopped already, a line the buffer holds is still
    // returned (as by every read); with none, the read rejects at once.
    std::stop_source stopped;
    stopped.request_stop();
    o.stop = stopped.get_token();
    wait(client.write("waiting\n"));
    wait_until([&] { return peer.buffered_input() == 8; });
    BOOST_TEST(text(wait(peer.read_line(64 * 1024, o))) == "waiting");
    BOOST_CHECK_THROW(wait(peer.read_line(64 * 1024, o)), vow::cancelled_error);
}

BOOST_FIXTURE_TEST_CASE(a_read_line_pending_when_the_peer_resets_rejects_with_connection_reset, pair_fixture) {
    auto f = peer.read_line();
    wait(client.write("no end"));
    wait_until([&] { return peer.buffered_input() == 6; });
    reset(client);
    auto e = error_as<io_error>(wait_error(std::move(f)));
    BOOST_TEST(e.code() == std::errc::connection_reset);
}

BOOST_FIXTURE_TEST_CASE(close_rejects_a_pending_read_line_with_operation_canceled, pair_fixture) {
    auto f = peer.read_line();
    peer.close();
    auto e = error_as<io_error>(wait_error(std::move(f)));
    BOOST_TEST(e.code() == std::errc::operation_canceled);
    auto later = error_as<io_error>(wait_error(peer.read_line()));
    BOOST_TEST(later.code() == std::errc::operation_canceled);
}

BOOST_FIXTURE_TEST_CASE(read_line_mixes_with_read_some_read_exactly_and_read_until, pair_fixture) {
    wait(client.write("HEAD\r\n12345line two\nkey: value\r\n\r\ntail"));
    wait_until([&] { return peer.buffered_input() == 38; });
    BOOST_TEST(text(wait(peer.read_line())) == "HEAD");
    BOOST_TEST(wait(peer.read_exactly(5)) == "12345");
    BOOST_TEST(text(wait(peer.read_line())) == "line two");
    BOOST_TEST(wait(peer.read_until(": ", 100)) == "key: ");
    BOOST_TEST(text(wait(peer.read_line())) == "value");
    BOOST_TEST(text(wait(peer.read_line())) == "");
    BOOST_TEST(wait(peer.read_some()) == "tail");
    wait(client.write("after some\n"));
    BOOST_TEST(text(wait(peer.read_line())) == "after some");
}

BOOST_FIXTURE_TEST_CASE(a_hundred_thousand_lines_come_out_in_order_and_then_the_end, pair_fixture) {
    constexpr int n = 100000;
    std::string all;
    for (int i = 0; i < n; ++i)
        all += "line " + std::to_string(i) + (i % 3 == 0 ? "\r\n" : "\n");
    auto w = client.write(all);
    auto shut = client.shutdown();
    int count = 0;
    bool in_order = true;
    std::function<vow::future<void>()> next = [&]() -> vow::future<void> {
        return peer.read_line(32).then([&](std::optional<std::string> line) -> vow::future<void> {
            if (!line)
                return vow::make_ready_future(r);
            in_order = in_order && *line == "line " + std::to_string(count);
            ++count;
            return next();
        });
    };
    wait(next(), 60s);
    BOOST_TEST(count == n);
    BOOST_TEST(in_order);
    wait(std::move(w));
    wait(std::move(shut));
}

// ------------------------------------------------------- end of stream

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

BOOST_FIXTURE_TEST_CASE(end_of_stream_repeats_for_every_later_read_some, pair_fixture) {
    wait(client.shutdown());
    BOOST_TEST(wait(peer.read_some()) == "");
    BOOST_TEST(wait(peer.read_some()) == "");
    BOOST_TEST(peer.at_eof());
    BOOST_TEST(peer.is_open());
}

BOOST_FIXTURE_TEST_CASE(a_peer_half_close_drains_buffered_bytes_before_end_of_stream, pair_fixture) {
    const auto sent = pattern(200 * 1024, 2);
    wait(client.write(sent));
    wait(client.shutdown());
    wait_until([&] { return peer.buffered_input() > 0; });
    BOOST_TEST(!peer.at_eof());   // bytes are still unread
    BOOST_TEST(read_to_end(peer) == sent);
    BOOST_TEST(peer.at_eof());
    // Our direction is still open: a large reply arrives whole.
    const auto reply = pattern(3 * 1024 * 1024, 3);
    auto w = peer.write(reply);
    BOOST_TEST(wait(client.read_exactly(reply.size())) == reply);
    wait(std::move(w));
    wait(peer.shutdown());
    BOOST_TEST(wait(client.read_some()) == "");
}

BOOST_FIXTURE_TEST_CASE(read_exactly_at_end_of_stream_is_an_incomplete_read_holding_the_partial_bytes, pair_fixture) {
    wait(client.write("abc"));
    wait(client.shutdown());
    auto e = error_as<vow::net::incomplete_read>(wait_error(peer.read_exactly(10)));
    BOOST_TEST(e.partial() == "abc");
    BOOST_TEST(std::string(e.what()).find("3 of 10") != std::string::npos);
    // The partial bytes were consumed: what is left is end of stream.
    BOOST_TEST(wait(peer.read_some()) == "");
}

BOOST_FIXTURE_TEST_CASE(read_until_at_end_of_stream_is_an_incomplete_read_holding_the_partial_bytes, pair_fixture) {
    auto f = peer.read_until("\n", 100);
    wait(client.write("no newline"));
    wait(client.shutdown());
    auto e = error_as<vow::net::incomplete_read>(wait_error(std::move(f)));
    BOOST_TEST(e.partial() == "no newline");
    BOOST_TEST(peer.at_eof());
}

BOOST_FIXTURE_TEST_CASE(dropping_the_last_handle_closes_the_connection, pair_fixture) {
    tcp_stream copy = client;
    client = tcp_stream();
    BOOST_TEST(copy.is_open());   // a copy still holds it
    copy = tcp_stream();
    BOOST_TEST(wait(peer.read_some()) == "");
}

// ------------------------------------------------------------- resets

BOOST_FIXTURE_TEST_CASE(a_read_pending_when_the_peer_resets_rejects_with_connection_reset, pair_fixture) {
    auto f = peer.read_exactly(100);
    wait(client.write("ten bytes!"));
    wait_until([&] { return peer.buffered_input() == 10; });
    reset(client);
    auto e = error_as<io_error>(wait_error(std::move(f)));
    BOOST_TEST(e.code() == std::errc::connection_reset);
    BOOST_TEST(std::string(e.what()).find("read from") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(bytes_buffered_before_a_reset_are_still_read_then_the_reset_is_reported, pair_fixture) {
    wait(client.write("abc"));
    wait_until([&] { return peer.buffered_input() == 3; });
    reset(client);
    settle();
    BOOST_TEST(wait(peer.read_some()) == "abc");
    auto e = error_as<io_error>(wait_error(peer.read_some()));
    BOOST_TEST(e.code() == std::errc::connection_reset);
    BOOST_TEST(!peer.at_eof());   // a reset is not an end of stream
}

BOOST_FIXTURE_TEST_CASE(a_write_after_the_peer_reset_rejects_with_io_error, pair_fixture) {
    reset(client);
    // The reset may be seen by the read-ahead, or by the write's own send.
    auto e = error_as<io_error>(wait_error(peer.read_some()));
    BOOST_TEST(e.code() == std::errc::connection_reset);
    auto w = error_as<io_error>(wait_error(peer.write("too late")));
    BOOST_TEST((w.code() == std::errc::connection_reset || w.code() == std::errc::broken_pipe));
}

// --------------------------------------------- timeouts and cancellation

BOOST_FIXTURE_TEST_CASE(a_read_that_times_out_rejects_with_timeout_error_and_keeps_later_bytes, pair_fixture) {
    vow::net::io_options o;
    o.timeout = 20ms;
    auto e = wait_error(peer.read_exactly(4, o));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::timeout_error);
    BOOST_TEST(vow::test::message_of(e).find("read_exactly") != std::string::npos);
    BOOST_TEST(peer.is_open());
    wait(client.write("late"));
    BOOST_TEST(wait(peer.read_exactly(4)) == "late");
}

BOOST_FIXTURE_TEST_CASE(a_read_that_times_out_keeps_the_bytes_that_did_arrive, pair_fixture) {
    vow::net::io_options o;
    o.timeout = 30ms;
    auto f = peer.read_exactly(6, o);
    wait(client.write("abc"));
    BOOST_CHECK_THROW(wait(std::move(f)), vow::timeout_error);
    wait(client.write("def"));
    BOOST_TEST(wait(peer.read_exactly(6)) == "abcdef");
}

BOOST_FIXTURE_TEST_CASE(a_read_deadline_rejects_with_timeout_error, pair_fixture) {
    vow::net::io_options o;
    o.deadline = vow::reactor::clock::now() + 20ms;
    BOOST_CHECK_THROW(wait(peer.read_some(o)), vow::timeout_error);
    // A deadline that has passed already, with nothing buffered.
    o.deadline = vow::reactor::clock::now() - 1s;
    BOOST_CHECK_THROW(wait(peer.read_until("\n", 10, o)), vow::timeout_error);
}

BOOST_FIXTURE_TEST_CASE(with_a_timeout_and_a_deadline_the_earlier_applies, pair_fixture) {
    vow::net::io_options o;
    o.timeout = 1h;
    o.deadline = vow::reactor::clock::now() + 20ms;
    BOOST_CHECK_THROW(wait(peer.read_some(o)), vow::timeout_error);
    o.timeout = 20ms;
    o.deadline = vow::reactor::clock::now() + 1h;
    BOOST_CHECK_THROW(wait(peer.read_some(o)), vow::timeout_error);
}

BOOST_FIXTURE_TEST_CASE(stopping_a_pending_read_rejects_with_cancelled_error_and_loses_nothing, pair_fixture) {
    std::stop_source stop;
    vow::net::io_options o;
    o.stop = stop.get_token();
    auto f = peer.read_exactly(5, o);
    wait(client.write("ab"));
    wait_until([&] { return peer.buffered_input() == 2; });
    stop.request_stop();
    auto e = wait_error(std::move(f));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
    BOOST_TEST(vow::test::message_of(e).find("read_exactly") != std::string::npos);
    wait(client.write("cde"));
    BOOST_TEST(wait(peer.read_exactly(5)) == "abcde");
}

BOOST_FIXTURE_TEST_CASE(stop_requested_from_another_thread_cancels_a_read, pair_fixture) {
    std::stop_source stop;
    vow::net::io_options o;
    o.stop = stop.get_token();
    auto f = peer.read_some(o);
    std::thread t([&] { stop.request_stop(); });
    t.join();
    BOOST_CHECK_THROW(wait(std::move(f)), vow::cancelled_error);
}

BOOST_FIXTURE_TEST_CASE(a_read_with_a_token_already_stopped_rejects_with_cancelled_error, pair_fixture) {
    std::stop_source stop;
    stop.request_stop();
    vow::net::io_options o;
    o.stop = stop.get_token();
    BOOST_CHECK_THROW(wait(peer.read_some(o)), vow::cancelled_error);
    BOOST_CHECK_THROW(wait(peer.read_until("\n", 10, o)), vow::cancelled_error);
}

BOOST_FIXTURE_TEST_CASE(a_read_that_completes_first_is_not_affected_by_its_timer_or_token, pair_fixture) {
    std::stop_source stop;
    vow::net::io_options o;
    o.stop = stop.get_token();
    o.timeout = 30ms;
    auto f = peer.read_some(o);
    wait(client.write("in time"));
    BOOST_TEST(wait(std::move(f)) == "in time");
    stop.request_stop();
    settle(50ms);   // the timer's time passes too: nothing may fire
    wait(client.write("next"));
    BOOST_TEST(wait(peer.read_some()) == "next");
}

// -------------------------------------------------- writes, backpressure

BOOST_FIXTURE_TEST_CASE(writes_beyond_high_water_wait_until_the_peer_reads, pair_fixture) {
    client.set_write_limits(64 * 1024, 64 * 1024 * 1024);
    std::string sent;
    auto pending = write_until_pending(client, sent);
    BOOST_TEST(client.buffered_output() > 64u * 1024);
    settle();
    BOOST_TEST(!pending.available());   // still nobody reads: still waiting
    BOOST_TEST(wait(peer.read_exactly(sent.size())) == sent);
    wait(std::move(pending));
    wait_until([&] { return client.buffered_output() == 0; });
}

BOOST_FIXTURE_TEST_CASE(a_write_that_fits_under_high_water_resolves_at_once, pair_fixture) {
    // With high_water 0 the writes fill the kernel and queue some; then the
    // mark is raised above what is queued.
    client.set_write_limits(0, 64 * 1024 * 1024);
    std::string sent;
    auto pending = write_until_pending(client, sent);
    const auto queued = client.buffered_output();
    BOOST_REQUIRE(queued > 0u);
    client.set_write_limits(queued + 1024, 64 * 1024 * 1024);
    auto small = client.write("x");
    sent += "x";
    BOOST_TEST(small.available());   // queued, and under the mark: resolved
    wait(std::move(small));
    BOOST_TEST(wait(peer.read_exactly(sent.size())) == sent);
    wait(std::move(pending));
}

BOOST_FIXTURE_TEST_CASE(a_writer_that_ignores_write_futures_is_stopped_at_max_write_buffer, pair_fixture) {
    const std::size_t max = 1024 * 1024;
    client.set_write_limits(16 * 1024, max);
    std::string sent;
    std::vector<vow::future<void>> pending;
    std::exception_ptr refused;
    for (std::uint32_t i = 0; i < 100000 && !refused; ++i) {
        auto chunk = pattern(64 * 1024, i);
        const auto before = client.buffered_output();
        auto f = client.write(chunk);
        BOOST_REQUIRE(client.buffered_output() <= max);
        if (f.failed()) {
            refused = wait_error(std::move(f));
            BOOST_TEST(client.buffered_output() == before);   // nothing of it was queued
        } else {
            sent += chunk;
            pending.push_back(std::move(f));
        }
    }
    BOOST_REQUIRE(refused);
    auto e = error_as<vow::net::limit_error>(refused);
    BOOST_TEST(std::string(e.what()).find("max_write_buffer") != std::string::npos);
    // The stream is still good: every accepted byte arrives, and nothing of
    // the refused write does.
    BOOST_TEST(wait(peer.read_exactly(sent.size())) == sent);
    wait_all(pending);
    wait(client.shutdown());
    BOOST_TEST(wait(peer.read_some()) == "");
}

BOOST_FIXTURE_TEST_CASE(set_write_limits_rejects_high_water_above_max_or_a_zero_max, pair_fixture) {
    BOOST_CHECK_THROW(client.set_write_limits(2048, 1024), vow::invalid_argument);
    BOOST_CHECK_THROW(client.set_write_limits(0, 0), vow::invalid_argument);
    BOOST_CHECK_NO_THROW(client.set_write_limits(1024, 1024));
    BOOST_CHECK_NO_THROW(client.set_write_limits(0, 1));
}

BOOST_FIXTURE_TEST_CASE(stopping_a_blocked_write_rejects_with_cancelled_error_and_keeps_its_bytes, pair_fixture) {
    client.set_write_limits(0, 64 * 1024 * 1024);
    std::string sent;
    auto first = write_until_pending(client, sent);
    std::stop_source stop;
    vow::net::io_options o;
    o.stop = stop.get_token();
    const auto more = pattern(100 * 1024, 99);
    auto blocked = client.write(more, o);
    sent += more;
    BOOST_REQUIRE(!blocked.available());
    stop.request_stop();
    auto e = wait_error(std::move(blocked));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
    BOOST_TEST(vow::test::message_of(e).find("write") != std::string::npos);
    // Cancelling gave up the wait, not the bytes: they were already queued,
    // and the stream goes on sending them in order.
    BOOST_TEST(wait(peer.read_exactly(sent.size())) == sent);
    wait(std::move(first));
}

BOOST_FIXTURE_TEST_CASE(a_blocked_write_times_out_with_timeout_error, pair_fixture) {
    client.set_write_limits(0, 64 * 1024 * 1024);
    std::string sent;
    auto first = write_until_pending(client, sent);
    vow::net::io_options o;
    o.timeout = 20ms;
    auto blocked = client.write("tail", o);
    sent += "tail";
    BOOST_CHECK_THROW(wait(std::move(blocked)), vow::timeout_error);
    BOOST_TEST(wait(peer.read_exactly(sent.size())) == sent);
    wait(std::move(first));
}

BOOST_FIXTURE_TEST_CASE(a_blocked_write_and_a_pending_shutdown_reject_when_the_peer_resets, pair_fixture) {
    client.set_write_limits(0, 64 * 1024 * 1024);
    std::string sent;
    auto write = write_until_pending(client, sent);
    auto shut = client.shutdown();
    BOOST_REQUIRE(!shut.available());
    reset(peer);
    // Seen by the read-ahead (ECONNRESET) or by the next send (EPIPE).
    auto we = error_as<io_error>(wait_error(std::move(write)));
    BOOST_TEST((we.code() == std::errc::connection_reset || we.code() == std::errc::broken_pipe));
    auto se = error_as<io_error>(wait_error(std::move(shut)));
    BOOST_TEST(se.code() == we.code());
    BOOST_TEST(client.buffered_output() == 0u);   // nothing left to send to anyone
}

BOOST_FIXTURE_TEST_CASE(stopping_a_pending_shutdown_rejects_with_cancelled_error_and_the_fin_still_follows_the_bytes,
                        pair_fixture) {
    client.set_write_limits(0, 64 * 1024 * 1024);
    std::string sent;
    auto write = write_until_pending(client, sent);
    std::stop_source stop;
    vow::net::io_options o;
    o.stop = stop.get_token();
    auto shut = client.shutdown(o);
    BOOST_REQUIRE(!shut.available());
    stop.request_stop();
    BOOST_CHECK_THROW(wait(std::move(shut)), vow::cancelled_error);
    // Only the wait was given up: the stream stays shut for writing, and the
    // peer still gets every byte, then end of stream.
    BOOST_CHECK_THROW((void)client.write("x"), vow::usage_error);
    BOOST_TEST((read_to_end(peer) == sent));
    wait(std::move(write));
}

BOOST_FIXTURE_TEST_CASE(a_pending_shutdown_times_out_with_timeout_error, pair_fixture) {
    client.set_write_limits(0, 64 * 1024 * 1024);
    std::string sent;
    auto write = write_until_pending(client, sent);
    vow::net::io_options o;
    o.timeout = 20ms;
    BOOST_CHECK_THROW(wait(client.shutdown(o)), vow::timeout_error);
    BOOST_TEST((read_to_end(peer) == sent));
    wait(std::move(write));
}

BOOST_FIXTURE_TEST_CASE(write_after_shutdown_throws_usage_error, pair_fixture) {
    wait(client.shutdown());
    BOOST_CHECK_THROW((void)client.write("x"), vow::usage_error);
    BOOST_CHECK_THROW((void)client.shutdown(), vow::usage_error);
    BOOST_TEST(wait(peer.read_some()) == "");
}

BOOST_FIXTURE_TEST_CASE(shutdown_sends_every_queued_byte_before_end_of_stream, pair_fixture) {
    client.set_write_limits(0, 64 * 1024 * 1024);
    std::string sent;
    auto pending = write_until_pending(client, sent);
    const auto tail = pattern(1024 * 1024, 7);
    auto w = client.write(tail);
    sent += tail;
    auto shut = client.shutdown();
    settle();
    BOOST_TEST(!shut.available());   // output is still queued, so no FIN yet
    BOOST_TEST(client.buffered_output() > 0u);
    // A slow reader: a small read, then a pause, until end of stream.
    std::string got;
    for (;;) {
        auto chunk = wait(peer.read_some());
        if (chunk.empty())
            break;
        got += chunk;
        wait(vow::sleep(r, 1ms));
    }
    BOOST_TEST(got.size() == sent.size());
    BOOST_TEST((got == sent));
    wait(std::move(shut));
    wait(std::move(pending));
    wait(std::move(w));
    BOOST_TEST(client.buffered_output() == 0u);
}

BOOST_FIXTURE_TEST_CASE(streams_have_tcp_nodelay_on_by_default_and_it_can_be_turned_off, pair_fixture) {
    BOOST_TEST(nodelay_of(client) != 0);
    BOOST_TEST(nodelay_of(peer) != 0);
    client.set_nodelay(false);
    BOOST_TEST(nodelay_of(client) == 0);
}

// --------------------------------------------------------------- close

BOOST_FIXTURE_TEST_CASE(close_rejects_pending_read_write_and_shutdown_with_operation_canceled, pair_fixture) {
    client.set_write_limits(0, 64 * 1024 * 1024);
    std::string sent;
    auto write = write_until_pending(client, sent);
    auto shut = client.shutdown();
    auto read = client.read_some();
    BOOST_REQUIRE(!write.available());
    BOOST_REQUIRE(!shut.available());
    client.close();
    BOOST_TEST(!client.is_open());
    BOOST_TEST(!client);
    BOOST_TEST(client.native_handle() == -1);
    BOOST_TEST(client.buffered_output() == 0u);
    auto re = error_as<io_error>(wait_error(std::move(read)));
    BOOST_TEST(re.code() == std::errc::operation_canceled);
    auto we = error_as<io_error>(wait_error(std::move(write)));
    BOOST_TEST(we.code() == std::errc::operation_canceled);
    auto se = error_as<io_error>(wait_error(std::move(shut)));
    BOOST_TEST(se.code() == std::errc::operation_canceled);
}

BOOST_FIXTURE_TEST_CASE(close_is_idempotent_and_later_operations_reject_as_closed, pair_fixture) {
    client.close();
    client.close();
    BOOST_TEST(!client.is_open());
    auto re = error_as<io_error>(wait_error(client.read_some()));
    BOOST_TEST(re.code() == std::errc::operation_canceled);
    auto we = error_as<io_error>(wait_error(client.write("x")));
    BOOST_TEST(we.code() == std::errc::operation_canceled);
    auto se = error_as<io_error>(wait_error(client.shutdown()));
    BOOST_TEST(se.code() == std::errc::operation_canceled);
    BOOST_TEST(client.local_address().empty());
    BOOST_TEST(&client.get_reactor() == &r);
    // The peer sees an orderly end of stream: nothing was left unread.
    BOOST_TEST(wait(peer.read_some()) == "");
}

BOOST_FIXTURE_TEST_CASE(operations_after_close_reject_as_closed_even_after_end_of_stream, pair_fixture) {
    wait(client.shutdown());
    BOOST_TEST(wait(peer.read_some()) == "");
    peer.close();
    auto re = error_as<io_error>(wait_error(peer.read_some()));
    BOOST_TEST(re.code() == std::errc::operation_canceled);
}

BOOST_FIXTURE_TEST_CASE(operations_after_close_reject_as_closed_even_after_a_reset, pair_fixture) {
    reset(client);
    auto first = error_as<io_error>(wait_error(peer.read_some()));
    BOOST_TEST(first.code() == std::errc::connection_reset);
    peer.close();
    auto re = error_as<io_error>(wait_error(peer.read_some()));
    BOOST_TEST(re.code() == std::errc::operation_canceled);
    auto we = error_as<io_error>(wait_error(peer.write("x")));
    BOOST_TEST(we.code() == std::errc::operation_canceled);
    auto se = error_as<io_error>(wait_error(peer.shutdown()));
    BOOST_TEST(se.code() == std::errc::operation_canceled);
}

BOOST_FIXTURE_TEST_CASE(dropping_the_last_handle_rejects_pending_operations_with_operation_canceled, pair_fixture) {
    auto read = peer.read_some();
    peer = tcp_stream();
    auto e = error_as<io_error>(wait_error(std::move(read)));
    BOOST_TEST(e.code() == std::errc::operation_canceled);
    BOOST_TEST(wait(client.read_some()) == "");
}

BOOST_FIXTURE_TEST_CASE(closing_one_copy_closes_the_connection_for_every_copy, pair_fixture) {
    tcp_stream copy = client;
    copy.close();
    BOOST_TEST(!client.is_open());
    BOOST_TEST(wait(peer.read_some()) == "");
}

// ------------------------------------------- empty streams and adopt()

BOOST_FIXTURE_TEST_CASE(operations_on_a_default_constructed_stream_throw_usage_error, vow::test::net_fixture) {
    tcp_stream s;
    BOOST_TEST(!s.is_open());
    BOOST_TEST(!s);
    BOOST_TEST(!s.at_eof());
    BOOST_TEST(s.buffered_input() == 0u);
    BOOST_TEST(s.buffered_output() == 0u);
    BOOST_TEST(s.native_handle() == -1);
    BOOST_TEST(s.local_address().empty());
    BOOST_TEST(s.peer_address().empty());
    BOOST_CHECK_NO_THROW(s.close());
    BOOST_CHECK_THROW((void)s.read_some(), vow::usage_error);
    BOOST_CHECK_THROW((void)s.read_exactly(1), vow::usage_error);
    BOOST_CHECK_THROW((void)s.read_until("\n", 10), vow::usage_error);
    BOOST_CHECK_THROW((void)s.read_line(), vow::usage_error);
    BOOST_CHECK_THROW((void)s.write("x"), vow::usage_error);
    BOOST_CHECK_THROW((void)s.shutdown(), vow::usage_error);
    BOOST_CHECK_THROW((void)s.get_reactor(), vow::usage_error);
    BOOST_CHECK_THROW(s.set_nodelay(true), vow::usage_error);
    BOOST_CHECK_THROW(s.set_write_limits(1, 2), vow::usage_error);
}

BOOST_FIXTURE_TEST_CASE(adopt_with_a_negative_fd_throws_invalid_argument, vow::test::net_fixture) {
    BOOST_CHECK_THROW((void)tcp_stream::adopt(r, -1), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(adopt_takes_over_a_connected_socket, vow::test::net_fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto accepted = server.accept();
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd >= 0);
    auto to = server.local_address();
    BOOST_REQUIRE(::connect(fd, to.native(), to.native_size()) == 0);   // blocking: the kernel's backlog answers
    auto s = tcp_stream::adopt(r, fd);
    BOOST_TEST(s.native_handle() == fd);
    BOOST_TEST((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    BOOST_TEST(s.peer_address() == to);
    auto peer = wait(std::move(accepted));
    wait(s.write("adopted"));
    BOOST_TEST(wait(peer.read_exactly(7)) == "adopted");
    wait(peer.write("back"));
    BOOST_TEST(wait(s.read_exactly(4)) == "back");
}

BOOST_FIXTURE_TEST_CASE(adopt_with_bad_stream_options_throws_invalid_argument_and_closes_the_fd,
                        vow::test::net_fixture) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd >= 0);
    vow::net::stream_options o;
    o.high_water = 2048;
    o.max_write_buffer = 1024;
    BOOST_CHECK_THROW((void)tcp_stream::adopt(r, fd, o), vow::invalid_argument);
    errno = 0;
    BOOST_TEST(::fcntl(fd, F_GETFD) == -1);
    BOOST_TEST(errno == EBADF);
}

BOOST_AUTO_TEST_CASE(the_reactor_closes_streams_and_servers_that_outlive_it) {
    // Declared before the reactor, so destroyed after it.
    std::optional<tcp_server> server;
    tcp_stream client, peer;
    int fds[2] = {-1, -1};
    {
        vow::reactor r;
        auto watchdog = r.call_later(20s, [&r] { r.stop(); });   // a hang fails (stalled_error), never hangs
        server.emplace(r, "127.0.0.1", 0);
        auto accepted = server->accept();
        client = vow::run_until_complete(r, vow::net::connect(r, "127.0.0.1", server->port()));
        peer = vow::run_until_complete(r, std::move(accepted));
        fds[0] = client.native_handle();
        fds[1] = peer.native_handle();
        // A read left pending, with a timeout that never gets to fire.
        vow::net::io_options o;
        o.timeout = 1h;
        (void)peer.read_some(o);
        watchdog.cancel();
    }
    BOOST_TEST(!server->is_open());
    BOOST_TEST(!client.is_open());
    BOOST_TEST(!peer.is_open());
    for (int fd : fds) {
        errno = 0;
        BOOST_TEST(::fcntl(fd, F_GETFD) == -1);
        BOOST_TEST(errno == EBADF);
    }
    // Closing what the reactor already closed is harmless.
    client.close();
    server->close();
}

BOOST_AUTO_TEST_SUITE_END()  // tcp_stream_test
