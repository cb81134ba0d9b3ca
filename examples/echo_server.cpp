// examples/echo_server.cpp - a TCP echo server on vow::net::tcp_server.
//
//   echo_server [--host H] [--port N]
//
// Sends every byte a client sends back to it. Each connection is a chain
// that calls itself: read_some, write what came, and only when that write's
// future resolves, read again. A client that sends but never reads therefore
// stops being read from (the kernel's window then stops it sending), so the
// server never buffers more than the stream's high-water mark for it. When
// the client half-closes, the server flushes what it owes, half-closes too,
// and closes. Prints "listening on HOST:PORT" once it accepts (port 0: a
// free port). SIGINT or SIGTERM closes the listener and every connection,
// then the program says how many connections it served and exits 0.
#include <vow/net/tcp.hpp>
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace {

const char* usage =
    "usage: echo_server [--host H] [--port N]\n"
    "  --host H   address to listen on (default 127.0.0.1)\n"
    "  --port N   port (default 7000; 0 picks a free one)\n";

bool parse_port(std::string_view s, std::uint16_t& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535)
        return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

// The open connections by number, so that a signal can close them all.
using connections = std::map<std::uint64_t, vow::net::tcp_stream>;

// One turn of a connection's loop. Each turn is a short chain of its own that
// starts the next turn when it ends, rather than returning it: a connection
// that echoes for hours then holds one turn's futures, not a chain that grows
// with every read. The chain's last future is dropped, `(void)`: nobody waits
// for it, and its catch_ handles every error, so none goes unreported.
void echo(vow::net::tcp_stream s, std::uint64_t id, connections& open) {
    (void)s.read_some()
        .then([s](std::string data) mutable {
            // "" is the client's end of stream: it will send nothing more.
            // shutdown() sends our FIN once every echoed byte is out, so a
            // client that half-closed still receives all of its data.
            if (data.empty())
                return s.shutdown().then([] { return false; });
            // Waiting for this future before reading again is the
            // backpressure: the next read starts only once the kernel has
            // taken the bytes (or few enough of them are still queued).
            return s.write(data).then([] { return true; });
        })
        .then([s, id, &open](bool more) mutable {
            if (more) {
                echo(s, id, open);
            } else {
                s.close();
                open.erase(id);
            }
        })
        .catch_([s, id, &open](std::exception_ptr) mutable {
            // Reset by the client, or closed by the signal handler: either
            // way this connection is over, and there is nobody to tell.
            s.close();
            open.erase(id);
        });
}

}  // namespace

int main(int argc, char** argv) try {
    std::string host = "127.0.0.1";
    std::uint16_t port = 7000;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (a == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else if (a == "--port" && i + 1 < argc && parse_port(argv[i + 1], port)) {
            ++i;
        } else {
            fmt::print(stderr, "echo_server: bad argument '{}'\n{}", a, usage);
            return 2;
        }
    }

    vow::reactor r;
    vow::net::tcp_server server(r, host, port);
    connections open;
    std::uint64_t next_id = 0;
    server.on_connection([&](vow::net::tcp_stream s) {
        auto id = next_id++;
        open.emplace(id, s);
        echo(std::move(s), id, open);
    });

    // Closing is all a graceful stop takes: the listener and the streams were
    // what kept run() running, and each closed stream rejects its pending
    // read or write, which ends its chain.
    vow::handle sigs[2];
    auto stop = [&] {
        for (auto& h : sigs)
            h.cancel();
        server.close();
        for (auto& [id, s] : open)
            s.close();
    };
    sigs[0] = r.add_signal_handler(SIGINT, stop);
    sigs[1] = r.add_signal_handler(SIGTERM, stop);

    fmt::print("listening on {}\n", server.local_address());
    std::fflush(stdout);
    r.run();
    fmt::print("served {} connections\n", server.accepted());
    return 0;
} catch (const vow::invalid_argument& e) {  // --host is not a numeric address
    fmt::print(stderr, "echo_server: {}\n", e.what());
    return 2;
} catch (const std::exception& e) {  // the port is taken, say
    fmt::print(stderr, "echo_server: {}\n", e.what());
    return 1;
}
