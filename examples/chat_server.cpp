// examples/chat_server.cpp - a line-based chat room on vow::net::tcp_server.
//
//   chat_server [--host H] [--port N]
//
// Each client gets a name (client-1, client-2, ...) and a greeting that
// tells it ("* you are client-1"). Each line it sends goes to every other
// client as "client-1: the line"; joins and leaves are announced to the
// others ("* client-3 joined", "* client-3 left"). Try it with a few
// `nc 127.0.0.1 7001`.
//
// Memory stays bounded whatever the clients do. A line is at most 4096
// bytes: a client that sends a longer one gets an error line and is
// disconnected. Each client has an outgoing queue with one write in flight;
// a client that stops reading lets its queue fill while the others chat on,
// and at 64 KiB queued it is disconnected.
//
// Prints "listening on HOST:PORT" once it accepts (port 0: a free port),
// then a line per join and leave. SIGINT or SIGTERM closes the listener and
// every connection, then the program says how many clients it served and
// exits 0.
#include <vow/net/tcp.hpp>
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <map>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

const char* usage =
    "usage: chat_server [--host H] [--port N]\n"
    "  --host H   address to listen on (default 127.0.0.1)\n"
    "  --port N   port (default 7001; 0 picks a free one)\n";

bool parse_port(std::string_view s, std::uint16_t& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535)
        return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

constexpr std::size_t max_line = 4096;         // bytes, "\n" included
constexpr std::size_t max_queued = 64 * 1024;  // bytes waiting to be written, per client

class chat_room {
public:
    void join(vow::net::tcp_stream s) {
        auto id = next_id_++;
        auto& c = clients_[id];
        c = client{.id = id, .name = fmt::format("client-{}", id), .s = s};
        fmt::print("{} joined from {}\n", c.name, s.peer_address());
        std::fflush(stdout);
        send(c, fmt::format("* you are {}\n", c.name));
        broadcast(id, fmt::format("* {} joined\n", c.name));
        read_line(id, std::move(s));
    }

    // Disconnects everyone at once, without announcements, and cuts short
    // the farewells still being flushed.
    void close_all() {
        stopping_.request_stop();
        for (auto& [id, c] : clients_)
            c.s.close();
        clients_.clear();
    }

    [[nodiscard]] std::uint64_t served() const { return next_id_ - 1; }

private:
    struct client {
        std::uint64_t id = 0;
        std::string name = {};
        vow::net::tcp_stream s = {};
        std::deque<std::string> queue = {};  // lines not yet handed to write()
        std::size_t queued = 0;              // their bytes, plus the write in flight
        bool writing = false;                // a write's future is pending
    };

    // A client's read loop: one line, broadcast it, call itself. Each turn is
    // its own short chain, so a long-lived client holds no growing chain of
    // futures. Every way it ends (end of stream, a reset, close_all) comes
    // out in a catch_.
    void read_line(std::uint64_t id, vow::net::tcp_stream s) {
        (void)s.read_until("\n", max_line)
            .then([this, id, s](std::string line) {
                auto it = clients_.find(id);
                if (it == clients_.end())
                    return;  // disconnected while the line was on its way
                line.pop_back();
                if (line.ends_with('\r'))  // telnet and `nc -C` end lines with "\r\n"
                    line.pop_back();
                broadcast(id, fmt::format("{}: {}\n", it->second.name, line));
                read_line(id, s);
            })
            .catch_([this, id](const vow::net::limit_error&) {
                leave(id, "line too long",
                      fmt::format("* error: a line is at most {} bytes\n", max_line));
            })
            .catch_([this, id](std::exception_ptr) { leave(id, ""); });
    }

    // Sends `line` to every client but `from`. A client whose queue is full
    // is not reading: it is disconnected, after the loop, which it must not
    // disturb.
    void broadcast(std::uint64_t from, const std::string& line) {
        std::vector<std::uint64_t> too_slow;
        for (auto& [id, c] : clients_)
            if (id != from && !send(c, line))
                too_slow.push_back(id);
        for (auto id : too_slow)
            leave(id, "too slow");
    }

    // Queues a line for `c`; false, and nothing queued, if the queue is full.
    bool send(client& c, std::string line) {
        if (c.queued + line.size() > max_queued)
            return false;
        c.queued += line.size();
        c.queue.push_back(std::move(line));
        if (!c.writing)
            write_next(c);
        return true;
    }

    // Hands everything queued to one write(), and calls itself when that
    // write's future resolves. With one write in flight at a time, the
    // backlog of a client that does not read piles up here, in the queue we
    // count, not in the stream's output buffer (which write() lets grow to
    // its high-water mark, 64 KiB, before its future waits).
    void write_next(client& c) {
        if (c.queue.empty()) {
            c.writing = false;
            return;
        }
        c.writing = true;
        std::string batch;
        for (auto& line : c.queue)
            batch += line;
        c.queue.clear();
        (void)c.s.write(batch)
            .then([this, id = c.id, n = batch.size()] {
                auto it = clients_.find(id);
                if (it == clients_.end())
                    return;
                it->second.queued -= n;
                write_next(it->second);
            })
            .catch_([this, id = c.id](std::exception_ptr) { leave(id, ""); });
    }

    // Removes a client and tells the others. Closing its stream rejects its
    // pending read and write, whose handlers then find it gone. A farewell
    // line is flushed first; the timeout and the stop token bound how long a
    // client that does not read can keep its connection open that way.
    void leave(std::uint64_t id, std::string_view why, const std::string& farewell = {}) {
        auto it = clients_.find(id);
        if (it == clients_.end())
            return;
        auto name = std::move(it->second.name);
        auto s = it->second.s;
        clients_.erase(it);
        if (farewell.empty()) {
            s.close();
        } else {
            (void)s.write(farewell)
                .then([s, stop = stopping_.get_token()]() mutable {
                    return s.shutdown({.stop = stop, .timeout = 2s});
                })
                .finally([s]() mutable { s.close(); })
                .catch_([](std::exception_ptr) {});
        }
        auto reason = why.empty() ? std::string() : fmt::format(" ({})", why);
        fmt::print("{} left{}\n", name, reason);
        std::fflush(stdout);
        broadcast(0, fmt::format("* {} left{}\n", name, reason));
    }

    std::map<std::uint64_t, client> clients_;
    std::uint64_t next_id_ = 1;  // 0 is nobody: broadcast(0, ...) reaches everyone
    std::stop_source stopping_;
};

}  // namespace

int main(int argc, char** argv) try {
    std::string host = "127.0.0.1";
    std::uint16_t port = 7001;
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
            fmt::print(stderr, "chat_server: bad argument '{}'\n{}", a, usage);
            return 2;
        }
    }

    vow::reactor r;
    vow::net::tcp_server server(r, host, port);
    chat_room room;
    server.on_connection([&](vow::net::tcp_stream s) { room.join(std::move(s)); });

    vow::handle sigs[2];
    auto stop = [&] {
        for (auto& h : sigs)
            h.cancel();
        server.close();
        room.close_all();
    };
    sigs[0] = r.add_signal_handler(SIGINT, stop);
    sigs[1] = r.add_signal_handler(SIGTERM, stop);

    fmt::print("listening on {}\n", server.local_address());
    std::fflush(stdout);
    r.run();
    fmt::print("served {} clients\n", room.served());
    return 0;
} catch (const vow::invalid_argument& e) {  // --host is not a numeric address
    fmt::print(stderr, "chat_server: {}\n", e.what());
    return 2;
} catch (const std::exception& e) {  // the port is taken, say
    fmt::print(stderr, "chat_server: {}\n", e.what());
    return 1;
}
