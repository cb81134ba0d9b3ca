// vow::net::http_client over loopback: against an in-process vow http_server
// for the well-behaved cases, and against raw tcp_server peers that send
// exactly the bytes a test needs (malformed, interim, chunked, reset, silent)
// for the rest. Every error is checked by type and, for I/O, by errno.
#include <boost/test/unit_test.hpp>

#include <promise_fixture.hpp>

#include <vow/net/http/client.hpp>
#include <vow/net/http/server.hpp>
#include <vow/net/tcp.hpp>
#include <vow/promise/sleep.hpp>

#include <fmt/format.h>

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

BOOST_AUTO_TEST_SUITE(http_client_test)

using namespace std::chrono_literals;
using vow::net::http_client;
using vow::net::http_client_options;
using vow::net::http_request;
using vow::net::http_response;
using vow::net::http_server;
using vow::net::request_options;
using vow::net::tcp_server;
using vow::net::tcp_stream;

namespace {

// What a raw peer does with one request: writes `bytes` (and `later`, on a
// later turn of the loop, if set), then keeps the connection, half-closes
// it (FIN), resets it (RST), or stays silent (writing nothing more and never
// closing).
struct reply {
    enum class then { keep, close, reset, hang };
    std::string bytes;
    then after = then::keep;
    std::string later = {};
};

// A hand-written HTTP server. Each connection reads request heads (and
// Content-Length bodies) one after another and asks `script(connection,
// request, head)` what to do. Connections stay open until the peer is
// destroyed, unless the script closes them.
class raw_peer {
public:
    using script = std::function<reply(int conn, int req, const std::string& head)>;

    raw_peer(vow::reactor& r, script s)
        : server_(r, "127.0.0.1", 0), st_(std::make_shared<state>()) {
        st_->fn = std::move(s);
        server_.on_connection([w = std::weak_ptr<state>(st_)](tcp_stream c) {
            if (auto st = w.lock()) {
                st->held.push_back(c);
                serve(w, std::move(c), st->connections++, 0);
            }
        });
    }
    raw_peer(const raw_peer&) = delete;
    raw_peer& operator=(const raw_peer&) = delete;
    ~raw_peer() {
        for (auto& c : st_->held)
            c.close();
    }

    [[nodiscard]] std::string url(std::string_view path = "/") const {
        return fmt::format("http://127.0.0.1:{}{}", server_.port(), path);
    }
    [[nodiscard]] int connections() const { return st_->connections; }
    [[nodiscard]] const std::vector<std::string>& heads() const { return st_->heads; }

private:
    struct state {
        script fn;
        std::vector<tcp_stream> held;
        std::vector<std::string> heads;
        int connections = 0;
    };

    static std::size_t content_length(const std::string& head) {
        std::string lower(head);
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        auto at = lower.find("\r\ncontent-length:");
        return at == std::string::npos ? 0 : std::stoul(lower.substr(at + 17));
    }

    static void serve(std::weak_ptr<state> w, tcp_stream c, int conn, int req) {
        (void)c.read_until("\r\n\r\n", 64 * 1024)
            .then([c](std::string head) mutable {
                auto n = content_length(head);
                return c.read_exactly(n).then(
                    [head = std::move(head)](std::string body) { return head + body; });
            })
            .then([w, c, conn, req](std::string request) mutable {
                auto st = w.lock();
                if (!st)
                    return;
                st->heads.push_back(request);
                reply rp = st->fn(conn, req, request);
                if (rp.after == reply::then::hang && rp.bytes.empty())
                    return;
                auto wrote =
                    rp.bytes.empty() ? vow::make_ready_future(c.get_reactor()) : c.write(rp.bytes);
                if (!rp.later.empty())
                    wrote = std::move(wrote)
                                .then([c] { return vow::sleep(c.get_reactor(), 20ms); })
                                .then([c, later = std::move(rp.later)]() mutable {
                                    return c.write(later);
                                });
                (void)std::move(wrote)
                    .then([w, c, conn, req, after = rp.after]() mutable {
                        switch (after) {
                            case reply::then::keep:
                                serve(w, c, conn, req + 1);
                                break;
                            case reply::then::close:
                                (void)c.shutdown().catch_([](std::exception_ptr) {});
                                break;
                            case reply::then::reset: {
                                ::linger lg{1, 0};  // close with RST
                                ::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &lg,
                                             sizeof lg);
                                c.close();
                                break;
                            }
                            case reply::then::hang:
                                break;
                        }
                    })
                    .catch_([](std::exception_ptr) {});
            })
            .catch_([](std::exception_ptr) {});  // the client went away
    }

