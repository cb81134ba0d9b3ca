/// @file
/// The exception types vow::net throws or rejects with.
///
/// Same rules as `<vow/error.hpp>`: each derives from the closest standard
/// exception and its message says what went wrong and why. Timeouts reject
/// with vow::timeout_error and cancellations with vow::cancelled_error.
#pragma once

#include <vow/error.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace vow::net {

/// The operating system reported an error on a socket. `code()` holds the
/// errno as a std::generic_category code, so callers can test
/// @code
/// e.code() == std::errc::connection_refused   // (or connection_reset, ...)
/// @endcode
/// The message names the operation and the peer:
/// `"connect to 127.0.0.1:9: Connection refused"`
class io_error : public std::system_error {
public:
    using std::system_error::system_error;
};

/// A host name could not be resolved (no such name, no answer in time is a
/// vow::timeout_error instead). The message names the host and the reason.
class dns_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A limit was reached: read_until found no delimiter within max_bytes,
/// read_line met a line longer than its max (the stream drops that line), a
/// writer queued more than the stream's write limit, an HTTP message was
/// larger than allowed. Nothing is buffered past a limit.
class limit_error : public std::length_error {
public:
    using std::length_error::length_error;
};

/// The stream ended before read_exactly's n bytes or read_until's delimiter
/// arrived. `partial()` holds the bytes that did arrive (they are consumed).
class incomplete_read : public std::runtime_error {
public:
    /// An error with message `what` and the bytes that did arrive.
    incomplete_read(const std::string& what, std::string partial)
        : std::runtime_error(what), partial_(std::move(partial)) {}
    /// The bytes that arrived before the stream ended.
    [[nodiscard]] const std::string& partial() const noexcept { return partial_; }

private:
    std::string partial_;
};

/// A URL the HTTP client cannot use (bad syntax, unsupported scheme, ...).
class url_error : public vow::invalid_argument {
public:
    using vow::invalid_argument::invalid_argument;
};

/// The peer broke the HTTP protocol: a malformed response, a body that does
/// not match its framing, too many redirects.
class http_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A TLS handshake or record failed. The message says what, in words: every
/// certificate failure contains the word "certificate" ("certificate has
/// expired", "certificate is for other.example, not localhost", "self-signed
/// certificate is not trusted"); a protocol version or ALPN mismatch, a
/// peer that is not speaking TLS, or a connection cut without close_notify
/// (a truncation) each say so. Thrown by vow-tls (`<vow/net/tls.hpp>`); it is
/// declared here so code that only catches needs no TLS headers.
class tls_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A WebSocket connection failed: the peer broke the protocol (code() is
/// the close code vow sent it: 1002, 1007, 1009; the message says what the
/// peer did), the connection dropped without a close frame or a keepalive
/// ping went unanswered (1006, 1011), or the other side closed with an error
/// code. reason() is the close frame's reason, if one was exchanged.
class ws_error : public std::runtime_error {
public:
    /// An error with message `what`, WebSocket close code `code` and close
    /// reason `reason`.
    ws_error(const std::string& what, std::uint16_t code, std::string reason = {})
        : std::runtime_error(what), code_(code), reason_(std::move(reason)) {}
    /// The WebSocket close code (see the class description).
    [[nodiscard]] std::uint16_t code() const noexcept { return code_; }
    /// The close frame's reason; empty if none was exchanged.
    [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

private:
    std::uint16_t code_;
    std::string reason_;
};

/// The WebSocket connection is closed: what receive() and send() reject with
/// after the close handshake. code() is the peer's close code (1005 if its
/// close frame had none), or the code vow closed with when it began.
class ws_closed : public ws_error {
public:
    using ws_error::ws_error;
};

/// The server refused the WebSocket handshake or did not speak WebSocket:
/// status() is its HTTP status (0 if the answer was not HTTP), body() the
/// start of its body. ws_connect rejects with it.
class ws_handshake_error : public http_error {
public:
    /// An error with message `what`, the server's HTTP status and the start
    /// of its body.
    ws_handshake_error(const std::string& what, int status, std::string body = {})
        : http_error(what), status_(status), body_(std::move(body)) {}
    /// The server's HTTP status; 0 if the answer was not HTTP.
    [[nodiscard]] int status() const noexcept { return status_; }
    /// The start of the server's response body.
    [[nodiscard]] const std::string& body() const noexcept { return body_; }

private:
    int status_;
    std::string body_;
};

}  // namespace vow::net
