/// @file
/// vow::net::tcp_stream: a TCP connection as futures.
///
/// Servers are in `<vow/net/tcp/server.hpp>`, connect() in
/// `<vow/net/tcp/connect.hpp>`, all three in `<vow/net/tcp.hpp>`.
///
/// A tcp_stream converts to a vow::net::stream (`<vow/net/stream.hpp>`),
/// which the protocols above TCP (HTTP, TLS) take.
#pragma once

#include <vow/error.hpp>
#include <vow/net/address.hpp>
#include <vow/net/error.hpp>
#include <vow/net/io_options.hpp>
#include <vow/net/stream.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace vow::fs {
class file;   // <vow/fs/file.hpp>
}

namespace vow::net {

/// Per-stream tuning; the defaults suit request/response protocols.
struct stream_options {
    /// TCP_NODELAY, as asyncio, uvloop and Node.js.
    bool nodelay = true;
    /// Buffered unread input before reading pauses.
    std::size_t read_ahead_limit = std::size_t{64} * 1024;
    /// write() resolves at or below this much queued.
    std::size_t high_water = std::size_t{64} * 1024;
    /// Size + queued over this: the write rejects.
    std::size_t max_write_buffer = std::size_t{16} * 1024 * 1024;
};

namespace detail {
class stream_impl;
struct stream_access;
}  // namespace detail

/// A TCP connection as futures.
///
/// A tcp_stream is a handle: copies share one connection, which closes when
/// close() is called or the last copy is destroyed. Continuations may capture
/// a copy (`[s]`) to keep the stream open while they wait.
///
/// Reads: one read at a time per stream (a second read while one is pending
/// throws vow::usage_error). Bytes the peer sends while no read is pending
/// are read ahead into the stream's buffer, up to read_ahead_limit (then
/// reading pauses: the kernel's window pushes back on the peer). A read that
/// is cancelled or times out rejects, and loses nothing: the bytes stay
/// buffered for the next read. End of stream is not an error: read_some
/// yields an empty string and read_line std::nullopt; read_exactly and
/// read_until reject with vow::net::incomplete_read, which holds the bytes
/// that did arrive. So a line loop needs no catch for the end:
///
/// @code
/// s.read_line().then([](std::optional<std::string> line) {
///     if (!line) { /* the peer is done */ }
/// });
/// @endcode
///
/// read_line takes ``'\n'`` and `"\r\n"` line ends alike. A line longer than its
/// max rejects with vow::net::limit_error and the stream drops that line:
/// what is buffered of it at once, the rest as it arrives, through its ``'\n'``.
/// Until that ``'\n'`` comes, every read (read_some too) waits for the bytes
/// after it, and the dropped bytes are never buffered, so a peer sending an
/// endless line costs no memory (reading goes on while dropping, even with
/// no read pending, since nothing accumulates).
///
/// Writes are sent at once (write-through); only what the kernel does not
/// take is copied into the stream's output buffer and sent when the socket
/// is writable again. write()'s future resolves when its bytes are in the
/// kernel, or the output buffer is at most high_water bytes. A writer that
/// ignores those futures is stopped at max_write_buffer: a write whose size
/// plus the bytes already queued exceeds it rejects with
/// vow::net::limit_error and sends nothing (so one write larger than
/// max_write_buffer always rejects: split it, or raise the limit).
/// Cancelling or timing out a write abandons only the wait: its bytes are
/// already the stream's and are still sent, in order.
///
/// Every wait takes io_options: a std::stop_token (rejects with
/// vow::cancelled_error) and a timeout or deadline (vow::timeout_error).
/// Socket errors reject with vow::net::io_error (code() is the errno).
///
/// Liveness: an open stream or a listening server keeps reactor::run()
/// running (as an open socket keeps Node.js running); close them, or let the
/// last handle go, when done. ~reactor closes whatever is still open.
///
/// Files go out with send_file: sendfile(2) from the file to the socket, no
/// copy through user space (nginx's `sendfile on`):
///
/// @code
/// vow::fs::open(r, "index.html").then([s](vow::fs::file f) mutable {
///     auto fp = std::make_shared<vow::fs::file>(std::move(f));
///     return fp->stat().then([s, fp](vow::fs::file_status st) mutable {
///         return s.send_file(*fp, 0, st.size);           // future<std::uint64_t>: st.size
///     });                                                // fp may go once it returns
/// });
/// @endcode
///
/// A tcp_stream converts to a vow::net::stream (`<vow/net/stream.hpp>`), which
/// the protocols above TCP (HTTP, TLS) take.
///
/// Thread safety: thread-bound to the reactor's thread, like the reactor.
/// Where thread checks are on (docs/design.md, "Threading"), every member that
/// acts on a stream aborts when called on another thread; the getters
/// (is_open, buffered_input, ...) are not checked.
class tcp_stream {
public:
    /// A closed stream; every operation on it rejects (or throws) as closed.
    tcp_stream() noexcept = default;

