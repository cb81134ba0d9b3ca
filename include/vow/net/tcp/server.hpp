/// @file
/// vow::net::tcp_server: a listening TCP socket.
///
/// It hands each connection, as a vow::net::tcp_stream
/// (`<vow/net/tcp/stream.hpp>`), to a callback or to accept()'s future.
#pragma once

#include <vow/net/address.hpp>
#include <vow/net/io_options.hpp>
#include <vow/net/tcp/stream.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace vow::net {

/// How a tcp_server listens, and the options of the connections it accepts.
struct server_options {
    /// The listen(2) backlog: connections the kernel queues; must be positive.
    int backlog = 1024;
    /// SO_REUSEADDR: rebind at once after a restart.
    bool reuse_address = true;
    /// SO_REUSEPORT: several listeners (one per reactor/thread) share a port.
    bool reuse_port = false;
    /// IPV6_V6ONLY for "::".
    bool v6_only = false;
    /// For accepted connections.
    stream_options stream = {};
};

/// Listens on host:port. The host is numeric ("0.0.0.0", "127.0.0.1",
/// "::1") or "localhost" (127.0.0.1); port 0 picks a free port, see port().
/// Connections go to the on_connection callback if one is set, otherwise
/// they wait in the kernel's backlog for accept().
///
/// Liveness: a listening server keeps reactor::run() running; close it, or
/// destroy it, when done. ~reactor closes whatever is still open.
///
/// Thread safety: thread-bound to the reactor's thread, like the reactor.
/// Where thread checks are on (docs/design.md, "Threading"), the constructors
/// and every member that acts on the server abort when called on another
/// thread; the getters (is_open, port, ...) are not checked.
class tcp_server {
public:
    /// The on_connection callback: takes each accepted connection.
    using connection_handler = std::function<void(tcp_stream)>;

    /// Binds and listens now. Throws vow::net::io_error if that fails
    /// ("listen on 127.0.0.1:80: Permission denied") and vow::invalid_argument
    /// for a host that is not numeric or "localhost".
    tcp_server(reactor& r, std::string_view host, std::uint16_t port, server_options opts = {});
    /// Binds to the address `where` and listens now. Throws
    /// vow::net::io_error if that fails.
    tcp_server(reactor& r, const address& where, server_options opts = {});
    ~tcp_server();  ///< closes
    /// Takes over the moved-from server's socket, which is left closed.
    tcp_server(tcp_server&&) noexcept;
    /// Closes this server's socket, then takes over the moved-from one's.
    tcp_server& operator=(tcp_server&&) noexcept;
    tcp_server(const tcp_server&) = delete;
    tcp_server& operator=(const tcp_server&) = delete;

    /// Every new connection, from now on, goes to `fn` (on the reactor's
    /// thread). An exception from `fn` goes to the reactor's exception
    /// handler, described as "tcp_server connection handler", and a slow
    /// `fn` to its slow-callback check under the same name; the server goes
    /// on. An empty function stops accepting until a handler or an accept()
    /// comes. A handler may call on_connection itself (the running handler
    /// lives until it returns). Throws vow::usage_error while an accept() is
    /// pending, and vow::net::io_error if the reactor cannot watch the
    /// listening socket.
    void on_connection(connection_handler fn);
    /// The next connection. One accept() at a time (vow::usage_error
    /// otherwise, or while a handler is set).
    [[nodiscard]] future<tcp_stream> accept(const io_options& opts = {});
    /// Accepts, now, every connection already waiting in the kernel's
    /// backlog and hands each to the on_connection handler (inside this
    /// call); returns how many. For a graceful stop: closing a listening
    /// socket resets the connections still in its backlog, and what their
    /// clients sent is lost with them, so call this right before close() to
    /// take them on instead (http_server::shutdown does). Accepts nothing
    /// and returns 0 without a handler (connections wait for accept()) or
    /// while accepting is paused for lack of descriptors. Errors are those
    /// of the accept loop: reported to the reactor's exception handler.
    std::uint64_t accept_backlog();

    /// For a graceful stop that loses nothing: from now on the kernel drops
    /// every new connection attempt (SYN) to this socket (the client
    /// retries, and is refused once the socket is closed), while handshakes
    /// already under way complete into the backlog. Then, a moment later (a
    /// round trip or two: http_server waits 20 ms), accept_backlog() and
    /// close() take on every connection the listener had begun. Returns
    /// false if the system refused the socket filter (or the server is
    /// closed): the close is then as racy as a plain one.
    bool refuse_new_connections() noexcept;

    /// Stops listening and closes the socket; a pending accept() rejects with
    /// io_error (operation_canceled). Connections already accepted stay open;
    /// the kernel resets those still in the backlog (see accept_backlog).
    void close() noexcept;

    /// True while listening (until close(), or a move leaves it closed).
    [[nodiscard]] bool is_open() const noexcept;
    /// The address listened on, with the port actually bound.
    [[nodiscard]] address local_address() const;
    /// The port listened on (the one picked when 0 was asked for).
    [[nodiscard]] std::uint16_t port() const;
    /// Connections accepted so far.
    [[nodiscard]] std::uint64_t accepted() const noexcept;

    class impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace vow::net
