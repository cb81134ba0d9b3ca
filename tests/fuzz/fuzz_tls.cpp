// fuzz_tls - libFuzzer target for vow-tls's handshake and record path
// (tls_stream in net/tls/stream.cpp) over an in-memory transport
// (tests/support/memory_transport.hpp): no socket, so the input alone
// decides what arrives and how it is cut.
//
//   byte 0   bits 0-1  the mode:
//                        0  vow server; the rest of the input is what the
//                           client sends (a ClientHello, or anything)
//                        1  vow client; the rest is the server's flight
//                        2  vow server, a real OpenSSL client in memory
//                        3  vow client, a real OpenSSL server in memory
//            bit 2     modes 2, 3: TLS 1.2 instead of 1.3
//            bits 3-4  how the transport ends: 0, 1 end of stream (FIN);
//                      2 a reset; 3 never (the reactor's teardown ends it)
//   byte 1   modes 0, 1: how the rest is cut into reads (0: one read;
//            k: pieces of 1..k bytes); modes 2, 3: unused
//   rest     modes 0, 1: the peer's bytes; modes 2, 3: a program, op % 8:
//              0, 1  the peer writes 1..64 bytes of the input (SSL_write)
//              2     deliver the peer's records, cut into pieces of 1..k
//                    bytes (next byte k; 0: one read), and turn the loop
//              3     TLS 1.3: a KeyUpdate (update requested or not);
//                    TLS 1.2: the peer asks to renegotiate (vow refuses)
//              4     flip a byte of the records not yet delivered
//              5     the peer sends close_notify
//              6     cut the records not yet delivered short, and stop
//              7     vow writes 1..64 bytes of the input
//
// Checked, besides ASan/UBSan and libFuzzer's leak, timeout and memory
// limits:
//   - the handshake and every read reject only with vow::net::tls_error
//     (or the transport's io_error for a reset), never a stray exception;
//     a failed handshake closes the transport;
//   - once the transport has ended, nothing is left pending (no stall);
//   - modes 2, 3: the handshake with OpenSSL completes; what vow reads is
//     a prefix of what the peer wrote, and all of it once the records are
//     delivered intact (no loss, no stall, no error on good records); the
//     end of stream is seen only after an intact close_notify, and then
//     with every byte before it; an end without one is a tls_error
//     (truncation), an intact stream never ends by itself; what the peer
//     reads of vow's writes is what vow wrote.
//
// The certificate is a literal below (EC P-256, self-signed for
// localhost, valid until 2126), made once with
//   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256
//   openssl req -x509 -new -days 36500 -subj "/O=vow fuzz/CN=localhost" \
//       -addext subjectAltName=DNS:localhost
// since the fuzz build has no test fixture; tls_context takes files, so it
// is written to a temporary directory once per process.
//
// FUZZ_TLS_TRACE=1 in the environment prints the model at every check
// (modes 2, 3), for reading a finding.
//
// Run: scripts/fuzz (see docs/fuzzing.md).
#include "fuzz_support.hpp"
#include "tests/support/memory_transport.hpp"

#include <vow/error.hpp>
#include <vow/net/error.hpp>
#include <vow/net/tls.hpp>
#include <vow/reactor/reactor.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace {

namespace net = vow::net;
using vow::test::memory_transport;

constexpr std::string_view key_pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYPQ/ooOfNXPHpEV9
YvCkkXwWFeG0ms/5dm5NqL6me2KhRANCAAQtR2EmHXiB8HSULRkErlqRttucEl+8
eae6IjERQHunNz3bqIDh41N19ZMAqZoxfF57ULJ+IB26OfDY+dSQdSab
-----END PRIVATE KEY-----
)";

