// net/ws/client.cpp - ws_connect: TCP (and TLS for wss://), the opening
// handshake (RFC 6455 4.1), and the checks of the server's answer.
#include "protocol.hpp"
#include "../http/parser.hpp"

#include <vow/net/tcp/connect.hpp>
#include <vow/net/url.hpp>
#include <vow/net/ws/client.hpp>
#include <vow/promise/make_future.hpp>

#include <fmt/format.h>

namespace vow::net {

using namespace detail::ws;

namespace {

struct handshake {
    url u;
    std::string key;
    ws_connect_options o;
    io_options io;
};

[[noreturn]] void refuse(const handshake& h, int status, std::string why, std::string body = {}) {
    throw ws_handshake_error(fmt::format("vow::net::ws_connect: {}: {}", h.u.to_string(), why), status,
                             std::move(body));
}

bool is_token(std::string_view s) noexcept {
    if (s.empty())
        return false;
    for (char c : s)
        if (c <= ' ' || c >= 127 || std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos)
            return false;
    return true;
}

std::string request_text(const handshake& h) {
    std::string s = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
                                h.u.target, h.u.host_header(), h.key);
    if (!h.o.subprotocols.empty()) {
        s += "Sec-WebSocket-Protocol: ";
        for (std::size_t i = 0; i < h.o.subprotocols.size(); ++i)
            s += (i ? ", " : "") + h.o.subprotocols[i];
        s += "\r\n";
    }
    if (h.o.ws.deflate)
        s += fmt::format("Sec-WebSocket-Extensions: {}\r\n", deflate_offer(*h.o.ws.deflate));
    for (const auto& [n, v] : h.o.headers)
        s += fmt::format("{}: {}\r\n", n, v);
    s += "\r\n";
    return s;
}

// Checks the server's answer; the connection's parameters.
ws_connection::agreed check_answer(const handshake& h, const http_response& resp) {
    if (resp.status != 101)
        refuse(h, resp.status,
               fmt::format("the server answered {} {} instead of 101 Switching Protocols", resp.status,
                           resp.reason.empty() ? std::string(http_reason_phrase(resp.status)) : resp.reason),
               resp.body.substr(0, 4096));
    if (!resp.headers.has_token("Upgrade", "websocket"))
        refuse(h, 101, "the 101 has no Upgrade: websocket");
    if (!resp.headers.has_token("Connection", "upgrade"))
        refuse(h, 101, "the 101 has no Connection: Upgrade");
    auto accept = resp.headers.get("Sec-WebSocket-Accept");
    if (!accept || *accept != accept_value(h.key))
        refuse(h, 101,
               accept ? fmt::format("the Sec-WebSocket-Accept '{}' does not match the key sent", *accept)
                      : std::string("the 101 has no Sec-WebSocket-Accept"));
    ws_connection::agreed a;
    if (auto p = resp.headers.get("Sec-WebSocket-Protocol")) {
        bool offered = false;
        for (const auto& s : h.o.subprotocols)
            offered = offered || s == *p;
        if (!offered)
            refuse(h, 101, fmt::format("the server chose the subprotocol '{}', which was not offered", *p));
        a.subprotocol = std::string(*p);
    }
    if (resp.headers.count("Sec-WebSocket-Extensions")) {
        if (!h.o.ws.deflate)
            refuse(h, 101, fmt::format("the server agreed to extensions that were not offered: '{}'",
                                       *resp.headers.get("Sec-WebSocket-Extensions")));
        if (resp.headers.count("Sec-WebSocket-Extensions") > 1)
            refuse(h, 101, "the server agreed to more than one extension");
        deflate_params p;
        std::string why;
        if (!accept_deflate_response(*resp.headers.get("Sec-WebSocket-Extensions"), *h.o.ws.deflate, p, why))
            refuse(h, 101, why);
        a.deflate = true;
        a.client_no_context_takeover = p.client_no_context_takeover;
        a.server_no_context_takeover = p.server_no_context_takeover;
        a.client_max_window_bits = p.client_max_window_bits;
        a.server_max_window_bits = p.server_max_window_bits;
    }
    return a;
}

}  // namespace

