// vow::net::http_client with streamed bodies: request bodies from a producer
// or a file region (request_options::body_source), response bodies handed
// to a sink with backpressure (request_options::on_body), and trailers.
// The peers are raw tcp_servers in-process that parse requests with the
// library's own parser and write exactly the responses a test needs, so a
// test can stall, close mid-body or count what was taken.
//
// The two 256 MiB transfers measure the peak resident growth and run in the
// plain build only (memory_probe.hpp says why).
#include <vow/fs/file.hpp>
#include <vow/net/http/client.hpp>
#include <vow/net/http/server.hpp>
#include <vow/net/tcp.hpp>
#include <vow/promise/loop.hpp>
#include <vow/promise/sleep.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>
#include <memory_probe.hpp>
#include <net/http/parser.hpp>
#include <promise_fixture.hpp>
#include <temp_dir.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

BOOST_AUTO_TEST_SUITE(http_client_stream_test)

using namespace std::chrono_literals;
using vow::net::http_body_source;
using vow::net::http_client;
using vow::net::http_request;
using vow::net::http_response;
using vow::net::request_options;
using vow::net::tcp_server;
using vow::net::tcp_stream;
using chunk = std::optional<std::string>;
using vow::test::message_of;

namespace {

// Reads one request (head and body, de-chunked) with the library's parser.
vow::future<http_request> read_request(tcp_stream c) {
    struct state {
        vow::net::detail::request_parser parser{
            vow::net::detail::http_limits{64 * 1024, 100, 64 << 20}};
        std::string buf;
        http_request req;
    };
    auto st = std::make_shared<state>();
    return vow::repeat(c.get_reactor(),
                       [c, st]() mutable {
                           return c.read_some().then([st](std::string bytes) {
                               if (bytes.empty())
                                   throw std::runtime_error(
                                       "the client closed in the middle of a request");
                               st->buf += bytes;
                               auto res = st->parser.parse(st->buf, st->req);
                               if (res.status == vow::net::detail::parse_status::error)
                                   throw std::runtime_error(res.error_reason);
                               return res.status == vow::net::detail::parse_status::complete
                                          ? vow::stop_iteration::yes
                                          : vow::stop_iteration::no;
                           });
                       })
        .then([st] { return std::move(st->req); });
}

// A hand-written HTTP server: each connection hands its streams to
// `on_connection`, which answers as the test needs. By default, requests are
// read one after another and answered by `answer` (what the buffered client
// tests do with a raw peer).
class peer {
public:
    using answer_fn = std::function<vow::future<void>(tcp_stream, http_request)>;

    peer(vow::reactor& r, std::function<void(tcp_stream)> on_connection)
        : server_(r, "127.0.0.1", 0), st_(std::make_shared<state>()) {
        server_.on_connection(
            [w = std::weak_ptr<state>(st_), fn = std::move(on_connection)](tcp_stream c) {
                if (auto st = w.lock()) {
                    st->held.push_back(c);
                    ++st->connections;
                    fn(std::move(c));
                }
            });
    }
    peer(vow::reactor& r, answer_fn answer)
        : peer(r, [answer](tcp_stream c) { serve(c, answer); }) {}
    peer(const peer&) = delete;
    peer& operator=(const peer&) = delete;
    ~peer() {
        for (auto& c : st_->held)
            c.close();
    }

    [[nodiscard]] std::string url(std::string_view path = "/") const {
        return fmt::format("http://127.0.0.1:{}{}", server_.port(), path);
    }
    [[nodiscard]] int connections() const { return st_->connections; }

private:
    struct state {
        std::vector<tcp_stream> held;
        int connections = 0;
    };

    static void serve(tcp_stream c, answer_fn answer) {
        (void)vow::repeat(c.get_reactor(), [c, answer]() {
            return read_request(c).then([c, answer](http_request req) {
                return answer(c, std::move(req)).then([] { return vow::stop_iteration::no; });
            });
        }).catch_([](std::exception_ptr) {});  // the client went away
    }

