// examples/fetch.cpp - the seed's "10,000 HTTP requests", with vow futures.
//
//   fetch [--url URL] [--count N] [--concurrency C] [--quiet]
//         [--cafile FILE] [--insecure]
//         [--method M] [--body-file FILE] [--output FILE]
//
// Fetches URL N times with at most C requests in flight (vow::map_concurrent
// over vow::net::http_client, which keeps connections alive), prints a
// progress line to stderr while it runs, then a summary: requests per
// second, latency percentiles, errors. Exit status 1 if any request failed
// or answered with a status other than 200; 2 for a bad argument or URL.
// Every error that stops it is one line on stderr ("fetch: ...").
//
// With no --url it starts its own server first (vow::net::http_server on
// 127.0.0.1, a free port, on a second thread with its own reactor: one
// reactor per thread) and fetches 10,000 times from it, so it runs anywhere.
// asyncio would write this with aiohttp, a Semaphore and gather; here the
// limit and the gathering are one call.
//
// Bodies of any size stream through the client: --body-file sends a file
// as each request's body (vow::net::file_body: read in chunks as the
// connection takes them, never whole in memory), and --output streams the
// response body into a file (vow::net::file_sink, one request: --count
// defaults to 1 with either option, and --output refuses more). So
// `fetch --url URL --output big.iso` downloads a file of any size in
// constant memory.
//
// https:// URLs are verified against the system's CAs (or --cafile's):
// the chain, the dates and the host name. --insecure turns verification off
// (for a test server with a self-signed certificate; never in production),
// and says so on stderr.
#include <vow/vow.hpp>
#include <vow/fs/file.hpp>
#include <vow/net/http/client.hpp>
#include <vow/net/http/server.hpp>
#include <vow/net/tls.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

const char* usage =
    "usage: fetch [--url URL] [--count N] [--concurrency C] [--quiet]\n"
    "  --url URL         what to fetch (default: a server this program starts on 127.0.0.1)\n"
    "  --count N         number of requests (default 10000)\n"
    "  --concurrency C   requests in flight at most (default 100)\n"
    "  --quiet           no progress line\n"
    "  --cafile FILE     trust the CAs in FILE (PEM) for https:// instead of the system's\n"
    "  --insecure        https:// without verifying the server's certificate (INSECURE:\n"
    "                    anyone in the middle can read and change the traffic)\n"
    "  --method M        the request method (default GET, or PUT with --body-file)\n"
    "  --body-file FILE  stream FILE as each request's body (--count defaults to 1)\n"
    "  --output FILE     stream the response body into FILE (one request)\n";

bool is_method(std::string_view m) {
    return !m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '-'; });
}

bool parse_size(std::string_view s, std::size_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && out > 0;
}