    tcp_server server_;
    std::shared_ptr<state> st_;
};

std::string ok_response(std::string_view body, std::string_view extra = "") {
    return fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{}\r\n{}", body.size(), extra,
                       body);
}

// The client against an in-process vow server with a few routes.
struct client_fixture : vow::test::promise_fixture {
    http_server server{r, "127.0.0.1", 0};
    int in_flight = 0, max_in_flight = 0;

    client_fixture() {
        server.get("/hello", [](const http_request&) { return http_response::text("hello"); });
        // Echoes what arrived: method, body and a few headers.
        auto echo = [](const http_request& req) {
            auto res = http_response::text(fmt::format("{}:{}", req.method, req.body));
            for (const char* h : {"X-Token", "X-Default", "User-Agent", "Host", "Content-Length",
                                  "Content-Type", "Authorization"})
                if (auto v = req.headers.get(h))
                    res.headers.set(fmt::format("Echo-{}", h), std::string(*v));
            return res;
        };
        for (const char* m : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"}) {
            server.route(m, "/echo", echo);
            server.route(m, "/landing", echo);
            server.route(m, "/redirect/{code}", [](const http_request& req) {
                http_response res;
                res.status = std::stoi(std::string(req.param("code")));
                res.headers.set("Location", "/landing");
                res.body = "moved";
                return res;
            });
        }
        server.get("/status/{code}", [](const http_request& req) {
            return http_response::text("status", std::stoi(std::string(req.param("code"))));
        });
        server.get("/loop", [](const http_request&) {
            http_response res;
            res.status = 302;
            res.headers.set("Location", "/loop");
            return res;
        });
        server.get("/big",
                   [](const http_request&) { return http_response::text(std::string(1000, 'b')); });
        server.get("/close", [](const http_request&) {
            auto res = http_response::text("bye");
            res.headers.set("Connection", "close");
            return res;
        });
        server.get("/slow", [this](const http_request&) {
            max_in_flight = std::max(max_in_flight, ++in_flight);
            return vow::sleep(r, 20ms).then([this] {
                --in_flight;
                return http_response::text("slow");
            });
        });
    }

    [[nodiscard]] std::string url(std::string_view path) const {
        return fmt::format("http://127.0.0.1:{}{}", server.port(), path);
    }

    // Waits (running the reactor) until `pred` holds; fails after a generous limit.
    template <class P>
    void eventually(P pred, std::chrono::milliseconds limit = 10s) {
        auto until = std::chrono::steady_clock::now() + limit;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > until)
                BOOST_FAIL("the condition did not come true in time");
            wait(vow::sleep(r, 5ms));
        }
    }

    // The error of `f`, which must fail with E; returned for further checks.
    template <class E>
    E expect_error(vow::future<http_response> f) {
        auto e = wait_error(std::move(f));
        try {
            std::rethrow_exception(e);
        } catch (const E& err) {
            return err;
        } catch (const std::exception& other) {
            BOOST_FAIL("the wrong error: " << other.what());
        }
        throw std::logic_error("unreachable");
    }
};

bool has(const std::exception& e, std::string_view text) {
    return std::string_view(e.what()).find(text) != std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------
// Requests and responses

BOOST_FIXTURE_TEST_CASE(get_returns_the_status_headers_and_body, client_fixture) {
    http_client client(r);
    auto res = wait(client.get(url("/hello")));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.reason == "OK");
    BOOST_TEST(res.body == "hello");
    BOOST_TEST(res.headers.get("Content-Type").value_or("") == "text/plain; charset=utf-8");
    BOOST_TEST(res.headers.get("Content-Length").value_or("") == "5");
}

BOOST_FIXTURE_TEST_CASE(post_sends_the_body_with_its_length, client_fixture) {
    http_client client(r);
    auto res = wait(client.post(url("/echo"), "a=1&b=2"));
    BOOST_TEST(res.body == "POST:a=1&b=2");
    BOOST_TEST(res.headers.get("Echo-Content-Length").value_or("") == "7");
    auto empty = wait(client.post(url("/echo"), ""));
    BOOST_TEST(empty.body == "POST:");
    BOOST_TEST(empty.headers.get("Echo-Content-Length").value_or("") == "0");
}