    tcp_server server_;
    std::shared_ptr<state> st_;
};

// Answers with the request's body, and says how it was framed.
vow::future<void> echo(tcp_stream c, http_request req) {
    auto framing =
        req.headers.get("Transfer-Encoding")
            ? std::string("chunked")
            : fmt::format("length {}", req.headers.get("Content-Length").value_or("none"));
    return c.write(fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Framing: {}\r\nX-Method: {}\r\n\r\n{}",
        req.body.size(), framing, req.method, req.body));
}

// A producer that gives `parts` in turn, each on a later turn of the loop,
// then the end; counts its calls in `*calls` if given.
std::function<vow::future<chunk>()> produce(vow::reactor& r, std::vector<std::string> parts,
                                            std::size_t* calls = nullptr) {
    return [&r, parts = std::move(parts), at = std::size_t{0}, calls]() mutable {
        if (calls != nullptr)
            ++*calls;
        chunk next = at < parts.size() ? chunk(parts[at]) : chunk();
        ++at;
        return vow::sleep(r, 1ms).then(
            [next = std::move(next)]() mutable { return std::move(next); });
    };
}

template <class E>
bool holds(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const E&) {
        return true;
    } catch (...) {
        return false;
    }
}

struct fixture : vow::test::promise_fixture {
    http_client client{r};
    vow::test::temp_dir dir;

    std::string write_file(const std::string& name, const std::string& bytes) const {
        auto path = dir.at(name);
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    // PUT `url` with `src` as the body.
    vow::future<http_response> put(const std::string& url, http_body_source src) {
        request_options ro;
        ro.body_source = std::move(src);
        return client.request("PUT", url, {}, std::move(ro));
    }

    // GET `url` with the body sunk into `into`.
    // Runs the loop until `ready()` holds, then `settle` longer: a stall is
    // measured from when the transfer began, however loaded the machine.
    void run_until(const std::function<bool()>& ready, std::chrono::milliseconds settle) {
        wait(vow::repeat(r, [&] {
            return vow::sleep(r, 5ms).then(
                [&] { return ready() ? vow::stop_iteration::yes : vow::stop_iteration::no; });
        }));
        wait(vow::sleep(r, settle));
    }

    vow::future<http_response> get_into(const std::string& url, std::string& into) {
        request_options ro;
        ro.on_body = [this, &into](std::string part) {
            into += part;
            return vow::make_ready_future(r);
        };
        return client.get(url, std::move(ro));
    }
};

// 0, 1, ... 250, 0, ...: a pattern a test can check anywhere.
char pattern_byte(std::uint64_t at) { return static_cast<char>(at % 251); }

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_producer_with_a_length_is_sent_with_content_length, fixture) {
    peer p(r, echo);
    std::size_t calls = 0;
    auto res = wait(put(p.url(), {produce(r, {"abc", "", "defg"}, &calls), 7}));
    BOOST_TEST(res.body == "abcdefg");
    BOOST_TEST(*res.headers.get("X-Framing") == "length 7");
    BOOST_TEST(calls == 4u);  // three chunks (one empty, skipped) and the end
}

BOOST_FIXTURE_TEST_CASE(a_producer_without_a_length_is_sent_chunked, fixture) {
    peer p(r, echo);
    auto res = wait(put(p.url(), {produce(r, {"hello ", "streamed ", "world"})}));
    BOOST_TEST(res.body == "hello streamed world");
    BOOST_TEST(*res.headers.get("X-Framing") == "chunked");
    // The connection is whole after a streamed body: the next request reuses it.
    wait(put(p.url(), {produce(r, {"again"})}).then([](http_response) {}));
}

