/// @file
/// vow::net::http_server: an HTTP/1.1 server: routes, handlers that return a
/// response or a future of one, keep-alive, limits, graceful shutdown.
///
/// @code
/// vow::net::http_server server(r, "127.0.0.1", 8080);
/// server.get("/", [](const vow::net::http_request&) {
///     return vow::net::http_response::text("hello world");
/// });
/// server.get("/users/{id}", [&](const vow::net::http_request& req) {
///     return load_user(req.param("id"))             // future<user>
///         .then([](user u) { return vow::net::http_response::json(u.to_json()); });
/// });
/// ...
/// server.shutdown().then([] { fmt::print("drained\n"); });
/// @endcode
#pragma once

#include <vow/net/address.hpp>
#include <vow/net/error.hpp>
#include <vow/net/http/message.hpp>
#include <vow/net/tcp.hpp>
#include <vow/net/tls_layer.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace vow::net {

/// Limits and timeouts of an http_server; every limit and timeout must be
/// positive.
struct http_server_options {
    /// Request line + headers; over it: 431.
    std::size_t max_header_bytes = std::size_t{16} * 1024;
    /// Over it: 431.
    std::size_t max_headers = 100;
    /// Over it: 413.
    std::size_t max_body_bytes = std::size_t{8} * 1024 * 1024;
    /// A request's head must arrive within this of its first byte (and a TLS
    /// handshake finish within it); else the connection is dropped.
    reactor::duration header_timeout = std::chrono::seconds(10);
    /// A request's body must arrive within this (a streamed body: each
    /// next() that waits); else the connection is dropped.
    reactor::duration body_timeout = std::chrono::seconds(30);
    /// How long a keep-alive connection may idle between requests.
    reactor::duration idle_timeout = std::chrono::seconds(60);
    /// A response must be taken by the client within this; a client that
    /// stops reading is dropped.
    reactor::duration write_timeout = std::chrono::seconds(30);
    /// Open connections; past it, new connections are closed at once.
    std::size_t max_connections = 10000;
    /// The listener's and its connections' options.
    server_options tcp = {};
    /// HTTPS: a vow::net::tls_context::server(...) from vow-tls
    /// (`<vow/net/tls.hpp>`). Every connection's TLS handshake must finish
    /// within header_timeout; one that does not (a plaintext request, bytes
    /// that are not TLS, a stalled ClientHello) is closed, and no other
    /// connection waits for it.
    std::shared_ptr<tls_layer> tls = {};
};

/// How a route takes its requests (http_server::route).
struct http_route_options {
    /// The handler gets the body as it arrives, through req.body_source,
    /// instead of whole in req.body: uploads of any size, in bounded memory.
    bool stream_body = false;
    /// A streaming route's own body limit, in decoded bytes; nullopt: none
    /// (the handler bounds what it keeps; body_timeout still drops a client
    /// that stalls). The server's max_body_bytes does not apply to it.
    std::optional<std::uint64_t> max_body_bytes = {};
};

/// What a handler returns, erased: a response now, or later.
using http_handler_result = std::variant<http_response, future<http_response>>;
/// A route's handler, erased: what http_server::route stores.
using http_handler = std::function<http_handler_result(const http_request&)>;

