// vow/net/tcp.hpp - TCP streams, servers and connect, as futures.
//
//   vow::net::tcp_server server(r, "127.0.0.1", 0);          // port 0: a free one
//   server.on_connection([](vow::net::tcp_stream s) {
//       echo(std::move(s));                                  // see examples/echo_server.cpp
//   });
//   vow::net::connect(r, "localhost", server.port())
//       .then([](vow::net::tcp_stream s) {
//           auto w = s.write("hello\n");
//           return s.read_until("\n", 1024);                  // future<std::string>: "hello\n"
//       });
//
// A tcp_stream is a handle: copies share one connection, which closes when
// close() is called or the last copy is destroyed. Continuations may capture
// a copy (`[s]`) to keep the stream open while they wait.
//
// Reads: one read at a time per stream (a second read while one is pending
// throws vow::usage_error). Bytes the peer sends while no read is pending
// are read ahead into the stream's buffer, up to read_ahead_limit (then
// reading pauses: the kernel's window pushes back on the peer). A read that
// is cancelled or times out rejects, and loses nothing: the bytes stay
// buffered for the next read. End of stream is not an error: read_some
// yields an empty string and read_line std::nullopt; read_exactly and
// read_until reject with vow::net::incomplete_read, which holds the bytes
// that did arrive. So a line loop needs no catch for the end:
//
//   s.read_line().then([](std::optional<std::string> line) {
//       if (!line) { /* the peer is done */ }
//   });
//
// read_line takes '\n' and "\r\n" line ends alike. A line longer than its
// max rejects with vow::net::limit_error and the stream drops that line:
// what is buffered of it at once, the rest as it arrives, through its '\n'.
// Until that '\n' comes, every read (read_some too) waits for the bytes
// after it, and the dropped bytes are never buffered, so a peer sending an
// endless line costs no memory (reading goes on while dropping, even with
// no read pending, since nothing accumulates).
//
// Writes are sent at once (write-through); only what the kernel does not
// take is copied into the stream's output buffer and sent when the socket
// is writable again. write()'s future resolves when its bytes are in the
// kernel, or the output buffer is at most high_water bytes. A writer that
// ignores those futures is stopped at max_write_buffer: a write whose size
// plus the bytes already queued exceeds it rejects with
// vow::net::limit_error and sends nothing (so one write larger than
// max_write_buffer always rejects: split it, or raise the limit).
// Cancelling or timing out a write abandons only the wait: its bytes are
// already the stream's and are still sent, in order.
//
// Every wait takes io_options: a std::stop_token (rejects with
// vow::cancelled_error) and a timeout or deadline (vow::timeout_error).
// Socket errors reject with vow::net::io_error (code() is the errno).
//
// Liveness: an open stream or a listening server keeps reactor::run()
// running (as an open socket keeps Node.js running); close them, or let the
// last handle go, when done. ~reactor closes whatever is still open.
//
// Thread safety: thread-bound to the reactor's thread, like the reactor.
// Where thread checks are on (docs/design.md, "Threading"), every member that
// acts on a stream or server, connect() and the constructors abort when
// called on another thread; the getters (is_open, port, ...) are not checked.
#pragma once

#include <vow/error.hpp>
#include <vow/net/address.hpp>
#include <vow/net/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <stop_token>
#include <string>
#include <string_view>

namespace vow::net {

// How long an operation may wait and how to cancel it. With both a timeout
// and a deadline, the earlier one applies.
struct io_options {
    std::stop_token stop = {};
    std::optional<reactor::duration> timeout = {};
    std::optional<reactor::time_point> deadline = {};
};

// Per-stream tuning; the defaults suit request/response protocols.
struct stream_options {
    bool nodelay = true;                               // TCP_NODELAY, as asyncio, uvloop and Node.js
    std::size_t read_ahead_limit = 64 * 1024;          // buffered unread input before reading pauses
    std::size_t high_water = 64 * 1024;                // write() resolves at or below this much queued
    std::size_t max_write_buffer = 16 * 1024 * 1024;   // size + queued over this: the write rejects
};

namespace detail {
class stream_impl;
struct stream_access;
}  // namespace detail

class tcp_stream {
public:
    // A closed stream; every operation on it rejects (or throws) as closed.
    tcp_stream() noexcept = default;