BOOST_FIXTURE_TEST_CASE(a_file_region_sends_exactly_those_bytes, fixture) {
    std::string content;
    for (std::uint64_t i = 0; i < 1'000'000; ++i)
        content += pattern_byte(i);
    auto path = write_file("region", content);
    auto f = std::make_shared<vow::fs::file>(wait(vow::fs::open(r, path)));
    peer p(r, echo);
    http_body_source src;
    src.file = f;
    src.offset = 1000;
    src.length = 600'000;  // more than one read of the file
    auto res = wait(put(p.url(), src));
    BOOST_TEST(res.body.size() == 600'000u);
    BOOST_TEST((res.body == content.substr(1000, 600'000)));
    BOOST_TEST(*res.headers.get("X-Framing") == "length 600000");
    // The client let go of its copy of the file.
    BOOST_TEST(f.use_count() == 2);  // f and src
}

BOOST_FIXTURE_TEST_CASE(file_body_sends_the_whole_file, fixture) {
    auto path = write_file("whole", "the whole file\n");
    peer p(r, echo);
    auto res = wait(vow::net::file_body(r, path).then(
        [&](http_body_source src) { return put(p.url(), std::move(src)); }));
    BOOST_TEST(res.body == "the whole file\n");
    auto e = wait_error(vow::net::file_body(r, dir.at("missing")));
    BOOST_TEST(holds<vow::fs::fs_error>(e), message_of(e));
}

BOOST_FIXTURE_TEST_CASE(a_string_body_and_a_body_source_together_throw_invalid_argument, fixture) {
    request_options ro;
    ro.body_source = {produce(r, {"x"})};
    BOOST_CHECK_THROW((void)client.request("PUT", "http://127.0.0.1:1/", "body", ro),
                      vow::invalid_argument);
    request_options no_length;
    no_length.body_source.file =
        std::make_shared<vow::fs::file>(wait(vow::fs::open(r, write_file("f", "x"))));
    BOOST_CHECK_THROW((void)client.request("PUT", "http://127.0.0.1:1/", {}, no_length),
                      vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(
    a_producer_that_rejects_fails_the_request_with_its_error_and_closes_the_connection, fixture) {
    peer p(r, echo);
    http_body_source src{[this] {
        return vow::make_exception_future<chunk>(r, std::runtime_error("no more data"));
    }};
    auto e = wait_error(put(p.url(), src));
    BOOST_TEST(message_of(e) == "no more data");
    BOOST_TEST(client.idle_connections() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_producer_that_gives_more_than_its_length_fails_with_http_error, fixture) {
    peer p(r, echo);
    auto e = wait_error(put(p.url(), {produce(r, {"abc", "defg"}), 5}));
    BOOST_TEST(holds<vow::net::http_error>(e));
    BOOST_TEST(message_of(e).find("gave more than its length of 5 bytes") != std::string::npos,
               message_of(e));
    BOOST_TEST(client.idle_connections() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_producer_that_ends_before_its_length_fails_with_http_error, fixture) {
    peer p(r, echo);
    auto e = wait_error(put(p.url(), {produce(r, {"abc"}), 10}));
    BOOST_TEST(holds<vow::net::http_error>(e));
    BOOST_TEST(message_of(e).find("ended after 3 of its 10 bytes") != std::string::npos,
               message_of(e));
    // The server still waits for 7 bytes on that connection: a new one serves the next request.
    auto res = wait(put(p.url(), {produce(r, {"ok"}), 2}));
    BOOST_TEST(res.body == "ok");
    BOOST_TEST(p.connections() == 2);
}

BOOST_FIXTURE_TEST_CASE(a_producer_body_is_not_retried_on_a_stale_connection_and_a_file_body_is,
                        fixture) {
    // Requests 2 and 4 find the pooled connection closed under them.
    int requests = 0;
    peer p(r, [&](tcp_stream c, http_request req) {
        if (++requests % 2 == 0) {
            c.close();
            return vow::make_ready_future(r);
        }
        return echo(c, std::move(req));
    });
    wait(client.get(p.url()).then([](http_response) {}));
    auto e = wait_error(put(p.url(), {produce(r, {"once"})}));
    BOOST_TEST(holds<vow::net::http_error>(e), message_of(e));
    BOOST_TEST(p.connections() == 1);
    wait(client.get(p.url()).then([](http_response) {}));
    http_body_source src;
    src.file =
        std::make_shared<vow::fs::file>(wait(vow::fs::open(r, write_file("twice", "twice"))));
    src.length = 5;
    auto res = wait(put(p.url(), src));
    BOOST_TEST(res.body == "twice");
    BOOST_TEST(p.connections() == 3);
}

BOOST_FIXTURE_TEST_CASE(a_307_with_a_producer_body_fails_and_a_303_drops_it, fixture) {
    peer p(r, [](tcp_stream c, http_request req) {
        if (req.path == "/landing")
            return echo(c, std::move(req));
        auto code = req.path == "/303" ? 303 : 307;
        return c.write(fmt::format(
            "HTTP/1.1 {} Moved\r\nLocation: /landing\r\nContent-Length: 5\r\n\r\nmoved", code));
    });
    auto e = wait_error(put(p.url("/307"), {produce(r, {"body"})}));
    BOOST_TEST(holds<vow::net::http_error>(e));
    BOOST_TEST(message_of(e).find("cannot be sent twice") != std::string::npos, message_of(e));
    auto res = wait(put(p.url("/303"), {produce(r, {"body"})}));
    BOOST_TEST(*res.headers.get("X-Method") == "GET");
    BOOST_TEST(res.body == "");
}

BOOST_FIXTURE_TEST_CASE(a_307_with_a_file_body_sends_the_file_again, fixture) {
    auto f =
        std::make_shared<vow::fs::file>(wait(vow::fs::open(r, write_file("again", "file body"))));
    peer p(r, [](tcp_stream c, http_request req) {
        if (req.path == "/landing")
            return echo(c, std::move(req));
        return c.write("HTTP/1.1 307 Moved\r\nLocation: /landing\r\nContent-Length: 0\r\n\r\n");
    });
    http_body_source src;
    src.file = f;
    src.length = 9;
    auto res = wait(put(p.url("/307"), src));
    BOOST_TEST(res.body == "file body");
}

BOOST_FIXTURE_TEST_CASE(a_sink_gets_the_body_in_order_and_the_trailers_are_kept, fixture) {
    peer p(r, [](tcp_stream c, http_request) {
        return c.write(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n"
            "X-Checksum: 42\r\nX-Other:  a b \r\n\r\n");
    });
    std::string sunk;
    auto res = wait(get_into(p.url(), sunk));
    BOOST_TEST(sunk == "hello world");
    BOOST_TEST(res.body == "");
    BOOST_TEST(res.trailers.size() == 2u);
    BOOST_TEST(*res.trailers.get("x-checksum") == "42");
    BOOST_TEST(*res.trailers.get("X-Other") == "a b");
    // The connection was read to the end of the message: it is reused.
    wait(get_into(p.url(), sunk).then([](http_response) {}));
    BOOST_TEST(p.connections() == 1);
}

BOOST_FIXTURE_TEST_CASE(a_buffered_response_keeps_its_trailers_too, fixture) {
    peer p(r, [](tcp_stream c, http_request) {
        return c.write(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 7\r\n\r\n");
    });
    auto res = wait(client.get(p.url()));
    BOOST_TEST(res.body == "ok");
    BOOST_TEST(*res.trailers.get("X-Sum") == "7");
}

BOOST_FIXTURE_TEST_CASE(too_many_trailer_fields_fail_with_limit_error, fixture) {
    peer p(r, [](tcp_stream c, http_request) {
        std::string trailers;
        for (int i = 0; i < 101; ++i)
            trailers += fmt::format("X-T{}: v\r\n", i);
        return c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" +
                       trailers + "\r\n");
    });
    auto e = wait_error(client.get(p.url()));
    BOOST_TEST(holds<vow::net::limit_error>(e), message_of(e));
}

BOOST_FIXTURE_TEST_CASE(a_followed_redirect_body_is_dropped_not_sunk, fixture) {
    peer p(r, [](tcp_stream c, http_request req) {
        if (req.path == "/landing")
            return c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
        return c.write(
            "HTTP/1.1 302 Found\r\nLocation: /landing\r\nContent-Length: 5\r\n\r\nmoved");
    });
    std::string sunk;
    auto res = wait(get_into(p.url("/from"), sunk));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(sunk == "final");
    BOOST_TEST(p.connections() == 1);  // the redirect's body was read, the connection kept
}

BOOST_FIXTURE_TEST_CASE(a_slow_sink_stalls_the_server, fixture) {
    constexpr std::uint64_t total = 32 << 20;
    constexpr std::size_t piece = 64 * 1024;
    std::uint64_t accepted = 0;  // bytes the server's writes handed to the kernel
    peer p(r, [&](tcp_stream c, http_request) {
        return c.write(fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", total))
            .then([&, c]() mutable {
                return vow::repeat(r, [&, c]() mutable {
                    if (accepted == total)
                        return vow::make_ready_future(r, vow::stop_iteration::yes);
                    return c.write(std::string(piece, 'x')).then([&] {
                        accepted += piece;
                        return vow::stop_iteration::no;
                    });
                });
            });
    });
    std::optional<vow::promise<void>> held;
    std::uint64_t received = 0;
    int calls = 0, outstanding = 0, max_outstanding = 0;
    request_options ro;
    ro.on_body = [&](std::string part) {
        ++calls;
        received += part.size();
        max_outstanding = std::max(max_outstanding, ++outstanding);
        if (calls > 1) {
            --outstanding;
            return vow::make_ready_future(r);
        }
        held.emplace(r);  // the first chunk is held until the test lets go
        return held->get_future().then([&] { --outstanding; });
    };
    auto res = client.get(p.url(), std::move(ro));
    run_until([&] { return calls > 0; }, 300ms);
    BOOST_TEST(calls == 1);
    // What the server could write is what the kernel's socket buffers and
    // the client's read-ahead hold: far less than the body.
    BOOST_TEST(accepted < total / 2, accepted);
    held->resolve();
    auto done = wait(std::move(res));
    BOOST_TEST(done.status == 200);
    BOOST_TEST(received == total);
    BOOST_TEST(accepted == total);
    BOOST_TEST(max_outstanding == 1);
}

BOOST_FIXTURE_TEST_CASE(a_slow_server_stalls_the_producer, fixture) {
    constexpr std::uint64_t total = 32 << 20;
    constexpr std::size_t piece = 64 * 1024;
    std::uint64_t produced = 0;
    std::optional<tcp_stream> conn;
    std::string head;
    peer p(r, [&](tcp_stream c) {
        conn = c;
        (void)c.read_until("\r\n\r\n", 64 * 1024).then([&](std::string h) { head = std::move(h); });
    });
    http_body_source src{[&] {
                             if (produced == total)
                                 return vow::make_ready_future(r, chunk());
                             produced += piece;
                             return vow::make_ready_future(r, chunk(std::string(piece, 'u')));
                         },
                         total};
    auto res = put(p.url(), src);
    run_until([&] { return !head.empty(); }, 300ms);
    BOOST_TEST(head.find("Content-Length: 33554432") != std::string::npos, head);
    BOOST_TEST(produced < total / 2, produced);
    // Now the server reads it all (what is buffered counts from the head's end) and answers.
    std::uint64_t got = 0;
    auto drained = vow::repeat(r, [&] {
        return conn->read_some().then([&](std::string bytes) {
            got += bytes.size();
            return got >= total ? vow::stop_iteration::yes : vow::stop_iteration::no;
        });
    });
    wait(std::move(drained));
    BOOST_TEST(got == total);
    wait(conn->write("HTTP/1.1 204 No Content\r\n\r\n"));
    BOOST_TEST(wait(std::move(res)).status == 204);
    BOOST_TEST(produced == total);
}

namespace {

// Bytes this process has read through read(2)/pread(2) so far (every
// thread: the pool's workers too), from /proc/self/io's rchar.
std::uint64_t bytes_read_by_process() {
    std::ifstream io("/proc/self/io");
    std::string key;
    std::uint64_t value = 0;
    while (io >> key >> value)
        if (key == "rchar:")
            return value;
    BOOST_FAIL("no rchar in /proc/self/io");
    return 0;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_slow_server_stalls_the_file_reader, fixture) {
    // The same as above with a file body: backpressure reaches the preads
    // on the pool, so a server that does not read keeps the file unread.
    constexpr std::uint64_t total = 32 << 20;
    auto path = write_file("big-up", std::string(total, 'F'));
    std::optional<tcp_stream> conn;
    std::string head;
    peer p(r, [&](tcp_stream c) {
        conn = c;
        (void)c.read_until("\r\n\r\n", 64 * 1024).then([&](std::string h) { head = std::move(h); });
    });
    auto src = wait(vow::net::file_body(r, path));
    const auto before = bytes_read_by_process();
    auto res = put(p.url(), src);
    run_until([&] { return !head.empty(); }, 300ms);
    BOOST_TEST(head.find("Content-Length: 33554432") != std::string::npos, head);
    const auto read_while_stalled = bytes_read_by_process() - before;
    BOOST_TEST(read_while_stalled < total / 2, read_while_stalled);
    std::uint64_t got = 0;
    wait(vow::repeat(r, [&] {
        return conn->read_some().then([&](std::string bytes) {
            got += bytes.size();
            return got >= total ? vow::stop_iteration::yes : vow::stop_iteration::no;
        });
    }));
    BOOST_TEST(got == total);
    wait(conn->write("HTTP/1.1 204 No Content\r\n\r\n"));
    BOOST_TEST(wait(std::move(res)).status == 204);
}

BOOST_FIXTURE_TEST_CASE(a_peer_closing_mid_body_rejects_with_http_error_and_lets_go_of_the_sink,
                        fixture) {
    peer p(r, [](tcp_stream c, http_request) {
        return c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            .then([c]() mutable { c.close(); });
    });
    auto out = std::make_shared<vow::fs::file>(wait(
        vow::fs::open(r, dir.at("out"), vow::fs::open_mode::write | vow::fs::open_mode::create)));
    request_options ro;
    ro.on_body = vow::net::file_sink(out);
    auto e = wait_error(client.get(p.url(), std::move(ro)));
    BOOST_TEST(holds<vow::net::http_error>(e));
    BOOST_TEST(message_of(e).find("the connection closed after 10 of 100 body bytes") !=
                   std::string::npos,
               message_of(e));
    BOOST_TEST(out.use_count() == 1);  // the client dropped the sink, and its copy of the file
}

BOOST_FIXTURE_TEST_CASE(a_peer_closing_mid_upload_rejects_and_lets_go_of_the_file, fixture) {
    auto f = std::make_shared<vow::fs::file>(
        wait(vow::fs::open(r, write_file("up", std::string(4 << 20, 'f')))));
    peer p(r, [](tcp_stream c) {
        (void)c.read_until("\r\n\r\n", 64 * 1024).then([c](std::string) mutable { c.close(); });
    });
    http_body_source src;
    src.file = f;
    src.length = 4 << 20;
    auto e = wait_error(put(p.url(), std::move(src)));
    BOOST_TEST((holds<vow::net::io_error>(e) || holds<vow::net::http_error>(e)), message_of(e));
    BOOST_TEST(f.use_count() == 1);
}

BOOST_FIXTURE_TEST_CASE(
    a_sink_that_rejects_fails_the_request_with_its_error_and_closes_the_connection, fixture) {
    peer p(r, [](tcp_stream c, http_request) {
        return c.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody");
    });
    request_options ro;
    ro.on_body = [this](std::string) {
        return vow::make_exception_future<void>(r, std::runtime_error("disk full"));
    };
    auto e = wait_error(client.get(p.url(), std::move(ro)));
    BOOST_TEST(message_of(e) == "disk full");
    BOOST_TEST(client.idle_connections() == 0u);
    std::string sunk;
    wait(get_into(p.url(), sunk).then([](http_response) {}));
    BOOST_TEST(sunk == "body");
    BOOST_TEST(p.connections() == 2);
}

BOOST_FIXTURE_TEST_CASE(destroying_the_client_mid_upload_rejects_and_lets_go_of_the_producer,
                        fixture) {
    peer p(r, echo);
    auto sentinel = std::make_shared<int>(0);
    std::optional<vow::promise<chunk>> held;
    vow::future<http_response> res = [&] {
        http_client local(r);
        request_options ro;
        ro.body_source = {[&, sentinel] {
            held.emplace(r);
            return held->get_future();
        }};
        auto f = local.request("PUT", p.url(), {}, std::move(ro));
        run_until([&] { return held.has_value(); }, 0ms);
        return f;
    }();
    auto e = wait_error(std::move(res));
    BOOST_TEST(holds<vow::net::io_error>(e), message_of(e));
    BOOST_TEST(sentinel.use_count() == 1);
    held->resolve(chunk("late"));  // its continuation sees the request over
    wait(vow::sleep(r, 5ms));
}

// ---------------------------------------------------------------------------
// 256 MiB each way, against a peer that generates or discards the bytes.

namespace {

constexpr std::uint64_t big = 256 << 20;

void report_growth(const char* what, long kib) {
    BOOST_TEST_MESSAGE(fmt::format("{}: peak resident growth {} KiB", what, kib));
    BOOST_TEST(kib < 64 * 1024);
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_256_mib_upload_from_a_file_stays_under_64_mib_resident, fixture,
                        *vow::test::memory_tests()) {
    auto path = dir.at("big-up");
    {
        std::ofstream out(path, std::ios::binary);
        std::string block(1 << 20, '\0');
        for (std::uint64_t at = 0; at < big; at += block.size()) {
            for (std::size_t i = 0; i < block.size(); ++i)
                block[i] = pattern_byte(at + i);
            out.write(block.data(), static_cast<std::streamsize>(block.size()));
        }
    }
    std::uint64_t got = 0, wrong = 0;
    peer p(r, [&](tcp_stream c) {
        (void)c.read_until("\r\n\r\n", 64 * 1024)
            .then([&, c](std::string) mutable {
                return vow::repeat(r, [&, c]() mutable {
                    return c.read_some().then([&](std::string bytes) {
                        for (char b : bytes)  // a sample would do; every byte costs little here
                            wrong += b != pattern_byte(got++) ? 1 : 0;
                        return got >= big || bytes.empty() ? vow::stop_iteration::yes
                                                           : vow::stop_iteration::no;
                    });
                });
            })
            .then([c]() mutable { return c.write("HTTP/1.1 204 No Content\r\n\r\n"); })
            .catch_([](std::exception_ptr) {});
    });
    vow::test::memory_probe probe;
    request_options ro;
    ro.timeout = 110s;
    ro.body_source = wait(vow::net::file_body(r, path));
    auto res = wait(client.request("PUT", p.url(), {}, std::move(ro)), 110s);
    BOOST_TEST(res.status == 204);
    BOOST_TEST(got == big);
    BOOST_TEST(wrong == 0u);
    report_growth("256 MiB upload from a file", probe.growth_kib());
}

BOOST_FIXTURE_TEST_CASE(a_256_mib_download_to_a_file_stays_under_64_mib_resident, fixture,
                        *vow::test::memory_tests()) {
    constexpr std::size_t piece = 256 * 1024;
    peer p(r, [&](tcp_stream c, http_request) {
        auto sent = std::make_shared<std::uint64_t>(0);
        return c.write(fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", big))
            .then([&, c, sent]() mutable {
                return vow::repeat(r, [&, c, sent]() mutable {
                    if (*sent == big)
                        return vow::make_ready_future(r, vow::stop_iteration::yes);
                    std::string block(piece, '\0');
                    for (std::size_t i = 0; i < piece; ++i)
                        block[i] = pattern_byte(*sent + i);
                    *sent += piece;
                    return c.write(block).then([] { return vow::stop_iteration::no; });
                });
            });
    });
    auto path = dir.at("big-down");
    auto out = std::make_shared<vow::fs::file>(
        wait(vow::fs::open(r, path, vow::fs::open_mode::write | vow::fs::open_mode::create)));
    vow::test::memory_probe probe;
    request_options ro;
    ro.timeout = 110s;
    ro.on_body = vow::net::file_sink(out);
    auto res = wait(client.get(p.url(), std::move(ro)), 110s);
    auto growth = probe.growth_kib();
    BOOST_TEST(res.status == 200);
    BOOST_TEST(std::filesystem::file_size(path) == big);
    std::ifstream in(path, std::ios::binary);
    std::string block(1 << 20, '\0');
    std::uint64_t wrong = 0;
    for (std::uint64_t at = 0; at < big; at += block.size()) {
        in.read(block.data(), static_cast<std::streamsize>(block.size()));
        for (std::size_t i = 0; i < block.size(); i += 4093)  // a sample of every block
            wrong += block[i] != pattern_byte(at + i) ? 1 : 0;
    }
    BOOST_TEST(wrong == 0u);
    report_growth("256 MiB download to a file", growth);
}

// An upload through vow's own server, to a streaming route: both ends
// streamed, so neither holds the body.
BOOST_FIXTURE_TEST_CASE(a_64_mib_upload_to_a_streaming_route_arrives_whole_in_bounded_memory, fixture,
                        *vow::test::memory_tests()) {
    constexpr std::uint64_t size = 64 << 20;
    constexpr std::size_t piece = 256 * 1024;
    // FNV-1a over the bytes, as they are produced and as they arrive.
    auto fnv = [](std::uint64_t h, std::string_view bytes) {
        for (char b : bytes)
            h = (h ^ static_cast<unsigned char>(b)) * 0x100000001b3ULL;
        return h;
    };
    std::uint64_t sent_hash = 0xcbf29ce484222325ULL, got_hash = sent_hash, got = 0;
    vow::net::http_server server(r, "127.0.0.1", 0);
    server.route("PUT", "/up", {.stream_body = true}, [&](const http_request& req) {
        return vow::repeat(r, [&] {
                   return req.body_source.next().then([&](chunk c) {
                       if (!c)
                           return vow::stop_iteration::yes;
                       got += c->size();
                       got_hash = fnv(got_hash, *c);
                       return vow::stop_iteration::no;
                   });
               })
            .then([&] { return http_response::text(std::to_string(got)); });
    });
    std::uint64_t produced = 0;
    http_body_source src;
    src.length = size;
    src.next = [&]() {
        if (produced == size)
            return vow::make_ready_future(r, chunk());
        std::string block(piece, '\0');
        for (std::size_t i = 0; i < piece; ++i)
            block[i] = pattern_byte(produced + i);
        produced += piece;
        sent_hash = fnv(sent_hash, block);
        return vow::make_ready_future(r, chunk(std::move(block)));
    };
    vow::test::memory_probe probe;
    request_options ro;
    ro.timeout = 110s;
    ro.body_source = std::move(src);
    auto res = wait(client.request("PUT", fmt::format("http://127.0.0.1:{}/up", server.port()), {}, std::move(ro)),
                    110s);
    auto growth = probe.growth_kib();
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.body == std::to_string(size));
    BOOST_TEST(got == size);
    BOOST_TEST(got_hash == sent_hash);
    BOOST_TEST_MESSAGE(fmt::format("64 MiB upload to a streaming route: peak resident growth {} KiB", growth));
    BOOST_TEST(growth < 16 * 1024);
}

BOOST_AUTO_TEST_SUITE_END()
