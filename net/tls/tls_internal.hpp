// net/tls/tls_internal.hpp - what vow-tls's sources share: the OpenSSL
// objects behind a tls_context, and OpenSSL's errors in words. Never
// installed: OpenSSL stays out of the public headers.
#pragma once

#include <vow/net/tls/context.hpp>
#include <vow/net/tls/stream.hpp>
#include <vow/promise/future.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vow::net::detail {

struct ssl_ctx_free {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_free>;

// The SSL_CTXs of one configuration. reload() makes a new generation; a
// stream keeps the one it started with (its callbacks read it), so the old
// ones live as long as their connections.
struct ctx_generation {
    ssl_ctx_ptr main;
    // Server: the certificates chosen by SNI, by host ("*.example.com" for
    // a wildcard), each its own SSL_CTX set up as `main` but for the
    // certificate.
    std::vector<std::pair<std::string, ssl_ctx_ptr>> sni;
    std::string alpn_wire;   // the protocols, in ALPN's wire format
    std::string alpn_words;  // the same, for messages: "http/1.1, h2"

    // The SSL_CTX for the SNI name `host`, or nullptr for the default.
    [[nodiscard]] SSL_CTX* for_host(std::string_view host) const noexcept;
};

struct tls_context_state {
    bool server = false;
    bool verify = true;
    std::mutex mutex;   // guards gen and sessions (a context may serve several reactors)
    std::shared_ptr<const ctx_generation> gen;
    // Client: the last session per "host:port", offered on the next connect.
    // At most max_sessions hosts: a new one past that evicts the host whose
    // session was stored longest ago (a crawler's context stays bounded).
    struct cached_session {
        SSL_SESSION* session;
        std::uint64_t stored;   // store_session's counter when it was stored
    };
    static constexpr std::size_t max_sessions = 1024;
    std::map<std::string, cached_session, std::less<>> sessions;
    std::uint64_t stores = 0;

    tls_context_state() = default;
    tls_context_state(const tls_context_state&) = delete;
    tls_context_state& operator=(const tls_context_state&) = delete;
    ~tls_context_state();

    [[nodiscard]] std::shared_ptr<const ctx_generation> current() {
        std::lock_guard lock(mutex);
        return gen;
    }
    // Takes over the reference `s`.
    void store_session(const std::string& key, SSL_SESSION* s);
    // A new reference to the session for `key`, or nullptr.
    [[nodiscard]] SSL_SESSION* find_session(const std::string& key);
};

// The handshake behind tls_stream::connect / accept and the tls_layer
// members: checks the transport, makes the stream, starts it.
future<tls_stream> start_handshake(const std::shared_ptr<tls_context_state>& ctx, stream transport,
                                   std::string host, const io_options& opts, bool server);

// What the verify callback saw at the first certificate that failed.
struct verify_failure {
    long code = X509_V_OK;
    int depth = 0;
    std::string subject;
    std::string issuer;
    std::vector<std::string> names;   // the leaf's DNS and IP names, for a host mismatch
    std::string not_before, not_after;
};

// The callbacks a context installs on its SSL_CTXs (defined in stream.cpp:
// each finds its stream through SSL_get_app_data).
int verify_callback(int preverify_ok, X509_STORE_CTX* store);
int new_session_callback(SSL* ssl, SSL_SESSION* session);
int client_cert_callback(SSL* ssl, X509** cert, EVP_PKEY** key);
int servername_callback(SSL* ssl, int* alert, void* arg);
int alpn_select_callback(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                         unsigned int inlen, void* arg);

// The subject alternative names of `cert` ("DNS:localhost", "IP:127.0.0.1").
std::vector<std::string> alt_names(X509* cert);
// The RFC 2253 form of a name ("CN=localhost,O=vow tests").
std::string name_text(const X509_NAME* name);
std::string time_text(const ASN1_TIME* t);

// A failed verification in words; every one contains "certificate".
// `host` is what the client asked for ("" on a server).
std::string verify_words(const verify_failure& f, std::string_view host);
// OpenSSL's error `e` (ERR_get_error) in words, or "" if it has none we
// know (the caller then says it its own way).
std::string reason_words(unsigned long e, bool server, std::string_view alpn_words);
// OpenSSL's own text for `e`.
std::string openssl_text(unsigned long e);
// The error queue's first entry, and the queue cleared.
unsigned long take_error() noexcept;

}  // namespace vow::net::detail
