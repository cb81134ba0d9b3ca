// vow::net::tls_stream: OpenSSL driven over any vow::net::stream, through
// one BIO of vow's own (transport_bio_method: like a memory BIO pair, minus
// the copies and the buffers they keep).
//
// The transport's bytes are what the BIO reads as its reads resolve, and
// whatever OpenSSL writes to the BIO is handed to the transport's
// write after every step (handshake, SSL_read, SSL_write, SSL_shutdown):
// TLS 1.3 sends tickets and key updates in answer to reads. One transport
// read is in flight while the handshake runs, while a read waits, or while
// the decrypted read-ahead has room (tcp_stream's read_ahead_limit rule, on
// plaintext): a stream is always reading, so tickets are taken when they
// come, and a read that times out loses nothing (the transport read goes
// on and its bytes are buffered). The reads themselves are
// buffered_reader's (buffered_reader.hpp).
//
// Ownership: tls_stream handles own the impl; the impl owns its transport
// handle and closes it when it goes. The transport read's continuation holds
// only a weak_ptr, so a dropped stream closes at once. During the handshake
// the future chain of connect/accept holds the impl.
#include "buffered_reader.hpp"
#include "tls_internal.hpp"

#include <vow/error.hpp>
#include <vow/net/error.hpp>
#include <vow/net/tls/context.hpp>
#include <vow/net/tls/stream.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>

#include <fmt/format.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <cstring>
#include <algorithm>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <unordered_set>
#include <utility>

namespace vow::net::detail {

namespace {

bool is_ip_literal(std::string_view host) {
    std::string h(host);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']')
        h = h.substr(1, h.size() - 2);
    unsigned char buf[16];
    return ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string strip_brackets(std::string host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        return host.substr(1, host.size() - 2);
    return host;
}

std::chrono::system_clock::time_point time_point_of(const ASN1_TIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return {};
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::exception_ptr closed_error(std::string_view operation) {
    return std::make_exception_ptr(io_error(std::make_error_code(std::errc::operation_canceled),
                                            fmt::format("vow::net::tls_stream::{}: the stream was closed",
                                                        operation)));
}

constexpr std::size_t record_size = std::size_t{16} * 1024;
constexpr std::size_t record_overhead = 64;   // header, tag and padding of one record, with room to spare

}  // namespace

class tls_stream_impl;

BIO_METHOD* transport_bio_method();

// Per reactor: the streams still open, torn down (their promises broken
// quietly) when the reactor goes, as net_service does for TCP.
class tls_service final : public reactor::service {
public:
    explicit tls_service(reactor&) {}
    ~tls_service() override;
    std::unordered_set<tls_stream_impl*> streams;
};

class tls_stream_impl final : public stream_interface, public std::enable_shared_from_this<tls_stream_impl> {
public:
    tls_stream_impl(std::shared_ptr<tls_context_state> ctx, stream transport, std::string host, bool server)
        : r_(&transport.get_reactor()),
          ctx_(std::move(ctx)),
          gen_(ctx_->current()),
          transport_(std::move(transport)),
          host_(std::move(host)),
          server_(server),
          reader_(*r_, "tls_stream", [this] { maybe_read(); }) {
        ssl_ = SSL_new(gen_->main.get());
        if (!ssl_)
            throw tls_error(fmt::format("vow::net::tls_stream: SSL_new failed: {}", openssl_text(take_error())));
        BIO* bio = BIO_new(transport_bio_method());
        if (!bio) {
            SSL_free(ssl_);
            throw std::bad_alloc();
        }
        BIO_set_data(bio, this);
        BIO_set_init(bio, 1);
        SSL_set_bio(ssl_, bio, bio);   // one BIO both ways; the SSL owns its one reference
        SSL_set_app_data(ssl_, this);
        if (server_) {
            SSL_set_accept_state(ssl_);
        } else {
            SSL_set_connect_state(ssl_);
            const std::string name = strip_brackets(host_);
            if (!is_ip_literal(name))
                SSL_set_tlsext_host_name(ssl_, name.c_str());
            if (ctx_->verify) {
                if (is_ip_literal(name))
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
                else {
                    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                    SSL_set1_host(ssl_, name.c_str());
                }
            }
            session_key_ = fmt::format("{}:{}", name, transport_.peer_address().port());
            if (SSL_SESSION* s = ctx_->find_session(session_key_)) {
                SSL_set_session(ssl_, s);
                SSL_SESSION_free(s);
            }
        }
        svc_ = &r_->use_service<tls_service>();
        svc_->streams.insert(this);
    }