    /// Takes ownership of a connected socket `fd` (made non-blocking here).
    /// Throws vow::invalid_argument for a negative fd; on error the fd is
    /// closed before the exception leaves.
    static tcp_stream adopt(reactor& r, int fd, stream_options opts = {});

    /// The next bytes available: whatever is buffered, or, if nothing is, the
    /// next chunk the peer sends (up to 64 KiB). "" at end of stream.
    [[nodiscard]] future<std::string> read_some(io_options opts = {});
    /// As read_some, but the bytes are put in `storage` (its contents are
    /// replaced) and that string is what the future yields: no allocation
    /// while they fit its capacity. A loop that hands each string back once
    /// done with it reads with no allocation per pass (examples/echo_server):
    /// @code
    /// s.read_some_into(std::move(buf)).then([](std::string data) { ...; buf = std::move(data); })
    /// @endcode
    /// asyncio's readinto, Asio's read_some(buffer). At the end of stream the
    /// string is empty; if the read fails or is cancelled, `storage` is gone.
    [[nodiscard]] future<std::string> read_some_into(std::string storage, io_options opts = {});
    /// Exactly `n` bytes (0 resolves at once with "").
    [[nodiscard]] future<std::string> read_exactly(std::size_t n, io_options opts = {});
    /// Bytes up to and including the first `delimiter`. Rejects with
    /// vow::net::limit_error if `max_bytes` arrive without one (the bytes stay
    /// buffered). Throws vow::invalid_argument for an empty delimiter or a
    /// max_bytes smaller than the delimiter.
    [[nodiscard]] future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes,
                                                 io_options opts = {});
    /// The next line, without its ``'\n'`` and without one ``'\r'`` directly before
    /// it (a ``'\r'`` elsewhere stays); an empty line is "". At the end of
    /// stream: the unterminated last line (without a ``'\r'`` that ends it, a
    /// `"\r\n"` cut short, as Go's bufio.ScanLines), then std::nullopt, at a
    /// clean end with nothing buffered. `max` bounds the line as returned:
    /// the ``'\n'`` and the ``'\r'`` dropped before it do not count, so LF and CRLF
    /// peers get the same limit. A longer line rejects with
    /// vow::net::limit_error as soon as the bytes that arrived prove it too
    /// long (max + 1 bytes and no ``'\n'``, one more if the last is a ``'\r'``),
    /// without waiting for its ``'\n'``; the stream drops that line through its
    /// ``'\n'`` (when it comes: see "Reads" in the class description), so the next
    /// read_line starts on the next line; at the end of stream, the rest of
    /// it is simply gone. Timeouts, cancellation and resets as for every read.
    [[nodiscard]] future<std::optional<std::string>>
    read_line(std::size_t max = std::size_t{64} * 1024, io_options opts = {});