    // Takes ownership of a connected socket `fd` (made non-blocking here).
    // Throws vow::invalid_argument for a negative fd; on error the fd is
    // closed before the exception leaves.
    static tcp_stream adopt(reactor& r, int fd, stream_options opts = {});

    // The next bytes available: whatever is buffered, or, if nothing is, the
    // next chunk the peer sends (up to 64 KiB). "" at end of stream.
    [[nodiscard]] future<std::string> read_some(io_options opts = {});
    // Exactly `n` bytes (0 resolves at once with "").
    [[nodiscard]] future<std::string> read_exactly(std::size_t n, io_options opts = {});
    // Bytes up to and including the first `delimiter`. Rejects with
    // vow::net::limit_error if `max_bytes` arrive without one (the bytes stay
    // buffered). Throws vow::invalid_argument for an empty delimiter or a
    // max_bytes smaller than the delimiter.
    [[nodiscard]] future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes,
                                                 io_options opts = {});
    // The next line, without its '\n' and without one '\r' directly before
    // it (a '\r' elsewhere stays); an empty line is "". At the end of
    // stream: the unterminated last line (without a '\r' that ends it, a
    // "\r\n" cut short, as Go's bufio.ScanLines), then std::nullopt, at a
    // clean end with nothing buffered. `max` bounds the line as returned:
    // the '\n' and the '\r' dropped before it do not count, so LF and CRLF
    // peers get the same limit. A longer line rejects with
    // vow::net::limit_error as soon as the bytes that arrived prove it too
    // long (max + 1 bytes and no '\n', one more if the last is a '\r'),
    // without waiting for its '\n'; the stream drops that line through its
    // '\n' (when it comes: see the reads paragraph above), so the next
    // read_line starts on the next line; at the end of stream, the rest of
    // it is simply gone. Timeouts, cancellation and resets as for every read.
    [[nodiscard]] future<std::optional<std::string>> read_line(std::size_t max = 64 * 1024, io_options opts = {});

    // Sends `data` (copied only if the kernel does not take it all now).
    // Rejects with limit_error if data.size() + buffered_output() exceeds
    // max_write_buffer (nothing is sent). Throws vow::usage_error after
    // shutdown().
    [[nodiscard]] future<void> write(std::string_view data, io_options opts = {});
    // Half-closes: sends FIN once the queued output is flushed, then
    // resolves. Reading goes on. Further writes throw vow::usage_error.
    [[nodiscard]] future<void> shutdown(io_options opts = {});
    // Closes at once: queued output is dropped, pending reads, writes and
    // shutdowns reject with io_error (std::errc::operation_canceled), and
    // so does every later operation, whatever the stream saw before (end of
    // stream, a reset). Idempotent.
    void close() noexcept;

    [[nodiscard]] bool is_open() const noexcept;
    // True once the peer's end of stream was seen and every byte before it
    // was read.
    [[nodiscard]] bool at_eof() const noexcept;
    [[nodiscard]] std::size_t buffered_input() const noexcept;
    // True while a read waits for bytes. False once its future is settled,
    // although the continuations chained on it may not have run yet: so a
    // server that keeps one read pending on an idle connection can tell
    // "nothing came" from "a request came and is on its way to my handler".
    [[nodiscard]] bool read_pending() const noexcept;
    [[nodiscard]] std::size_t buffered_output() const noexcept;
    [[nodiscard]] address local_address() const;
    [[nodiscard]] address peer_address() const;
    [[nodiscard]] int native_handle() const noexcept;   // -1 when closed
    // Throws vow::usage_error on a default-constructed stream.
    [[nodiscard]] reactor& get_reactor() const;
    void set_nodelay(bool on);
    // Throws vow::invalid_argument if high_water > max_write_buffer or
    // max_write_buffer is 0.
    void set_write_limits(std::size_t high_water, std::size_t max_write_buffer);

    explicit operator bool() const noexcept { return is_open(); }

private:
    explicit tcp_stream(std::shared_ptr<detail::stream_impl> impl) noexcept : impl_(std::move(impl)) {}
    friend struct detail::stream_access;
    std::shared_ptr<detail::stream_impl> impl_;
};