BOOST_FIXTURE_TEST_CASE(request_sends_a_custom_method_and_headers, client_fixture) {
    http_client_options o;
    o.default_headers.add("X-Default", "from-options");
    o.default_headers.add("X-Token", "overridden");
    http_client client(r, o);
    request_options ro;
    ro.headers.add("X-Token", "secret");
    auto res = wait(client.request("PUT", url("/echo"), "payload", ro));
    BOOST_TEST(res.body == "PUT:payload");
    BOOST_TEST(res.headers.get("Echo-X-Token").value_or("") == "secret");
    BOOST_TEST(res.headers.get("Echo-X-Default").value_or("") == "from-options");
    BOOST_TEST(res.headers.get("Echo-User-Agent").value_or("").starts_with("vow/"));
    BOOST_TEST(res.headers.get("Echo-Host").value_or("") ==
               fmt::format("127.0.0.1:{}", server.port()));
    BOOST_TEST(wait(client.request("DELETE", url("/echo"))).body == "DELETE:");
    BOOST_TEST(wait(client.request("PATCH", url("/echo"), "p")).body == "PATCH:p");
}

BOOST_FIXTURE_TEST_CASE(a_non_200_status_is_a_response_not_an_error, client_fixture) {
    http_client client(r);
    for (int code : {201, 204, 400, 404, 418, 500, 503}) {
        auto res = wait(client.get(url(fmt::format("/status/{}", code))));
        BOOST_TEST(res.status == code);
    }
    BOOST_TEST(wait(client.get(url("/nowhere"))).status == 404);
    BOOST_TEST(client.connections_opened() == 1u);
}

BOOST_FIXTURE_TEST_CASE(head_returns_the_headers_without_a_body_and_keeps_the_connection,
                        client_fixture) {
    http_client client(r);
    auto res = wait(client.request("HEAD", url("/big")));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.body.empty());
    BOOST_TEST(res.headers.get("Content-Length").value_or("") == "1000");
    // No body was expected, so none is left on the connection to confuse the next response.
    BOOST_TEST(wait(client.get(url("/hello"))).body == "hello");
    BOOST_TEST(client.connections_opened() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_chunked_response_is_dechunked_and_the_connection_reused, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"};
    });
    http_client client(r);
    auto a = wait(client.get(peer.url()));
    BOOST_TEST(a.status == 200);
    BOOST_TEST(a.body == "hello world");
    auto b = wait(client.get(peer.url()));
    BOOST_TEST(b.body == "hello world");
    BOOST_TEST(client.connections_opened() == 1u);
    BOOST_TEST(peer.connections() == 1);
}

BOOST_FIXTURE_TEST_CASE(a_response_without_framing_is_read_until_close, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it",
                     reply::then::close};
    });
    http_client client(r);
    auto res = wait(client.get(peer.url()));
    BOOST_TEST(res.body == "all of it");
    BOOST_TEST(client.idle_connections() == 0u);
}

BOOST_FIXTURE_TEST_CASE(interim_100_and_103_responses_are_skipped, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{
            "HTTP/1.1 100 Continue\r\n\r\n"
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
            ok_response("final")};
    });
    http_client client(r);
    auto res = wait(client.post(peer.url(), "body"));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.body == "final");
    BOOST_TEST(!res.headers.contains("Link"));
}

BOOST_FIXTURE_TEST_CASE(an_interim_response_in_a_read_of_its_own_is_skipped_too, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 100 Continue\r\n\r\n", reply::then::keep, ok_response("final")};
    });
    http_client client(r);
    auto res = wait(client.post(peer.url(), "body"));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.body == "final");
    // Only an interim response is no response: the request times out.
    raw_peer silent(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 100 Continue\r\n\r\n", reply::then::hang};
    });
    request_options ro;
    ro.timeout = 200ms;
    (void)expect_error<vow::timeout_error>(client.get(silent.url(), ro));
}

// ---------------------------------------------------------------------------
// The pool