    ~tls_stream_impl() override {
        if (svc_) {
            svc_->streams.erase(this);
            close_now();
        }
        SSL_free(ssl_);
    }

    tls_stream_impl(const tls_stream_impl&) = delete;
    tls_stream_impl& operator=(const tls_stream_impl&) = delete;

    // The reactor is going: promises break quietly, nothing more is touched.
    void teardown() noexcept {
        svc_ = nullptr;
        phase_ = phase::closed;
        hs_.reset();
        reader_.drop();
        transport_ = stream();
    }

    // Starts the handshake; its future resolves when it is done.
    future<void> start(const io_options& o) {
        auto& op = hs_.emplace(*r_, std::source_location::current());
        future<void> f = op.get_future();
        op.arm(o.timeout, o.deadline, o.stop, [this](expiry why) {
            hs_.reset();
            auto e = expired_error(why, server_ ? "net::tls_stream::accept" : "net::tls_stream::connect");
            phase_ = phase::failed;
            transport_.close();
            return e;
        });
        step_handshake();
        maybe_read();
        return f;
    }

    // ------------------------------------ vow::net::stream_interface

    future<std::string> read_some(io_options o) override {
        bound("net::tls_stream::read_some");
        return reader_.read_some({}, o, "read_some");
    }
    future<std::string> read_some_into(std::string storage, io_options o) override {
        bound("net::tls_stream::read_some_into");
        return reader_.read_some(std::move(storage), o, "read_some_into");
    }
    future<std::string> read_exactly(std::size_t n, io_options o) override {
        bound("net::tls_stream::read_exactly");
        return reader_.read_exactly(n, o);
    }
    future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes, io_options o) override {
        bound("net::tls_stream::read_until");
        return reader_.read_until(delimiter, max_bytes, o);
    }
    future<std::optional<std::string>> read_line(std::size_t max, io_options o) override {
        bound("net::tls_stream::read_line");
        return reader_.read_line(max, o);
    }

    future<void> write(std::string_view data, io_options o) override {
        bound("net::tls_stream::write");
        if (phase_ != phase::open)
            return make_exception_future<void>(*r_, closed_error("write"));
        if (shut_requested_)
            throw usage_error("vow::net::tls_stream::write: the stream was shut down for writing");
        const std::size_t records = data.size() / record_size + 1;
        const std::size_t ciphertext = data.size() + records * record_overhead;
        if (ciphertext + transport_.buffered_output() > max_write_)
            return make_exception_future<void>(*r_, std::make_exception_ptr(limit_error(fmt::format(
                "vow::net::tls_stream::write: {} bytes already queued plus {} new (with the TLS records' overhead) "
                "would pass the stream's max_write_buffer of {} bytes; wait for write() futures before writing "
                "more, or raise the limit",
                transport_.buffered_output(), data.size(), max_write_))));
        if (!data.empty()) {
            ERR_clear_error();
            std::size_t written = 0;
            if (SSL_write_ex(ssl_, data.data(), data.size(), &written) != 1) {
                const int err = SSL_get_error(ssl_, 0);
                auto e = std::make_exception_ptr(tls_error(describe(err, "write")));
                flush();
                return make_exception_future<void>(*r_, e);
            }
        }
        return flush(o);
    }

    future<void> shutdown(io_options o) override {
        bound("net::tls_stream::shutdown");
        if (phase_ != phase::open)
            return make_exception_future<void>(*r_, closed_error("shutdown"));
        if (shut_requested_)
            throw usage_error("vow::net::tls_stream::shutdown: already shut down");
        shut_requested_ = true;
        ERR_clear_error();
        (void)SSL_shutdown(ssl_);   // queues close_notify; we do not wait for the peer's
        ERR_clear_error();
        flush();
        return transport_.shutdown(o);
    }

    void close() noexcept override {
        if (phase_ != phase::closed && svc_)
            vow::detail::check_thread(*r_, "net::tls_stream::close");
        close_now();
    }