/// An HTTP/1.1 server: routes, handlers that return a response or a future of
/// one, keep-alive, limits, graceful shutdown.
///
/// Requests are parsed by vow itself (not evhttp) and validated strictly:
/// malformed or ambiguous requests (no or duplicate Host, two Content-Length
/// headers, Transfer-Encoding with Content-Length, bad header names or chunk
/// sizes, ...) get 400, a body over the limit 413, a header section over the
/// limit 431, an unsupported transfer coding 501, an unknown HTTP version
/// 505 - and the connection is closed after that response.
///
/// Handlers run on the reactor's thread. The request is passed by const
/// reference and stays valid until the handler's response (or its future)
/// is complete. A handler that throws, or whose future rejects, produces a
/// 500 and the error goes to the error hook (by default the reactor's
/// exception handler); the server goes on. So does a response that cannot be
/// written (a CR or LF in a header value). Responses go out in request order,
/// also for pipelined requests. A response that says "Connection: close"
/// closes the connection after it; an HTTP/1.0 client that asked for
/// keep-alive is told "Connection: keep-alive". A client that half-closes
/// after its requests still gets every response in full, then end of stream;
/// so does a slow reader when shutdown() or a "Connection: close" ends its
/// connection.
///
/// Upgrades: a handler may take the connection over (WebSocket's handshake)
/// by answering 101 with http_response::upgrade set
/// (`<vow/net/http/message.hpp>`).
///
/// Routing: a pattern is a path whose segments are literal or `{name}` (one
/// non-empty segment, available as req.param("name"), percent-decoded); the
/// last may be `{name...}`, which takes the rest of the path, slashes
/// included, possibly empty ("/files/{path...}" matches "/files",
/// "/files/" and "/files/a/b.txt", path "a/b.txt"). The first route
/// that matches path and method wins. HEAD is served by the GET route
/// (without the body). No path match: 404; a path match with another method:
/// 405 with an Allow header (which lists HEAD wherever it lists GET).
///
/// Streamed request bodies: a route added with {.stream_body = true}
/// (http_route_options) is called once the request's head is in, and reads
/// the body from req.body_source (req.body stays empty):
///
/// @code
/// server.route("PUT", "/upload/{name}", {.stream_body = true},
///              [&](const vow::net::http_request& req) {
///     auto sink = vow::net::file_sink(file);             // or any consumer of chunks
///     return vow::repeat(r, [&r, &req, sink] {
///         return req.body_source.next().then([&r, sink](std::optional<std::string> chunk) {
///             if (!chunk)
///                 return vow::make_ready_future(r, vow::stop_iteration::yes);
///             return sink(std::move(*chunk)).then([] { return vow::stop_iteration::no; });
///         });
///     }).then([] { return vow::net::http_response::text("stored\n", 201); });
/// });
/// @endcode
///
/// - next() gives the decoded chunks (de-chunked), then std::nullopt;
///   body_source.length is the Content-Length, if the request had one. Call
///   it on the reactor's thread (its future settles there), one call at a
///   time: a second before the first settles rejects with vow::usage_error.
/// - Backpressure: the server reads from the connection only when next() is
///   waiting and nothing of the body is buffered, so a connection holds one
///   read's worth of it (a slow handler stops the client through TCP).
/// - Each next() that has to wait for the client must get bytes within
///   body_timeout; if not, it rejects with vow::timeout_error and the
///   connection is closed.
/// - "Expect: 100-continue" is answered (100 Continue) at the first next():
///   a handler that refuses without reading never asks for the body.
/// - Limits: a Content-Length over the route's max_body_bytes is answered
///   413 without calling the handler; a chunked body that goes past it makes
///   next() reject with vow::net::limit_error. A framing error in the body
///   (a bad chunk size, ...) makes next() reject with vow::net::http_error.
///   A handler whose future then rejects gets that request's answer (413,
///   400) sent for it, unreported; the connection closes after it.
/// - A response before the body was read to its end (std::nullopt) closes
///   the connection after it (Connection: close): what the client still
///   sends is discarded, never parsed as a request. next() after the
///   response rejects with vow::usage_error.
/// - A client that goes away mid-body: next() rejects with
///   vow::net::incomplete_read ("... closed after 1000 of 5000 body bytes";
///   vow::net::io_error if it reset the connection) and the connection is
///   closed; the handler's response or error then goes nowhere (nothing is
///   reported).
/// - A request whose body was read to the end keeps the connection open as
///   usual (keep-alive, pipelining). Routes without stream_body are not
///   affected: their requests are buffered whole, up to max_body_bytes.
///
/// Timeouts (slow clients are dropped): a request's head must arrive within
/// header_timeout of its first byte, its body within body_timeout, a
/// response must be taken by the client (into the kernel's buffer, or down
/// to the stream's high-water mark) within write_timeout, and a keep-alive
/// connection may idle for idle_timeout. They are checked by one
/// sweep timer per server (every quarter second or less), not per request.
///
/// Thread safety: thread-bound to the reactor's thread. Where thread checks
/// are on (docs/design.md, "Threading"), the constructor, the destructor and
/// every member but the getters abort when called on another thread.
class http_server {
public:
    /// Listens at once (see tcp_server for host and port rules).
    /// Throws vow::net::io_error if it cannot listen, vow::invalid_argument
    /// for bad options (zero limits or timeouts).
    http_server(reactor& r, std::string_view host, std::uint16_t port, http_server_options opts = {});
    ~http_server();  ///< Closes every connection at once.
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    /// Adds a route. `fn(const http_request&)` returns http_response or
    /// future<http_response>; `fn` is moved (or copied) into the server and
    /// lives as long as it. Throws vow::invalid_argument for a pattern that
    /// does not start with '/', has an empty `{}` or a repeated name, or for
    /// an empty method.
    template <class F>
    http_server& route(std::string_view method, std::string_view pattern, F&& fn) {
        return route(method, pattern, http_route_options{}, std::forward<F>(fn));
    }
    /// The same, with options: {.stream_body = true} gives the handler the
    /// body as it arrives (req.body_source), see "Streamed request bodies"
    /// in the class description.
    template <class F>
    http_server& route(std::string_view method, std::string_view pattern, const http_route_options& opts, F&& fn) {
        using R = std::invoke_result_t<F&, const http_request&>;
        static_assert(std::is_same_v<R, http_response> || std::is_same_v<R, future<http_response>>,
                      "vow::net::http_server: a handler takes (const http_request&) and returns "
                      "http_response or future<http_response>");
        add_route(method, pattern, opts,
                  http_handler([f = std::forward<F>(fn)](const http_request& req) mutable {
                      return http_handler_result(f(req));
                  }));
        return *this;
    }
    /// Adds a GET route (it also serves HEAD): route("GET", pattern, fn).
    template <class F>
    http_server& get(std::string_view pattern, F&& fn) {
        return route("GET", pattern, std::forward<F>(fn));
    }
    /// Adds a POST route: route("POST", pattern, fn).
    template <class F>
    http_server& post(std::string_view pattern, F&& fn) {
        return route("POST", pattern, std::forward<F>(fn));
    }

