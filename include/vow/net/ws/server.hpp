/// @file
/// vow::net::ws_endpoint: the server side of WebSocket.
///
/// A ws_endpoint accepts upgrades on an http_server route and keeps the
/// connections it opened, so that the server's graceful shutdown says 1001
/// "going away" to each of them.
///
/// @code
/// vow::net::http_server server(r, "127.0.0.1", 8080);
/// vow::net::ws_endpoint echo(server, "/", [](vow::net::ws_connection c,
///                                           const vow::net::http_request&) {
///     (void)c.for_each_message([c](vow::net::ws_message m) mutable { return c.send(m); });
/// });
/// ...
/// server.shutdown();   // every WebSocket client gets 1001, the future waits for their close
/// @endcode
#pragma once

#include <vow/net/http/message.hpp>
#include <vow/net/http/server.hpp>
#include <vow/net/ws/connection.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vow::net {

/// Options of a ws_endpoint.
struct ws_server_options {
    /// Each connection's limits, keepalive and timeouts.
    ws_options ws = {};
    /// Subprotocols this endpoint speaks, preferred first.
    std::vector<std::string> subprotocols = {};
    /// Refuse (400) a client that offers none of `subprotocols`.
    bool require_subprotocol = false;
    /// Called with the request's Origin header ("" if it has none); false
    /// refuses with 403. Unset: every origin is accepted.
    std::function<bool(std::string_view origin, const http_request&)> check_origin = {};
    /// Added to every 101 response.
    http_headers headers = {};
    /// Open connections past this are refused with 503.
    std::size_t max_connections = 100000;
};

/// The server side of WebSocket: accepts upgrades on an http_server route and
/// keeps the connections it opened, so that the server's graceful shutdown says
/// 1001 "going away" to each of them.
///
/// The handshake (RFC 6455 4.2) is checked strictly: a GET, HTTP/1.1,
/// Connection: upgrade, Upgrade: websocket, a Sec-WebSocket-Key of 16
/// bytes in base64, Sec-WebSocket-Version 13. A request that breaks one
/// gets 400 saying which (a version other than 13 gets 426 with
/// "Sec-WebSocket-Version: 13"); an Origin that check_origin refuses gets
/// 403. Then the 101 names the subprotocol chosen (the first of the
/// endpoint's list that the client offered; none if the client offered
/// none of them, unless require_subprotocol, which refuses with 400), the
/// permessage-deflate parameters if both sides want it, and `headers`.
///
/// Thread-bound to the reactor's thread.
class ws_endpoint {
public:
    /// Called with each new connection (once its 101 is written) and the
    /// request that opened it.
    using open_handler = std::function<void(ws_connection, const http_request&)>;

    /// An endpoint on its own: route requests to it with accept().
    ws_endpoint(reactor& r, open_handler on_open, ws_server_options opts = {});
    /// Also adds a GET route at `pattern` to `server`, and joins its
    /// graceful shutdown: server.shutdown() calls this endpoint's
    /// shutdown(grace) and waits for it too.
    ws_endpoint(http_server& server, std::string_view pattern, open_handler on_open, ws_server_options opts = {});
    /// Aborts the connections still open (no close frame).
    ~ws_endpoint();
    ws_endpoint(const ws_endpoint&) = delete;
    ws_endpoint& operator=(const ws_endpoint&) = delete;

    /// The handshake's answer: 101 with the connection's hand-over (on_open
    /// runs with the connection once the 101 is written), or the refusal.
    [[nodiscard]] http_response accept(const http_request& req);

    /// Closes every connection with 1001 "going away" (and refuses new ones
    /// with 503); resolves once all are closed. After `grace`, those left
    /// are aborted.
    [[nodiscard]] future<void> shutdown(reactor::duration grace = std::chrono::seconds(10));
    /// Aborts every connection now.
    void close() noexcept;

    [[nodiscard]] std::size_t connections() const noexcept;  ///< open now
    /// Calls fn for each open connection (a chat's broadcast).
    void for_each_connection(const std::function<void(ws_connection&)>& fn);

    class impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace vow::net
