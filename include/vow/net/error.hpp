// vow/net/error.hpp - the exception types vow::net throws or rejects with.
//
// Same rules as vow/error.hpp: each derives from the closest standard
// exception and its message says what went wrong and why. Timeouts reject
// with vow::timeout_error and cancellations with vow::cancelled_error.
#pragma once

#include <vow/error.hpp>

#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace vow::net {

// The operating system reported an error on a socket. `code()` holds the
// errno as a std::generic_category code, so callers can test
//   e.code() == std::errc::connection_refused   (or connection_reset, ...)
// The message names the operation and the peer:
//   "connect to 127.0.0.1:9: Connection refused"
class io_error : public std::system_error {
public:
    using std::system_error::system_error;
};

// A host name could not be resolved (no such name, no answer in time is a
// vow::timeout_error instead). The message names the host and the reason.
class dns_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A limit was reached: read_until found no delimiter within max_bytes,
// read_line met a line longer than its max (the stream drops that line), a
// writer queued more than the stream's write limit, an HTTP message was
// larger than allowed. Nothing is buffered past a limit.
class limit_error : public std::length_error {
public:
    using std::length_error::length_error;
};

// The stream ended before read_exactly's n bytes or read_until's delimiter
// arrived. `partial()` holds the bytes that did arrive (they are consumed).
class incomplete_read : public std::runtime_error {
public:
    incomplete_read(const std::string& what, std::string partial)
        : std::runtime_error(what), partial_(std::move(partial)) {}
    [[nodiscard]] const std::string& partial() const noexcept { return partial_; }

private:
    std::string partial_;
};

// A URL the HTTP client cannot use (bad syntax, unsupported scheme, ...).
class url_error : public vow::invalid_argument {
public:
    using vow::invalid_argument::invalid_argument;
};

// The peer broke the HTTP protocol: a malformed response, a body that does
// not match its framing, too many redirects.
class http_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A TLS handshake or record failed. The message says what, in words: every
// certificate failure contains the word "certificate" ("certificate has
// expired", "certificate is for other.example, not localhost", "self-signed
// certificate is not trusted"); a protocol version or ALPN mismatch, a
// peer that is not speaking TLS, or a connection cut without close_notify
// (a truncation) each say so. Thrown by vow-tls (<vow/net/tls.hpp>); it is
// declared here so code that only catches needs no TLS headers.
class tls_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace vow::net