future<ws_connection> ws_connect(reactor& r, std::string_view text, ws_connect_options opts) {
    auto h = std::make_shared<handshake>();
    h->u = url::parse(text);
    if (h->u.scheme != "ws" && h->u.scheme != "wss")
        throw url_error(fmt::format("{}: ws_connect takes ws:// and wss:// URLs", text));
    if (h->u.scheme == "wss" && !opts.tls)
        throw usage_error(fmt::format("vow::net::ws_connect: {}: wss:// needs TLS: set ws_connect_options::tls to a "
                                      "vow::net::tls_context::client() (<vow/net/tls.hpp>, library vow-tls)",
                                      text));
    for (const auto& [n, v] : opts.headers) {
        static constexpr std::string_view reserved[] = {"host", "upgrade", "connection", "sec-websocket-key",
                                                        "sec-websocket-version", "sec-websocket-protocol",
                                                        "sec-websocket-extensions", "sec-websocket-accept"};
        for (auto rname : reserved)
            if (detail::iequals(n, rname))
                throw invalid_argument(fmt::format("vow::net::ws_connect: the header {} is the handshake's own; "
                                                   "set subprotocols or ws.deflate instead of writing it",
                                                   n));
        if (!is_token(n) || v.find_first_of("\r\n") != std::string::npos)
            throw invalid_argument(fmt::format("vow::net::ws_connect: the header '{}' is not a valid field", n));
    }
    for (const auto& p : opts.subprotocols)
        if (!is_token(p))
            throw invalid_argument(fmt::format("vow::net::ws_connect: '{}' is not a subprotocol token", p));
    if (opts.max_header_bytes < 64)
        throw invalid_argument("vow::net::ws_connect: max_header_bytes must be at least 64");
    h->key = new_key();
    h->o = std::move(opts);
    std::optional<reactor::time_point> deadline;
    if (h->o.timeout)
        deadline = reactor::clock::now() + *h->o.timeout;
    h->io = io_options{h->o.stop, {}, deadline};

    connect_options co;
    co.stop = h->o.stop;
    co.timeout = h->o.timeout;
    return connect(r, h->u.host, h->u.port, co)
        .then([h](const tcp_stream& s) -> future<stream> {
            if (h->u.scheme == "wss")
                return h->o.tls->connect(s, h->u.host, h->io);
            return make_ready_future(s.get_reactor(), stream(s));
        })
        .then([h](stream s) {
            auto req = request_text(*h);
            return s.write(req, h->io).then([s, h]() mutable {
                return s.read_until("\r\n\r\n", h->o.max_header_bytes, h->io)
                    .catch_([h](const limit_error&) -> std::string {
                        refuse(*h, 0, fmt::format("the server's answer has a head of more than {} bytes",
                                                  h->o.max_header_bytes));
                    })
                    .catch_([h](const incomplete_read& e) -> std::string {
                        refuse(*h, 0, e.partial().empty()
                                          ? std::string("the server closed the connection without an answer")
                                          : std::string("the server closed the connection inside its answer"));
                    })
                    .then([s, h](const std::string& head) mutable -> future<ws_connection> {
                        detail::http_limits limits;
                        limits.max_header_bytes = h->o.max_header_bytes;
                        detail::response_parser p(limits);
                        p.expect_no_body(true);
                        http_response resp;
                        auto res = p.parse(head, resp);
                        if (res.status != detail::parse_status::complete)
                            refuse(*h, 0, fmt::format("the server's answer is not HTTP: {}", res.error_reason));
                        if (resp.status == 101) {
                            auto a = check_answer(*h, resp);
                            return make_ready_future(s.get_reactor(),
                                                     ws_connection::open(s, true, h->o.ws, std::move(a)));
                        }
                        // A refusal: read its body (up to 4 KiB) for the error.
                        std::size_t n = 0;
                        if (auto cl = resp.headers.get("Content-Length")) {
                            auto v = *cl;
                            for (char c : v)
                                if (c >= '0' && c <= '9' && n < 4096)
                                    n = n * 10 + static_cast<std::size_t>(c - '0');
                            n = std::min<std::size_t>(n, 4096);
                        }
                        return s.read_exactly(n, h->io)
                            .catch_([](const std::exception_ptr&) { return std::string(); })
                            .then([s, h, resp = std::move(resp)](
                                      std::string body) mutable -> ws_connection {
                                s.close();
                                resp.body = std::move(body);
                                check_answer(*h, resp);   // throws the refusal
                                throw usage_error("vow::net::ws_connect: unreachable");
                            });
                    });
            });
        });
}

}  // namespace vow::net
