// tests/consume/tls_consumer.cpp - a program that uses vow-tls the way a
// user does: the installed headers (<vow/vow.hpp>, <vow/net/tls.hpp>) and
// what `pkg-config --cflags --libs vow-tls` or dependency('vow-tls') hands
// it; OpenSSL is vow-tls's business, never included here.
//
//   tls_consumer CERT_DIR   (made by tests/tls/make_certs.sh)
//
// A context with a missing CA file throws tls_error; then a server context
// from CERT_DIR's server.pem and server.key, a client trusting its ca.pem,
// and one TLS 1.3 exchange over loopback.
#include <vow/net/tls.hpp>
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
namespace net = vow::net;

int main(int argc, char** argv) {
    if (argc != 2) {
        fmt::print(stderr, "usage: tls_consumer CERT_DIR\n");
        return 2;
    }
    const std::string dir = argv[1];

    try {
        (void)net::tls_context::client({.ca_file = dir + "/no-such-ca.pem"});
        fmt::print("a missing CA file was accepted\n");
        return 1;
    } catch (const net::tls_error&) {
        fmt::print("missing CA file: tls_error\n");
    }

    auto server_ctx = net::tls_context::server({.cert_file = dir + "/server.pem", .key_file = dir + "/server.key"});
    auto client_ctx = net::tls_context::client({.ca_file = dir + "/ca.pem"});

    vow::reactor r;
    net::tcp_server listener(r, "127.0.0.1", 0);
    listener.on_connection([&](net::tcp_stream tcp) {
        net::tls_stream::accept(server_ctx, tcp, {.timeout = 10s})
            .then([](net::tls_stream s) {
                return s.read_line().then([s](std::optional<std::string> line) mutable {
                    return s.write("pong " + line.value_or("?") + "\n");
                });
            })
            .catch_([](std::exception_ptr) {})
            .discard();
    });

    std::string version, reply;
    auto done = net::connect(r, "127.0.0.1", listener.local_address().port())
                    .then([&](net::tcp_stream tcp) {
                        return net::tls_stream::connect(client_ctx, tcp, "localhost", {.timeout = 10s});
                    })
                    .then([&](net::tls_stream s) {
                        version = s.version();
                        (void)s.write("ping\n");
                        return s.read_line().then([s](std::optional<std::string> line) { return line; });
                    })
                    .then([&](std::optional<std::string> line) {
                        reply = line.value_or("(end of stream)");
                        listener.close();
                    });
    vow::run_until_complete(r, std::move(done));
    fmt::print("handshake: {}\n", version == "TLSv1.3" ? "TLS 1.3" : version);
    fmt::print("reply: {}\n", reply);
    return reply == "pong ping" ? 0 : 1;
}
