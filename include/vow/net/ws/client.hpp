/// @file
/// vow::net::ws_connect(): a WebSocket connection to a ws:// or wss:// URL, as a
/// future of ws_connection.
///
/// @code
/// vow::net::ws_connect(r, "ws://127.0.0.1:8080/chat")
///     .then([](vow::net::ws_connection c) {
///         (void)c.send_text("hello");
///         return c.receive();
///     })
///     .then([](vow::net::ws_message m) { fmt::print("{}\n", m.data); });
/// @endcode
#pragma once

#include <vow/net/http/message.hpp>
#include <vow/net/tls_layer.hpp>
#include <vow/net/ws/connection.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace vow::net {

/// Options of vow::net::ws_connect.
struct ws_connect_options {
    /// The connection's limits, keepalive and timeouts.
    ws_options ws = {};
    /// Sent with the handshake (Origin, Authorization, cookies, ...). The
    /// handshake's own headers (Host, Upgrade, Connection, Sec-WebSocket-*)
    /// may not be set here: vow::invalid_argument.
    http_headers headers = {};
    /// Offered in Sec-WebSocket-Protocol, preferred first; the server's
    /// choice is the connection's subprotocol().
    std::vector<std::string> subprotocols = {};
    /// wss:// URLs: a vow::net::tls_context::client() (`<vow/net/tls.hpp>`).
    std::shared_ptr<tls_layer> tls = {};
    /// Connect, TLS and handshake together.
    std::optional<reactor::duration> timeout = std::chrono::seconds(30);
    /// Cancels the attempt (vow::cancelled_error); none by default.
    std::stop_token stop = {};
    std::size_t max_header_bytes = std::size_t{16} * 1024;  ///< of the server's answer
};

/// Connects to the ws:// or wss:// `url` and does the WebSocket handshake;
/// resolves with the open connection.
///
/// Rejects with vow::net::ws_handshake_error if the server refuses or does
/// not answer as a WebSocket server must (its status, and what was wrong:
/// a bad Sec-WebSocket-Accept, a subprotocol or extension not offered),
/// io_error, dns_error, tls_error, vow::timeout_error (connect and handshake
/// together) or vow::cancelled_error. A bad URL throws url_error at the call;
/// wss:// without a TLS context throws vow::usage_error.
[[nodiscard]] future<ws_connection> ws_connect(reactor& r, std::string_view url, ws_connect_options opts = {});

}  // namespace vow::net