    bool is_open() const noexcept override { return phase_ == phase::open && transport_.is_open(); }
    bool at_eof() const noexcept override { return reader_.at_eof(); }
    std::size_t buffered_input() const noexcept override { return reader_.buffered(); }
    bool read_pending() const noexcept override { return reader_.pending(); }
    std::size_t buffered_output() const noexcept override { return transport_.buffered_output(); }
    address local_address() const override { return transport_.local_address(); }
    address peer_address() const override { return transport_.peer_address(); }
    reactor& get_reactor() const override { return *r_; }

    // ------------------------------------------------------ getters

    std::string version() const { return phase_ == phase::closed ? std::string() : SSL_get_version(ssl_); }
    std::string alpn() const {
        const unsigned char* p = nullptr;
        unsigned int n = 0;
        SSL_get0_alpn_selected(ssl_, &p, &n);
        return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
    }
    std::string cipher() const {
        const char* c = SSL_get_cipher_name(ssl_);
        return c && phase_ != phase::closed ? std::string(c) : std::string();
    }
    bool session_reused() const noexcept { return SSL_session_reused(ssl_) == 1; }
    std::string server_name() const {
        const char* n = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
        return n ? std::string(n) : std::string();
    }
    std::optional<tls_certificate> peer_certificate() const {
        X509* cert = SSL_get0_peer_certificate(ssl_);
        if (!cert)
            return std::nullopt;
        tls_certificate c;
        c.subject = name_text(X509_get_subject_name(cert));
        c.issuer = name_text(X509_get_issuer_name(cert));
        c.subject_alt_names = alt_names(cert);
        c.not_before = time_point_of(X509_get0_notBefore(cert));
        c.not_after = time_point_of(X509_get0_notAfter(cert));
        if (BIO* b = BIO_new(BIO_s_mem())) {
            PEM_write_bio_X509(b, cert);
            char* data = nullptr;
            const long n = BIO_get_mem_data(b, &data);
            c.pem.assign(data, static_cast<std::size_t>(n > 0 ? n : 0));
            BIO_free(b);
        }
        return c;
    }
    const stream& transport() const noexcept { return transport_; }
    void set_max_write_buffer(std::size_t n) {
        bound("net::tls_stream::set_max_write_buffer");
        if (n == 0)
            throw invalid_argument("vow::net::tls_stream::set_max_write_buffer: the limit must be above 0");
        max_write_ = n;
    }

    // ------------------------------------------- for the callbacks

    static tls_stream_impl* of(SSL* ssl) noexcept { return static_cast<tls_stream_impl*>(SSL_get_app_data(ssl)); }
    verify_failure verify_failed;        // the first certificate that failed, if one did
    std::string alpn_refused;            // server: the client's offer that matched nothing
    bool certificate_asked = false;      // client: the server asked for a certificate it has not got
    const ctx_generation& generation() const noexcept { return *gen_; }
    tls_context_state& context() noexcept { return *ctx_; }
    const std::string& session_key() const noexcept { return session_key_; }

private:
    enum class phase : unsigned char { handshake, open, failed, closed };

    void bound(const char* function) const {
        if (svc_)
            vow::detail::check_thread(*r_, function);
    }

    // One transport read in flight whenever more input is wanted.
    void maybe_read() {
        if (reading_ || transport_eof_ || !svc_)
            return;
        if (phase_ == phase::open ? !reader_.wants_input() : phase_ != phase::handshake)
            return;
        reading_ = true;
        std::weak_ptr<tls_stream_impl> w = weak_from_this();
        try {
            transport_.read_some()
                .then([w](std::string data) {
                    if (auto s = w.lock())
                        s->on_ciphertext(std::move(data));
                })
                .catch_([w](std::exception_ptr e) {
                    if (auto s = w.lock())
                        s->on_transport_error(std::move(e));
                })
                .discard();
        } catch (...) {
            reading_ = false;
            on_transport_error(std::current_exception());
        }
    }

    void on_ciphertext(std::string data) {
        reading_ = false;
        if (phase_ == phase::closed || phase_ == phase::failed)
            return;
        if (data.empty()) {
            transport_eof_ = true;   // the BIO now reports the end instead of "retry"
        } else {
            if (first_byte_ < 0)
                first_byte_ = static_cast<unsigned char>(data[0]);
            if (in_used_ == in_.size()) {   // the usual case: all of the last chunk was taken
                in_ = std::move(data);
                in_used_ = 0;
            } else {
                in_.append(data);
            }
        }
        if (phase_ == phase::handshake)
            step_handshake();
        else
            read_records();
        maybe_read();
    }

