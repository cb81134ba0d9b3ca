// fuzz_http_request - libFuzzer target for the HTTP/1.1 request parser
// (net/http/parser.cpp) and the server that uses it (net/http/server.cpp).
//
// The input is one byte that chooses how the rest is split, then the bytes
// a client sends on one connection:
//
//   byte 0   0: in one piece; 1..127: pieces of that many bytes;
//            128..255: pieces of 1..(byte - 127) bytes, pseudo-random;
//            at most 48 pieces (the last one takes the rest)
//   rest     the bytes, sent in those pieces, then the client half-closes
//
// Checked for every input:
//   1. The parser alone: feeding the bytes in those pieces, and one byte at
//      a time, gives the same requests (method, target, path, query,
//      version, headers, body) and the same final error (status and
//      reason) as parsing them in one piece. That one-piece parse is the
//      model for the rest.
//   2. The server (in-process, a few routes, small limits), over a real
//      loopback connection: the bytes it sends back parse strictly as
//      HTTP/1.1 responses with vow's response parser, one per request of
//      the model, in order (HEAD responses without a body, a "100 Continue"
//      only where the request asked for it); POST /echo echoes the body
//      exactly; a request the model rejects gets that 4xx/5xx with
//      "Connection: close" and nothing after it; after "Connection: close"
//      nothing more is answered; the server closes the connection once the
//      client has half-closed, and has no connection left afterwards (the
//      next input uses the same server, so it stays usable).
//
// Run: scripts/fuzz (see docs/fuzzing.md).
#include <net/http/parser.hpp>

#include "fuzz_support.hpp"

#include <vow/net/http/message.hpp>
#include <vow/net/http/server.hpp>
#include <vow/promise/promise.hpp>
#include <vow/reactor/reactor.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace net = vow::net;
namespace detail = vow::net::detail;

// Small limits, so that inputs of a few KiB reach every 413 and 431.
constexpr detail::http_limits limits{/*max_header_bytes*/ 1024, /*max_headers*/ 16, /*max_body_bytes*/ 2048};

std::string show(std::string_view s) { return vow::fuzz::show(s, 600); }

std::string_view g_input;   // for failure reports

[[noreturn]] void die(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "fuzz_http_request: %s\n  input: '%s'\n  %s\n", what, show(g_input).c_str(),
                 detail.c_str());
    std::abort();
}

// ------------------------------------------------------------ the parser

// What parsing a byte stream as the server does yields: complete requests,
// then possibly an error (which ends the stream) or an incomplete request.
struct outcome {
    std::vector<net::http_request> requests;
    bool error = false;
    int error_status = 0;
    std::string error_reason;
    // Whether a "100 Continue" may be sent for the request after the last
    // complete one (the erroneous or incomplete one): its head was parsed
    // and it asks for one.
    bool tail_may_continue = false;
    bool tail_started = false;   // some bytes of a next message are buffered
};

bool asks_continue(const net::http_request& head) {
    return head.version_minor >= 1 && head.headers.has_token("Expect", "100-continue");
}

outcome parse_stream(std::string_view data, const std::vector<std::size_t>& pieces) {
    outcome out;
    detail::request_parser p(limits);
    std::string buf;
    std::size_t at = 0;
    bool stop = false;
    for (std::size_t k = 0; k < pieces.size() && !stop; ++k) {
        buf.append(data.substr(at, pieces[k]));
        at += pieces[k];
        for (;;) {
            if (buf.empty())
                break;
            net::http_request req;
            auto r = p.parse(buf, req);
            if (r.status == detail::parse_status::need_more)
                break;
            if (r.status == detail::parse_status::error) {
                out.error = true;
                out.error_status = r.error_status;
                out.error_reason = r.error_reason;
                if (const auto* head = p.head())
                    out.tail_may_continue = asks_continue(*head);
                stop = true;
                break;
            }
            if (r.consumed == 0 || r.consumed > buf.size())
                die("parse() completed with an impossible consumed count", std::to_string(r.consumed));
            buf.erase(0, r.consumed);
            p.reset();
            const bool keep = req.keep_alive();
            out.requests.push_back(std::move(req));
            if (!keep) {   // the server answers this one and closes
                stop = true;
                buf.clear();
                break;
            }
        }
    }
    if (!stop && !buf.empty()) {
        out.tail_started = true;
        if (const auto* head = p.head())
            out.tail_may_continue = asks_continue(*head);
    }
    return out;
}

std::string describe(const net::http_request& r) {
    std::string s = r.method + " '" + show(r.target) + "' path='" + show(r.path) + "' query='" + show(r.query) +
                    "' 1." + std::to_string(r.version_minor);
    for (const auto& [n, v] : r.headers)
        s += " [" + show(n) + ": " + show(v) + "]";
    s += " body='" + show(r.body) + "'";
    return s;
}

