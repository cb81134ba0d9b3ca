// OpenSSL's errors and verification results in words a user understands:
// "certificate has expired", not "error:0A000086:SSL routines::certificate
// verify failed". Every certificate failure contains "certificate"; version
// and ALPN failures name themselves (vow/net/error.hpp, tls_error).
#include "tls_internal.hpp"

#include <fmt/format.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <vector>

namespace vow::net::detail {

std::vector<std::string> alt_names(X509* cert) {
    std::vector<std::string> out;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (!names)
        return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DNS) {
            const ASN1_IA5STRING* s = g->d.dNSName;
            out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                               static_cast<std::size_t>(ASN1_STRING_length(s))));
        } else if (g->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* s = g->d.iPAddress;
            char text[INET6_ADDRSTRLEN] = {};
            const int len = ASN1_STRING_length(s);
            if (len == 4 || len == 16)
                ::inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text, sizeof text);
            out.push_back(std::string("IP:") + text);
        } else if (g->type == GEN_EMAIL) {
            const ASN1_IA5STRING* s = g->d.rfc822Name;
            out.push_back("email:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                 static_cast<std::size_t>(ASN1_STRING_length(s))));
        }
    }
    GENERAL_NAMES_free(names);
    return out;
}

std::string name_text(const X509_NAME* name) {
    if (!name)
        return {};
    BIO* b = BIO_new(BIO_s_mem());
    if (!b)
        return {};
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<std::size_t>(n > 0 ? n : 0));
    BIO_free(b);
    return s;
}

std::string time_text(const ASN1_TIME* t) {
    if (!t)
        return {};
    BIO* b = BIO_new(BIO_s_mem());
    if (!b)
        return {};
    ASN1_TIME_print(b, t);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<std::size_t>(n > 0 ? n : 0));
    BIO_free(b);
    return s;
}

namespace {

std::string names_or_subject(const verify_failure& f) {
    std::string names;
    for (const auto& n : f.names) {
        auto colon = n.find(':');
        if (!names.empty())
            names += ", ";
        names += colon == std::string::npos ? n : n.substr(colon + 1);
    }
    if (names.empty())
        names = f.subject.empty() ? std::string("no host name") : f.subject;
    return names;
}

std::string which(const verify_failure& f) {
    // The leaf is "certificate"; one up the chain is named by its subject.
    return f.depth == 0 ? std::string("certificate") : fmt::format("certificate of the CA '{}'", f.subject);
}

}  // namespace

std::string verify_words(const verify_failure& f, std::string_view host) {
    switch (f.code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return fmt::format("{} has expired (valid until {})", which(f), f.not_after);
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return fmt::format("{} is not yet valid (valid from {})", which(f), f.not_before);
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return fmt::format("certificate is for {}, not {}", names_or_subject(f), host);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return fmt::format("self-signed certificate is not trusted ('{}'); give it as the CA file to trust it",
                           f.subject);
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return fmt::format("certificate chain ends in a self-signed certificate that is not trusted ('{}')",
                           f.subject);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return fmt::format("certificate is signed by an unknown authority (issuer '{}'): it is not among the "
                           "trusted CAs (ca_file, ca_dir, or the system store)",
                           f.issuer);
    case X509_V_ERR_CERT_REVOKED:
        return "certificate has been revoked";
    case X509_V_ERR_INVALID_PURPOSE:
        return fmt::format("{} is not for this use (its key usage or extended key usage forbids it)", which(f));
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_INVALID_CA:
    default:
        return fmt::format("certificate verification failed: {} ('{}')", X509_verify_cert_error_string(f.code),
                           f.subject);
    }
}

std::string openssl_text(unsigned long e) {
    if (e == 0)
        return "no details from OpenSSL";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(e);
    return reason ? std::string(reason) : std::string(buf);
}

unsigned long take_error() noexcept {
    unsigned long first = ERR_get_error();
    ERR_clear_error();
    return first;
}

std::string reason_words(unsigned long e, bool server, std::string_view alpn_words) {
    if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL)
        return {};
    const char* peer = server ? "the client" : "the server";
    switch (ERR_GET_REASON(e)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_WRONG_SSL_VERSION:
        return fmt::format("no TLS protocol version in common with {} (the versions allowed here start at "
                           "min_version): {}",
                           peer, openssl_text(e));
    case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
    case SSL_R_NO_APPLICATION_PROTOCOL:
        return fmt::format("ALPN: {} accepts none of the application protocols offered ({})", peer,
                           alpn_words.empty() ? std::string_view("none") : alpn_words);
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "the client sent no certificate, and this server requires one (mutual TLS)";
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return fmt::format("{} requires a client certificate, and none was sent (set cert_file and key_file)",
                           peer);
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        return fmt::format("{} rejected this side's certificate ({})", peer, openssl_text(e));
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return "the connection was closed without close_notify: the data may be truncated";
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_RECORD_LENGTH_MISMATCH:
        return fmt::format("{} is not speaking TLS ({})", peer, openssl_text(e));
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_NO_SHARED_CIPHER:
        return fmt::format("the handshake failed: no cipher or parameters in common with {} ({})", peer,
                           openssl_text(e));
    default:
        return {};
    }
}

}  // namespace vow::net::detail