    void on_transport_error(std::exception_ptr e) {
        reading_ = false;
        if (phase_ == phase::handshake)
            fail_handshake(std::move(e));
        else if (phase_ == phase::open)
            reader_.fail(std::move(e));
    }

    void step_handshake() {
        ERR_clear_error();
        const int rc = SSL_do_handshake(ssl_);
        const int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, rc);
        if (rc == 1) {
            flush();
            phase_ = phase::open;
            if (hs_) {
                hs_->resolve();
                hs_.reset();
            }
            read_records();   // records that came with the handshake's last flight
            return;
        }
        if (err == SSL_ERROR_WANT_READ && !transport_eof_) {
            flush();
            return;
        }
        const std::string why = describe(err, server_ ? "accept" : "connect");
        flush();   // the alert, so the peer learns why
        fail_handshake(std::make_exception_ptr(tls_error(why)));
    }

    void fail_handshake(std::exception_ptr e) {
        phase_ = phase::failed;
        if (hs_) {
            hs_->reject(std::move(e));
            hs_.reset();
        }
        transport_.close();
    }

    void read_records() {
        char buf[record_size];
        // Once per batch, not per SSL_read: a successful read or a "want
        // read" leaves the queue empty, and clearing it costs a thread-local
        // lookup (2 % of an HTTPS hello request's CPU when done per call).
        ERR_clear_error();
        for (;;) {
            const int n = SSL_read(ssl_, buf, sizeof buf);
            if (n > 0) {
                reader_.push(buf, static_cast<std::size_t>(n));
                continue;
            }
            const int err = SSL_get_error(ssl_, n);
            if (err == SSL_ERROR_WANT_READ && !transport_eof_)
                break;
            if (err == SSL_ERROR_ZERO_RETURN)
                reader_.end();
            else
                reader_.fail(std::make_exception_ptr(tls_error(describe(err, "read"))));
            break;
        }
        flush();
    }

    // Hands what OpenSSL wrote to the transport, errors left to the reads.
    void flush() {
        if (out_.empty() || !transport_.is_open())
            return;
        try {
            flush({}).catch_([](const std::exception_ptr&) {}).discard();
        } catch (...) {   // a transport shut down for writing: nothing more may go out
        }
    }
    future<void> flush(const io_options& o) {
        auto f = transport_.write(out_, o);   // the transport copies what the kernel does not take
        out_.clear();
        if (out_.capacity() > out_keep)
            std::string().swap(out_);   // an idle connection keeps no large buffer
        return f;
    }

    // ------------------------------------------ the transport BIO
    // OpenSSL reads ciphertext straight from the chunk the transport's read
    // gave (in_, from in_used_ on) and writes into out_, which flush()
    // hands to the transport's write: no memory BIOs between, so no copy
    // into them and no buffer they keep (a memory BIO never shrinks: an
    // idle connection held the largest flight it had seen both ways).
  public:
    static int bio_read(BIO* b, char* buf, std::size_t len, std::size_t* done) {
        auto* self = static_cast<tls_stream_impl*>(BIO_get_data(b));
        BIO_clear_retry_flags(b);
        const std::size_t left = self->in_.size() - self->in_used_;
        if (left == 0) {
            *done = 0;
            if (!self->transport_eof_)
                BIO_set_retry_read(b);
            if (self->in_.capacity() > 0)
                std::string().swap(self->in_);   // taken whole: hold nothing while waiting
            self->in_used_ = 0;
            return 0;
        }
        const std::size_t n = std::min(left, len);
        std::memcpy(buf, self->in_.data() + self->in_used_, n);
        self->in_used_ += n;
        *done = n;
        return 1;
    }
    static int bio_write(BIO* b, const char* data, std::size_t len, std::size_t* done) {
        auto* self = static_cast<tls_stream_impl*>(BIO_get_data(b));
        BIO_clear_retry_flags(b);
        self->out_.append(data, len);
        *done = len;
        return 1;
    }
    static long bio_ctrl(BIO* b, int cmd, long, void*) {
        auto* self = static_cast<tls_stream_impl*>(BIO_get_data(b));
        switch (cmd) {
        case BIO_CTRL_FLUSH:
            return 1;
        case BIO_CTRL_PENDING:
            return self ? static_cast<long>(self->in_.size() - self->in_used_) : 0;
        case BIO_CTRL_WPENDING:
            return self ? static_cast<long>(self->out_.size()) : 0;
        case BIO_CTRL_EOF:
            return self && self->transport_eof_ && self->in_used_ == self->in_.size() ? 1 : 0;
        default:
            return 0;
        }
    }
  private:

