/// @file
/// vow::net::tls_stream: a TLS connection as futures.
///
/// Made by a handshake over any vow::net::stream (a tcp_stream converts to
/// one). Part of vow-tls, with tls_context (`<vow/net/tls/context.hpp>`).
///
/// @code
/// auto ctx = vow::net::tls_context::client({.ca_file = "ca.pem"});
/// vow::net::tls_stream::connect(ctx, tcp, "localhost", {.timeout = 5s})
///     .then([](vow::net::tls_stream s) {
///         std::string v = s.version();                      // "TLSv1.3"
///         (void)s.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
///         return s.read_line();
///     });
/// @endcode
#pragma once

#include <vow/net/address.hpp>
#include <vow/net/io_options.hpp>
#include <vow/net/stream.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vow::net {

class tls_context;

/// The peer's certificate, as the handshake left it (verified, unless the
/// context turned verification off).
struct tls_certificate {
    std::string subject;                               ///< "CN=localhost,O=vow tests" (RFC 2253)
    std::string issuer;                                ///< the same form
    std::vector<std::string> subject_alt_names;        ///< "DNS:localhost", "IP:127.0.0.1", ...
    std::chrono::system_clock::time_point not_before;  ///< valid from
    std::chrono::system_clock::time_point not_after;   ///< valid until
    std::string pem;                                   ///< the certificate itself, PEM
};

namespace detail {
class tls_stream_impl;
}  // namespace detail

/// A TLS connection as futures, made by a handshake over any vow::net::stream.
///
/// Every read, write, shutdown and close means what tcp_stream's does
/// (`<vow/net/tcp/stream.hpp>`), on the decrypted bytes: one read at a time
/// (vow::usage_error for a second), nothing lost by a read that times out
/// or is cancelled, end of stream not an error, read_line's limit and its
/// dropping of a long line, limit_error for a write past max_write_buffer.
/// The differences TLS brings:
/// - End of stream is the peer's close_notify. A connection that ends
///   without one (a truncation: an attacker, or a peer that crashed) is
///   not an end: reads reject with vow::net::tls_error, once the bytes
///   before it are read.
/// - shutdown() sends close_notify, then shuts the transport down for
///   writing; reading goes on.
/// - A write's bytes are encrypted at once; its future is the transport's
///   (resolves when the ciphertext is in the kernel or the transport's
///   queue is at most its high_water).
/// - Bytes are read ahead from the transport while nobody reads, up to
///   read_ahead_limit (64 KiB) of decrypted bytes.
/// - Renegotiation is refused.
///
/// A tls_stream is a handle: copies share one connection, which closes (with
/// its transport) when close() is called or the last copy, of the
/// tls_stream or of a vow::net::stream made from it, is destroyed. It
/// converts to a vow::net::stream without allocating.
///
/// Thread safety: thread-bound to its transport's reactor, as tcp_stream.
class tls_stream {
public:
    /// A closed stream; every operation rejects (or throws) as closed.
    tls_stream() noexcept = default;

    /// The client's handshake with `host` over `transport` (see
    /// tls_context::connect): SNI unless host is an IP address, the server's
    /// certificate verified for `host`, a session from an earlier connection
    /// to the same host and port offered for resumption. `opts` bound the
    /// whole handshake. Rejects with vow::net::tls_error (in words), the
    /// transport's io_error, timeout_error or cancelled_error; the transport
    /// is closed then. Throws vow::usage_error if ctx is null, a server
    /// context, or the transport is empty.
    [[nodiscard]] static future<tls_stream> connect(const std::shared_ptr<tls_context>& ctx,
                                                    stream transport, std::string host,
                                                    const io_options& opts = {});
    /// The server's handshake over an accepted `transport`.
    [[nodiscard]] static future<tls_stream> accept(const std::shared_ptr<tls_context>& ctx,
                                                   stream transport, const io_options& opts = {});

