// vow::net::tls_context: OpenSSL's SSL_CTX set up from the options, one
// per certificate (the default and each SNI one), with vow's callbacks for
// verification messages, SNI, ALPN and the client's session cache.
#include "tls_internal.hpp"

#include <vow/error.hpp>
#include <vow/net/error.hpp>
#include <vow/net/tls/stream.hpp>

#include <fmt/format.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace vow::net::detail {

tls_context_state::~tls_context_state() {
    for (auto& [key, c] : sessions)
        SSL_SESSION_free(c.session);
}

void tls_context_state::store_session(const std::string& key, SSL_SESSION* s) {
    std::lock_guard lock(mutex);
    auto it = sessions.find(key);
    if (it != sessions.end()) {
        SSL_SESSION_free(it->second.session);
        it->second = {s, ++stores};
        return;
    }
    if (sessions.size() >= max_sessions) {
        auto oldest = std::min_element(sessions.begin(), sessions.end(), [](const auto& a, const auto& b) {
            return a.second.stored < b.second.stored;
        });
        SSL_SESSION_free(oldest->second.session);
        sessions.erase(oldest);
    }
    sessions.emplace(key, cached_session{s, ++stores});
}

SSL_SESSION* tls_context_state::find_session(const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = sessions.find(key);
    if (it == sessions.end())
        return nullptr;
    if (!SSL_SESSION_is_resumable(it->second.session)) {
        SSL_SESSION_free(it->second.session);
        sessions.erase(it);
        return nullptr;
    }
    SSL_SESSION_up_ref(it->second.session);
    return it->second.session;
}

namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

SSL_CTX* ctx_generation::for_host(std::string_view host) const noexcept {
    for (const auto& [name, ctx] : sni)
        if (iequal(name, host))
            return ctx.get();
    // "*.example.com" matches one label: "a.example.com", not "a.b.example.com".
    const auto dot = host.find('.');
    if (dot != std::string_view::npos && dot > 0)
        for (const auto& [name, ctx] : sni)
            if (name.size() > 2 && name[0] == '*' && name[1] == '.' && iequal(name.substr(1), host.substr(dot)))
                return ctx.get();
    return nullptr;
}

namespace {

[[noreturn]] void fail(std::string_view what, std::string_view file) {
    throw tls_error(fmt::format("vow::net::tls_context: {} '{}': {}", what, file, openssl_text(take_error())));
}

void need_readable(std::string_view what, const std::string& file) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (!f)
        throw tls_error(fmt::format("vow::net::tls_context: cannot read the {} '{}': {}", what, file,
                                    std::strerror(errno)));
    std::fclose(f);
}

int password_callback(char* buf, int size, int /*rwflag*/, void* userdata) {
    const auto* password = static_cast<const std::string*>(userdata);
    if (!password || password->empty() || size <= 0)
        return 0;
    const auto n = std::min(password->size(), static_cast<std::size_t>(size));
    std::copy_n(password->data(), n, buf);  // OpenSSL takes the length returned: no '\0'
    return static_cast<int>(n);
}

void load_certificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file,
                      const std::string& password) {
    need_readable("certificate file", cert_file);
    need_readable("key file", key_file);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
        fail("cannot load a PEM certificate (chain) from", cert_file);
    // The password is read only while the key is loaded.
    SSL_CTX_set_default_passwd_cb(ctx, password_callback);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<std::string*>(&password));
    const int ok = SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
    if (ok != 1) {
        const unsigned long e = take_error();
        if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
            throw tls_error(fmt::format("vow::net::tls_context: the private key '{}' does not match the "
                                        "certificate '{}'",
                                        key_file, cert_file));
        throw tls_error(fmt::format("vow::net::tls_context: cannot load the private key from '{}': {}{}", key_file,
                                    openssl_text(e),
                                    password.empty() ? " (if it is encrypted, give key_password)"
                                                     : " (is key_password right?)"));
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        throw tls_error(fmt::format("vow::net::tls_context: the private key '{}' does not match the certificate "
                                    "'{}'",
                                    key_file, cert_file));
}

std::pair<std::string, std::string> alpn_wire(const std::vector<std::string>& protocols) {
    std::string wire, words;
    for (const auto& p : protocols) {
        if (p.empty() || p.size() > 255)
            throw invalid_argument(fmt::format("vow::net::tls_context: the ALPN protocol '{}' must be 1 to 255 "
                                               "bytes",
                                               p));
        wire += static_cast<char>(p.size());
        wire += p;
        if (!words.empty())
            words += ", ";
        words += p;
    }
    return {wire, words};
}

int version_of(tls_version v) { return v == tls_version::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

ssl_ctx_ptr new_ctx(const SSL_METHOD* method, tls_version min) {
    ssl_ctx_ptr ctx(SSL_CTX_new(method));
    if (!ctx)
        throw tls_error(fmt::format("vow::net::tls_context: SSL_CTX_new failed: {}", openssl_text(take_error())));
    SSL_CTX_set_min_proto_version(ctx.get(), version_of(min));
    // Renegotiation is refused (a DoS lever, and no protocol of vow needs
    // it); the buffers of an idle connection are given back.
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

// Everything of a server SSL_CTX but its certificate, so that the SNI ones
// behave as the default one.
void setup_server(SSL_CTX* ctx, const tls_server_options& o, const ctx_generation& gen) {
    static const unsigned char sid_ctx[] = "vow";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_tlsext_servername_callback(ctx, servername_callback);
    if (!gen.alpn_wire.empty())
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select_callback, nullptr);
    if (!o.client_ca_file.empty()) {
        need_readable("client CA file", o.client_ca_file);
        if (SSL_CTX_load_verify_file(ctx, o.client_ca_file.c_str()) != 1)
            fail("cannot load the client CA file", o.client_ca_file);
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str());
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (o.require_client_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                           verify_callback);
    } else if (o.require_client_certificate) {
        throw invalid_argument("vow::net::tls_context::server: require_client_certificate needs client_ca_file "
                               "(the CAs whose client certificates are accepted)");
    }
}