BOOST_FIXTURE_TEST_CASE(sequential_requests_reuse_one_keep_alive_connection, client_fixture) {
    http_client client(r);
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(wait(client.get(url("/hello"))).body == "hello");
    BOOST_TEST(wait(client.post(url("/echo"), "x")).body == "POST:x");
    BOOST_TEST(client.connections_opened() == 1u);
    BOOST_TEST(client.idle_connections() == 1u);
    BOOST_TEST(server.connections() == 1u);
    BOOST_TEST(server.requests() == 6u);
}

BOOST_FIXTURE_TEST_CASE(concurrent_requests_to_one_host_are_bounded_by_max_connections_per_host,
                        client_fixture) {
    http_client client(r, {.max_connections_per_host = 3});
    std::vector<vow::future<http_response>> fs;
    for (int i = 0; i < 12; ++i)
        fs.push_back(client.get(url("/slow")));
    for (auto& f : fs)
        BOOST_TEST(wait(std::move(f)).body == "slow");
    BOOST_TEST(max_in_flight <= 3);
    BOOST_TEST(max_in_flight >= 1);
    BOOST_TEST(client.connections_opened() == 3u);
    BOOST_TEST(client.idle_connections() == 3u);
    BOOST_TEST(server.requests() == 12u);
}

BOOST_FIXTURE_TEST_CASE(requests_to_different_hosts_have_their_own_pools, client_fixture) {
    http_server other(r, "127.0.0.1", 0);
    other.get("/hello", [](const http_request&) { return http_response::text("other"); });
    http_client client(r, {.max_connections_per_host = 1});
    auto a = client.get(url("/slow"));
    auto b = client.get(fmt::format("http://127.0.0.1:{}/hello", other.port()));
    BOOST_TEST(wait(std::move(b)).body == "other");  // not queued behind /slow
    BOOST_TEST(wait(std::move(a)).body == "slow");
    BOOST_TEST(client.connections_opened() == 2u);
}

BOOST_FIXTURE_TEST_CASE(close_idle_closes_the_pooled_connections, client_fixture) {
    http_client client(r);
    BOOST_TEST(wait(client.get(url("/hello"))).body == "hello");
    BOOST_TEST(client.idle_connections() == 1u);
    client.close_idle();
    BOOST_TEST(client.idle_connections() == 0u);
    eventually([&] { return server.connections() == 0; });
    BOOST_TEST(wait(client.get(url("/hello"))).body == "hello");
    BOOST_TEST(client.connections_opened() == 2u);
}

BOOST_FIXTURE_TEST_CASE(idle_pooled_connections_close_after_idle_timeout, client_fixture) {
    http_client client(r, {.idle_timeout = 50ms});
    BOOST_TEST(wait(client.get(url("/hello"))).body == "hello");
    eventually([&] { return client.idle_connections() == 0; });
    eventually([&] { return server.connections() == 0; });
}

BOOST_FIXTURE_TEST_CASE(a_response_with_connection_close_is_not_reused, client_fixture) {
    http_client client(r);
    auto res = wait(client.get(url("/close")));
    BOOST_TEST(res.body == "bye");
    BOOST_TEST(client.idle_connections() == 0u);
    BOOST_TEST(wait(client.get(url("/hello"))).body == "hello");
    BOOST_TEST(client.connections_opened() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_pooled_connection_the_server_timed_out_is_not_used, client_fixture) {
    http_server s(r, "127.0.0.1", 0, {.idle_timeout = 50ms});
    s.get("/", [](const http_request&) { return http_response::text("ok"); });
    auto u = fmt::format("http://127.0.0.1:{}/", s.port());
    http_client client(r);
    BOOST_TEST(wait(client.get(u)).body == "ok");
    eventually([&] { return s.connections() == 0; });
    wait(vow::sleep(r, 20ms));  // turns of the loop, for the client to see the end of stream
    // Not idempotent, so not retried: it must not be sent on the dead connection.
    BOOST_TEST(wait(client.post(u, "x")).status == 405);
    BOOST_TEST(client.connections_opened() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_stale_pooled_connection_is_retried_for_get, client_fixture) {
    // The server closes the kept-alive connection as the second request
    // arrives, without a byte of response: a new connection gets it.
    raw_peer peer(r, [](int conn, int req, const std::string&) {
        if (conn == 0 && req == 1)
            return reply{"", reply::then::close};
        return reply{ok_response(fmt::format("conn {} req {}", conn, req))};
    });
    http_client client(r);
    BOOST_TEST(wait(client.get(peer.url())).body == "conn 0 req 0");
    BOOST_TEST(wait(client.get(peer.url())).body == "conn 1 req 0");
    BOOST_TEST(client.connections_opened() == 2u);
    BOOST_TEST(peer.connections() == 2);
}

BOOST_FIXTURE_TEST_CASE(a_stale_pooled_connection_is_not_retried_for_post, client_fixture) {
    raw_peer peer(r, [](int conn, int req, const std::string&) {
        if (conn == 0 && req == 1)
            return reply{"", reply::then::close};
        return reply{ok_response("ok")};
    });
    http_client client(r);
    BOOST_TEST(wait(client.post(peer.url(), "1")).body == "ok");
    auto e = expect_error<vow::net::http_error>(client.post(peer.url(), "2"));
    BOOST_TEST(has(e, "without a response"));
    BOOST_TEST(peer.connections() == 1);
}

BOOST_FIXTURE_TEST_CASE(a_failure_on_a_new_connection_is_not_retried, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) { return reply{"", reply::then::close}; });
    http_client client(r);
    auto e = expect_error<vow::net::http_error>(client.get(peer.url()));
    BOOST_TEST(has(e, "without a response"));
    BOOST_TEST(peer.connections() == 1);
}

