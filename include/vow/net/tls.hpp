/// @file
/// TLS for vow's streams (vow-tls).
///
/// vow-tls (pkg-config vow-tls) links OpenSSL 3; libvow does not. This header
/// includes `<vow/net/tls/context.hpp>` (tls_context: trust, certificates,
/// SNI, ALPN, sessions) and `<vow/net/tls/stream.hpp>` (tls_stream: the
/// handshake and the encrypted stream), and `<vow/net/error.hpp>` for
/// vow::net::tls_error.
///
/// @code
/// auto ctx = vow::net::tls_context::client();               // the system's CAs
/// vow::net::connect(r, "example.com", 443)
///     .then([ctx](vow::net::tcp_stream tcp) {
///         return vow::net::tls_stream::connect(ctx, tcp, "example.com");
///     })
///     .then([](vow::net::tls_stream s) {
///         (void)s.write("HEAD / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
///         return s.read_line();                             // "HTTP/1.1 200 OK"
///     });
/// @endcode
#pragma once

#include <vow/net/error.hpp>
#include <vow/net/tls/context.hpp>
#include <vow/net/tls/stream.hpp>