constexpr std::string_view cert_pem = R"(-----BEGIN CERTIFICATE-----
MIIBvDCCAWGgAwIBAgIUdttS1k8Lz2FBhTw3l71Gy4q4vEAwCgYIKoZIzj0EAwIw
JzERMA8GA1UECgwIdm93IGZ1enoxEjAQBgNVBAMMCWxvY2FsaG9zdDAgFw0yNjEy
MDYwOTA0NDJaGA8yMTI2MTExMjA5MDQ0MlowJzERMA8GA1UECgwIdm93IGZ1enox
EjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABC1H
YSYdeIHwdJQtGQSuWpG225wSX7x5p7oiMRFAe6c3PduogOHjU3X1kwCpmjF8XntQ
sn4gHbo58Nj51JB1JpujaTBnMB0GA1UdDgQWBBQyJH5rN8DkBafwwvDbBbslmlO7
EjAfBgNVHSMEGDAWgBQyJH5rN8DkBafwwvDbBbslmlO7EjAPBgNVHRMBAf8EBTAD
AQH/MBQGA1UdEQQNMAuCCWxvY2FsaG9zdDAKBggqhkjOPQQDAgNJADBGAiEAxHq+
DLfWjma9AXXybXj64a4AIo2iawJBEMVXHS8iziMCIQCINSTuWynlE/sIWdsudNFO
/yL4Z/8s5VtfyfMMgufcfw==
-----END CERTIFICATE-----
)";

std::string_view g_input;

[[noreturn]] void die(const char* what, const std::string& detail) {
    std::fprintf(stderr, "\n*** fuzz_tls: %s\n  %s\n  input: %s\n", what, detail.c_str(),
                 vow::fuzz::show(g_input, 300).c_str());
    std::abort();
}

// The certificate and key as files (tls_context loads files), kept for the
// life of the process: client contexts are made per input.
struct files {
    std::string dir, cert, key;
    files() {
        char tmpl[] = "/tmp/vow-fuzz-tls-XXXXXX";
        if (!::mkdtemp(tmpl))
            die("mkdtemp failed", tmpl);
        dir = tmpl;
        cert = dir + "/cert.pem";
        key = dir + "/key.pem";
        write(cert, cert_pem);
        write(key, key_pem);
    }
    ~files() {
        ::unlink(cert.c_str());
        ::unlink(key.c_str());
        ::rmdir(dir.c_str());
    }
    static void write(const std::string& path, std::string_view text) {
        std::FILE* f = std::fopen(path.c_str(), "w");
        if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0)
            die("cannot write", path);
    }
};

const files& the_files() {
    static const files f;
    return f;
}

const std::shared_ptr<net::tls_context>& server_context() {
    static const auto ctx = net::tls_context::server({.cert_file = the_files().cert, .key_file = the_files().key});
    return ctx;
}

// Per input, so that no session from an earlier input is offered.
std::shared_ptr<net::tls_context> client_context() { return net::tls_context::client({.ca_file = the_files().cert}); }

// The peer's OpenSSL contexts (modes 2, 3): certificates from memory.
SSL_CTX* peer_context(bool server) {
    SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx)
        die("SSL_CTX_new failed", "");
    if (server) {
        BIO* c = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
        BIO* k = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
        X509* x = PEM_read_bio_X509(c, nullptr, nullptr, nullptr);
        EVP_PKEY* p = PEM_read_bio_PrivateKey(k, nullptr, nullptr, nullptr);
        if (!x || !p || SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, p) != 1)
            die("the peer's certificate does not load", "");
        X509_free(x);
        EVP_PKEY_free(p);
        BIO_free(c);
        BIO_free(k);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return ctx;
}

// An error the stream may reject with; anything else is a finding.
std::string error_text(std::exception_ptr e, const char* where) {
    try {
        std::rethrow_exception(e);
    } catch (const net::tls_error& x) {
        return std::string("tls_error: ") + x.what();
    } catch (const net::io_error& x) {
        return std::string("io_error: ") + x.what();
    } catch (const std::exception& x) {
        die("an unexpected exception type", std::string(where) + ": " + x.what());
    } catch (...) {
        die("a non-std exception", where);
    }
}

// What the vow side saw.
struct outcome {
    bool handshake_done = false;
    bool handshake_failed = false;
    std::string handshake_error;
    std::string got;          // the bytes read
    bool eof = false;         // a read yielded ""
    std::string read_error;   // a read rejected
    net::tls_stream stream;
    bool settled() const { return handshake_failed || (handshake_done && (eof || !read_error.empty())); }
};

// Reads until the end or an error: a stream that is always read, as the
// HTTP server's connections are.
void read_loop(const std::shared_ptr<outcome>& o) {
    o->stream.read_some()
        .then([o](std::string data) {
            if (data.empty()) {
                o->eof = true;
                return;
            }
            o->got += data;
            read_loop(o);
        })
        .catch_([o](std::exception_ptr e) { o->read_error = error_text(e, "read_some"); })
        .discard();
}