// ---------------------------------------------------------------------------
// Redirects

BOOST_FIXTURE_TEST_CASE(redirects_are_followed_with_the_method_each_status_asks_for,
                        client_fixture) {
    http_client client(r);
    // 301 and 302 keep GET; after a POST they become GET without the body
    // (as browsers do); 303 always becomes GET; 307 and 308 keep both.
    BOOST_TEST(wait(client.get(url("/redirect/301"))).body == "GET:");
    BOOST_TEST(wait(client.get(url("/redirect/302"))).body == "GET:");
    BOOST_TEST(wait(client.post(url("/redirect/301"), "b")).body == "GET:");
    BOOST_TEST(wait(client.post(url("/redirect/302"), "b")).body == "GET:");
    BOOST_TEST(wait(client.post(url("/redirect/303"), "b")).body == "GET:");
    BOOST_TEST(wait(client.request("PUT", url("/redirect/303"), "b")).body == "GET:");
    BOOST_TEST(wait(client.post(url("/redirect/307"), "b")).body == "POST:b");
    BOOST_TEST(wait(client.post(url("/redirect/308"), "b")).body == "POST:b");
    BOOST_TEST(wait(client.request("PUT", url("/redirect/302"), "b")).body == "PUT:b");
    auto head = wait(client.request("HEAD", url("/redirect/303")));
    BOOST_TEST(head.status == 200);
    BOOST_TEST(head.body.empty());
    // The final response is the one returned, and the redirects reused the connection.
    auto res = wait(client.get(url("/redirect/307")));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(client.connections_opened() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_redirect_to_another_host_is_followed, client_fixture) {
    raw_peer peer(r, [this](int, int, const std::string&) {
        return reply{
            fmt::format("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{}/landing?from=peer\r\n"
                        "Content-Length: 0\r\n\r\n",
                        server.port())};
    });
    http_client client(r);
    auto res = wait(client.get(peer.url("/start")));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(res.body == "GET:");
    BOOST_TEST(client.connections_opened() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_redirect_that_drops_the_body_drops_its_headers_too, client_fixture) {
    http_client client(r);
    request_options ro;
    ro.headers.add("Content-Type", "application/json");
    ro.headers.add("Authorization", "Bearer t");
    auto res = wait(client.post(url("/redirect/303"), "{}", ro));
    BOOST_TEST(res.body == "GET:");
    BOOST_TEST(!res.headers.contains("Echo-Content-Type"));
    BOOST_TEST(res.headers.get("Echo-Authorization").value_or("") ==
               "Bearer t");  // same origin: kept
    auto kept = wait(client.post(url("/redirect/307"), "{}", ro));
    BOOST_TEST(kept.body == "POST:{}");
    BOOST_TEST(kept.headers.get("Echo-Content-Type").value_or("") == "application/json");
}

BOOST_FIXTURE_TEST_CASE(a_redirect_to_another_origin_does_not_carry_credentials, client_fixture) {
    raw_peer peer(r, [this](int, int, const std::string&) {
        return reply{fmt::format(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{}/landing\r\n"
            "Content-Length: 0\r\n\r\n",
            server.port())};
    });
    http_client client(r);
    request_options ro;
    ro.headers.add("Authorization", "Bearer secret");
    ro.headers.add("X-Token", "not a credential");
    auto res = wait(client.get(peer.url(), ro));
    BOOST_TEST(res.status == 200);
    BOOST_TEST(!res.headers.contains("Echo-Authorization"));
    BOOST_TEST(res.headers.get("Echo-X-Token").value_or("") == "not a credential");
    BOOST_REQUIRE(peer.heads().size() == 1u);
    BOOST_TEST(peer.heads()[0].find("Authorization: Bearer secret") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_redirect_loop_fails_with_http_error_after_max_redirects, client_fixture) {
    http_client client(r, {.max_redirects = 3});
    auto e = expect_error<vow::net::http_error>(client.get(url("/loop")));
    BOOST_TEST(has(e, "more than 3 redirects"));
    BOOST_TEST(server.requests() == 4u);  // the request and 3 redirects
}

BOOST_FIXTURE_TEST_CASE(follow_redirects_false_returns_the_redirect, client_fixture) {
    http_client client(r);
    request_options ro;
    ro.follow_redirects = false;
    auto res = wait(client.get(url("/redirect/302"), ro));
    BOOST_TEST(res.status == 302);
    BOOST_TEST(res.headers.get("Location").value_or("") == "/landing");
    BOOST_TEST(res.body == "moved");
}

BOOST_FIXTURE_TEST_CASE(a_redirect_without_location_is_the_response, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 301 Moved Permanently\r\nContent-Length: 0\r\n\r\n"};
    });
    http_client client(r);
    BOOST_TEST(wait(client.get(peer.url())).status == 301);
}

BOOST_FIXTURE_TEST_CASE(a_redirect_to_an_unsupported_url_fails_with_url_error, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{
            "HTTP/1.1 302 Found\r\nLocation: ftp://example.com/file\r\nContent-Length: 0\r\n\r\n"};
    });
    http_client client(r);
    (void)expect_error<vow::net::url_error>(client.get(peer.url()));
}

