/// @file
/// vow::net::tls_layer: the seam between the protocols in libvow (HTTP) and
/// TLS.
///
/// TLS is its own library (vow-tls, `<vow/net/tls.hpp>`) so that a program
/// without TLS does not link OpenSSL.
///
/// A vow::net::tls_context (vow-tls) is a tls_layer: give one to
/// http_client_options::tls for https:// URLs, or to http_server_options::tls
/// to serve HTTPS. Another TLS implementation could be one too.
#pragma once

#include <vow/net/io_options.hpp>
#include <vow/net/stream.hpp>
#include <vow/promise/future.hpp>

#include <string>

namespace vow::net {

/// What the HTTP client and server use to add TLS to a stream: the
/// client's and the server's handshake. vow::net::tls_context (vow-tls)
/// implements it.
class tls_layer {
public:
    virtual ~tls_layer() = default;

    /// The client's handshake over `transport` with the server `host` (sent
    /// as SNI unless it is an IP address, and verified against the server's
    /// certificate unless the context turned verification off). Resolves
    /// with the encrypted stream; rejects with vow::net::tls_error (what
    /// failed, in words), or as the transport's waits do (io_options: a
    /// timeout or a stop request for the whole handshake).
    [[nodiscard]] virtual future<stream> connect(stream transport, std::string host, io_options opts) = 0;
    /// The server's handshake over an accepted `transport`.
    [[nodiscard]] virtual future<stream> accept(stream transport, io_options opts) = 0;

protected:
    /// For derived classes.
    tls_layer() = default;
    /// For derived classes.
    tls_layer(const tls_layer&) = default;
    /// For derived classes.
    tls_layer& operator=(const tls_layer&) = default;
};

}  // namespace vow::net
