// examples/http_server.cpp - a small HTTP/1.1 service on vow::net::http_server.
//
//   http_server [--host H] [--port N] [--quiet] [--header-timeout-ms N]
//               [--body-timeout-ms N] [--idle-timeout-ms N] [--write-timeout-ms N]
//               [--tls-cert FILE --tls-key FILE]
//
//   GET  /            -> "hello world"
//   GET  /users/{id}  -> {"id": 7, "name": "user 7"}   (404 unless id is a number)
//   GET  /slow        -> "done" after 100 ms, from a future: the loop serves
//                        other requests meanwhile
//   POST /echo        -> the request body back, with its Content-Type
//
// One line per request goes to stdout (method, target, status, bytes,
// milliseconds) unless --quiet; benchmarks use --quiet. The --*-timeout-ms
// flags set http_server_options' timeouts (defaults: header 10 s, body
// 30 s, idle 60 s, write 30 s); the soak tests shorten them so that slow
// clients are dropped within a test's time. Prints
// "listening on http://HOST:PORT" once it accepts (port 0: a free port);
// with --tls-cert and --tls-key (PEM files: the certificate, its chain after
// it, and the key) it serves HTTPS instead and says "https://".
// SIGINT and SIGTERM do the same (one function handles both): a graceful
// shutdown. No new connections; every request already received, even one
// still unread when the signal came, is answered; then the program says how
// many requests it served.
#include <vow/vow.hpp>
#include <vow/net/http/server.hpp>
#include <vow/net/tls.hpp>

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using vow::net::http_request;
using vow::net::http_response;

namespace {

const char* usage =
    "usage: http_server [--host H] [--port N] [--quiet] [--header-timeout-ms N]\n"
    "                   [--body-timeout-ms N] [--idle-timeout-ms N] [--write-timeout-ms N]\n"
    "  --host H                address to listen on (default 127.0.0.1)\n"
    "  --port N                port (default 8080; 0 picks a free one)\n"
    "  --quiet                 no per-request log lines\n"
    "  --header-timeout-ms N   a request head must arrive within N ms of its first byte\n"
    "                          (default 10000)\n"
    "  --body-timeout-ms N     and its body within N ms more (default 30000)\n"
    "  --idle-timeout-ms N     a keep-alive connection may idle N ms (default 60000)\n"
    "  --write-timeout-ms N    a client must take a response within N ms (default 30000)\n"
    "  --tls-cert FILE         serve HTTPS with this certificate (PEM, chain after it)\n"
    "  --tls-key FILE          and this private key (PEM)\n";

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    bool quiet = false;
    std::string tls_cert, tls_key;
    vow::net::http_server_options server;
};

// The timeout flags, each naming the option it sets.
struct timeout_flag {
    std::string_view name;
    vow::reactor::duration vow::net::http_server_options::*field;
};
constexpr timeout_flag timeout_flags[] = {
    {"--header-timeout-ms", &vow::net::http_server_options::header_timeout},
    {"--body-timeout-ms", &vow::net::http_server_options::body_timeout},
    {"--idle-timeout-ms", &vow::net::http_server_options::idle_timeout},
    {"--write-timeout-ms", &vow::net::http_server_options::write_timeout},
};

// A positive number of milliseconds.
bool parse_ms(std::string_view s, vow::reactor::duration& out) {
    unsigned long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 86'400'000)
        return false;
    out = std::chrono::milliseconds(v);
    return true;
}

bool parse_port(std::string_view s, std::uint16_t& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535)
        return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (a == "--quiet") {
            opt.quiet = true;
        } else if (a == "--host" && i + 1 < argc) {
            opt.host = argv[++i];
        } else if (a == "--port" && i + 1 < argc && parse_port(argv[i + 1], opt.port)) {
            ++i;
        } else if (a == "--tls-cert" && i + 1 < argc) {
            opt.tls_cert = argv[++i];
        } else if (a == "--tls-key" && i + 1 < argc) {
            opt.tls_key = argv[++i];
        } else if (auto f = std::find_if(std::begin(timeout_flags), std::end(timeout_flags),
                                         [&](const timeout_flag& t) { return t.name == a; });
                   f != std::end(timeout_flags) && i + 1 < argc &&
                   parse_ms(argv[i + 1], opt.server.*f->field)) {
            ++i;
        } else {
            fmt::print(stderr, "http_server: bad argument '{}'\n{}", a, usage);
            return 2;
        }
    }

    if (opt.tls_cert.empty() != opt.tls_key.empty()) {
        fmt::print(stderr, "http_server: --tls-cert and --tls-key go together\n{}", usage);
        return 2;
    }
    if (!opt.tls_cert.empty()) {
        try {
            opt.server.tls = vow::net::tls_context::server({.cert_file = opt.tls_cert, .key_file = opt.tls_key});
        } catch (const std::exception& e) {   // a file that is missing, unreadable, or not a matching pair
            fmt::print(stderr, "http_server: {}\n", e.what());
            return 2;
        }
    }

    vow::reactor r;
    vow::net::http_server server(r, opt.host, opt.port, opt.server);

    server.get("/", [](const http_request&) { return http_response::text("hello world"); });

    server.get("/users/{id}", [](const http_request& req) {
        std::string_view id = req.param("id");
        unsigned long n = 0;
        auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
        if (ec != std::errc() || p != id.data() + id.size())
            return http_response::json(R"({"error": "no such user"})", 404);
        return http_response::json(fmt::format(R"({{"id": {}, "name": "user {}"}})", n, n));
    });

    server.get("/slow", [&r](const http_request&) {
        return vow::sleep(r, 100ms).then([] { return http_response::text("done"); });
    });

    server.post("/echo", [](const http_request& req) {
        http_response res;
        res.body = req.body;
        res.headers.set("Content-Type", std::string(req.headers.get("Content-Type").value_or("application/octet-stream")));
        return res;
    });

    if (!opt.quiet)
        server.on_response([](const http_request& req, const http_response& res, vow::reactor::duration took) {
            fmt::print("{} {} {} {} {:.2f} ms\n", req.method, req.target, res.status, res.body.size(),
                       std::chrono::duration<double, std::milli>(took).count());
            std::fflush(stdout);
        });

    bool stopping = false;
    vow::handle sigs[2];
    auto stop = [&] {
        if (std::exchange(stopping, true))
            return;
        for (auto& h : sigs)
            h.cancel();
        (void)server.shutdown(5s).then([&] {
            fmt::print("shut down after {} requests\n", server.requests());
            std::fflush(stdout);
        });
    };
    sigs[0] = r.add_signal_handler(SIGINT, stop);
    sigs[1] = r.add_signal_handler(SIGTERM, stop);

    fmt::print("listening on {}://{}\n", opt.server.tls ? "https" : "http", server.local_address());
    std::fflush(stdout);
    r.run();
    return 0;
}