// ---------------------------------------------------------------------------
// Errors: refused, reset, timeouts, cancellation, bad URLs, bad responses, limits

BOOST_FIXTURE_TEST_CASE(a_refused_connection_fails_with_io_error, client_fixture) {
    std::uint16_t port = 0;
    {
        tcp_server closed(r, "127.0.0.1", 0);
        port = closed.port();
    }
    http_client client(r);
    auto e =
        expect_error<vow::net::io_error>(client.get(fmt::format("http://127.0.0.1:{}/", port)));
    BOOST_TEST((e.code() == std::errc::connection_refused));
}

BOOST_FIXTURE_TEST_CASE(a_server_resetting_mid_response_fails_with_io_error, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", reply::then::reset};
    });
    http_client client(r);
    auto e = expect_error<vow::net::io_error>(client.get(peer.url()));
    BOOST_TEST((e.code() == std::errc::connection_reset));
}

BOOST_FIXTURE_TEST_CASE(a_server_closing_mid_response_fails_with_http_error, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", reply::then::close};
    });
    http_client client(r);
    auto e = expect_error<vow::net::http_error>(client.get(peer.url()));
    BOOST_TEST(has(e, "in the middle of the response"));
}

BOOST_FIXTURE_TEST_CASE(a_server_that_never_answers_times_out, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) { return reply{"", reply::then::hang}; });
    http_client client(r);
    request_options ro;
    ro.timeout = 200ms;
    auto e = expect_error<vow::timeout_error>(client.get(peer.url(), ro));
    BOOST_TEST(has(e, "no complete response within 200ms"));
    BOOST_TEST(client.idle_connections() == 0u);
    // The client's request_timeout applies when the request sets none.
    http_client quick(r, {.request_timeout = 200ms});
    (void)expect_error<vow::timeout_error>(quick.get(peer.url()));
}

BOOST_FIXTURE_TEST_CASE(the_timeout_covers_a_response_that_trickles, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12", reply::then::hang};
    });
    http_client client(r);
    request_options ro;
    ro.timeout = 200ms;
    (void)expect_error<vow::timeout_error>(client.get(peer.url(), ro));
}

