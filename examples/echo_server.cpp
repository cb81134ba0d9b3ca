// examples/echo_server.cpp - a TCP echo server on vow::net::tcp_server.
//
//   echo_server [--host H] [--port N] [--idle-timeout-ms N] [--write-timeout-ms N]
//
// Sends every byte a client sends back to it. Each connection is a
// vow::repeat loop: read_some, write what came, and only when that write's
// future resolves, read again. A client that sends but never reads therefore
// stops being read from (the kernel's window then stops it sending), so the
// server never buffers more than the stream's high-water mark for it. When
// the client half-closes, the server flushes what it owes, half-closes too,
// and closes.
//
// Every wait has a timeout, because a peer that never sends, or never reads,
// would otherwise hold its connection (a descriptor, a loop, its buffers)
// for ever, and enough of them run a server out of descriptors. A client
// that sends nothing for 60 s (--idle-timeout-ms) is disconnected, and so
// is one that takes none of its echo for 30 s (--write-timeout-ms): its
// write's future stays pending that long. The defaults are http_server's;
// the tests shorten them.
//
// Prints "listening on HOST:PORT" once it accepts (port 0: a free port).
// SIGINT and SIGTERM do the same (one function handles both): close the
// listener and cancel every connection; then the program says how many
// connections it served and exits 0.
#include <vow/net/tcp.hpp>
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

namespace {

const char* usage =
    "usage: echo_server [--host H] [--port N] [--idle-timeout-ms N] [--write-timeout-ms N]\n"
    "  --host H               address to listen on (default 127.0.0.1)\n"
    "  --port N               port (default 7000; 0 picks a free one)\n"
    "  --idle-timeout-ms N    disconnect a client that sends nothing for N ms (default 60000)\n"
    "  --write-timeout-ms N   disconnect a client that takes none of its echo for N ms\n"
    "                         (default 30000)\n";

// How long a connection waits for its client, each wait on its own.
struct timeouts {
    vow::reactor::duration idle = std::chrono::seconds(60);    // for the next bytes
    vow::reactor::duration write = std::chrono::seconds(30);   // for the client to take its echo
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

// ANCHOR: echo
// One connection, asyncio's
//
//   while data := await asyncio.wait_for(reader.read(65536), 60):
//       writer.write(data)
//       await asyncio.wait_for(writer.drain(), 30)
//
// as a loop that holds one read or one write at a time, however long the
// client stays. Each wait rejects with vow::timeout_error after its limit,
// which ends the loop like an error. The stream is closed when the loop
// ends, however it ends.
vow::future<void> echo(vow::reactor& r, vow::net::tcp_stream s, timeouts limit, std::stop_token stop) {
    auto loop = vow::repeat(r, [s, limit, stop]() mutable {
        return s.read_some({.stop = stop, .timeout = limit.idle}).then([s, limit, stop](std::string data) mutable {
            // "" is the client's end of stream: shutdown() sends our FIN
            // once every echoed byte is out.
            if (data.empty())
                return s.shutdown({.stop = stop, .timeout = limit.write}).then([] {
                    return vow::stop_iteration::yes;
                });
            // Waiting for the write before reading again is the backpressure.
            return s.write(data, {.stop = stop, .timeout = limit.write}).then([] {
                return vow::stop_iteration::no;
            });
        });
    });
    return std::move(loop).finally([s]() mutable { s.close(); });
}
// ANCHOR_END: echo

}  // namespace

int main(int argc, char** argv) try {
    std::string host = "127.0.0.1";
    std::uint16_t port = 7000;
    timeouts limit;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (a == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else if (a == "--port" && i + 1 < argc && parse_port(argv[i + 1], port)) {
            ++i;
        } else if (a == "--idle-timeout-ms" && i + 1 < argc && parse_ms(argv[i + 1], limit.idle)) {
            ++i;
        } else if (a == "--write-timeout-ms" && i + 1 < argc && parse_ms(argv[i + 1], limit.write)) {
            ++i;
        } else {
            fmt::print(stderr, "echo_server: bad argument '{}'\n{}", a, usage);
            return 2;
        }
    }

    vow::reactor r;
    vow::net::tcp_server server(r, host, port);
    // ANCHOR: group
    // Every connection is a task of one group, so one cancel() stops them all.
    // A connection's own error (a reset, a timeout) ends that connection
    // only: it is caught here, because the group's first error would cancel
    // the rest.
    vow::task_group connections(r);
    server.on_connection([&](vow::net::tcp_stream s) {
        connections.spawn([&, s](std::stop_token stop) {
            return echo(r, s, limit, stop).catch_([](std::exception_ptr) {});
        });
    });
    // ANCHOR_END: group

    // A graceful stop: the listener and the open streams are what keep run()
    // running; each cancelled connection's loop ends and closes its stream.
    vow::handle sigs[2];
    auto stop = [&] {
        for (auto& h : sigs)
            h.cancel();
        server.close();
        connections.cancel();
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