void start(const std::shared_ptr<memory_transport>& t, bool server, const std::shared_ptr<outcome>& o) {
    auto hs = server ? net::tls_stream::accept(server_context(), net::stream(t))
                     : net::tls_stream::connect(client_context(), net::stream(t), "localhost");
    std::move(hs)
        .then([o](net::tls_stream s) {
            o->handshake_done = true;
            o->stream = std::move(s);
            read_loop(o);
        })
        .catch_([o](std::exception_ptr e) {
            o->handshake_failed = true;
            o->handshake_error = error_text(e, "the handshake");
        })
        .discard();
}

void finish(memory_transport& t, unsigned end_kind) {
    if (end_kind < 2)
        t.deliver_eof();
    else if (end_kind == 2)
        t.deliver_reset();
}

// ------------------------------------------------ modes 0, 1: raw bytes

void raw(bool server, unsigned end_kind, std::uint8_t cut, std::string_view data) {
    vow::reactor r;
    auto t = std::make_shared<memory_transport>(r);
    auto o = std::make_shared<outcome>();
    // Pieces of 1..cut bytes, varied by a little generator so that a
    // record header is split in every place over a run.
    std::uint32_t x = cut * 2654435761u + 1;
    while (!data.empty()) {
        std::size_t n = data.size();
        if (cut != 0) {
            x = x * 1103515245u + 12345u;
            n = std::min<std::size_t>(n, 1 + (x >> 16) % cut);
        }
        t->deliver(std::string(data.substr(0, n)));
        data.remove_prefix(n);
    }
    finish(*t, end_kind);
    start(t, server, o);
    r.run();
    if (end_kind != 3 && !o->settled())
        die("the transport ended, and something is still pending", o->handshake_done ? "a read" : "the handshake");
    if (o->handshake_failed && t->is_open())
        die("a failed handshake left the transport open", o->handshake_error);
    o->stream = net::tls_stream();
}

// --------------------------------- modes 2, 3: a real peer in memory

struct program {
    std::string_view in;
    bool done() const { return in.empty(); }
    std::uint8_t next() {
        if (in.empty())
            return 0;
        auto b = static_cast<std::uint8_t>(in.front());
        in.remove_prefix(1);
        return b;
    }
    std::string bytes(std::size_t n) {
        n = std::min(n, in.size());
        std::string s(in.substr(0, n));
        in.remove_prefix(n);
        return s;
    }
};

struct peer {
    SSL* ssl = nullptr;
    BIO* in = nullptr;    // what vow sent, for the peer to read
    BIO* out = nullptr;   // what the peer sent, for vow to read
    std::string records;  // the peer's output not yet delivered
    std::string pristine; // the same as the peer wrote it (records may be flipped)
    std::string got;      // what the peer read of vow's writes
    bool failed = false;

    peer(bool server, bool tls12) {
        static SSL_CTX* const server_ctx = peer_context(true);
        static SSL_CTX* const client_ctx = peer_context(false);
        ssl = SSL_new(server ? server_ctx : client_ctx);
        in = BIO_new(BIO_s_mem());
        out = BIO_new(BIO_s_mem());
        if (!ssl || !in || !out)
            die("the peer cannot be made", "");
        SSL_set_bio(ssl, in, out);
        const int v = tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
        SSL_set_min_proto_version(ssl, v);
        SSL_set_max_proto_version(ssl, v);
        if (server)
            SSL_set_accept_state(ssl);
        else {
            SSL_set_connect_state(ssl);
            SSL_set_tlsext_host_name(ssl, "localhost");
        }
    }
    ~peer() { SSL_free(ssl); }
    peer(const peer&) = delete;
    peer& operator=(const peer&) = delete;