BOOST_FIXTURE_TEST_CASE(a_stop_token_cancels_a_request_in_flight, client_fixture) {
    std::stop_source stop;
    raw_peer peer(r, [&](int, int, const std::string&) {
        stop.request_stop();  // the request has arrived; cancel it
        return reply{"", reply::then::hang};
    });
    http_client client(r);
    request_options ro;
    ro.stop = stop.get_token();
    (void)expect_error<vow::cancelled_error>(client.get(peer.url(), ro));
    BOOST_TEST(peer.heads().size() == 1u);
    // A stop requested before the call rejects at once, without connecting.
    http_client other(r);
    (void)expect_error<vow::cancelled_error>(other.get(peer.url(), ro));
    BOOST_TEST(other.connections_opened() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_stop_token_that_is_never_used_changes_nothing, client_fixture) {
    std::stop_source stop;
    http_client client(r);
    request_options ro;
    ro.stop = stop.get_token();
    BOOST_TEST(wait(client.get(url("/hello"), ro)).body == "hello");
    stop.request_stop();  // after the response: no effect
    wait(vow::sleep(r, 10ms));
    BOOST_TEST(wait(client.get(url("/hello"))).body == "hello");
}

BOOST_FIXTURE_TEST_CASE(bad_urls_throw_url_error_at_the_call, client_fixture) {
    http_client client(r);
    for (const char* bad :
         {"ftp://x", "http://", "not a url", "https://", "http://a b/",
          "http://example.com:99999/", "http://user@example.com/", ""})
        BOOST_CHECK_THROW((void)client.get(bad), vow::net::url_error);
    BOOST_CHECK_THROW((void)client.post("ftp://x", "b"), vow::net::url_error);
    BOOST_CHECK_THROW((void)client.request("GET", "http://"), vow::net::url_error);
    BOOST_TEST(client.connections_opened() == 0u);
}

BOOST_FIXTURE_TEST_CASE(an_https_url_without_a_tls_context_throws_usage_error_saying_what_to_set,
                        client_fixture) {
    http_client client(r);
    try {
        (void)client.get("https://127.0.0.1:1/");
        BOOST_FAIL("no exception");
    } catch (const vow::usage_error& e) {
        BOOST_TEST(has(e, "https:// needs TLS"));
        BOOST_TEST(has(e, "http_client_options::tls"));
    }
    BOOST_TEST(client.connections_opened() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_redirect_to_https_without_a_tls_context_rejects_with_usage_error,
                        client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 301 Moved\r\nLocation: https://127.0.0.1:1/x\r\nContent-Length: 0\r\n\r\n"};
    });
    http_client client(r);
    auto e = expect_error<vow::usage_error>(client.get(peer.url("/start")));
    BOOST_TEST(has(e, "https:// needs TLS"));
}