void compare(const outcome& want, const outcome& got, const char* how) {
    if (want.requests.size() != got.requests.size())
        die("fed in pieces, the parser finds another number of requests",
            std::string(how) + ": " + std::to_string(got.requests.size()) + " instead of " +
                std::to_string(want.requests.size()));
    for (std::size_t i = 0; i < want.requests.size(); ++i) {
        const auto& a = want.requests[i];
        const auto& b = got.requests[i];
        if (a.method != b.method || a.target != b.target || a.path != b.path || a.query != b.query ||
            a.version_minor != b.version_minor || !(a.headers == b.headers) || a.body != b.body)
            die("fed in pieces, the parser gives another request",
                std::string(how) + ":\n  whole:  " + describe(a) + "\n  pieces: " + describe(b));
    }
    if (want.error != got.error || want.error_status != got.error_status || want.error_reason != got.error_reason)
        die("fed in pieces, the parser ends with another error",
            std::string(how) + ": whole " + std::to_string(want.error_status) + " '" + want.error_reason +
                "', pieces " + std::to_string(got.error_status) + " '" + got.error_reason + "'");
}

// ------------------------------------------------------------ the server

struct world {
    vow::reactor r;
    net::http_server server;

    static net::http_server_options options() {
        net::http_server_options o;
        o.max_header_bytes = limits.max_header_bytes;
        o.max_headers = limits.max_headers;
        o.max_body_bytes = limits.max_body_bytes;
        return o;
    }

    world() : server(r, "127.0.0.1", 0, options()) {
        server.get("/", [](const net::http_request&) { return net::http_response::text("hello\n"); });
        server.get("/users/{id}", [](const net::http_request& req) {
            return net::http_response::text(std::string(req.param("id")));
        });
        server.post("/echo", [](const net::http_request& req) { return net::http_response::text(req.body); });
        server.route("PUT", "/echo", [](const net::http_request& req) {
            return net::http_response::text(req.body);
        });
        // Answered later: the connection waits in the handling state while
        // pipelined requests pile up behind it.
        server.get("/async", [this](const net::http_request&) {
            vow::promise<net::http_response> p(r);
            auto f = p.get_future();
            r.call_soon([p = std::move(p)]() mutable { p.resolve(net::http_response::text("later\n")); });
            return f;
        });
        server.get("/throw", [](const net::http_request&) -> net::http_response {
            throw std::runtime_error("a handler that throws");
        });
        server.get("/bad-header", [](const net::http_request&) {
            auto resp = net::http_response::text("split\n");
            resp.headers.add("X-Split", "a\r\nInjected: yes");   // cannot be written: 500
            return resp;
        });
        server.get("/close", [](const net::http_request&) {
            auto resp = net::http_response::text("bye\n");
            resp.headers.set("Connection", "close");
            return resp;
        });
        server.on_error([](std::exception_ptr, const net::http_request&) {});
    }
};

int connect_to(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Loopback connects complete in the kernel; the server accepts later.
    while (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        if (errno != EINTR)
            die("connect to the server failed", std::to_string(errno));
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// Reads what the server sent so far; returns false at its end of stream.
bool drain(int fd, std::string& into) {
    char buf[16384];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            into.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0)
            return false;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return true;
        die("the server reset the connection", std::to_string(errno));
    }
}

std::string show_response(const net::http_response& r) {
    std::string s = std::to_string(r.status) + " '" + r.reason + "'";
    for (const auto& [n, v] : r.headers)
        s += " [" + n + ": " + v + "]";
    return s + " body='" + show(r.body) + "'";
}