    // The failure of the last OpenSSL call in words, with who and where.
    std::string describe(int err, const char* op) {
        const unsigned long e = take_error();
        std::string words;
        const bool in_handshake = phase_ == phase::handshake;
        if (in_handshake && first_byte_ >= 0 && first_byte_ != 0x16 && first_byte_ != 0x15)
            words = fmt::format("the {} is not speaking TLS (its first byte is 0x{:02x}, not a TLS record)",
                                server_ ? "client" : "server", first_byte_);
        else if (verify_failed.code != X509_V_OK)
            words = verify_words(verify_failed, host_);
        else if (!alpn_refused.empty())
            words = fmt::format("ALPN: the client offered {}, and this server accepts only {}", alpn_refused,
                                gen_->alpn_words);
        else if (in_handshake && transport_eof_ &&
                 (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_WANT_READ ||
                  (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)))
            words = fmt::format("the {} closed the connection during the TLS handshake",
                                server_ ? "client" : "server");
        else if (!in_handshake && transport_eof_ &&
                 (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_WANT_READ ||
                  (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)))
            words = "the connection was closed without close_notify: the data may be truncated";
        else if (certificate_asked && ERR_GET_LIB(e) == ERR_LIB_SSL &&
                 (ERR_GET_REASON(e) == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE ||
                  ERR_GET_REASON(e) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
                  ERR_GET_REASON(e) == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE))
            words = fmt::format("the server requires a client certificate, and this client has none (set "
                                "cert_file and key_file in tls_client_options): {}",
                                openssl_text(e));
        else
            words = reason_words(e, server_, gen_->alpn_words);
        if (words.empty())
            words = fmt::format("TLS {} failed: {}", in_handshake ? "handshake" : "record", openssl_text(e));
        const address peer = transport_.peer_address();
        if (server_)
            return fmt::format("vow::net::tls_stream::{} from {}: {}", op, peer.empty() ? "peer" : peer.to_string(),
                               words);
        return fmt::format("vow::net::tls_stream::{} to {}{}: {}", op, host_,
                           peer.empty() ? std::string() : fmt::format(" ({})", peer.to_string()), words);
    }

    void close_now() noexcept {
        if (phase_ == phase::closed)
            return;
        phase_ = phase::closed;
        if (r_->closing()) {
            hs_.reset();
            reader_.drop();
        } else {
            if (hs_) {
                hs_->reject(closed_error(server_ ? "accept" : "connect"));
                hs_.reset();
            }
            reader_.close(closed_error("read"));
        }
        transport_.close();
    }

    reactor* r_;
    std::shared_ptr<tls_context_state> ctx_;
    std::shared_ptr<const ctx_generation> gen_;
    stream transport_;
    std::string host_;
    bool server_;
    tls_service* svc_ = nullptr;
    SSL* ssl_ = nullptr;
    phase phase_ = phase::handshake;
    bool reading_ = false;
    bool transport_eof_ = false;
    bool shut_requested_ = false;
    int first_byte_ = -1;
    std::size_t max_write_ = std::size_t{16} * 1024 * 1024;
    std::string session_key_;
    std::string in_;              // ciphertext from the transport, taken by OpenSSL from in_used_ on
    std::size_t in_used_ = 0;
    std::string out_;             // ciphertext from OpenSSL, for the transport's next write
    static constexpr std::size_t out_keep = 4096;   // out_'s capacity kept between writes
    std::optional<pending_operation<void>> hs_;
    tls_detail::buffered_reader reader_;
};

BIO_METHOD* transport_bio_method() {
    // Made once (thread-safe static), never freed: one per process, as
    // OpenSSL's own methods are.
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "vow transport");
        if (!m)
            throw std::bad_alloc();
        BIO_meth_set_read_ex(m, &tls_stream_impl::bio_read);
        BIO_meth_set_write_ex(m, &tls_stream_impl::bio_write);
        BIO_meth_set_ctrl(m, &tls_stream_impl::bio_ctrl);
        return m;
    }();
    return method;
}