std::shared_ptr<const ctx_generation> make_server_generation(const tls_server_options& o) {
    if (o.cert_file.empty() || o.key_file.empty())
        throw invalid_argument("vow::net::tls_context::server: cert_file and key_file are required");
    auto gen = std::make_shared<ctx_generation>();
    std::tie(gen->alpn_wire, gen->alpn_words) = alpn_wire(o.alpn);
    gen->main = new_ctx(TLS_server_method(), o.min_version);
    setup_server(gen->main.get(), o, *gen);
    load_certificate(gen->main.get(), o.cert_file, o.key_file, o.key_password);
    for (const auto& s : o.sni) {
        if (s.host.empty())
            throw invalid_argument("vow::net::tls_context::server: an sni_certificate has no host");
        auto ctx = new_ctx(TLS_server_method(), o.min_version);
        setup_server(ctx.get(), o, *gen);
        load_certificate(ctx.get(), s.cert_file, s.key_file, s.key_password);
        gen->sni.emplace_back(s.host, std::move(ctx));
    }
    return gen;
}

}  // namespace

}  // namespace vow::net::detail

namespace vow::net {

using detail::tls_context_state;

tls_context::tls_context(private_tag, std::shared_ptr<detail::tls_context_state> s) noexcept : s_(std::move(s)) {}
tls_context::~tls_context() = default;

std::shared_ptr<tls_context> tls_context::client(const tls_client_options& o) {
    auto state = std::make_shared<tls_context_state>();
    state->server = false;
    state->verify = o.verify;
    auto gen = std::make_shared<detail::ctx_generation>();
    std::tie(gen->alpn_wire, gen->alpn_words) = detail::alpn_wire(o.alpn);
    gen->main = detail::new_ctx(TLS_client_method(), o.min_version);
    SSL_CTX* ctx = gen->main.get();
    if (o.verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, detail::verify_callback);
        if (!o.ca_file.empty()) {
            detail::need_readable("CA file", o.ca_file);
            if (SSL_CTX_load_verify_file(ctx, o.ca_file.c_str()) != 1)
                detail::fail("cannot load the CA file", o.ca_file);
        }
        if (!o.ca_dir.empty() && SSL_CTX_load_verify_dir(ctx, o.ca_dir.c_str()) != 1)
            detail::fail("cannot use the CA directory", o.ca_dir);
        if (o.ca_file.empty() && o.ca_dir.empty() && SSL_CTX_set_default_verify_paths(ctx) != 1)
            throw tls_error(fmt::format("vow::net::tls_context: cannot load the system's trusted CAs: {}",
                                       detail::openssl_text(detail::take_error())));
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
        std::fputs("vow: TLS verification is off for this context: any certificate is accepted, for any host "
                   "(tls_client_options::verify = false)\n",
                   stderr);
    }
    if (!o.cert_file.empty() || !o.key_file.empty())
        detail::load_certificate(ctx, o.cert_file, o.key_file, o.key_password);
    else
        SSL_CTX_set_client_cert_cb(ctx, detail::client_cert_callback);   // to say why a server refuses
    if (!gen->alpn_wire.empty() &&
        SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(gen->alpn_wire.data()),
                                static_cast<unsigned int>(gen->alpn_wire.size())) != 0)
        throw tls_error("vow::net::tls_context: cannot set the ALPN protocols");
    // Sessions are kept per host and port by vow (new_session_callback),
    // not in OpenSSL's internal cache, which a client cannot key by host.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, detail::new_session_callback);
    state->gen = std::move(gen);
    return std::make_shared<tls_context>(private_tag{}, std::move(state));
}

std::shared_ptr<tls_context> tls_context::server(const tls_server_options& o) {
    auto state = std::make_shared<tls_context_state>();
    state->server = true;
    state->gen = detail::make_server_generation(o);
    return std::make_shared<tls_context>(private_tag{}, std::move(state));
}

bool tls_context::is_server() const noexcept { return s_->server; }

void tls_context::reload(const tls_server_options& o) {
    if (!s_->server)
        throw usage_error("vow::net::tls_context::reload: a client context has no certificate to reload");
    auto gen = detail::make_server_generation(o);   // throws before anything changes
    std::lock_guard lock(s_->mutex);
    s_->gen = std::move(gen);
}

future<stream> tls_context::connect(stream transport, std::string host, io_options opts) {
    if (s_->server)
        throw usage_error("vow::net::tls_context::connect: this is a server context; use tls_context::client()");
    return detail::start_handshake(s_, std::move(transport), std::move(host), opts, false)
        .then([](const tls_stream& s) { return stream(s); });
}

future<stream> tls_context::accept(stream transport, io_options opts) {
    if (!s_->server)
        throw usage_error("vow::net::tls_context::accept: this is a client context; use tls_context::server()");
    return detail::start_handshake(s_, std::move(transport), {}, opts, true)
        .then([](const tls_stream& s) { return stream(s); });
}

}  // namespace vow::net
