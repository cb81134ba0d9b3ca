// tests/ws/connection_test.cpp - WebSocket connections on loopback: vow's
// client against vow's ws_endpoint, and raw TCP peers that break the rules
// (unmasked frames, half a frame then silence, ping floods, handshakes that
// never finish or are malformed). Nothing here asserts timings: timeouts are
// short so that the tests end soon, and only what happened is checked.
#include <net_fixture.hpp>

#include <vow/net/http.hpp>
#include <vow/net/ws.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace vow::net;
using vow::test::error_as;

namespace {

const std::string sample_key = "dGhlIHNhbXBsZSBub25jZQ==";

struct ws_fixture : vow::test::net_fixture {
    std::unique_ptr<http_server> server;
    std::unique_ptr<ws_endpoint> ep;
    std::vector<ws_connection> accepted;   // the server's side of each connection
    std::vector<std::string> offered_protocols;
    // What the server does with a new connection (default: echo).
    std::function<void(ws_connection)> on_open = [](ws_connection c) {
        (void)c.for_each_message([c](ws_message m) mutable { return c.send(m); })
            .catch_([](std::exception_ptr) {});
    };

    void start(ws_server_options o = {}, http_server_options ho = {}) {
        server = std::make_unique<http_server>(r, "127.0.0.1", 0, ho);
        server->get("/plain", [](const http_request&) { return http_response::text("not a websocket"); });
        ep = std::make_unique<ws_endpoint>(
            *server, "/",
            [this](ws_connection c, const http_request&) {
                accepted.push_back(c);
                on_open(c);
            },
            std::move(o));
    }
    std::string url(std::string_view path = "/") const { return fmt::format("ws://127.0.0.1:{}{}", server->port(), path); }
    ws_connection connect(ws_connect_options o = {}) { return wait(ws_connect(r, url(), std::move(o))); }

    tcp_stream raw() { return wait(vow::net::connect(r, "127.0.0.1", server->port())); }

