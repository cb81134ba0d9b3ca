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
// disconnected. Each client has an outgoing vow::queue of lines with room
// for 256; a client that stops reading lets its queue fill while the others
// chat on, and when it is full the client is disconnected.
//
// Each client is two loops, tasks of the room's task_group: a reader
// (read_line, broadcast) and a writer (queue pop, write). When the client
// leaves, its queue is closed: the writer sends what was queued (an error
// line, say) and ends. SIGINT or SIGTERM cancels the group, which ends every
// loop.
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
#include <exception>
#include <map>
#include <memory>
#include <optional>
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

constexpr std::size_t max_line = 4096;    // bytes, without the line end
constexpr std::size_t max_backlog = 256;  // lines queued for a client that does not read

class chat_room {
public:
    explicit chat_room(vow::reactor& r) : r_(r), tasks_(r) {}

    void join(vow::net::tcp_stream s) {
        auto c = std::make_shared<client>(r_, next_id_++, std::move(s));
        clients_.emplace(c->id, c);
        fmt::print("{} joined from {}\n", c->name, c->s.peer_address());
        std::fflush(stdout);
        send(*c, fmt::format("* you are {}\n", c->name));
        broadcast(c->id, fmt::format("* {} joined\n", c->name));
        tasks_.spawn([this, c](std::stop_token stop) { return read_lines(c, stop); });
        tasks_.spawn([this, c](std::stop_token stop) { return write_lines(c, stop); });
    }

    // Disconnects everyone at once, without announcements: every reader,
    // writer and farewell still being flushed is cancelled.
    void close_all() {
        clients_.clear();
        tasks_.cancel();
    }

    [[nodiscard]] std::uint64_t served() const { return next_id_ - 1; }

private:
    struct client {
        client(vow::reactor& r, std::uint64_t id, vow::net::tcp_stream s)
            : id(id), name(fmt::format("client-{}", id)), s(std::move(s)), out(r, max_backlog) {}
        std::uint64_t id;
        std::string name;
        vow::net::tcp_stream s;
        vow::queue<std::string> out;  // lines waiting for the writer
    };
    using client_ptr = std::shared_ptr<client>;

    // ANCHOR: reader
    // The client's lines go to the others until its end of stream (asyncio's
    // `async for line in reader`). Every way the loop ends leaves the room;
    // the tasks catch their errors, since the group's first error would
    // cancel every client.
    vow::future<void> read_lines(client_ptr c, std::stop_token stop) {
        auto loop = vow::repeat(r_, [this, c, stop] {
            return c->s.read_line(max_line, {.stop = stop})
                .then([this, c](std::optional<std::string> line) {
                    if (!line)
                        return vow::stop_iteration::yes;  // end of stream
                    broadcast(c->id, fmt::format("{}: {}\n", c->name, *line));
                    return vow::stop_iteration::no;
                });
        });
        return std::move(loop)
            .then([this, c] { leave(*c, ""); })
            .catch_([this, c](const vow::net::limit_error&) {
                leave(*c, "line too long",
                      fmt::format("* error: a line is at most {} bytes\n", max_line));
            })
            .catch_([this, c](std::exception_ptr) { leave(*c, ""); });
    }
    // ANCHOR_END: reader

    // ANCHOR: writer
    // Writes the client's queue, one write in flight, until leave() closes
    // the queue: then what was queued is sent, the stream half-closed and
    // closed. With one write at a time, the backlog of a client that does
    // not read piles up in its queue, where send() sees it.
    vow::future<void> write_lines(client_ptr c, std::stop_token stop) {
        auto loop = vow::repeat(r_, [c, stop] {
            return c->out.pop(stop)
                .then([c, stop](std::string lines) {
                    while (auto more = c->out.try_pop())  // all that waits, in one write
                        lines += *more;
                    return c->s.write(lines, {.stop = stop});
                })
                .then([] { return vow::stop_iteration::no; });
        });
        return std::move(loop)
            .catch_([c, stop](const vow::queue_closed&) {
                return c->s.shutdown({.stop = stop, .timeout = 2s});
            })
            .finally([c] { c->s.close(); })
            .catch_([](std::exception_ptr) {});
    }
    // ANCHOR_END: writer

    // Sends `line` to every client but `from`. A client whose queue is full
    // is not reading: it is disconnected, after the loop, which it must not
    // disturb.
    void broadcast(std::uint64_t from, const std::string& line) {
        std::vector<client_ptr> too_slow;
        for (auto& [id, c] : clients_)
            if (id != from && !send(*c, line))
                too_slow.push_back(c);
        for (auto& c : too_slow)
            leave(*c, "too slow");
    }

    // Queues a line for `c`; false, and nothing queued, if its queue is full.
    static bool send(client& c, std::string line) { return c.out.try_push(line); }

    // Removes a client and tells the others. Its writer sends the farewell,
    // if any, and closes the stream; without one the stream is closed now,
    // which also ends a writer stuck on a client that does not read.
    void leave(client& c, std::string_view why, std::string farewell = {}) {
        if (clients_.erase(c.id) == 0)
            return;  // gone already: each of its loops ends here
        if (farewell.empty() || !send(c, std::move(farewell)))
            c.s.close();
        c.out.close();
        auto reason = why.empty() ? std::string() : fmt::format(" ({})", why);
        fmt::print("{} left{}\n", c.name, reason);
        std::fflush(stdout);
        broadcast(0, fmt::format("* {} left{}\n", c.name, reason));
    }

    vow::reactor& r_;
    vow::task_group tasks_;  // every client's reader and writer
    std::map<std::uint64_t, client_ptr> clients_;
    std::uint64_t next_id_ = 1;  // 0 is nobody: broadcast(0, ...) reaches everyone
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
    chat_room room(r);
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