    /// Sends `data` (copied only if the kernel does not take it all now).
    /// Rejects with limit_error if data.size() + buffered_output() exceeds
    /// max_write_buffer (nothing is sent). Throws vow::usage_error after
    /// shutdown().
    [[nodiscard]] future<void> write(std::string_view data, io_options opts = {});
    /// Sends `length` bytes of `f` from `offset` with sendfile(2), after
    /// the bytes already queued by write(); resolves with `length` once they
    /// are all in the kernel. The file's pages are read by sendfile itself,
    /// on the reactor's thread (as nginx's `sendfile on` reads them on its
    /// worker): quick for a file in the page cache, a stall of the loop for
    /// one on a slow disk. Each writable event sends at most 2 MiB, so one
    /// large file does not hold the loop. The stream takes its own duplicate
    /// of the descriptor: `f` may be closed or destroyed once this returns.
    ///
    /// One at a time: write(), shutdown() or another send_file while one
    /// runs throws vow::usage_error (wait for its future; nothing is
    /// queued behind it). A region the file does not have (offset + length
    /// past its size at the call) rejects with vow::net::io_error
    /// (std::errc::no_message_available) naming the file, and sends nothing;
    /// length 0 resolves with 0 at once. Throws vow::usage_error if `f` is
    /// not open or the stream was shut down, vow::invalid_argument if `f` is
    /// not a regular file.
    ///
    /// Once bytes may have gone out, every ending but success closes the
    /// stream, since the peer would otherwise take what follows as the rest
    /// of the file: a socket error (a peer that resets: vow::net::io_error),
    /// a file that shrinks while being sent (io_error, no_message_available),
    /// a stop request (vow::cancelled_error) or the timeout or deadline
    /// (vow::timeout_error), and close(). Whatever else waits on the stream
    /// then rejects as closed.
    [[nodiscard]] future<std::uint64_t> send_file(const fs::file& f, std::uint64_t offset,
                                                  std::uint64_t length,
                                                  const io_options& opts = {});
    /// Half-closes: sends FIN once the queued output is flushed, then
    /// resolves. Reading goes on. Further writes throw vow::usage_error.
    [[nodiscard]] future<void> shutdown(io_options opts = {});
    /// Closes at once: queued output is dropped, pending reads, writes and
    /// shutdowns reject with io_error (std::errc::operation_canceled), and
    /// so does every later operation, whatever the stream saw before (end of
    /// stream, a reset). Idempotent.
    void close() noexcept;

    /// True until the stream is closed (by close(), an error that closes it,
    /// or ~reactor); false for a default-constructed stream.
    [[nodiscard]] bool is_open() const noexcept;
    /// True once the peer's end of stream was seen and every byte before it
    /// was read.
    [[nodiscard]] bool at_eof() const noexcept;
    /// Bytes received and not yet read (at most about read_ahead_limit).
    [[nodiscard]] std::size_t buffered_input() const noexcept;
    /// True while a read waits for bytes. False once its future is settled,
    /// although the continuations chained on it may not have run yet: so a
    /// server that keeps one read pending on an idle connection can tell
    /// "nothing came" from "a request came and is on its way to my handler".
    [[nodiscard]] bool read_pending() const noexcept;
    /// Bytes written that the kernel has not taken yet (the output buffer).
    [[nodiscard]] std::size_t buffered_output() const noexcept;
    /// This end's socket address; an empty address when closed.
    [[nodiscard]] address local_address() const;
    /// The peer's socket address; an empty address when closed.
    [[nodiscard]] address peer_address() const;
    /// The socket's file descriptor (still owned by the stream); -1 when
    /// closed.
    [[nodiscard]] int native_handle() const noexcept;
    /// The reactor the stream is bound to.
    /// Throws vow::usage_error on a default-constructed stream.
    [[nodiscard]] reactor& get_reactor() const;
    /// Turns TCP_NODELAY on or off (on by default: stream_options::nodelay).
    void set_nodelay(bool on);
    /// Sets stream_options::high_water and max_write_buffer for this stream.
    /// Throws vow::invalid_argument if high_water > max_write_buffer or
    /// max_write_buffer is 0.
    void set_write_limits(std::size_t high_water, std::size_t max_write_buffer);

    /// is_open().
    explicit operator bool() const noexcept { return is_open(); }

    /// The same connection as a vow::net::stream (`<vow/net/stream.hpp>`), what
    /// the protocols above TCP take; no allocation. A default-constructed
    /// tcp_stream gives an empty stream.
    operator stream() const noexcept;   // NOLINT(google-explicit-constructor): a tcp_stream is a stream

private:
    explicit tcp_stream(std::shared_ptr<detail::stream_impl> impl) noexcept : impl_(std::move(impl)) {}
    friend struct detail::stream_access;
    std::shared_ptr<detail::stream_impl> impl_;
};

}  // namespace vow::net