    // An HTTP exchange on a raw connection: the response head.
    std::string raw_request(tcp_stream& s, const std::string& head) {
        wait(s.write(head));
        return wait(s.read_until("\r\n\r\n", 64 * 1024));
    }
    static std::string upgrade_request(std::string extra = {}) {
        return "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
               sample_key + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
    }
    // A raw connection past the handshake.
    tcp_stream raw_upgraded() {
        auto s = raw();
        auto head = raw_request(s, upgrade_request());
        BOOST_TEST_REQUIRE(head.rfind("HTTP/1.1 101", 0) == 0u, head);
        BOOST_TEST(head.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != std::string::npos);
        return s;
    }
    // A masked frame as a client sends it (mask 0: the payload is as is).
    static std::string client_frame(unsigned first, std::string_view payload, bool masked = true) {
        std::string f;
        f.push_back(static_cast<char>(first));
        unsigned char m = masked ? 0x80 : 0;
        if (payload.size() < 126) {
            f.push_back(static_cast<char>(m | payload.size()));
        } else {
            f.push_back(static_cast<char>(m | 126));
            f.push_back(static_cast<char>(payload.size() >> 8));
            f.push_back(static_cast<char>(payload.size() & 0xFF));
        }
        if (masked)
            f.append(4, '\0');
        f.append(payload);
        return f;
    }
    // Reads one unmasked server frame: (first byte, payload).
    std::pair<unsigned, std::string> read_frame(tcp_stream& s) {
        auto h = wait(s.read_exactly(2));
        std::size_t len = static_cast<unsigned char>(h[1]) & 0x7F;
        BOOST_TEST((static_cast<unsigned char>(h[1]) & 0x80) == 0);   // servers do not mask
        if (len == 126) {
            auto e = wait(s.read_exactly(2));
            len = (static_cast<unsigned char>(e[0]) << 8) | static_cast<unsigned char>(e[1]);
        }
        return {static_cast<unsigned char>(h[0]), len ? wait(s.read_exactly(len)) : std::string()};
    }
    static std::uint16_t code_of(const std::string& close_payload) {
        BOOST_REQUIRE(close_payload.size() >= 2);
        return static_cast<std::uint16_t>((static_cast<unsigned char>(close_payload[0]) << 8) |
                                          static_cast<unsigned char>(close_payload[1]));
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(connection_test)

BOOST_FIXTURE_TEST_CASE(messages_echo_whole_and_in_order, ws_fixture) {
    start();
    auto c = connect();
    BOOST_TEST(c.is_open());
    std::vector<vow::future<void>> sends;
    for (int i = 0; i < 100; ++i)
        sends.push_back(i % 2 ? c.send_binary(vow::test::pattern(static_cast<std::size_t>(i * 37), i))
                              : c.send_text(fmt::format("message {} κ", i)));
    wait_all(sends);
    for (int i = 0; i < 100; ++i) {
        auto m = wait(c.receive());
        if (i % 2) {
            BOOST_TEST(m.is_binary());
            BOOST_TEST(m.data == vow::test::pattern(static_cast<std::size_t>(i * 37), i));
        } else {
            BOOST_TEST(m.is_text());
            BOOST_TEST(m.data == fmt::format("message {} κ", i));
        }
    }
    wait(c.close());
    BOOST_TEST(!c.is_open());
    BOOST_TEST(c.close_code().value_or(0) == ws_close::normal);
}

BOOST_FIXTURE_TEST_CASE(big_and_fragmented_messages_are_reassembled, ws_fixture) {
    start();
    ws_connect_options o;
    o.ws.fragment_size = 1000;
    auto c = connect(o);
    auto big = vow::test::pattern(3 << 20, 9);
    wait(c.send_binary(big));
    BOOST_TEST(wait(c.receive()).data == big);
    std::string text(5000, 'k');
    wait(c.send_text(text));
    BOOST_TEST(wait(c.receive()).data == text);
}

BOOST_FIXTURE_TEST_CASE(the_client_closes_with_a_code_and_reason, ws_fixture) {
    std::exception_ptr server_end;
    bool server_done = false;
    on_open = [&](ws_connection c) {
        (void)c.for_each_message([](ws_message) {})
            .then([&] { server_done = true; })
            .catch_([&](std::exception_ptr e) {
                server_end = e;
                server_done = true;
            });
    };
    start();
    auto c = connect();
    wait(c.close(4001, "bye now"));
    wait_until([&] { return server_done; });
    // 4001 is not a normal close: the server's loop rejects with it.
    auto e = error_as<ws_closed>(server_end);
    BOOST_TEST(e.code() == 4001);
    BOOST_TEST(e.reason() == "bye now");
    BOOST_TEST(accepted.at(0).close_code().value_or(0) == 4001);
    BOOST_TEST(accepted.at(0).close_reason() == "bye now");
    auto mine = error_as<ws_closed>(wait_error(c.receive()));
    BOOST_TEST(mine.code() == 4001);
    BOOST_TEST(error_as<ws_closed>(wait_error(c.send_text("late"))).code() == 4001);
}

BOOST_FIXTURE_TEST_CASE(a_normal_close_by_the_server_ends_the_clients_loop, ws_fixture) {
    on_open = [](ws_connection c) {
        (void)c.send_text("only this").then([c]() mutable { return c.close(ws_close::normal, "done"); });
    };
    start();
    auto c = connect();
    std::vector<std::string> got;
    wait(c.for_each_message([&](ws_message m) { got.push_back(m.data); }));
    BOOST_TEST(got == std::vector<std::string>{"only this"});
    BOOST_TEST(c.close_code().value_or(0) == ws_close::normal);
    BOOST_TEST(c.close_reason() == "done");
}

BOOST_FIXTURE_TEST_CASE(a_dropped_connection_is_1006_not_a_close, ws_fixture) {
    on_open = [](ws_connection c) { c.abort(); };
    start();
    auto c = connect();
    auto e = wait_error(c.receive());
    BOOST_CHECK_THROW(std::rethrow_exception(e), ws_error);
    BOOST_TEST(error_as<ws_error>(e).code() == ws_close::abnormal);
    bool is_closed = true;
    try {
        std::rethrow_exception(e);
    } catch (const ws_closed&) {
    } catch (...) {
        is_closed = false;
    }
    BOOST_TEST(!is_closed);
    BOOST_TEST(c.close_code().value_or(0) == ws_close::abnormal);
}

BOOST_FIXTURE_TEST_CASE(ping_resolves_when_the_pong_comes, ws_fixture) {
    start();
    auto c = connect();
    wait(c.ping("are you there"));
    wait(c.ping());
    BOOST_CHECK_THROW((void)c.ping(std::string(126, 'x')), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(what_may_not_be_sent_is_refused_at_the_call, ws_fixture) {
    start();
    auto c = connect();
    BOOST_CHECK_THROW((void)c.send_text("\xC0\xAF"), vow::invalid_argument);
    BOOST_CHECK_THROW((void)c.close(1005), vow::invalid_argument);
    BOOST_CHECK_THROW((void)c.close(999), vow::invalid_argument);
    BOOST_CHECK_THROW((void)c.close(1000, std::string(124, 'r')), vow::invalid_argument);
    BOOST_CHECK_THROW((void)ws_connect(r, "http://127.0.0.1:1/"), url_error);
    ws_connect_options o;
    o.headers.add("Upgrade", "h2c");
    BOOST_CHECK_THROW((void)ws_connect(r, url(), o), vow::invalid_argument);
    BOOST_CHECK_THROW((void)ws_connect(r, "wss://127.0.0.1:1/"), vow::usage_error);
    ws_connection empty;
    BOOST_CHECK_THROW((void)empty.receive(), vow::usage_error);
}

BOOST_FIXTURE_TEST_CASE(an_unmasked_client_frame_is_closed_with_1002, ws_fixture) {
    start();
    auto s = raw_upgraded();
    wait(s.write(client_frame(0x81, "hello", false)));
    auto [first, payload] = read_frame(s);
    BOOST_TEST(first == 0x88u);
    BOOST_TEST(code_of(payload) == ws_close::protocol_error);
    BOOST_TEST(payload.find("unmasked") != std::string::npos);
    // Then the server ends the connection.
    wait(s.write(client_frame(0x88, std::string("\x03\xEA", 2))));
    BOOST_TEST(wait(s.read_some()) == "");
    s.close();   // the server waits for our end of stream (or close_timeout)
    wait_until([&] { return ep->connections() == 0; });
}

BOOST_FIXTURE_TEST_CASE(a_reserved_opcode_and_a_huge_length_are_1002, ws_fixture) {
    start();
    {
        auto s = raw_upgraded();
        wait(s.write(client_frame(0x83, "x")));
        BOOST_TEST(code_of(read_frame(s).second) == ws_close::protocol_error);
    }
    {
        auto s = raw_upgraded();
        std::string f = "\x82\xFF";
        f += std::string("\x80\0\0\0\0\0\0\0", 8);
        f += std::string(4, '\0');
        wait(s.write(f));
        BOOST_TEST(code_of(read_frame(s).second) == ws_close::protocol_error);
    }
}

BOOST_FIXTURE_TEST_CASE(a_message_over_the_limit_is_1009, ws_fixture) {
    ws_server_options o;
    o.ws.max_message_bytes = 1000;
    start(o);
    auto c = connect();
    (void)c.send_binary(std::string(2000, 'x')).catch_([](std::exception_ptr) {});
    auto e = error_as<ws_closed>(wait_error(c.receive()));
    BOOST_TEST(e.code() == ws_close::message_too_big);
}

BOOST_FIXTURE_TEST_CASE(the_send_buffer_has_a_hard_bound, ws_fixture) {
    on_open = [](ws_connection) {};   // the server never receives: it stops reading at max_queue
    start();
    ws_connect_options o;
    o.ws.max_send_buffer = 1 << 20;
    auto c = connect(o);
    std::string chunk(256 * 1024, 'b');
    std::exception_ptr refused;
    std::vector<vow::future<void>> pending;
    for (int i = 0; i < 2000 && !refused; ++i) {
        auto f = c.send_binary(chunk, {.timeout = 100ms});
        try {
            wait(std::move(f));
        } catch (const vow::timeout_error&) {
            continue;   // the buffer is above its high-water mark: keep pushing
        } catch (...) {
            refused = std::current_exception();
        }
    }
    BOOST_TEST_REQUIRE(bool(refused));
    BOOST_TEST(vow::test::message_of(refused).find("max_send_buffer") != std::string::npos);
    error_as<limit_error>(refused);
    BOOST_TEST(c.buffered_output() <= std::size_t(1 << 20));
    c.abort();
}

BOOST_FIXTURE_TEST_CASE(keepalive_closes_a_peer_that_never_answers, ws_fixture) {
    ws_server_options o;
    o.ws.ping_interval = 50ms;
    o.ws.ping_timeout = 100ms;
    on_open = [](ws_connection) {};
    start(o);
    auto s = raw_upgraded();   // never reads, never answers the ping
    wait_until([&] { return accepted.size() == 1 && accepted[0].close_code().has_value(); });
    BOOST_TEST(*accepted[0].close_code() == ws_close::internal_error);
    wait_until([&] { return ep->connections() == 0; });
}

BOOST_FIXTURE_TEST_CASE(an_idle_connection_is_closed_with_1001, ws_fixture) {
    ws_server_options o;
    o.ws.idle_timeout = 100ms;
    o.ws.ping_interval = std::nullopt;
    start(o);
    ws_connect_options co;
    co.ws.ping_interval = std::nullopt;
    auto c = connect(co);
    auto e = error_as<ws_closed>(wait_error(c.receive()));
    BOOST_TEST(e.code() == ws_close::going_away);
    BOOST_TEST(e.reason() == "idle timeout");
}

BOOST_FIXTURE_TEST_CASE(half_a_frame_then_silence_is_timed_out, ws_fixture) {
    ws_server_options o;
    o.ws.idle_timeout = 100ms;
    o.ws.ping_interval = std::nullopt;
    o.ws.close_timeout = 200ms;
    start(o);
    auto s = raw_upgraded();
    wait(s.write(std::string("\x81", 1)));
    auto [first, payload] = read_frame(s);
    BOOST_TEST(first == 0x88u);
    BOOST_TEST(code_of(payload) == ws_close::going_away);
    // No close frame from us: the server ends it after close_timeout.
    BOOST_TEST(wait(s.read_some()) == "");
    wait_until([&] { return ep->connections() == 0; });
}

BOOST_FIXTURE_TEST_CASE(a_ping_flood_is_held_back_not_buffered, ws_fixture) {
    on_open = [](ws_connection) {};
    start();
    auto s = raw_upgraded();   // sends pings, never reads the pongs
    std::string burst;
    for (int i = 0; i < 8000; ++i)
        burst += client_frame(0x89, std::string(125, 'p'));   // ~1 MiB of pings per write
    std::size_t sent = 0;
    for (int i = 0; i < 64; ++i) {
        try {
            wait(s.write(burst, {.timeout = 300ms}));
            sent += burst.size();
        } catch (const vow::timeout_error&) {
            break;   // the server stopped reading: held back by TCP
        }
    }
    BOOST_TEST_MESSAGE("ping bytes taken before the server held back: " << sent);
    settle(100ms);
    BOOST_TEST_REQUIRE(accepted.size() == 1u);
    // The pongs queued at the server stay bounded, whatever was sent.
    BOOST_TEST(accepted[0].buffered_output() < std::size_t(1 << 20));
    BOOST_TEST(sent < std::size_t(64) * burst.size());
}

BOOST_FIXTURE_TEST_CASE(graceful_shutdown_says_going_away_to_every_client, ws_fixture) {
    start();
    auto a = connect();
    auto b = connect();
    wait_until([&] { return ep->connections() == 2; });
    auto done = server->shutdown(2s);
    auto ea = error_as<ws_closed>(wait_error(a.receive()));
    auto eb = error_as<ws_closed>(wait_error(b.receive()));
    BOOST_TEST(ea.code() == ws_close::going_away);
    BOOST_TEST(eb.code() == ws_close::going_away);
    wait(std::move(done));
    BOOST_TEST(ep->connections() == 0u);
}

BOOST_FIXTURE_TEST_CASE(handshakes_that_break_the_rules_are_refused, ws_fixture) {
    ws_server_options o;
    o.check_origin = [](std::string_view origin, const http_request&) { return origin != "http://evil.example"; };
    start(o);
    auto refused = [&](const std::string& head) {
        auto s = raw();
        return raw_request(s, head);
    };
    auto no_key = refused("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n");
    BOOST_TEST(no_key.rfind("HTTP/1.1 400", 0) == 0u, no_key);
    auto bad_key = refused("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n");
    BOOST_TEST(bad_key.rfind("HTTP/1.1 400", 0) == 0u, bad_key);
    auto v8 = refused("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: " + sample_key + "\r\nSec-WebSocket-Version: 8\r\n\r\n");
    BOOST_TEST(v8.rfind("HTTP/1.1 426", 0) == 0u, v8);
    BOOST_TEST(v8.find("Sec-WebSocket-Version: 13") != std::string::npos);
    auto plain = refused("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST(plain.rfind("HTTP/1.1 426", 0) == 0u, plain);
    auto evil = refused(upgrade_request("Origin: http://evil.example\r\n"));
    BOOST_TEST(evil.rfind("HTTP/1.1 403", 0) == 0u, evil);
    auto good = refused(upgrade_request("Origin: http://good.example\r\n"));
    BOOST_TEST(good.rfind("HTTP/1.1 101", 0) == 0u, good);
}

BOOST_FIXTURE_TEST_CASE(ws_connect_reports_a_refusal_with_its_status, ws_fixture) {
    start();
    auto e = error_as<ws_handshake_error>(wait_error(ws_connect(r, url("/nowhere"))));
    BOOST_TEST(e.status() == 404);
    auto p = error_as<ws_handshake_error>(wait_error(ws_connect(r, url("/plain"))));
    BOOST_TEST(p.status() == 200);
    BOOST_TEST(p.body() == "not a websocket");
    BOOST_TEST(std::string(p.what()).find("instead of 101") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(subprotocols_are_chosen_by_the_servers_preference, ws_fixture) {
    ws_server_options o;
    o.subprotocols = {"chat.v2", "chat.v1"};
    o.require_subprotocol = true;
    start(o);
    ws_connect_options co;
    co.subprotocols = {"chat.v1", "chat.v2"};
    auto c = connect(co);
    BOOST_TEST(c.subprotocol() == "chat.v2");
    BOOST_TEST(accepted.at(0).subprotocol() == "chat.v2");
    ws_connect_options none;
    none.subprotocols = {"other"};
    auto e = error_as<ws_handshake_error>(wait_error(ws_connect(r, url(), none)));
    BOOST_TEST(e.status() == 400);
}

BOOST_FIXTURE_TEST_CASE(permessage_deflate_between_two_vows, ws_fixture) {
    ws_server_options o;
    o.ws.deflate = ws_deflate_options{};
    start(o);
    ws_connect_options co;
    co.ws.deflate = ws_deflate_options{.no_context_takeover = true};
    auto c = connect(co);
    BOOST_TEST(c.deflate());
    BOOST_TEST(accepted.at(0).deflate());
    std::string text;
    for (int i = 0; i < 5000; ++i)
        text += fmt::format("line {} of a text that compresses well\n", i % 10);
    for (int round = 0; round < 3; ++round) {
        wait(c.send_text(text));
        BOOST_TEST(wait(c.receive()).data == text);
        wait(c.send_text("short"));
        BOOST_TEST(wait(c.receive()).data == "short");
    }
    // Without the option on one side, no compression.
    auto plain = connect();
    BOOST_TEST(!plain.deflate());
}

BOOST_FIXTURE_TEST_CASE(handshakes_that_never_finish_are_dropped, ws_fixture) {
    http_server_options ho;
    ho.header_timeout = 200ms;
    start({}, ho);
    std::vector<tcp_stream> conns;
    for (int i = 0; i < 50; ++i) {
        conns.push_back(raw());
        wait(conns.back().write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"));
    }
    // Each is ended by the server (after an error response, if any): never upgraded.
    for (auto& s : conns) {
        std::string all;
        for (std::string d = wait(s.read_some()); !d.empty(); d = wait(s.read_some()))
            all += d;
        BOOST_TEST(all.find("101") == std::string::npos, all);
    }
    wait_until([&] { return server->connections() == 0; });
    BOOST_TEST(ep->connections() == 0u);
}

BOOST_FIXTURE_TEST_CASE(dropping_every_handle_closes_the_connection, ws_fixture) {
    std::exception_ptr server_end;
    on_open = [&](ws_connection c) {
        (void)c.for_each_message([](ws_message) {}).catch_([&](std::exception_ptr e) { server_end = e; });
    };
    start();
    {
        auto c = connect();
        wait(c.send_text("hi"));
    }
    wait_until([&] { return bool(server_end); });
    BOOST_TEST(error_as<ws_error>(server_end).code() == ws_close::abnormal);
}

BOOST_AUTO_TEST_SUITE_END()