// Checks the server's bytes against the model.
void check_responses(const outcome& model, std::string_view bytes) {
    const detail::http_limits generous{64 * 1024, 1000, 64 * 1024};
    detail::response_parser p(generous);
    std::size_t at = 0;
    auto next = [&](bool head, const char* what) {
        p.reset();
        p.expect_no_body(head);
        net::http_response resp;
        auto r = p.parse(bytes.substr(at), resp);
        if (r.status != detail::parse_status::complete)
            die("the server's bytes are not a complete HTTP/1.1 response",
                std::string(what) + ": " + (r.status == detail::parse_status::error ? r.error_reason : "incomplete") +
                    "\n  bytes: '" + show(bytes.substr(at)) + "'");
        at += r.consumed;
        if (resp.version_minor != 1)
            die("a response that is not HTTP/1.1", show_response(resp));
        if (resp.status != 100) {
            if (!resp.headers.contains("Date"))
                die("a response without Date", show_response(resp));
            if (!resp.headers.contains("Content-Length"))
                die("a response without Content-Length", show_response(resp));
        }
        return resp;
    };
    // Skips at most one "100 Continue" where one may come.
    auto final_response = [&](bool head, bool may_continue, const char* what) {
        auto resp = next(head, what);
        if (resp.status == 100) {
            if (!may_continue)
                die("100 Continue for a request that did not ask for it", what);
            resp = next(head, what);
        }
        if (resp.status < 200 || resp.status > 599)
            die("a final response with a status outside 200..599", show_response(resp));
        return resp;
    };

    bool closed = false;
    for (const auto& req : model.requests) {
        const bool head = req.method == "HEAD";
        auto resp = final_response(head, asks_continue(req), "the response to a request");
        switch (resp.status) {
        case 200:
        case 404:
        case 405:
        case 500:
            break;
        default:
            die("a valid request got a status no route gives", describe(req) + "\n  " + show_response(resp));
        }
        if ((req.method == "GET" || head) && req.path == "/" && (resp.status != 200 || resp.body != (head ? "" : "hello\n")))
            die("GET / was not answered by its route", describe(req) + "\n  " + show_response(resp));
        if ((req.method == "POST" || req.method == "PUT") && req.path == "/echo" &&
            (resp.status != 200 || resp.body != req.body))
            die("/echo did not echo the body", describe(req) + "\n  " + show_response(resp));
        if (resp.status == 405 && !resp.headers.contains("Allow"))
            die("405 without Allow", show_response(resp));
        const bool says_close = resp.headers.has_token("Connection", "close");
        if (!req.keep_alive() && !says_close)
            die("a request that closes got a response that does not say so", show_response(resp));
        if (says_close) {
            closed = true;
            break;
        }
    }
    if (!closed && model.error) {
        auto resp = final_response(false, model.tail_may_continue, "the error response");
        if (resp.status != model.error_status)
            die("a malformed request got another status than the parser's",
                std::to_string(model.error_status) + " '" + model.error_reason + "' vs " + show_response(resp));
        if (resp.status < 400)
            die("a malformed request got a status below 400", show_response(resp));
        if (!resp.headers.has_token("Connection", "close"))
            die("an error response without Connection: close", show_response(resp));
        closed = true;
    }
    if (!closed && model.tail_started && at < bytes.size()) {
        auto resp = next(false, "after the last request");
        if (resp.status != 100 || !model.tail_may_continue)
            die("a response for an incomplete request", show_response(resp));
    }
    if (at != bytes.size())
        die("the server sent more than one response per request", "left over: '" + show(bytes.substr(at)) + "'");
}

// At most this many pieces go to the server separately (the rest is the
// last piece), so that every input costs a few milliseconds at most; the
// parser alone is also fed one byte at a time.
constexpr std::size_t max_pieces = 48;

std::vector<std::size_t> make_pieces(std::uint8_t how, std::size_t size) {
    std::vector<std::size_t> pieces;
    if (how == 0 || size == 0) {
        pieces.push_back(size);
        return pieces;
    }
    std::uint32_t x = 0x9e3779b9u ^ how;
    for (std::size_t left = size; left > 0;) {
        if (pieces.size() + 1 == max_pieces) {
            pieces.push_back(left);
            break;
        }
        std::size_t n = how;
        if (how >= 128) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            n = 1 + x % (how - 127u);
        }
        n = std::min(n, left);
        pieces.push_back(n);
        left -= n;
    }
    return pieces;
}

void run_server(world& w, std::string_view data, const std::vector<std::size_t>& pieces, const outcome& model) {
    int fd = connect_to(w.server.port());
    std::string got;
    bool open = true;
    std::size_t at = 0;
    for (std::size_t piece : pieces) {
        std::string_view chunk = data.substr(at, piece);
        at += piece;
        while (!chunk.empty()) {
            ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    w.r.run_once(false);
                    open = drain(fd, got) && open;
                    continue;
                }
                // The server closed after an error: the rest is not sent.
                chunk = {};
                break;
            }
            chunk.remove_prefix(static_cast<std::size_t>(n));
        }
        for (int i = 0; i < 2; ++i)
            w.r.run_once(false);
        open = drain(fd, got) && open;
    }
    ::shutdown(fd, SHUT_WR);
    // The server must close once it has seen the end of stream.
    for (int i = 0; open || w.server.connections() != 0; ++i) {
        if (i > 200000)
            die("the server did not close the connection after the client's end of stream",
                "received so far: '" + show(got) + "'");
        w.r.run_once(false);
        if (open)
            open = drain(fd, got);
    }
    ::close(fd);
    check_responses(model, got);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size == 0)
        return 0;
    static world* w = new world;   // one server for the whole run; never torn down
    g_input = std::string_view(reinterpret_cast<const char*>(bytes), size);
    const std::string_view data = g_input.substr(1);
    const auto pieces = make_pieces(bytes[0], data.size());

    const outcome model = parse_stream(data, {data.size()});
    if (pieces.size() > 1)
        compare(model, parse_stream(data, pieces), "in the input's pieces");
    if (data.size() > 1 && data.size() <= 2048)
        compare(model, parse_stream(data, std::vector<std::size_t>(data.size(), 1)), "one byte at a time");

    run_server(*w, data, pieces, model);
    return 0;
}
