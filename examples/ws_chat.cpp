// examples/ws_chat.cpp - a chat room in the browser: an http_server that
// serves one page with a small chat UI at / and its WebSocket endpoint at
// /chat.
//
//   ws_chat [--host H] [--port N] [--max-queue N] [--no-deflate]
//
// Open http://127.0.0.1:8000/ in a few tabs (or connect to
// ws://127.0.0.1:8000/chat?name=alice with any WebSocket client). The
// same rules as chat_server.cpp's line-based room: each client has a name
// (its ?name= if that is 1-20 letters, digits, '-' or '_' and free, else
// guest-N) and a greeting that tells it ("* you are alice"). Each text
// message it sends goes to every other client, never back to it, as
// "alice: the text"; joins and leaves are announced to the others
// ("* bob joined", "* bob left"). The page takes ?name=alice&say=hello:
// it joins as alice and says hello once greeted.
//
// Memory stays bounded whatever the clients do. A message is at most 4096
// bytes (a longer one closes its sender with 1009, by ws_options); a
// binary one closes it with 1003. A client's sends settle once its bytes
// waiting for the kernel are under the 64 KiB high-water mark; a client
// with --max-queue sends (default 256) still unsettled is not reading, and
// is dropped: closed with 1008 "too slow", announced to the others as
// "* bob left (too slow)". So a client costs at most 64 KiB plus max-queue
// messages, however fast the others talk.
//
// Prints "listening on http://HOST:PORT" once it accepts (port 0: a free
// port), then a line per join (with "(deflate)" when the client agreed to
// permessage-deflate, which is on unless --no-deflate) and per leave.
// SIGINT and SIGTERM shut down gracefully: every client gets a close frame
// with 1001 "going away"; once all have answered, the program says how many
// clients it served and exits 0.
#include <vow/vow.hpp>
#include <vow/net/http/server.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using vow::net::http_request;
using vow::net::http_response;
using vow::net::ws_connection;
using vow::net::ws_message;

namespace {

const char* usage =
    "usage: ws_chat [--host H] [--port N] [--max-queue N] [--no-deflate]\n"
    "  --host H        address to listen on (default 127.0.0.1)\n"
    "  --port N        port (default 8000; 0 picks a free one)\n"
    "  --max-queue N   messages waiting for a client before it is dropped as too slow\n"
    "                  (default 256)\n"
    "  --no-deflate    refuse permessage-deflate (compression)\n";

bool parse_port(std::string_view s, std::uint16_t& out) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535)
        return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

bool parse_count(std::string_view s, std::size_t& out) {
    std::size_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 1'000'000)
        return false;
    out = v;
    return true;
}

constexpr std::size_t max_message = 4096;  // bytes of one incoming message

// The name a client asks for in its query ("name=alice&..."), if it is one
// we take as is: no escaping needed in a log line, an announcement or HTML.
std::string requested_name(std::string_view query) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (!pair.starts_with("name="))
            continue;
        auto name = pair.substr(5);
        bool plain = std::all_of(name.begin(), name.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                   ch == '-' || ch == '_';
        });
        if (plain && !name.empty() && name.size() <= 20)
            return std::string(name);
    }
    return {};
}

// The page: a log, an input box, and a WebSocket to /chat on the host it
// came from. No external resources. For tests, ?name=N joins as N and
// ?say=TEXT sends TEXT once greeted; every line shown is a div.line in
// #log, and #status says "open" or "closed CODE REASON".
// ANCHOR: page
constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vow chat</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em; }
  #log { height: 24em; overflow-y: auto; border: 1px solid #ccc; padding: .5em; white-space: pre-wrap; }
  .me { color: #06c; } .note { color: #888; }
  form { display: flex; gap: .5em; margin-top: .5em; } #text { flex: 1; }
</style>
</head>
<body>
<h1>vow chat</h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" maxlength="4000" placeholder="say something" autofocus>
<button>Send</button></form>
<p id="status">connecting</p>
<script>
"use strict";
const params = new URLSearchParams(location.search);
const log = document.getElementById("log");
const status = document.getElementById("status");
const text = document.getElementById("text");

function show(line, kind) {
  const div = document.createElement("div");
  div.className = "line " + (kind || "");
  div.textContent = line;
  log.append(div);
  log.scrollTop = log.scrollHeight;
}

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const name = params.get("name");
const ws = new WebSocket(scheme + "//" + location.host + "/chat" +
                         (name ? "?name=" + encodeURIComponent(name) : ""));

function say(line) {
  if (ws.readyState !== WebSocket.OPEN || line === "") return;
  ws.send(line);
  show("me: " + line, "me");
}

ws.onopen = () => { status.textContent = "open"; };
ws.onmessage = (e) => {
  show(e.data, e.data.startsWith("* ") ? "note" : "");
  if (e.data.startsWith("* you are ") && params.has("say")) {
    say(params.get("say"));
    params.delete("say");
  }
};
ws.onclose = (e) => {
  status.textContent = "closed " + e.code + " " + e.reason;
  text.disabled = true;
};
document.getElementById("form").onsubmit = (e) => {
  e.preventDefault();
  say(text.value);
  text.value = "";
};
</script>
</body>
</html>
)html";
// ANCHOR_END: page

class chat_room {
public:
    explicit chat_room(std::size_t max_queue) : max_queue_(max_queue) {}