struct server_options {
    int backlog = 1024;
    bool reuse_address = true;    // SO_REUSEADDR: rebind at once after a restart
    bool reuse_port = false;      // SO_REUSEPORT: several listeners (one per reactor/thread) share a port
    bool v6_only = false;         // IPV6_V6ONLY for "::"
    stream_options stream = {};   // for accepted connections
};

// Listens on host:port. The host is numeric ("0.0.0.0", "127.0.0.1",
// "::1") or "localhost" (127.0.0.1); port 0 picks a free port, see port().
// Connections go to the on_connection callback if one is set, otherwise
// they wait in the kernel's backlog for accept().
class tcp_server {
public:
    using connection_handler = std::function<void(tcp_stream)>;

    // Binds and listens now. Throws vow::net::io_error if that fails
    // ("listen on 127.0.0.1:80: Permission denied") and vow::invalid_argument
    // for a host that is not numeric or "localhost".
    tcp_server(reactor& r, std::string_view host, std::uint16_t port, server_options opts = {});
    tcp_server(reactor& r, const address& where, server_options opts = {});
    ~tcp_server();   // closes
    tcp_server(tcp_server&&) noexcept;
    tcp_server& operator=(tcp_server&&) noexcept;
    tcp_server(const tcp_server&) = delete;
    tcp_server& operator=(const tcp_server&) = delete;

    // Every new connection, from now on, goes to `fn` (on the reactor's
    // thread). An exception from `fn` goes to the reactor's exception
    // handler, described as "tcp_server connection handler", and a slow
    // `fn` to its slow-callback check under the same name; the server goes
    // on. An empty function stops accepting until a handler or an accept()
    // comes. A handler may call on_connection itself (the running handler
    // lives until it returns). Throws vow::usage_error while an accept() is
    // pending, and vow::net::io_error if the reactor cannot watch the
    // listening socket.
    void on_connection(connection_handler fn);
    // The next connection. One accept() at a time (vow::usage_error
    // otherwise, or while a handler is set).
    [[nodiscard]] future<tcp_stream> accept(io_options opts = {});
    // Accepts, now, every connection already waiting in the kernel's
    // backlog and hands each to the on_connection handler (inside this
    // call); returns how many. For a graceful stop: closing a listening
    // socket resets the connections still in its backlog, and what their
    // clients sent is lost with them, so call this right before close() to
    // take them on instead (http_server::shutdown does). Accepts nothing
    // and returns 0 without a handler (connections wait for accept()) or
    // while accepting is paused for lack of descriptors. Errors are those
    // of the accept loop: reported to the reactor's exception handler.
    std::uint64_t accept_backlog();

    // Stops listening and closes the socket; a pending accept() rejects with
    // io_error (operation_canceled). Connections already accepted stay open;
    // the kernel resets those still in the backlog (see accept_backlog).
    void close() noexcept;

    [[nodiscard]] bool is_open() const noexcept;
    [[nodiscard]] address local_address() const;
    [[nodiscard]] std::uint16_t port() const;
    // Connections accepted so far.
    [[nodiscard]] std::uint64_t accepted() const noexcept;

    class impl;

private:
    std::shared_ptr<impl> impl_;
};

struct connect_options {
    std::stop_token stop = {};
    // For the whole attempt, name resolution included.
    std::optional<reactor::duration> timeout = std::chrono::seconds(30);
    std::optional<reactor::time_point> deadline = {};
    int family = 0;   // AF_UNSPEC (0), AF_INET or AF_INET6
    stream_options stream = {};
};

// Connects to host:port: resolves the name (vow/net/resolve.hpp; numeric
// hosts and "localhost" without a query) and tries each address in turn.
// Rejects with io_error naming the host and the last error
// ("connect to localhost:9 (127.0.0.1:9): Connection refused"),
// vow::net::dns_error, vow::timeout_error or vow::cancelled_error.
[[nodiscard]] future<tcp_stream> connect(reactor& r, std::string_view host, std::uint16_t port,
                                         connect_options opts = {});
[[nodiscard]] future<tcp_stream> connect(reactor& r, std::string_view host, std::uint16_t port,
                                         std::stop_token stop);
// Connects to one address.
[[nodiscard]] future<tcp_stream> connect(reactor& r, const address& to, connect_options opts = {});

}  // namespace vow::net