tls_service::~tls_service() {
    auto all = std::move(streams);
    for (auto* s : all)
        s->teardown();
}

// ------------------------------------------------------------ callbacks

int verify_callback(int preverify_ok, X509_STORE_CTX* store) {
    if (preverify_ok)
        return 1;
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* s = ssl ? tls_stream_impl::of(ssl) : nullptr;
    if (s && s->verify_failed.code == X509_V_OK) {
        verify_failure& f = s->verify_failed;
        f.code = X509_STORE_CTX_get_error(store);
        f.depth = X509_STORE_CTX_get_error_depth(store);
        if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
            f.subject = name_text(X509_get_subject_name(cert));
            f.issuer = name_text(X509_get_issuer_name(cert));
            f.not_before = time_text(X509_get0_notBefore(cert));
            f.not_after = time_text(X509_get0_notAfter(cert));
        }
        // A host name mismatch is reported at the leaf; its names say
        // whom it is for.
        if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store); chain && sk_X509_num(chain) > 0)
            f.names = alt_names(sk_X509_value(chain, 0));
        else if (X509* cert = X509_STORE_CTX_get_current_cert(store))
            f.names = alt_names(cert);
    }
    return 0;
}

int new_session_callback(SSL* ssl, SSL_SESSION* session) {
    auto* s = tls_stream_impl::of(ssl);
    if (!s || s->session_key().empty())
        return 0;
    s->context().store_session(s->session_key(), session);
    return 1;   // the reference is ours now
}

int client_cert_callback(SSL* ssl, X509** /*cert*/, EVP_PKEY** /*key*/) {
    if (auto* s = tls_stream_impl::of(ssl))
        s->certificate_asked = true;
    return 0;   // none to give
}

int servername_callback(SSL* ssl, int* /*alert*/, void* /*arg*/) {
    auto* s = tls_stream_impl::of(ssl);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!s || !name)
        return SSL_TLSEXT_ERR_OK;
    if (SSL_CTX* ctx = s->generation().for_host(name))
        SSL_set_SSL_CTX(ssl, ctx);
    return SSL_TLSEXT_ERR_OK;
}

int alpn_select_callback(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                         unsigned int inlen, void* /*arg*/) {
    auto* s = tls_stream_impl::of(ssl);
    if (!s)
        return SSL_TLSEXT_ERR_NOACK;
    const std::string& mine = s->generation().alpn_wire;
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(mine.data()),
                              static_cast<unsigned int>(mine.size()), in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    std::string offered;
    for (unsigned int i = 0; i < inlen;) {
        const unsigned int n = in[i];
        if (i + 1 + n > inlen)
            break;
        if (!offered.empty())
            offered += ", ";
        offered.append(reinterpret_cast<const char*>(in + i + 1), n);
        i += 1 + n;
    }
    s->alpn_refused = offered.empty() ? std::string("nothing") : offered;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

future<tls_stream> start_handshake(const std::shared_ptr<tls_context_state>& ctx, stream transport, std::string host,
                                   const io_options& opts, bool server) {
    const char* op = server ? "accept" : "connect";
    if (!transport.shared())
        throw usage_error(fmt::format("vow::net::tls_stream::{}: the transport is empty", op));
    vow::detail::check_thread(transport.get_reactor(), server ? "net::tls_stream::accept" : "net::tls_stream::connect");
    reactor& r = transport.get_reactor();
    if (!server && host.empty())
        throw invalid_argument("vow::net::tls_stream::connect: the host is empty (it is verified against the "
                               "server's certificate)");
    auto impl = std::make_shared<tls_stream_impl>(ctx, std::move(transport), std::move(host), server);
    if (opts.stop.stop_requested()) {
        impl->close();
        return make_exception_future<tls_stream>(
            r, expired_error(expiry::cancelled, server ? "net::tls_stream::accept" : "net::tls_stream::connect"));
    }
    return impl->start(opts).then([impl]() mutable { return tls_stream(std::move(impl)); });
}

}  // namespace vow::net::detail