    // Takes in what vow wrote, and moves what the peer answers to records.
    void pump() {
        ERR_clear_error();
        if (!failed && !SSL_is_init_finished(ssl)) {
            const int rc = SSL_do_handshake(ssl);
            if (rc != 1 && SSL_get_error(ssl, rc) != SSL_ERROR_WANT_READ)
                failed = true;
        }
        if (!failed && SSL_is_init_finished(ssl)) {
            char buf[4096];
            for (;;) {
                const int n = SSL_read(ssl, buf, sizeof buf);
                if (n > 0) {
                    got.append(buf, static_cast<std::size_t>(n));
                    continue;
                }
                const int err = SSL_get_error(ssl, n);
                if (err != SSL_ERROR_WANT_READ)
                    failed = true;
                break;
            }
        }
        ERR_clear_error();
        drain();
    }
    void drain() {
        char buf[4096];
        int n;
        while ((n = BIO_read(out, buf, sizeof buf)) > 0) {
            records.append(buf, static_cast<std::size_t>(n));
            pristine.append(buf, static_cast<std::size_t>(n));
        }
    }
};

void with_peer(bool vow_server, bool tls12, unsigned end_kind, program prog) {
    vow::reactor r;
    auto t = std::make_shared<memory_transport>(r);
    auto o = std::make_shared<outcome>();
    peer p(!vow_server, tls12);
    t->on_write = [&p](std::string_view bytes) {
        BIO_write(p.in, bytes.data(), static_cast<int>(bytes.size()));
        p.pump();
    };

    // The handshake, each flight in one read.
    start(t, vow_server, o);
    p.pump();
    for (int turn = 0; turn < 16 && !o->handshake_done && !o->handshake_failed; ++turn) {
        t->deliver(std::exchange(p.records, {}));
        p.pristine.clear();
        r.run();
    }
    if (!o->handshake_done || p.failed || !SSL_is_init_finished(p.ssl))
        die("the handshake with OpenSSL did not complete",
            o->handshake_error.empty() ? std::string("(no error)") : o->handshake_error);

    std::string written;           // what the peer wrote, in order
    std::string vow_written;       // what vow wrote (the writes that resolved)
    std::size_t delivered = 0;     // bytes of records handed to vow
    std::size_t damage = SIZE_MAX; // the first flipped or cut byte, counted as delivered
    std::size_t notify_end = 0;    // the end of the peer's close_notify, if sent
    bool notified = false;
    bool weak = false;             // a renegotiation was tried: what follows is not modelled
    bool cut_short = false;

    auto deliver = [&](std::uint8_t k) {
        // Flips are counted here, where a byte flipped twice is intact.
        const auto diff = std::mismatch(p.records.begin(), p.records.end(), p.pristine.begin());
        if (diff.first != p.records.end())
            damage = std::min(damage, delivered + static_cast<std::size_t>(diff.first - p.records.begin()));
        std::string_view rec = p.records;
        std::uint32_t x = k * 2654435761u + 7;
        while (!rec.empty()) {
            std::size_t n = rec.size();
            if (k != 0) {
                x = x * 1103515245u + 12345u;
                n = std::min<std::size_t>(n, 1 + (x >> 16) % k);
            }
            t->deliver(std::string(rec.substr(0, n)));
            rec.remove_prefix(n);
        }
        delivered += p.records.size();
        p.records.clear();
        p.pristine.clear();
        r.run();
    };
    auto intact = [&] { return damage == SIZE_MAX && !weak; };
    bool ended = false;            // the transport has ended (FIN or reset)
    auto check = [&](const char* when) {
        if (written.compare(0, o->got.size(), o->got) != 0)
            die("vow read bytes the peer did not write", std::string(when) + ": read '" +
                                                              vow::fuzz::show(o->got, 200) + "', written '" +
                                                              vow::fuzz::show(written, 200) + "'");
        if (intact() && p.records.empty()) {
            if (!o->read_error.empty() && !ended)
                die("a read failed on intact records", std::string(when) + ": " + o->read_error);
            if (ended && notified && !o->eof)
                die("an intact close_notify was not the end of stream", std::string(when) + ": " + o->read_error);
            if (ended && !notified && o->read_error.find(end_kind == 2 ? "io_error" : "tls_error") != 0)
                die("an end without close_notify is not a truncation", std::string(when) + ": " +
                                                                         (o->eof ? "end of stream" : o->read_error));
            if (!notified && o->eof)
                die("an end of stream without close_notify", when);
            if (o->got != written)
                die("delivered records are not all read", std::string(when) + ": read " +
                                                             std::to_string(o->got.size()) + " of " +
                                                             std::to_string(written.size()));
        }
        static const bool trace = std::getenv("FUZZ_TLS_TRACE") != nullptr;
        if (trace)
            std::fprintf(stderr, "%s: read %zu of %zu, eof %d, error '%s', close_notify %d (ends at %zu), "
                                 "first damage %zu, delivered %zu\n",
                         when, o->got.size(), written.size(), o->eof, o->read_error.c_str(), notified, notify_end,
                         damage, delivered);
        if (o->eof && !(notified && damage >= notify_end))
            die("an end of stream without an intact close_notify", when);
        if (!p.failed && vow_written.compare(0, p.got.size(), p.got) != 0)
            die("the peer read bytes vow did not write", when);
    };

    while (!prog.done() && !cut_short) {
        switch (prog.next() % 8) {
        case 0:
        case 1: {
            const std::string data = prog.bytes(1 + prog.next() % 64);
            if (notified || p.failed || data.empty())
                break;
            std::size_t n = 0;
            if (SSL_write_ex(p.ssl, data.data(), data.size(), &n) == 1)
                written += data.substr(0, n);
            else
                p.failed = true;
            ERR_clear_error();
            p.drain();
            break;
        }
        case 2:
            deliver(prog.next());
            check("after a delivery");
            break;
        case 3:
            if (notified || p.failed)
                break;
            if (tls12) {
                // vow sets SSL_OP_NO_RENEGOTIATION: it answers with an
                // alert, and what the peer does then is OpenSSL's business.
                SSL_renegotiate(p.ssl);
                SSL_do_handshake(p.ssl);
                weak = true;
            } else {
                SSL_key_update(p.ssl, prog.next() & 1 ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED);
                SSL_do_handshake(p.ssl);
            }
            ERR_clear_error();
            p.drain();
            break;
        case 4: {
            const std::uint8_t at = prog.next();
            const std::uint8_t mask = prog.next() | 1;
            if (!p.records.empty()) {
                const std::size_t i = at % p.records.size();
                p.records[i] = static_cast<char>(p.records[i] ^ mask);
            }
            break;
        }
        case 5:
            if (notified || p.failed)
                break;
            SSL_shutdown(p.ssl);
            ERR_clear_error();
            p.drain();
            notified = (SSL_get_shutdown(p.ssl) & SSL_SENT_SHUTDOWN) != 0;
            notify_end = delivered + p.records.size();
            break;
        case 6:
            if (!p.records.empty()) {
                const std::size_t keep = prog.next() % p.records.size();
                p.records.resize(keep);
                damage = std::min(damage, delivered + keep);
            }
            cut_short = true;
            break;
        case 7: {
            const std::string data = prog.bytes(1 + prog.next() % 64);
            if (data.empty() || !o->stream.is_open())
                break;
            // Counted once written: a write may be refused (the stream
            // failed, or the peer's close_notify came first).
            o->stream.write(data)
                .then([&vow_written, data] { vow_written += data; })
                .catch_([](std::exception_ptr e) { (void)error_text(e, "write"); })
                .discard();
            r.run();
            break;
        }
        }
    }

    deliver(0);
    check("after the last delivery");
    finish(*t, end_kind);
    ended = end_kind != 3;
    r.run();
    check("after the end");
    if (end_kind != 3 && !o->settled())
        die("the transport ended, and a read is still pending", "");
    if (end_kind == 3 && intact() && !notified && (o->eof || !o->read_error.empty()))
        die("an intact stream that was not ended ended", o->eof ? "end of stream" : o->read_error);
    if (intact() && !p.failed && p.got != vow_written)
        die("the peer did not read all that vow wrote",
            std::to_string(p.got.size()) + " of " + std::to_string(vow_written.size()));
    o->stream = net::tls_stream();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 2)
        return 0;
    g_input = std::string_view(reinterpret_cast<const char*>(bytes), size);
    const unsigned mode = bytes[0] & 3;
    const bool tls12 = (bytes[0] & 4) != 0;
    const unsigned end_kind = (bytes[0] >> 3) & 3;
    const std::string_view rest = g_input.substr(2);
    if (mode < 2)
        raw(mode == 0, end_kind, bytes[1], rest);
    else
        with_peer(mode == 2, tls12, end_kind, program{rest});
    return 0;
}