    /// As tcp_stream's members of the same names (see the class
    /// description): the next decrypted bytes; "" at end of stream.
    [[nodiscard]] future<std::string> read_some(io_options opts = {});
    /// As tcp_stream::read_some_into, on the decrypted bytes.
    [[nodiscard]] future<std::string> read_some_into(std::string storage, io_options opts = {});
    /// As tcp_stream::read_exactly, on the decrypted bytes.
    [[nodiscard]] future<std::string> read_exactly(std::size_t n, io_options opts = {});
    /// As tcp_stream::read_until, on the decrypted bytes.
    [[nodiscard]] future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes,
                                                 io_options opts = {});
    /// As tcp_stream::read_line, on the decrypted bytes.
    [[nodiscard]] future<std::optional<std::string>>
    read_line(std::size_t max = std::size_t{64} * 1024, io_options opts = {});
    /// Encrypts `data` at once and sends it; the future is the transport's
    /// (tcp_stream::write).
    [[nodiscard]] future<void> write(std::string_view data, io_options opts = {});
    /// Sends close_notify, then shuts the transport down for writing.
    /// Further writes throw vow::usage_error.
    [[nodiscard]] future<void> shutdown(io_options opts = {});
    /// Closes the transport at once (no close_notify). Idempotent.
    void close() noexcept;

    /// True until the stream (with its transport) is closed.
    [[nodiscard]] bool is_open() const noexcept;
    /// True once the peer's close_notify was seen and every byte before it
    /// was read.
    [[nodiscard]] bool at_eof() const noexcept;
    [[nodiscard]] std::size_t buffered_input() const noexcept;  ///< decrypted, unread
    /// True while a read waits for bytes (tcp_stream::read_pending).
    [[nodiscard]] bool read_pending() const noexcept;
    [[nodiscard]] std::size_t buffered_output() const noexcept;  ///< the transport's, ciphertext
    /// The transport's local address; an empty address when closed.
    [[nodiscard]] address local_address() const;
    /// The transport's peer address; an empty address when closed.
    [[nodiscard]] address peer_address() const;
    /// The reactor of the transport.
    /// Throws vow::usage_error on a default-constructed stream.
    [[nodiscard]] reactor& get_reactor() const;
    /// Writes whose size plus buffered_output() would pass max_write_buffer
    /// (16 MiB by default, counted with the records' overhead) reject with
    /// limit_error and send nothing. Keep it at most the transport's own
    /// limit. Throws vow::invalid_argument for 0.
    void set_max_write_buffer(std::size_t max_write_buffer);

    /// What the handshake agreed ("" on a closed stream): the protocol
    /// version, "TLSv1.3", "TLSv1.2".
    [[nodiscard]] std::string version() const;
    /// What the handshake agreed ("" on a closed stream): the ALPN protocol,
    /// "http/1.1", or "" if none was agreed.
    [[nodiscard]] std::string alpn() const;
    /// What the handshake agreed ("" on a closed stream): the cipher suite,
    /// "TLS_AES_256_GCM_SHA384".
    [[nodiscard]] std::string cipher() const;
    /// The peer's certificate; nullopt if it showed none (a client without
    /// one) or the stream is closed.
    [[nodiscard]] std::optional<tls_certificate> peer_certificate() const;
    /// Client: true if the server accepted the session offered from an
    /// earlier connection (an abbreviated handshake).
    [[nodiscard]] bool session_reused() const noexcept;
    /// The SNI host name: on a server, the one the client asked for ("" if
    /// none); on a client, the one it sent.
    [[nodiscard]] std::string server_name() const;
    /// The stream the TLS records travel on.
    [[nodiscard]] stream transport() const noexcept;

    /// is_open().
    explicit operator bool() const noexcept { return is_open(); }

    /// The same connection as a vow::net::stream; no allocation.
    operator stream() const noexcept;   // NOLINT(google-explicit-constructor): a tls_stream is a stream

    /// For vow-tls itself.
    explicit tls_stream(std::shared_ptr<detail::tls_stream_impl> impl) noexcept : impl_(std::move(impl)) {}

private:
    std::shared_ptr<detail::tls_stream_impl> impl_;
};

}  // namespace vow::net