namespace vow::net {

using detail::tls_stream_impl;

namespace {

tls_stream_impl& need(const std::shared_ptr<tls_stream_impl>& impl, const char* op) {
    if (!impl)
        throw usage_error(fmt::format("vow::net::tls_stream::{}: the stream is empty (default-constructed or moved "
                                      "from)",
                                      op));
    return *impl;
}

const std::shared_ptr<detail::tls_context_state>& state_of(const std::shared_ptr<tls_context>& ctx, bool server) {
    const char* op = server ? "accept" : "connect";
    if (!ctx)
        throw usage_error(fmt::format("vow::net::tls_stream::{}: the context is null", op));
    if (ctx->is_server() != server)
        throw usage_error(fmt::format("vow::net::tls_stream::{}: this needs a {} context (tls_context::{}())", op,
                                      server ? "server" : "client", server ? "server" : "client"));
    return ctx->state();
}

}  // namespace

future<tls_stream> tls_stream::connect(const std::shared_ptr<tls_context>& ctx, stream transport,
                                       std::string host, const io_options& opts) {
    return detail::start_handshake(state_of(ctx, false), std::move(transport), std::move(host), opts, false);
}

future<tls_stream> tls_stream::accept(const std::shared_ptr<tls_context>& ctx, stream transport,
                                      const io_options& opts) {
    return detail::start_handshake(state_of(ctx, true), std::move(transport), {}, opts, true);
}

future<std::string> tls_stream::read_some(io_options opts) {
    return need(impl_, "read_some").read_some(std::move(opts));
}
future<std::string> tls_stream::read_some_into(std::string storage, io_options opts) {
    return need(impl_, "read_some_into").read_some_into(std::move(storage), std::move(opts));
}
future<std::string> tls_stream::read_exactly(std::size_t n, io_options opts) {
    return need(impl_, "read_exactly").read_exactly(n, std::move(opts));
}
future<std::string> tls_stream::read_until(std::string_view delimiter, std::size_t max_bytes, io_options opts) {
    return need(impl_, "read_until").read_until(delimiter, max_bytes, std::move(opts));
}
future<std::optional<std::string>> tls_stream::read_line(std::size_t max, io_options opts) {
    return need(impl_, "read_line").read_line(max, std::move(opts));
}
future<void> tls_stream::write(std::string_view data, io_options opts) {
    return need(impl_, "write").write(data, std::move(opts));
}
future<void> tls_stream::shutdown(io_options opts) {
    return need(impl_, "shutdown").shutdown(std::move(opts));
}
void tls_stream::close() noexcept {
    if (impl_)
        impl_->close();
}

bool tls_stream::is_open() const noexcept { return impl_ && impl_->is_open(); }
bool tls_stream::at_eof() const noexcept { return impl_ && impl_->at_eof(); }
std::size_t tls_stream::buffered_input() const noexcept { return impl_ ? impl_->buffered_input() : 0; }
bool tls_stream::read_pending() const noexcept { return impl_ && impl_->read_pending(); }
std::size_t tls_stream::buffered_output() const noexcept { return impl_ ? impl_->buffered_output() : 0; }
address tls_stream::local_address() const { return impl_ ? impl_->local_address() : address{}; }
address tls_stream::peer_address() const { return impl_ ? impl_->peer_address() : address{}; }
reactor& tls_stream::get_reactor() const { return need(impl_, "get_reactor").get_reactor(); }
void tls_stream::set_max_write_buffer(std::size_t n) { need(impl_, "set_max_write_buffer").set_max_write_buffer(n); }

std::string tls_stream::version() const { return impl_ ? impl_->version() : std::string(); }
std::string tls_stream::alpn() const { return impl_ ? impl_->alpn() : std::string(); }
std::string tls_stream::cipher() const { return impl_ ? impl_->cipher() : std::string(); }
std::optional<tls_certificate> tls_stream::peer_certificate() const {
    return impl_ ? impl_->peer_certificate() : std::nullopt;
}
bool tls_stream::session_reused() const noexcept { return impl_ && impl_->session_reused(); }
std::string tls_stream::server_name() const { return impl_ ? impl_->server_name() : std::string(); }
stream tls_stream::transport() const noexcept { return impl_ ? impl_->transport() : stream(); }

tls_stream::operator stream() const noexcept { return stream(std::shared_ptr<stream_interface>(impl_)); }

}  // namespace vow::net