    /// Called after each response is handed to the connection: for access
    /// logs. `took` runs from the request's first byte to the response.
    using access_log = std::function<void(const http_request&, const http_response&, reactor::duration took)>;
    /// Sets the access-log hook `fn` (replacing any earlier one).
    void on_response(access_log fn);
    /// Receives errors from handlers (after the 500 is sent). Default: the
    /// reactor's exception handler.
    void on_error(std::function<void(std::exception_ptr, const http_request&)> fn);

    /// Graceful shutdown: takes on the connections already waiting in the
    /// listener's backlog, stops accepting, closes the connections that have
    /// received nothing, answers every request received before the call (in
    /// its handler, parsed, or still unread in the kernel; their responses
    /// say Connection: close), and resolves once every connection is closed.
    /// No connection is reset: each ends after its last response with a FIN,
    /// and the server reads on until the client's end of stream (or 2 s).
    /// A request head still incomplete waits for the rest within
    /// header_timeout. After `grace`, what is left is closed at once.
    /// Calling it again returns a future for the same completion.
    [[nodiscard]] future<void> shutdown(reactor::duration grace = std::chrono::seconds(30));
    /// Closes the listener and every connection now.
    void close() noexcept;
    /// Joins the graceful shutdown: when shutdown() begins, fn(grace) is
    /// called, and shutdown()'s future also waits for the future fn returns.
    /// For what took connections over with an upgrade, which the server
    /// no longer counts: a ws_endpoint registers one to send 1001 "going
    /// away" to its clients.
    void on_shutdown(std::function<future<void>(reactor::duration grace)> fn);

    /// The address listened on, with the port actually bound.
    [[nodiscard]] address local_address() const;
    /// The port listened on (the one picked when 0 was asked for).
    [[nodiscard]] std::uint16_t port() const;
    /// The reactor the server runs on.
    [[nodiscard]] reactor& get_reactor() const noexcept;
    [[nodiscard]] std::size_t connections() const noexcept;  ///< Connections open now.
    /// Requests given to a route (or answered 404/405) so far; requests
    /// rejected while parsing (400, 413, 431, ...) are not counted.
    [[nodiscard]] std::uint64_t requests() const noexcept;

    class impl;

private:
    void add_route(std::string_view method, std::string_view pattern, const http_route_options& opts,
                   http_handler fn);
    std::shared_ptr<impl> impl_;
};

}  // namespace vow::net
