// examples/http_server.cpp - a small HTTP/1.1 service on vow::net::http_server.
//
//   http_server [--host H] [--port N] [--threads N] [--quiet] [--header-timeout-ms N]
//               [--body-timeout-ms N] [--idle-timeout-ms N] [--write-timeout-ms N]
//               [--tls-cert FILE --tls-key FILE]
//
//   GET  /            -> "hello world"
//   GET  /users/{id}  -> {"id": 7, "name": "user 7"}   (404 unless id is a number)
//   GET  /slow        -> "done" after 100 ms, from a future: the loop serves
//                        other requests meanwhile
//   POST /echo        -> the request body back, with its Content-Type
//   GET  /spin?us=N   -> "spun N us on reactor R" after burning N microseconds
//                        of CPU (at most 1 s) on reactor R's thread: the
//                        benchmark route of bench/net (scaling with --threads
//                        is measured without the load generator dominating)
//
// --threads N (default 1) runs N reactors, each on its own thread, in a
// vow::reactor_pool; each runs its own http_server on the same port
// (SO_REUSEPORT): the kernel spreads the connections, and each is served
// wholly by the reactor that accepted it.
//
// One line per request goes to stdout (method, target, status, bytes,
// milliseconds) unless --quiet; benchmarks use --quiet. The --*-timeout-ms
// flags set http_server_options' timeouts (defaults: header 10 s, body
// 30 s, idle 60 s, write 30 s); the soak tests shorten them so that slow
// clients are dropped within a test's time. Prints
// "listening on http://HOST:PORT" once it accepts (port 0: a free port);
// with --tls-cert and --tls-key (PEM files: the certificate, its chain after
// it, and the key) it serves HTTPS instead and says "https://".
// SIGINT and SIGTERM do the same: a graceful shutdown of every reactor's
// server (the pool's stop). No new connections; every request already
// received, even one still unread when the signal came, is answered; then
// the program says how many requests the reactors served, summed.
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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
using vow::net::http_request;
using vow::net::http_response;

namespace {

const char* usage =
    "usage: http_server [--host H] [--port N] [--threads N] [--quiet] [--header-timeout-ms N]\n"
    "                   [--body-timeout-ms N] [--idle-timeout-ms N] [--write-timeout-ms N]\n"
    "  --host H                address to listen on (default 127.0.0.1)\n"
    "  --port N                port (default 8080; 0 picks a free one)\n"
    "  --threads N             reactors, one thread each, sharing the port (default 1)\n"
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
    std::size_t threads = 1;
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

bool parse_threads(std::string_view s, std::size_t& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 256)
        return false;
    out = v;
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

// The routes, on one reactor's server.
void add_routes(vow::net::http_server& server, vow::reactor& r, std::size_t shard, const options& opt) {
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

    server.get("/spin", [shard](const http_request& req) {
        unsigned long us = 0;
        std::string_view q = req.query;
        if (!q.starts_with("us="))
            return http_response::text("usage: /spin?us=N (N microseconds, at most 1000000)\n", 400);
        auto [p, ec] = std::from_chars(q.data() + 3, q.data() + q.size(), us);
        if (ec != std::errc() || p != q.data() + q.size() || us > 1'000'000)
            return http_response::text("usage: /spin?us=N (N microseconds, at most 1000000)\n", 400);
        // Burns the CPU on purpose: this route stands for real work.
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
        while (std::chrono::steady_clock::now() < until) {
        }
        return http_response::text(fmt::format("spun {} us on reactor {}\n", us, shard));
    });
}

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
        } else if (a == "--threads" && i + 1 < argc && parse_threads(argv[i + 1], opt.threads)) {
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

    // ANCHOR: pool
    // One reactor per thread; reactor 0 is this thread's, and takes the
    // signals: SIGINT or SIGTERM begins the pool's graceful stop.
    vow::reactor_pool pool({.threads = opt.threads, .stop_signals = {SIGINT, SIGTERM}, .stop_grace = 5s});
    // Each reactor runs its own server on the same port; reactor 0's is made
    // first and picks the port when --port 0 asked for a free one.
    opt.server.tcp.reuse_port = opt.threads > 1;
    std::uint16_t port = opt.port;
    vow::net::address where;
    std::optional<vow::sharded<vow::net::http_server>> made;
    try {
        made.emplace(pool, [&](vow::reactor& r, std::size_t shard) {
            auto server = std::make_unique<vow::net::http_server>(r, opt.host, port, opt.server);
            port = server->port();
            if (shard == 0)
                where = server->local_address();
            add_routes(*server, r, shard, opt);
            return server;
        });
    } catch (const std::exception& e) {   // the port is taken, the host is not ours, ...
        fmt::print(stderr, "http_server: {}\n", e.what());
        return 1;
    }
    auto& servers = *made;

    // The stop shuts every server down (the pool calls their shutdown());
    // this hook waits for that too, then sums what each reactor served.
    pool.on_stop([&](vow::reactor::duration grace) {
        return servers.invoke_on_all([grace](vow::net::http_server& s) { return s.shutdown(grace); })
            .then([&] {
                return servers.map_reduce([](vow::net::http_server& s) { return s.requests(); }, std::uint64_t{0},
                                          std::plus<>{});
            })
            .then([](std::uint64_t n) {
                fmt::print("shut down after {} requests\n", n);
                std::fflush(stdout);
            });
    });

    // ANCHOR_END: pool
    fmt::print("listening on {}://{}\n", opt.server.tls ? "https" : "http", where);
    std::fflush(stdout);
    pool.run();
    return 0;
}
