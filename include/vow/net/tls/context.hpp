/// @file
/// vow::net::tls_context: TLS settings shared by many connections.
///
/// Part of vow-tls (pkg-config vow-tls), which links OpenSSL 3; libvow does not.
///
/// @code
/// auto ctx = vow::net::tls_context::client();               // the system's CAs
/// vow::net::connect(r, "example.com", 443)
///     .then([ctx](vow::net::tcp_stream tcp) {
///         return vow::net::tls_stream::connect(ctx, tcp, "example.com", {.timeout = 10s});
///     })
///     .then([](vow::net::tls_stream s) { ... s.write(...), s.read_some() ... });
///
/// auto srv = vow::net::tls_context::server({.cert_file = "cert.pem", .key_file = "key.pem"});
/// server.on_connection([srv](vow::net::tcp_stream tcp) {
///     vow::net::tls_stream::accept(srv, tcp, {.timeout = 10s}).then(...);
/// });
/// @endcode
#pragma once

#include <vow/net/io_options.hpp>
#include <vow/net/stream.hpp>
#include <vow/net/tls_layer.hpp>
#include <vow/promise/future.hpp>

#include <memory>
#include <string>
#include <vector>

namespace vow::net {

/// A TLS protocol version: the lowest one a context accepts.
enum class tls_version {
    v1_2,  ///< TLS 1.2
    v1_3   ///< TLS 1.3
};

/// What a client context trusts and shows: tls_context::client.
struct tls_client_options {
    /// Trusted CAs: a PEM file and/or a hashed directory (c_rehash). With
    /// neither, the system store (OpenSSL's default paths; SSL_CERT_FILE and
    /// SSL_CERT_DIR override it, as for curl).
    std::string ca_file = {};
    /// A hashed directory of trusted CA certificates (see ca_file).
    std::string ca_dir = {};
    /// false: any certificate is accepted, for any host. Said once per
    /// context on stderr, since it is almost never what production wants.
    bool verify = true;
    /// A client certificate for servers that ask for one (mutual TLS): PEM
    /// files; key_password if the key is encrypted.
    std::string cert_file = {};
    /// The client certificate's private key (PEM).
    std::string key_file = {};
    /// The key's password, if the key is encrypted.
    std::string key_password = {};
    /// The lowest protocol version accepted (TLS 1.2 by default).
    tls_version min_version = tls_version::v1_2;
    /// Offered in this order; empty: no ALPN.
    std::vector<std::string> alpn = {"http/1.1"};
};

/// A certificate the server shows to clients that ask for `host` by SNI
/// (exact match, case-insensitive, or "*.example.com" for one label).
struct sni_certificate {
    std::string host = {};          ///< the SNI name, or "*.example.com"
    std::string cert_file = {};     ///< the certificate (PEM; may hold the chain after it)
    std::string key_file = {};      ///< its private key (PEM)
    std::string key_password = {};  ///< the key's password, if it is encrypted
};

/// What a server context serves and asks for: tls_context::server.
struct tls_server_options {
    /// The default certificate (PEM; the file may hold the chain after it)
    /// and its key (PEM; key_password if it is encrypted). Both required.
    std::string cert_file = {};
    /// The default certificate's private key (PEM). Required.
    std::string key_file = {};
    /// The key's password, if the key is encrypted.
    std::string key_password = {};
    /// Certificates chosen by the client's SNI; the default one otherwise.
    std::vector<sni_certificate> sni = {};
    /// Mutual TLS: the CAs whose client certificates are accepted. A client
    /// certificate is asked for when this is set, and required when
    /// require_client_certificate is also true.
    std::string client_ca_file = {};
    /// With client_ca_file: refuse clients that show no certificate.
    bool require_client_certificate = false;
    /// The lowest protocol version accepted (TLS 1.2 by default).
    tls_version min_version = tls_version::v1_2;
    /// The protocols accepted, in the server's order of preference. A client
    /// offering ALPN with none of these is refused (tls_error naming ALPN);
    /// a client that offers no ALPN is accepted without it.
    std::vector<std::string> alpn = {"http/1.1"};
};

namespace detail {
struct tls_context_state;
}  // namespace detail

/// TLS settings shared by many connections: for clients (whom to trust, which
/// client certificate to show) and servers (which certificate to serve, by SNI;
/// whom to ask for a client certificate).
///
/// A tls_context is a vow::net::tls_layer, so it is what the HTTP client and
/// server take for https; the handshake itself is tls_stream::connect and
/// tls_stream::accept (`<vow/net/tls/stream.hpp>`), or the tls_layer members
/// below, which resolve with a plain vow::net::stream.
///
/// Verification is on by default: the chain up to a trusted CA, the dates,
/// and the host name (or IP address) given to connect. Failures reject with
/// vow::net::tls_error, in words ("certificate has expired", "certificate is
/// for other.example, not localhost"); see `<vow/net/error.hpp>`.
///
/// Thread safety: thread-safe. A context may be shared by the streams of
/// several reactors, and reload() may be called from any thread (a mutex
/// guards the current certificates and the session cache). The streams it
/// makes are thread-bound to their transport's reactor.
///
/// Ownership: client() and server() return a shared_ptr; every stream keeps what it
/// needs of the context alive, so the context may be dropped while its
/// streams live.
class tls_context final : public tls_layer {
public:
    /// A client context. Throws vow::net::tls_error if a file cannot be
    /// loaded (the message names the file and OpenSSL's reason), a key does
    /// not match its certificate, or a password is wrong.
    [[nodiscard]] static std::shared_ptr<tls_context> client(const tls_client_options& opts = {});
    /// A server context. Throws vow::net::tls_error as client() does, and
    /// vow::invalid_argument if cert_file or key_file is empty.
    [[nodiscard]] static std::shared_ptr<tls_context> server(const tls_server_options& opts);

    ~tls_context() override;
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    /// tls_layer: the handshake as a client (connect) or a server (accept)
    /// over `transport`, which the TLS stream then owns (closing or dropping
    /// the TLS stream closes it). `opts` bound the whole handshake; on any
    /// failure, expiry included, the transport is closed. See
    /// tls_stream::connect and tls_stream::accept for the typed forms.
    /// Throws vow::usage_error for a client context's accept, a server
    /// context's connect, or an empty transport. Reactor thread of the
    /// transport only.
    [[nodiscard]] future<stream> connect(stream transport, std::string host, io_options opts) override;
    [[nodiscard]] future<stream> accept(stream transport, io_options opts) override;

    /// True for a context made by server(), false for one made by client().
    [[nodiscard]] bool is_server() const noexcept;

    /// Server contexts: certificates (and the rest of `opts`) for the
    /// connections accepted from now on; those already open, or in their
    /// handshake, keep what they started with. If anything cannot be loaded
    /// it throws as server() does and the context keeps its old settings.
    /// Throws vow::usage_error on a client context.
    void reload(const tls_server_options& opts);

    /// For vow-tls itself: the state a stream shares.
    [[nodiscard]] const std::shared_ptr<detail::tls_context_state>& state() const noexcept { return s_; }

    /// Tag of the constructor below, which is public only so that
    /// std::make_shared can call it: use client() or server().
    struct private_tag {
        explicit private_tag() = default;
    };
    /// For client() and server(): a context over the state `s`.
    tls_context(private_tag, std::shared_ptr<detail::tls_context_state> s) noexcept;

private:
    std::shared_ptr<detail::tls_context_state> s_;
};

}  // namespace vow::net
