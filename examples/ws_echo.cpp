// examples/ws_echo.cpp - a WebSocket echo server: every message sent to
// ws://HOST:PORT/ comes back, text as text, binary as binary.
//
//   ws_echo [--host H] [--port N] [--quiet] [--deflate]
//           [--tls-cert FILE --tls-key FILE]
//
// Prints "listening on ws://HOST:PORT" once it accepts (port 0: a free
// port; wss:// with --tls-cert and --tls-key). One line per connection when
// it closes (its peer, messages echoed, close code) unless --quiet.
// --deflate accepts permessage-deflate from clients that offer it.
// SIGINT and SIGTERM shut down gracefully: every client gets a close frame
// with 1001 "going away", and the program exits once all have answered.
#include <vow/vow.hpp>
#include <vow/net/tls.hpp>

#include <fmt/core.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using vow::net::ws_connection;
using vow::net::ws_message;

namespace {

const char* usage =
    "usage: ws_echo [--host H] [--port N] [--quiet] [--deflate] [--tls-cert FILE --tls-key FILE]\n"
    "  --host H          address to listen on (default 127.0.0.1)\n"
    "  --port N          port (default 8765; 0 picks a free one)\n"
    "  --quiet           no line per connection\n"
    "  --deflate         accept permessage-deflate (compression)\n"
    "  --tls-cert FILE   serve wss:// with this certificate (PEM, chain after it)\n"
    "  --tls-key FILE    and this private key (PEM)\n";

bool parse_port(std::string_view s, std::uint16_t& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535)
        return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

}  // namespace

int main(int argc, char** argv) try {
    std::string host = "127.0.0.1", cert, key;
    std::uint16_t port = 8765;
    bool quiet = false;
    vow::net::ws_server_options ws_opts;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (a == "--quiet") {
            quiet = true;
        } else if (a == "--deflate") {
            ws_opts.ws.deflate = vow::net::ws_deflate_options{};
        } else if (a == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else if (a == "--port" && i + 1 < argc && parse_port(argv[i + 1], port)) {
            ++i;
        } else if (a == "--tls-cert" && i + 1 < argc) {
            cert = argv[++i];
        } else if (a == "--tls-key" && i + 1 < argc) {
            key = argv[++i];
        } else {
            fmt::print(stderr, "ws_echo: bad argument '{}'\n{}", a, usage);
            return 2;
        }
    }
    if (cert.empty() != key.empty()) {
        fmt::print(stderr, "ws_echo: --tls-cert and --tls-key go together\n{}", usage);
        return 2;
    }
    vow::net::http_server_options http_opts;
    if (!cert.empty()) {
        try {
            http_opts.tls = vow::net::tls_context::server({.cert_file = cert, .key_file = key});
        } catch (const std::exception& e) {
            fmt::print(stderr, "ws_echo: {}\n", e.what());
            return 2;
        }
    }

    vow::reactor r;
    vow::net::http_server server(r, host, port, http_opts);
    // ANCHOR: echo
    vow::net::ws_endpoint echo(
        server, "/",
        [quiet](ws_connection c, const vow::net::http_request&) {
            auto count = std::make_shared<std::size_t>(0);
            auto report = [quiet, count, peer = c.peer_address()](std::string_view how) {
                if (!quiet) {
                    fmt::print("{}: {} messages echoed, {}\n", peer, *count, how);
                    std::fflush(stdout);
                }
            };
            (void)c.for_each_message([c, count](ws_message m) mutable {
                   ++*count;
                   return c.send(m);
               })
                .then([c, report] { report(fmt::format("closed with {}", c.close_code().value_or(0))); })
                .catch_([report](const std::exception& e) { report(e.what()); });
        },
        ws_opts);
    // ANCHOR_END: echo

    bool stopping = false;
    vow::handle sigs[2];
    auto stop = [&] {
        if (std::exchange(stopping, true))
            return;
        for (auto& h : sigs)
            h.cancel();
        (void)server.shutdown(5s);
    };
    sigs[0] = r.add_signal_handler(SIGINT, stop);
    sigs[1] = r.add_signal_handler(SIGTERM, stop);

    fmt::print("listening on {}://{}\n", http_opts.tls ? "wss" : "ws", server.local_address());
    std::fflush(stdout);
    r.run();
    return 0;
} catch (const vow::invalid_argument& e) {  // --host is not a numeric address
    fmt::print(stderr, "ws_echo: {}\n", e.what());
    return 2;
} catch (const std::exception& e) {  // the port is taken, say
    fmt::print(stderr, "ws_echo: {}\n", e.what());
    return 1;
}