    // ANCHOR: join
    // A new connection: it gets a name and a greeting, the others hear that
    // it joined, and each of its messages goes to them until it leaves. The
    // loop's end, however it ends, is the leave.
    void join(ws_connection c, const http_request& req) {
        auto id = next_id_++;
        auto name = requested_name(req.query);
        if (name.empty() || taken(name))
            name = fmt::format("guest-{}", id);
        auto cl = std::make_shared<client>(client{id, std::move(name), c});
        clients_.emplace(id, cl);
        fmt::print("{} joined from {}{}\n", cl->name, c.peer_address(), c.deflate() ? " (deflate)" : "");
        std::fflush(stdout);
        send(cl, fmt::format("* you are {}", cl->name));
        broadcast(id, fmt::format("* {} joined", cl->name));

        c.for_each_message([this, cl](ws_message m) {
             if (m.is_binary())
                 cl->c.close(vow::net::ws_close::unsupported_data, "text only").discard();
             else
                 broadcast(cl->id, fmt::format("{}: {}", cl->name, m.data));
         })
            .then([this, cl] { leave(*cl, ""); })
            .catch_([this, cl](std::exception_ptr) {
                leave(*cl, fmt::format("closed with {}", cl->c.close_code().value_or(0)));
            })
            .discard();
    }
    // ANCHOR_END: join

    // From now on, leaves are not announced: everyone is leaving.
    void closing() { closing_ = true; }

    [[nodiscard]] std::uint64_t served() const { return next_id_ - 1; }

private:
    struct client {
        std::uint64_t id;
        std::string name;
        ws_connection c;
        std::size_t unsent = 0;  // sends not yet settled: queued past the high-water mark
    };
    using client_ptr = std::shared_ptr<client>;

    bool taken(std::string_view name) const {
        return std::any_of(clients_.begin(), clients_.end(), [&](auto& kv) { return kv.second->name == name; });
    }

    // ANCHOR: broadcast
    // Sends `text` to every client but `from`. A client with max_queue
    // sends unsettled is not reading: it is dropped after the loop, which
    // it must not disturb (its leave is announced by another broadcast).
    void broadcast(std::uint64_t from, const std::string& text) {
        std::vector<client_ptr> too_slow;
        for (auto& [id, cl] : clients_)
            if (id != from && !send(cl, text))
                too_slow.push_back(cl);
        for (auto& cl : too_slow) {
            leave(*cl, "too slow");
            cl->c.close(vow::net::ws_close::policy_violation, "too slow").discard();
        }
    }

    // Sends `text` to `cl`; false, and nothing sent, if max_queue of its
    // sends wait already. A send that fails (the client is closing) is
    // counted as settled: its loop's end is the leave.
    bool send(const client_ptr& cl, const std::string& text) {
        if (cl->unsent >= max_queue_)
            return false;
        ++cl->unsent;
        cl->c.send_text(text)
            .catch_([](std::exception_ptr) {})
            .finally([cl] { --cl->unsent; })
            .discard();
        return true;
    }
    // ANCHOR_END: broadcast

    // Removes a client and tells the others (the first time only: a client
    // dropped as too slow leaves again when its loop ends).
    void leave(client& cl, std::string_view why) {
        if (clients_.erase(cl.id) == 0)
            return;
        auto reason = why.empty() ? std::string() : fmt::format(" ({})", why);
        fmt::print("{} left{}\n", cl.name, reason);
        std::fflush(stdout);
        if (!closing_)
            broadcast(0, fmt::format("* {} left{}", cl.name, reason));
    }

    std::size_t max_queue_;
    std::map<std::uint64_t, client_ptr> clients_;
    std::uint64_t next_id_ = 1;  // 0 is nobody: broadcast(0, ...) reaches everyone
    bool closing_ = false;
};

}  // namespace

int main(int argc, char** argv) try {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;
    std::size_t max_queue = 256;
    vow::net::ws_server_options ws_opts;
    ws_opts.ws.max_message_bytes = max_message;
    ws_opts.ws.deflate = vow::net::ws_deflate_options{};
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            return 0;
        } else if (a == "--no-deflate") {
            ws_opts.ws.deflate.reset();
        } else if (a == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else if (a == "--port" && i + 1 < argc && parse_port(argv[i + 1], port)) {
            ++i;
        } else if (a == "--max-queue" && i + 1 < argc && parse_count(argv[i + 1], max_queue)) {
            ++i;
        } else {
            fmt::print(stderr, "ws_chat: bad argument '{}'\n{}", a, usage);
            return 2;
        }
    }

    vow::reactor r;
    vow::net::http_server server(r, host, port);
    chat_room room(max_queue);  // outlives the endpoint, whose connections call it

    // ANCHOR: page_route
    server.get("/", [](const http_request&) {
        http_response res;
        res.headers.set("Content-Type", "text/html; charset=utf-8");
        res.body = page;
        return res;
    });
    vow::net::ws_endpoint chat(
        server, "/chat", [&room](ws_connection c, const http_request& req) { room.join(std::move(c), req); },
        ws_opts);
    // ANCHOR_END: page_route

    bool stopping = false;
    vow::handle sigs[2];
    auto stop = [&] {
        if (std::exchange(stopping, true))
            return;
        for (auto& h : sigs)
            h.cancel();
        room.closing();
        (void)server.shutdown(5s);
    };
    sigs[0] = r.add_signal_handler(SIGINT, stop);
    sigs[1] = r.add_signal_handler(SIGTERM, stop);

    fmt::print("listening on http://{}\n", server.local_address());
    std::fflush(stdout);
    r.run();
    fmt::print("served {} clients\n", room.served());
    return 0;
} catch (const vow::invalid_argument& e) {  // --host is not a numeric address
    fmt::print(stderr, "ws_chat: {}\n", e.what());
    return 2;
} catch (const std::exception& e) {  // the port is taken, say
    fmt::print(stderr, "ws_chat: {}\n", e.what());
    return 1;
}