BOOST_FIXTURE_TEST_CASE(a_bad_method_or_timeout_throws_invalid_argument_at_the_call,
                        client_fixture) {
    http_client client(r);
    BOOST_CHECK_THROW((void)client.request("", url("/")), vow::invalid_argument);
    BOOST_CHECK_THROW((void)client.request("GE T", url("/")), vow::invalid_argument);
    BOOST_CHECK_THROW((void)client.request("GET\r\n", url("/")), vow::invalid_argument);
    request_options ro;
    ro.timeout = 0ms;
    BOOST_CHECK_THROW((void)client.get(url("/"), ro), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(bad_options_throw_invalid_argument, client_fixture) {
    BOOST_CHECK_THROW(http_client(r, {.connect_timeout = 0s}), vow::invalid_argument);
    BOOST_CHECK_THROW(http_client(r, {.request_timeout = -1s}), vow::invalid_argument);
    BOOST_CHECK_THROW(http_client(r, {.idle_timeout = 0s}), vow::invalid_argument);
    BOOST_CHECK_THROW(http_client(r, {.max_connections_per_host = 0}), vow::invalid_argument);
    BOOST_CHECK_THROW(http_client(r, {.max_redirects = -1}), vow::invalid_argument);
    BOOST_CHECK_THROW(http_client(r, {.max_header_bytes = 0}), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(a_malformed_response_fails_with_http_error, client_fixture) {
    for (std::string bad :
         {"HTTP/1.1 2x0 OK\r\n\r\n", "garbage\r\n\r\n", "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
        raw_peer peer(r, [bad](int, int, const std::string&) {
            return reply{bad, reply::then::hang};
        });
        http_client client(r);
        auto e = expect_error<vow::net::http_error>(client.get(peer.url()));
        BOOST_TEST(has(e, "bad response"), bad);
    }
}

BOOST_FIXTURE_TEST_CASE(a_body_over_max_body_bytes_fails_with_limit_error, client_fixture) {
    http_client client(r, {.max_body_bytes = 100});
    BOOST_TEST(has(expect_error<vow::net::limit_error>(client.get(url("/big"))), "1000"));
    // Also when the length is not announced: chunked, or until close.
    for (std::string body : {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n" +
                                 std::string(128, 'c') + "\r\n0\r\n\r\n",
                             "HTTP/1.1 200 OK\r\n\r\n" + std::string(300, 'u')}) {
        raw_peer peer(r, [body](int, int, const std::string&) {
            return reply{body, reply::then::hang};
        });
        (void)expect_error<vow::net::limit_error>(client.get(peer.url()));
    }
    BOOST_TEST(wait(client.get(url("/hello"))).body == "hello");
}

BOOST_FIXTURE_TEST_CASE(headers_over_max_header_bytes_fail_with_limit_error, client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) {
        return reply{"HTTP/1.1 200 OK\r\nX-Big: " + std::string(2000, 'h') +
                     "\r\nContent-Length: 0\r\n\r\n"};
    });
    http_client client(r, {.max_header_bytes = 1024});
    (void)expect_error<vow::net::limit_error>(client.get(peer.url()));
}

BOOST_FIXTURE_TEST_CASE(destroying_the_client_rejects_requests_in_flight_with_operation_canceled,
                        client_fixture) {
    vow::promise<void> arrived(r);
    auto arrived_f = arrived.get_future();
    raw_peer peer(r, [&](int, int, const std::string&) {
        arrived.resolve();
        return reply{"", reply::then::hang};
    });
    // One connection per host: the second request to the peer waits in the queue.
    std::optional<http_client> client(std::in_place, r,
                                      http_client_options{.max_connections_per_host = 1});
    auto in_flight = client->get(peer.url());
    auto queued = client->get(peer.url());
    auto pooled_then_idle = client->get(url("/hello"));
    BOOST_TEST(wait(std::move(pooled_then_idle)).body == "hello");
    wait(std::move(arrived_f));
    client.reset();
    for (auto* f : {&in_flight, &queued}) {
        auto e = wait_error(std::move(*f));
        try {
            std::rethrow_exception(e);
        } catch (const vow::net::io_error& err) {
            BOOST_TEST((err.code() == std::errc::operation_canceled));
            BOOST_TEST(has(err, "destroyed"));
        } catch (const std::exception& other) {
            BOOST_ERROR("the wrong error: " << other.what());
        }
    }
    // The reactor goes on without the client; the server sees its connections close.
    eventually([&] { return server.connections() == 0; });
}

BOOST_FIXTURE_TEST_CASE(destroying_the_client_opens_no_connection_for_a_queued_request,
                        client_fixture) {
    raw_peer peer(r, [](int, int, const std::string&) { return reply{"", reply::then::hang}; });
    server.get("/to-peer", [&](const http_request&) {
        http_response res;
        res.status = 302;
        res.headers.set("Location", peer.url("/redirected"));
        return res;
    });
    std::optional<http_client> client(std::in_place, r,
                                      http_client_options{.max_connections_per_host = 1});
    // The older request is redirected to the peer, where the newer one holds
    // the only connection: it waits in the peer's queue.
    auto redirected = client->get(url("/to-peer"));
    auto holder = client->get(peer.url("/hold"));
    eventually([&] { return client->idle_connections() == 1 && peer.heads().size() == 1; });
    client.reset();
    (void)expect_error<vow::net::io_error>(std::move(holder));
    (void)expect_error<vow::net::io_error>(std::move(redirected));
    wait(vow::sleep(r, 50ms));
    BOOST_TEST(peer.connections() == 1);
}

BOOST_AUTO_TEST_SUITE_END()  // http_client_test