// The built-in target: hello world on its own reactor and thread. The
// thread hands back its port and a promise of its own reactor's: resolving
// it, from any thread, closes the server, and the thread's run() returns.
class local_server {
public:
    local_server() {
        std::promise<std::pair<std::uint16_t, vow::promise<void>>> ready;
        auto started = ready.get_future();
        thread_ = std::thread([ready = std::move(ready)]() mutable {
            vow::reactor r;
            vow::net::http_server server(r, "127.0.0.1", 0);
            server.get("/", [](const vow::net::http_request&) {
                return vow::net::http_response::text("hello world");
            });
            vow::promise<void> stop(r);
            stop.get_future().then([&] { server.close(); }).discard();
            ready.set_value({server.port(), std::move(stop)});
            r.run();  // until the server is closed: the listener keeps it running
        });
        auto [port, stop] = started.get();
        port_ = port;
        stop_.emplace(std::move(stop));
    }
    ~local_server() {
        stop_->resolve();
        thread_.join();
    }
    std::uint16_t port() const { return port_; }

private:
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::optional<vow::promise<void>> stop_;
};

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty())
        return 0;
    auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int fetch_main(int argc, char** argv) {
    std::string url;
    std::size_t count = 10000, concurrency = 100;
    bool quiet = false, count_given = false;
    std::string method, body_file, output;
    vow::net::tls_client_options tls;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (a == "--quiet") {
            quiet = true;
        } else if (a == "--cafile" && i + 1 < argc) {
            tls.ca_file = argv[++i];
        } else if (a == "--insecure") {
            tls.verify = false;
        } else if (a == "--url" && i + 1 < argc) {
            url = argv[++i];
        } else if (a == "--count" && i + 1 < argc && parse_size(argv[i + 1], count)) {
            ++i;
            count_given = true;
        } else if (a == "--method" && i + 1 < argc && is_method(argv[i + 1])) {
            method = argv[++i];
        } else if (a == "--body-file" && i + 1 < argc) {
            body_file = argv[++i];
        } else if (a == "--output" && i + 1 < argc) {
            output = argv[++i];
        } else if (a == "--concurrency" && i + 1 < argc && parse_size(argv[i + 1], concurrency)) {
            ++i;
        } else {
            fmt::print(stderr, "fetch: bad argument '{}'\n{}", a, usage);
            return 2;
        }
    }

    if (method.empty())
        method = body_file.empty() ? "GET" : "PUT";
    if ((!body_file.empty() || !output.empty()) && !count_given)
        count = 1;
    if (!output.empty() && count != 1) {
        fmt::print(stderr, "fetch: --output writes one response: use --count 1\n");
        return 2;
    }
    if (!url.empty()) {
        try {
            (void)vow::net::url::parse(url);
        } catch (const vow::net::url_error& e) {
            fmt::print(stderr, "fetch: {}\n", e.what());
            return 2;
        }
    }

    std::optional<local_server> server;
    if (url.empty()) {
        server.emplace();
        url = fmt::format("http://127.0.0.1:{}/", server->port());
        fmt::print("started a local server; fetching {} {} times, {} at a time\n", url, count, concurrency);
    } else {
        fmt::print("fetching {} {} times, {} at a time\n", url, count, concurrency);
    }
    std::fflush(stdout);

    vow::reactor r;
    vow::net::http_client_options copts;
    copts.max_connections_per_host = concurrency;
    copts.max_idle_per_host = concurrency;
    try {
        copts.tls = vow::net::tls_context::client(tls);
    } catch (const std::exception& e) {   // --cafile that cannot be read
        fmt::print(stderr, "fetch: {}\n", e.what());
        return 2;
    }
    vow::net::http_client client(r, copts);

    // Opened once, before the run: a path that cannot be written stops it
    // with one line, like a bad argument.
    std::shared_ptr<vow::fs::file> out_file;
    std::uint64_t body_bytes = 0;
    if (!output.empty()) {
        try {
            out_file = std::make_shared<vow::fs::file>(vow::run_until_complete(
                r, vow::fs::open(r, output, vow::fs::open_mode::write | vow::fs::open_mode::create |
                                                vow::fs::open_mode::truncate)));
        } catch (const std::exception& e) {
            fmt::print(stderr, "fetch: {}\n", e.what());
            return 2;
        }
    }
    // ANCHOR: stream
    // One request: its body streamed from --body-file, its response's into
    // --output, when given.
    auto send = [&]() -> vow::future<vow::net::http_response> {
        vow::net::request_options ro;
        if (out_file)
            ro.on_body = [&, sink = vow::net::file_sink(out_file)](std::string chunk) {
                body_bytes += chunk.size();
                return sink(std::move(chunk));
            };
        if (body_file.empty())
            return client.request(method, url, {}, std::move(ro));
        return vow::net::file_body(r, body_file).then([&, ro](vow::net::http_body_source src) mutable {
            ro.body_source = std::move(src);
            return client.request(method, url, {}, std::move(ro));
        });
    };
    // ANCHOR_END: stream

    std::vector<double> latencies_ms;
    latencies_ms.reserve(count);
    std::size_t done = 0, errors = 0, bad_status = 0;
    std::string first_error;
    std::vector<std::size_t> items(count);
    std::iota(items.begin(), items.end(), std::size_t{0});

    const bool tty = isatty(STDERR_FILENO) != 0;
    auto progress = [&](bool last) {
        if (quiet)
            return;
        fmt::print(stderr, "{}progress: {}/{} done, {} errors{}", tty ? "\r" : "", done, count, errors + bad_status,
                   tty && !last ? "" : "\n");
        std::fflush(stderr);
    };
    vow::handle ticker = r.call_every(500ms, [&] { progress(false); });

    auto start = clock_type::now();
    auto all = vow::map_concurrent(r, std::move(items), concurrency, [&](std::size_t) {
        auto sent = clock_type::now();
        return send()
            .then([&, sent](vow::net::http_response res) {
                latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
                if (res.status != 200)
                    ++bad_status;
                ++done;
            })
            .catch_([&](std::exception_ptr e) {
                ++errors;
                ++done;
                if (first_error.empty())
                    first_error = vow::error_message(e);
            });
    });
    vow::run_until_complete(r, std::move(all));
    auto seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    ticker.cancel();
    client.close_idle();
    progress(true);

    std::sort(latencies_ms.begin(), latencies_ms.end());
    fmt::print("requests: {} ok, {} errors, {} not 200\n", latencies_ms.size() - bad_status, errors, bad_status);
    fmt::print("time: {:.2f} s\n", seconds);
    fmt::print("requests/s: {:.0f}\n", static_cast<double>(count) / seconds);
    fmt::print("latency ms: p50 {:.2f}  p90 {:.2f}  p99 {:.2f}  max {:.2f}\n", percentile(latencies_ms, 50),
               percentile(latencies_ms, 90), percentile(latencies_ms, 99),
               latencies_ms.empty() ? 0.0 : latencies_ms.back());
    fmt::print("connections opened: {}\n", client.connections_opened());
    if (out_file) {
        vow::run_until_complete(r, out_file->close());
        fmt::print("body: {} bytes written to {}\n", body_bytes, output);
    }
    if (!first_error.empty())
        fmt::print("first error: {}\n", first_error);
    return errors + bad_status == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    try {
        return fetch_main(argc, argv);
    } catch (const std::exception& e) {
        // What stopped the whole run (a request's own failure is counted,
        // not thrown): one line, and a non-zero exit.
        fmt::print(stderr, "fetch: {}\n", e.what());
        return 1;
    }
}
