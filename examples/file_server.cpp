// examples/file_server.cpp - serve a directory over HTTP: vow::net::static_files
// on vow::net::http_server.
//
//   file_server --root DIR [--host H] [--port N] [--quiet] [--follow-symlinks]
//
// GET and HEAD of /PATH serve DIR/PATH: Content-Type by extension, ETag and
// Last-Modified (304 for a matching If-None-Match / If-Modified-Since),
// byte ranges (206, 416), DIR/index.html for a directory, never a listing,
// and nothing outside DIR, however the path is spelled: dot segments raw or
// encoded, backslashes, NUL bytes, symlinks that lead out (unless
// --follow-symlinks). The bytes go out with sendfile(2), straight from the
// page cache, one connection never holding more than the stream's
// high-water mark of them.
//
// One line per request goes to stdout (method, target, status, bytes) unless
// --quiet. Prints "listening on http://HOST:PORT" once it accepts (port 0: a
// free port). SIGINT and SIGTERM: a graceful shutdown, then "shut down after
// N requests".
#include <vow/vow.hpp>
#include <vow/net/http.hpp>

#include <fmt/core.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

using namespace std::chrono_literals;

namespace {

const char* usage =
    "usage: file_server --root DIR [--host H] [--port N] [--quiet] [--follow-symlinks]\n"
    "  --root DIR          the directory to serve\n"
    "  --host H            address to listen on (default 127.0.0.1)\n"
    "  --port N            port (default 8080; 0 picks a free one)\n"
    "  --quiet             no per-request log lines\n"
    "  --follow-symlinks   serve symlinks that lead out of DIR (refused by default)\n";

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
    std::string root, host = "127.0.0.1";
    std::uint16_t port = 8080;
    bool quiet = false;
    vow::net::static_files_options files;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (a == "--quiet") {
            quiet = true;
        } else if (a == "--follow-symlinks") {
            files.follow_symlinks_outside_root = true;
        } else if (a == "--root" && i + 1 < argc) {
            root = argv[++i];
        } else if (a == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else if (a == "--port" && i + 1 < argc && parse_port(argv[i + 1], port)) {
            ++i;
        } else {
            fmt::print(stderr, "file_server: bad argument '{}'\n{}", a, usage);
            return 2;
        }
    }
    if (root.empty()) {
        fmt::print(stderr, "file_server: --root is required\n{}", usage);
        return 2;
    }

    vow::reactor r;
    // ANCHOR: serve
    vow::net::http_server server(r, host, port);
    try {
        server.get("/{path...}", vow::net::static_files(r, root, files));
    } catch (const std::exception& e) {   // a root that is missing or not a directory
        fmt::print(stderr, "file_server: {}\n", e.what());
        return 1;
    }
    // ANCHOR_END: serve

    if (!quiet)
        server.on_response([](const vow::net::http_request& req, const vow::net::http_response& res,
                              vow::reactor::duration) {
            auto bytes = res.body_source.length ? *res.body_source.length : res.body.size();
            fmt::print("{} {} {} {}\n", req.method, req.target, res.status, bytes);
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

    fmt::print("listening on http://{}\n", server.local_address());
    std::fflush(stdout);
    r.run();
    return 0;
}
