// vow::net::http_server: connections on tcp_stream, requests parsed by
// net/http/parser (strict HTTP/1.1), one sweep timer for every timeout.
//
// A connection is a small state machine driven by its own continuations:
//   idle -(first byte)-> head/body -(complete)-> handling -(response)->
//   writing -> idle (keep-alive) | lingering close.
// The client's end of stream (a half-close) ends it from idle or head/body;
// no way of ending a connection drops what is still queued for the client
// (see close_when_sent).
// Each complete request in the buffer is answered in order; the responses
// of consecutive synchronous handlers (pipelining) go out in one write.
#include "parser.hpp"
#include "../net_internal.hpp"

#include <vow/net/http/server.hpp>
#include <vow/promise/loop.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <vector>

#include <sys/ioctl.h>

namespace vow::net {

namespace {

// Graceful shutdown: how long the listener stays open, refusing new
// handshakes, for those under way to complete and be taken on; and how long
// a connection that has sent nothing yet may take to send its first
// request (it was accepted just before or during shutdown()).
constexpr reactor::duration settle_period = std::chrono::milliseconds(20);
constexpr reactor::duration first_request_window = std::chrono::seconds(1);

// Buffers kept for reuse: a connection's input buffer, and the server's
// response buffer, up to these capacities (larger ones are let go, so one
// big request or response does not pin its memory).
constexpr std::size_t recycled_read_max = 4096;
constexpr std::size_t recycled_out_max = std::size_t{16} * 1024;

// The server's response buffer, borrowed (empty) for one pass of answering
// and given back when the pass ends, unless a nested pass gave back a
// larger one meanwhile or it grew too big to keep.
struct borrowed_buffer {
    explicit borrowed_buffer(std::string& h) : home(h), s(std::move(h)) { s.clear(); }
    ~borrowed_buffer() {
        if (s.capacity() > home.capacity() && s.capacity() <= recycled_out_max)
            home = std::move(s);
    }
    borrowed_buffer(const borrowed_buffer&) = delete;
    borrowed_buffer& operator=(const borrowed_buffer&) = delete;

    std::string& home;
    std::string s;
};

struct route_entry {
    std::string method;
    std::vector<std::string> segments;   // "{name}" marks a parameter, "{name...}" (last) the rest
    http_handler fn;
    http_route_options opts;
};

bool is_param(std::string_view seg) { return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}'; }
bool is_rest_param(std::string_view seg) { return is_param(seg) && seg.size() > 5 && seg.ends_with("...}"); }
// The name inside "{name}" or "{name...}".
std::string_view param_name(std::string_view seg) {
    seg = seg.substr(1, seg.size() - 2);
    if (seg.ends_with("..."))
        seg.remove_suffix(3);
    return seg;
}

// Splits "/a/b/c" into "a","b","c" ("/" gives no segment).
template <class Fn>
void for_each_segment(std::string_view path, Fn&& fn) {
    std::size_t i = 1;
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos)
            j = path.size();
        if (!fn(path.substr(i, j - i)))
            return;
        i = j + 1;
    }
}

// Percent-decodes a path segment; a malformed escape is kept as it is.
std::string decode_segment(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int hi = detail::hex_value(s[i + 1]), lo = detail::hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

// Matches `path` against a route's segments, filling `params` on success.
bool match(const route_entry& r, std::string_view path,
           std::vector<std::pair<std::string, std::string>>& params) {
    params.clear();
    std::size_t k = 0;
    bool ok = true;
    if (path.empty() || path == "/") {
        if (r.segments.size() == 1 && is_rest_param(r.segments[0])) {
            params.emplace_back(param_name(r.segments[0]), std::string());
            return true;
        }
        return r.segments.empty();
    }
    bool rest = false;
    for_each_segment(path, [&](std::string_view seg) {
        if (k >= r.segments.size()) {
            ok = false;
            return false;
        }
        const std::string& want = r.segments[k++];
        if (is_rest_param(want)) {
            // Everything from this segment on, slashes included.
            auto from = static_cast<std::size_t>(seg.data() - path.data());
            params.emplace_back(param_name(want), decode_segment(path.substr(from)));
            rest = true;
            return false;
        }
        if (is_param(want)) {
            if (seg.empty()) {
                ok = false;
                return false;
            }
            params.emplace_back(param_name(want), decode_segment(seg));
        } else if (seg != want) {
            ok = false;
            return false;
        }
        return true;
    });
    if (rest)
        return true;
    // "/files" matches "/files/{path...}" with an empty rest.
    if (ok && k + 1 == r.segments.size() && is_rest_param(r.segments.back())) {
        params.emplace_back(param_name(r.segments.back()), std::string());
        return true;
    }
    return ok && k == r.segments.size();
}

}  // namespace

class http_server::impl : public std::enable_shared_from_this<http_server::impl> {
public:
    struct conn;
    using conn_ptr = std::shared_ptr<conn>;

    // handshake: a TLS server's connection until its handshake is done
    // (within header_timeout; it counts against max_connections).
    enum class phase : unsigned char { handshake, idle, reading, handling, writing, lingering, closed };

    struct conn : std::enable_shared_from_this<conn> {
        conn(impl* s, const tcp_stream& st, const detail::http_limits& limits, bool plain)
            : srv(s),
              fd(st.native_handle()),
              tcp(plain ? st : tcp_stream()),
              stream(st),
              parser(limits) {}
        impl* srv;
        int fd;          // the TCP socket under `stream` (for FIONREAD)
        tcp_stream tcp;  // the same connection when it is plain TCP (send_file); closed with TLS
        vow::net::stream stream;   // the tcp_stream, or the TLS stream over it
        std::string buf;
        detail::request_parser parser;
        http_request req;
        phase ph = phase::idle;
        bool fresh = true;   // no request begun on it yet
        bool close_after = false;
        bool sent_continue = false;
        // Set by an upgrade (http_response::upgrade): once the 101 is
        // written, the connection goes to `fn` with its request. On the heap:
        // only upgrading connections pay for it.
        struct upgrade_state {
            std::function<void(vow::net::stream, http_request)> fn;
            http_request req;
        };
        std::unique_ptr<upgrade_state> upgrade;
        // A streamed body (http_response::body_source) being sent after its
        // head, with the request it answers (kept alive until the end).
        struct body_state {
            http_body_source src;
            http_request req;
            bool chunked = false;
            bool source_failed = false;   // the producer (or the file) failed, not the client
            std::uint64_t sent = 0;
        };
        std::unique_ptr<body_state> body;
        // A request body streamed to its handler (a stream_body route):
        // shared with req.body_source.next, which holds it weakly, so that
        // a reader kept past the response finds it gone.
        struct body_reader {
            std::weak_ptr<conn> owner;
            std::optional<std::uint64_t> limit;   // the route's max_body_bytes
            std::uint64_t received = 0;           // decoded bytes so far
            bool complete = false;                // the parser reached the body's end
            bool continue_due = false;            // Expect: 100-continue, not answered yet
            std::optional<promise<std::optional<std::string>>> waiter;   // the pending next()
            std::exception_ptr error;             // every next() rejects with it once set
            int error_status = 0;                 // the request's fault (400, 413): answered so
            std::string error_reason;
        };
        std::shared_ptr<body_reader> body_in;
        bool reading_body = false;   // a read for body_in is in flight
        reactor::time_point write_deadline{};  // for the latest write
        reactor::time_point started{};
        reactor::time_point deadline{};
        std::list<conn_ptr>::iterator pos;
    };

    impl(reactor& r, std::string_view host, std::uint16_t port, http_server_options o)
        : r_(r), opts_(std::move(o)), listener_(r, host, port, opts_.tcp) {
        if (opts_.max_header_bytes == 0 || opts_.max_headers == 0 || opts_.max_connections == 0)
            throw invalid_argument("vow::net::http_server: max_header_bytes, max_headers and max_connections "
                                   "must be positive");
        for (auto t :
             {opts_.header_timeout, opts_.body_timeout, opts_.idle_timeout, opts_.write_timeout})
            if (t <= reactor::duration::zero())
                throw invalid_argument("vow::net::http_server: timeouts must be positive");
        limits_.max_header_bytes = opts_.max_header_bytes;
        limits_.max_headers = opts_.max_headers;
        limits_.max_body_bytes = opts_.max_body_bytes;
        auto shortest = std::min(
            {opts_.header_timeout, opts_.body_timeout, opts_.idle_timeout, opts_.write_timeout});
        sweep_period_ = std::min<reactor::duration>(std::chrono::milliseconds(250), shortest / 4);
        if (sweep_period_ < std::chrono::milliseconds(1))
            sweep_period_ = std::chrono::milliseconds(1);
    }

    void start() {
        listener_.on_connection([w = weak_from_this()](tcp_stream s) {
            if (auto self = w.lock())
                self->accept(std::move(s));
        });
    }

    ~impl() { close_all(); }

    void add_route(std::string_view method, std::string_view pattern, const http_route_options& opts,
                   http_handler fn) {
        if (method.empty())
            throw invalid_argument("vow::net::http_server::route: the method is empty");
        if (pattern.empty() || pattern.front() != '/')
            throw invalid_argument(
                fmt::format("vow::net::http_server::route: pattern '{}' does not start with '/'", pattern));
        route_entry e;
        e.method.assign(method);
        std::vector<std::string> names;
        std::string error;
        if (pattern != "/")
            for_each_segment(pattern, [&](std::string_view seg) {
                if (!e.segments.empty() && is_rest_param(e.segments.back())) {
                    error = "a {name...} parameter must be the last segment";
                    return false;
                }
                if (seg.find('{') != std::string_view::npos || seg.find('}') != std::string_view::npos) {
                    if (!is_param(seg) || param_name(seg).empty() ||
                        param_name(seg).find_first_of("{}") != std::string_view::npos) {
                        error = fmt::format("segment '{}' is not a literal, a {{name}} or a {{name...}}", seg);
                        return false;
                    }
                    std::string name(param_name(seg));
                    if (std::find(names.begin(), names.end(), name) != names.end()) {
                        error = fmt::format("parameter {{{}}} appears twice", name);
                        return false;
                    }
                    names.push_back(name);
                }
                e.segments.emplace_back(seg);
                return true;
            });
        if (!error.empty())
            throw invalid_argument(fmt::format("vow::net::http_server::route: pattern '{}': {}", pattern, error));
        e.fn = std::move(fn);
        e.opts = opts;
        if (opts.stream_body)
            ++streaming_routes_;
        routes_.push_back(std::move(e));
    }

    void on_response(access_log fn) { log_ = std::move(fn); }
    void on_error(std::function<void(std::exception_ptr, const http_request&)> fn) { on_error_ = std::move(fn); }

    future<void> shutdown(reactor::duration grace) {
        promise<void> p(r_);
        auto f = p.get_future();
        drained_.push_back(std::move(p));
        if (!draining_) {
            draining_ = true;
            // Closing the listener resets the connections still in its
            // backlog, requests and all, and those whose handshake is still
            // completing. So: no new handshakes from now on, take on the
            // backlog, and close only after a moment (settle_period) in
            // which the handshakes under way complete and are taken on too.
            listener_.refuse_new_connections();
            listener_.accept_backlog();
            settle_timer_ = r_.call_later(settle_period, [this] {
                listener_.accept_backlog();
                listener_.close();
                check_drained();
            });
            // Connections that received nothing go now, except those that
            // never sent a byte (just accepted: their first request is
            // probably on its way), which get first_request_window for it;
            // the others answer what they received (with Connection:
            // close), then go.
            for (auto it = conns_.begin(); it != conns_.end();) {
                auto c = *it++;
                if (c->ph == phase::handshake)
                    close_conn(*c);   // no request can have come yet
                else if (c->ph == phase::idle && c->stream.read_pending() && !input_waiting(*c))
                    close_idle_for_shutdown(c);
            }
            grace_timer_ = r_.call_later(grace, [this] { close_all(); });
            // What took connections over (a ws_endpoint) shuts them down too.
            for (auto& hook : shutdown_hooks_) {
                ++hooks_pending_;
                auto done = [w = weak_from_this()] {
                    if (auto self = w.lock()) {
                        --self->hooks_pending_;
                        self->check_drained();
                    }
                };
                (void)hook(grace).then(done).catch_([done](const std::exception_ptr&) { done(); });
            }
        }
        check_drained();
        return f;
    }

    // An idle connection at shutdown: a kept-alive one ends now; one that
    // never sent a byte waits a little for its first request.
    void close_idle_for_shutdown(const conn_ptr& c) {
        if (!c->fresh) {
            close_when_sent(c, true);
            return;
        }
        c->deadline = std::min(c->deadline, first_deadline());
    }

    void on_shutdown(std::function<future<void>(reactor::duration)> fn) { shutdown_hooks_.push_back(std::move(fn)); }

    void close_all() noexcept {
        settle_timer_.cancel();
        listener_.close();
        while (!conns_.empty())
            close_conn(*conns_.front());
        sweep_.cancel();
        grace_timer_.cancel();
        check_drained();
    }

    address local() const { return listener_.local_address(); }
    std::size_t connections() const noexcept { return conns_.size(); }
    std::uint64_t requests() const noexcept { return requests_; }
    reactor& get_reactor() const noexcept { return r_; }
    // Listening, or a connection open: closing would touch the reactor.
    // Otherwise the server may outlive its reactor, and closing is left
    // unchecked.
    bool holds_reactor() const noexcept {
        if (listener_.is_open())
            return true;
        for (auto& c : conns_)
            if (c->stream.is_open())
                return true;
        return false;
    }

private:
    void accept(tcp_stream s) {
        // While draining, the listener is open only for settle_period, and
        // what it accepts then was on its way before shutdown(): taken on.
        if (conns_.size() >= opts_.max_connections) {
            s.close();
            return;
        }
        auto c = std::make_shared<conn>(this, s, limits_, !opts_.tls);
        conns_.push_front(c);
        c->pos = conns_.begin();
        if (!sweep_)
            sweep_ = r_.call_every(sweep_period_, [this] { sweep(); });
        if (opts_.tls) {
            // Plaintext, garbage or a stalled ClientHello end here, within
            // header_timeout (the sweep), touching no other connection.
            c->ph = phase::handshake;
            c->deadline = r_.now() + opts_.header_timeout;
            future<stream> hs = [&] {
                try {
                    return opts_.tls->accept(c->stream, {});
                } catch (...) {
                    return make_exception_future<stream>(r_, std::current_exception());
                }
            }();
            (void)std::move(hs)
                .then([c](stream secure) {
                    if (!c->srv || c->ph != phase::handshake) {
                        secure.close();
                        return;
                    }
                    c->stream = std::move(secure);
                    c->ph = phase::idle;
                    c->deadline = c->srv->first_deadline();
                    c->srv->read_more(c);
                })
                .catch_([c](const std::exception_ptr&) {
                    if (c->srv)
                        c->srv->close_conn(*c);
                });
            return;
        }
        c->deadline = first_deadline();
        read_more(c);
    }

    // A new connection's wait for its first request: idle_timeout, or
    // while draining, first_request_window (within header_timeout).
    reactor::time_point first_deadline() const {
        if (draining_)
            return r_.now() + std::min({opts_.idle_timeout, opts_.header_timeout, first_request_window});
        return r_.now() + opts_.idle_timeout;
    }

    void read_more(const conn_ptr& c) {
        // An empty buffer's storage (below 4 KiB: a larger one is let go)
        // is read into, and on_data takes it back: a connection's reads
        // cost no allocation once it has answered a request.
        std::string storage;
        if (c->buf.empty() && c->buf.capacity() < recycled_read_max)
            storage = std::move(c->buf);
        (void)c->stream.read_some_into(std::move(storage))
            .then([c](std::string chunk) {
                if (c->srv)
                    c->srv->on_data(c, std::move(chunk));
            })
            .catch_([c](const std::exception_ptr&) {
                if (c->srv)
                    c->srv->close_conn(*c);
            });
    }

    void on_data(const conn_ptr& c, std::string chunk) {
        if (c->ph == phase::lingering) {
            if (chunk.empty())
                close_conn(*c);
            else
                read_more(c);   // discard until the client's end of stream
            return;
        }
        if (chunk.empty()) {   // the client closed, or half-closed: no more requests
            close_when_sent(c, false);
            return;
        }
        if (c->buf.empty())
            c->buf = std::move(chunk);
        else
            c->buf.append(chunk);
        process(c);
    }

    // Answers every complete request in the buffer, in order.
    void process(const conn_ptr& c) {
        borrowed_buffer borrowed(spare_out_);
        std::string& out = borrowed.s;
        for (;;) {
            if (c->ph == phase::idle || c->ph == phase::writing) {
                if (c->buf.empty())
                    break;
                c->ph = phase::reading;
                c->fresh = false;
                c->started = r_.now();
                c->deadline = c->started + opts_.header_timeout;
                // Only a server with streaming routes routes a request
                // before its body is read.
                c->parser.stop_at_head(streaming_routes_ > 0);
            }
            auto res = c->parser.parse(c->buf, c->req);
            const route_entry* streams = nullptr;   // the streaming route the request goes to
            if (res.status == detail::parse_status::head) {
                if (const route_entry* rt = route_for(*c->parser.head()); rt && rt->opts.stream_body) {
                    streams = rt;
                    res.status = detail::parse_status::complete;
                } else if (res = c->parser.buffer_body(); res.status != detail::parse_status::error) {
                    continue;   // read whole, as without streaming routes
                }
            }
            if (res.status == detail::parse_status::need_more) {
                if (const http_request* head = c->parser.head()) {
                    // The head is in; the body is on its way (or waits for
                    // our 100 Continue, which curl asks for above 1 KiB).
                    c->deadline = c->started + opts_.header_timeout + opts_.body_timeout;
                    if (!c->sent_continue && head->version_minor >= 1 &&
                        head->headers.has_token("Expect", "100-continue")) {
                        c->sent_continue = true;
                        out += "HTTP/1.1 100 Continue\r\n\r\n";
                    }
                }
                break;
            }
            if (res.status == detail::parse_status::error) {
                http_response resp = http_response::text(res.error_reason + "\n", res.error_status);
                detail::serialize_response(out, resp, false, false);
                c->close_after = true;
                c->buf.clear();
                break;
            }
            c->buf.erase(0, res.consumed);
            std::optional<http_response> refused;
            if (streams)
                refused = begin_body(c, *streams);
            else
                c->parser.reset();
            c->sent_continue = false;
            http_handler_result result = refused ? http_handler_result(std::move(*refused)) : dispatch(*c);
            if (auto* resp = std::get_if<http_response>(&result)) {
                end_body(*c);
                finish_response(*c, *resp, out);
                detail::clear_request(c->req);
                c->ph = phase::writing;
                if (c->body) {
                    send_body(c, out);
                    return;
                }
                if (c->close_after || c->upgrade)
                    break;
                continue;
            }
            // A future: send what is ready, then wait for it.
            c->ph = phase::handling;
            if (!out.empty())
                (void)send(c, out).catch_([c](const std::exception_ptr&) {
                    if (c->srv)
                        c->srv->close_conn(*c);
                });
            auto& fut = std::get<future<http_response>>(result);
            (void)std::move(fut)
                .then([c](http_response resp) {
                    if (c->srv)
                        c->srv->async_done(c, std::move(resp), nullptr);
                })
                .catch_([c](const std::exception_ptr& e) {
                    if (c->srv)
                        c->srv->async_done(c, http_response{}, e);
                });
            return;
        }
        flush(c, out);
    }

    void async_done(const conn_ptr& c, http_response resp, const std::exception_ptr& error) {
        if (c->ph != phase::handling)
            return;
        borrowed_buffer borrowed(spare_out_);
        std::string& out = borrowed.s;
        if (error && c->body_in && c->body_in->error_status != 0) {
            // The handler gave up on a body the client got wrong (over the
            // route's limit, bad framing): the client's fault, answered as
            // such and not reported.
            resp = http_response::text(c->body_in->error_reason + "\n", c->body_in->error_status);
        } else if (error) {
            report(error, c->req);
            resp = internal_error();
        }
        end_body(*c);
        finish_response(*c, resp, out);
        detail::clear_request(c->req);
        c->ph = phase::writing;
        if (c->body) {
            send_body(c, out);
            return;
        }
        if (c->close_after || c->upgrade) {
            flush(c, out);
            return;
        }
        // Requests that arrived meanwhile are answered in the same write.
        if (!c->buf.empty()) {
            // Put the ready response first, then process the rest.
            auto first = std::move(out);
            (void)send(c, first).catch_([c](const std::exception_ptr&) {
                if (c->srv)
                    c->srv->close_conn(*c);
            });
            process(c);
            return;
        }
        flush(c, out);
    }

    // Sends `out` (which ends with the head of a response whose body is
    // streamed), then the body from c->body, one chunk at a time: the next
    // is asked for once the client took the last (the write's future), so
    // a slow client slows the producer. Then the connection goes on as after
    // any response: requests that came meanwhile are answered. A producer
    // that fails, or gives more or fewer bytes than its length, cuts the
    // connection (its framing cannot be finished) and is reported; a
    // client that goes away just closes it.
    void send_body(const conn_ptr& c, const std::string& out) {
        (void)send(c, out)
            .then(
                [c] { return repeat(c->stream.get_reactor(), [c] { return send_next_chunk(c); }); })
            .then([c] {
                if (!c->srv)
                    return;
                c->body.reset();
                if (!c->close_after && !c->buf.empty())
                    c->srv->process(c);
                else
                    c->srv->after_write(c);
            })
            .catch_([c](const std::exception_ptr& e) {
                auto body = std::move(c->body);
                if (!c->srv)
                    return;
                if (body && body->source_failed)
                    c->srv->report(e, body->req);
                c->srv->close_conn(*c);
            });
    }

    static constexpr std::size_t file_chunk = std::size_t{64} * 1024;

    // One step of send_body's loop: the next chunk from the producer or the
    // file, written with its framing; the end: the last chunk, checked.
    static future<stop_iteration> send_next_chunk(const conn_ptr& c) {
        if (!c->srv || !c->body)
            throw io_error(std::make_error_code(std::errc::operation_canceled), "http_server: connection closed");
        auto& b = *c->body;
        auto failed = [c](std::exception_ptr e) -> std::optional<std::string> {
            if (c->body)
                c->body->source_failed = true;
            std::rethrow_exception(std::move(e));
        };
        // A file always has a length (the response's serialization checks).
        if (b.src.file && b.src.length && c->tcp.is_open())
            return send_file_piece(c, *b.src.length);
        auto chunk = detail::next_body_chunk(c->stream.get_reactor(), b.src, b.sent, file_chunk);
        return std::move(chunk).catch_(failed).then([c](std::optional<std::string> data) -> future<stop_iteration> {
            if (!c->srv || !c->body)
                throw io_error(std::make_error_code(std::errc::operation_canceled), "http_server: connection closed");
            auto& b = *c->body;
            if (!data) {
                if (b.src.length && b.sent != *b.src.length) {
                    b.source_failed = true;
                    throw http_error(fmt::format("vow::net::http_server: the body_source for {} {} ended after {} "
                                                 "of its {} bytes",
                                                 b.req.method, b.req.path, b.sent, *b.src.length));
                }
                if (!b.chunked)
                    return make_ready_future(c->stream.get_reactor(), stop_iteration::yes);
                return c->srv->send(c, detail::last_chunk).then([] { return stop_iteration::yes; });
            }
            if (data->empty())
                return make_ready_future(c->stream.get_reactor(), stop_iteration::no);
            if (b.src.length && data->size() > *b.src.length - b.sent) {
                b.source_failed = true;
                throw http_error(fmt::format("vow::net::http_server: the body_source for {} {} gave more than its "
                                             "{} bytes",
                                             b.req.method, b.req.path, *b.src.length));
            }
            b.sent += data->size();
            if (b.chunked) {
                std::string framed;
                framed.reserve(data->size() + 16);
                detail::append_chunk(framed, *data);
                return c->srv->send(c, framed).then([] { return stop_iteration::no; });
            }
            return c->srv->send(c, *data).then([] { return stop_iteration::no; });
        });
    }

    // A file body on plain TCP: sendfile(2), a piece at a time, each within
    // write_timeout (the client must take it, like any response's bytes).
    static constexpr std::uint64_t sendfile_piece = std::uint64_t{4} * 1024 * 1024;
    static future<stop_iteration> send_file_piece(const conn_ptr& c, std::uint64_t length) {
        auto& b = *c->body;
        auto left = length - b.sent;
        if (left == 0)
            return make_ready_future(c->stream.get_reactor(), stop_iteration::yes);
        auto n = std::min(left, sendfile_piece);
        future<std::uint64_t> sent = [&] {
            try {
                return c->tcp.send_file(*b.src.file, b.src.offset + b.sent, n,
                                        {.timeout = c->srv->opts_.write_timeout});
            } catch (...) {
                return make_exception_future<std::uint64_t>(c->stream.get_reactor(), std::current_exception());
            }
        }();
        return std::move(sent)
            .catch_([c](std::exception_ptr e) -> std::uint64_t {
                // The file lacks the region (it shrank): the source's fault,
                // not the client's.
                try {
                    std::rethrow_exception(std::move(e));
                } catch (const io_error& err) {
                    if (err.code() == std::errc::no_message_available && c->body)
                        c->body->source_failed = true;
                    throw;
                } catch (const usage_error&) {
                    if (c->body)
                        c->body->source_failed = true;
                    throw;
                }
            })
            .then([c](std::uint64_t n) {
                if (c->body)
                    c->body->sent += n;
                return stop_iteration::no;
            });
    }

    // A streamed request body (a stream_body route). The head's bytes are
    // dropped; the parser decodes the body as next() asks for it. Returns
    // the answer that refuses the request instead of calling the handler
    // (413: a Content-Length over the route's limit), or nullopt.
    std::optional<http_response> begin_body(const conn_ptr& c, const route_entry& rt) {
        c->parser.stream_body(c->req);
        auto b = std::make_shared<conn::body_reader>();
        b->owner = c;
        const auto limit = rt.opts.max_body_bytes;
        b->limit = limit;
        b->continue_due = c->req.version_minor >= 1 && c->req.headers.has_token("Expect", "100-continue");
        std::optional<std::uint64_t> length;
        if (auto cl = c->req.headers.get("Content-Length"); cl && !c->req.headers.contains("Transfer-Encoding")) {
            std::uint64_t n = 0;
            if (detail::parse_decimal(detail::trim_ows(*cl), n))   // checked by the parser
                length = n;
        }
        if (length && limit && *length > *limit) {
            c->close_after = true;
            return http_response::text(
                fmt::format("Content-Length {} exceeds the {}-byte body limit\n", *length, *limit),
                413);
        }
        // No body at all (no Content-Length, or 0): complete at once.
        std::string none;
        if (c->parser.body_some({}, none).status == detail::parse_status::complete) {
            b->complete = true;
            c->parser.reset();
        }
        c->req.body_source.length = length;
        c->req.body_source.next = [w = std::weak_ptr<conn::body_reader>(b), &r = r_] { return body_next(w, r); };
        c->body_in = std::move(b);
        return std::nullopt;
    }

    // req.body_source.next() of a streamed request.
    static future<std::optional<std::string>> body_next(const std::weak_ptr<conn::body_reader>& w, reactor& r) {
        using chunk = std::optional<std::string>;
        auto b = w.lock();
        auto c = b ? b->owner.lock() : nullptr;
        if (!b || !c)
            return make_exception_future<chunk>(
                r, usage_error("vow::net::http_server: body_source.next() after the response was sent (read a "
                               "streamed request body before answering)"));
        if (b->error)
            return make_exception_future<chunk>(r, b->error);
        if (b->complete)
            return make_ready_future(r, chunk());
        if (b->waiter)
            return make_exception_future<chunk>(
                r, usage_error("vow::net::http_server: body_source.next() called again before the last call's "
                               "chunk arrived"));
        if (!c->srv)   // closed: close_conn set b->error, so this is only a safeguard
            return make_exception_future<chunk>(r, io_error(std::make_error_code(std::errc::operation_canceled),
                                                            "vow::net::http_server: the connection is closed"));
        auto f = b->waiter.emplace(r).get_future();
        if (b->continue_due) {
            b->continue_due = false;
            (void)c->srv->send(c, "HTTP/1.1 100 Continue\r\n\r\n")
                .catch_([c](const std::exception_ptr&) {
                    if (c->srv)
                        c->srv->close_conn(*c);
                });
        }
        c->srv->pump_body(c);
        return f;
    }

    // Gives the waiting next() what the buffer holds of the body; reads
    // from the client only if it holds none (backpressure).
    void pump_body(const conn_ptr& c) {
        auto& b = *c->body_in;
        std::string data;
        auto res = c->parser.body_some(c->buf, data);
        c->buf.erase(0, res.consumed);
        if (res.status == detail::parse_status::error) {
            fail_body(*c,
                      std::make_exception_ptr(http_error(fmt::format(
                          "vow::net::http_server: {} {}: bad request body: {}", c->req.method, c->req.path,
                          res.error_reason))),
                      res.error_status, res.error_reason);
            return;
        }
        b.received += data.size();
        if (b.limit && b.received > *b.limit) {
            auto why = fmt::format("body larger than the route's {}-byte limit", *b.limit);
            fail_body(*c,
                      std::make_exception_ptr(limit_error(
                          fmt::format("vow::net::http_server: {} {}: {}", c->req.method, c->req.path, why))),
                      413, why);
            return;
        }
        if (res.status == detail::parse_status::complete) {
            b.complete = true;
            c->parser.reset();
        }
        if (!data.empty() || b.complete) {
            if (b.waiter) {  // always: pump_body runs for a waiting next()
                auto p = std::move(*b.waiter);
                b.waiter.reset();
                p.resolve(data.empty() ? std::optional<std::string>()
                                       : std::optional<std::string>(std::move(data)));
            }
            return;
        }
        c->reading_body = true;
        c->deadline = r_.now() + opts_.body_timeout;
        (void)c->stream.read_some()
            .then([c](std::string bytes) {
                c->reading_body = false;
                if (c->srv)
                    c->srv->on_body_data(c, std::move(bytes));
            })
            .catch_([c](std::exception_ptr e) {
                c->reading_body = false;
                if (!c->srv)
                    return;
                if (c->body_in)
                    c->srv->fail_body(*c, std::move(e));
                c->srv->close_conn(*c);
            });
    }

    void on_body_data(const conn_ptr& c, std::string bytes) {
        if (!c->body_in) {
            // The response went out before the body was read: the
            // connection closes after it, and this read is the lingering's.
            if (c->ph == phase::lingering)
                on_data(c, std::move(bytes));
            return;
        }
        if (bytes.empty()) {
            auto res = c->parser.finish_body();
            fail_body(*c, std::make_exception_ptr(incomplete_read(
                              fmt::format("vow::net::http_server: {} {}: {}", c->req.method, c->req.path,
                                          res.error_reason),
                              std::string())));
            close_conn(*c);
            return;
        }
        if (c->buf.empty())
            c->buf = std::move(bytes);
        else
            c->buf.append(bytes);
        pump_body(c);
    }

    // The streamed body failed: the pending next() and every later one
    // reject with `e`; the connection cannot carry another request.
    // `status`: the answer the request gets if its handler rejects (0: the
    // client is gone, no answer).
    static void fail_body(conn& c, std::exception_ptr e, int status = 0, std::string reason = {}) noexcept {
        auto& b = *c.body_in;
        c.close_after = true;
        if (!b.error) {
            b.error = std::move(e);
            b.error_status = status;
            b.error_reason = std::move(reason);
        }
        if (b.waiter) {
            auto p = std::move(*b.waiter);
            b.waiter.reset();
            p.reject(b.error);
        }
    }

    // The handler answered. A body it did not read to its end cannot be
    // skipped safely (its framing may be bad, or endless): the connection
    // closes after the response, discarding what the client still sends.
    void end_body(conn& c) {
        if (!c.body_in)
            return;
        auto b = std::move(c.body_in);
        if (!b->complete) {
            c.close_after = true;
            if (auto& waiter = b->waiter) {
                auto p = std::move(*waiter);
                waiter.reset();
                p.reject(usage_error("vow::net::http_server: the response was sent before the request body "
                                     "was read"));
            }
        }
    }

    // Writes `out` to the client, which must take it (into the kernel, or
    // down to the stream's high-water mark, where the write's future
    // resolves) within write_timeout: a client that stops reading a large
    // response is dropped by the sweep like any other slow client. Whether
    // a write is still waiting is the stream's own state (see write_stalled),
    // so a response costs no extra continuation.
    future<void> send(const conn_ptr& c, std::string_view out) {
        c->write_deadline = r_.now() + opts_.write_timeout;
        return c->stream.write(out);
    }

    // More than the high-water mark queued: some write's future is still
    // pending, waiting for the client to read.
    bool write_stalled(const conn& c) const noexcept {
        return c.stream.buffered_output() > opts_.tcp.stream.high_water;
    }

    // Writes `out`; then reads on, or closes if this was the last response.
    void flush(const conn_ptr& c, const std::string& out) {
        if (c->ph == phase::closed)
            return;
        if (out.empty()) {
            if (c->close_after)
                linger(c);
            else
                after_write(c);
            return;
        }
        auto sent = send(c, out);
        if (sent.available() && !sent.failed()) {
            // All taken at once (the usual case): go on now, not a turn later.
            std::move(sent).discard();
            after_write(c);
            return;
        }
        (void)std::move(sent)
            .then([c] {
                if (c->srv)
                    c->srv->after_write(c);
            })
            .catch_([c](const std::exception_ptr&) {
                if (c->srv)
                    c->srv->close_conn(*c);
            });
    }

    void after_write(const conn_ptr& c) {
        if (c->ph == phase::closed)
            return;
        if (c->upgrade) {
            hand_over(c);
            return;
        }
        if (c->close_after) {
            linger(c);
            return;
        }
        if (c->ph == phase::writing) {
            c->ph = phase::idle;
            c->deadline = r_.now() + opts_.idle_timeout;
            if (draining_ && !input_waiting(*c)) {
                close_when_sent(c, false);
                return;
            }
        }
        if (c->ph == phase::reading || c->ph == phase::idle)
            read_more(c);
    }

    // Bytes received and not yet parsed: in the connection's buffer, the
    // stream's, or still in the kernel's. Closing a socket with unread bytes
    // in the kernel resets the connection (RST) instead of ending it, and
    // those bytes may be the head of a request that came before shutdown().
    // A read already settled, whose continuation has not run yet, is the
    // caller's to check (tcp_stream::read_pending).
    static bool input_waiting(const conn& c) noexcept {
        if (!c.buf.empty() || c.stream.buffered_input() > 0)
            return true;
        int unread = 0;
        return c.fd >= 0 && ::ioctl(c.fd, FIONREAD, &unread) == 0 && unread > 0;
    }

    // Ends a connection without cutting off what is still queued for the
    // client: a write future resolves once at most the high-water mark is
    // queued, not once everything is sent, so up to that much of the last
    // response may still be on its way. Closes at once if nothing is queued,
    // otherwise lingers. `read_pending`: a read is in flight (an idle
    // connection), and lingering goes on through it.
    void close_when_sent(const conn_ptr& c, bool read_pending) {
        if (c->stream.buffered_output() == 0)
            close_conn(*c);
        else
            linger(c, read_pending);
    }

    // After a last response: send FIN once it is flushed, then discard what
    // the client still sends until its end of stream (or a short timeout), so
    // that closing does not reset the connection under the response. The
    // client has write_timeout to take the rest of the response, like any
    // response, and then 2 s to close its end.
    void linger(const conn_ptr& c, bool read_pending = false) {
        c->ph = phase::lingering;
        c->deadline = r_.now() + opts_.write_timeout;
        (void)c->stream.shutdown()
            .then([c, read_pending] {
                if (!c->srv)
                    return;
                c->deadline = c->srv->r_.now() + std::chrono::seconds(2);
                if (!read_pending && !c->reading_body)
                    c->srv->read_more(c);
            })
            .catch_([c](const std::exception_ptr&) {
                if (c->srv)
                    c->srv->close_conn(*c);
            });
    }

    // The route for `method` and `path` (HEAD falls back to GET), or
    // nullptr; `params` is left as the last match attempt made it.
    // `path_matched`: some route matched the path; `allow` collects the
    // methods of those that did (for a 405).
    const route_entry* find_route(std::string_view method, std::string_view path,
                                  std::vector<std::pair<std::string, std::string>>& params, bool& path_matched,
                                  std::vector<std::string_view>& allow) const {
        const bool head = method == "HEAD";
        const route_entry* found = nullptr;
        for (const auto& rt : routes_) {
            if (!match(rt, path, params))
                continue;
            path_matched = true;
            if (rt.method == method || (head && rt.method == "GET" && !found)) {
                found = &rt;
                if (rt.method == method)
                    break;
            } else if (std::find(allow.begin(), allow.end(), rt.method) == allow.end()) {
                allow.push_back(rt.method);   // whole names: "LOCK" is not in "UNLOCK"
            }
        }
        return found;
    }

    // The route a request head goes to, to decide how its body is read.
    const route_entry* route_for(const http_request& head) {
        bool path_matched = false;
        std::vector<std::string_view> allow;
        return find_route(head.method, head.path, scratch_params_, path_matched, allow);
    }

    http_handler_result dispatch(conn& c) {
        ++requests_;
        http_request& req = c.req;
        bool path_matched = false;
        std::vector<std::string_view> allow;
        const route_entry* found = find_route(req.method, req.path, req.params, path_matched, allow);
        if (!found) {
            req.params.clear();
            if (!path_matched)
                return http_response::text("not found\n", 404);
            auto resp = http_response::text("method not allowed\n", 405);
            // A GET route serves HEAD too, so HEAD is allowed wherever GET is.
            if (std::find(allow.begin(), allow.end(), "GET") != allow.end() &&
                std::find(allow.begin(), allow.end(), "HEAD") == allow.end())
                allow.push_back("HEAD");
            std::string list;
            for (auto m : allow) {
                if (!list.empty())
                    list += ", ";
                list += m;
            }
            resp.headers.set("Allow", std::move(list));
            return resp;
        }
        match(*found, req.path, req.params);   // the params of the route that won
        try {
            return found->fn(req);
        } catch (...) {
            report(std::current_exception(), req);
            return internal_error();
        }
    }

    static http_response internal_error() { return http_response::text("internal server error\n", 500); }

    void report(const std::exception_ptr& e, const http_request& req) {
        if (on_error_) {
            try {
                on_error_(e, req);
            } catch (...) {
                r_.report_exception(std::current_exception(), "http_server error hook");
            }
        } else {
            r_.report_exception(e, fmt::format("http_server handler for {} {}", req.method, req.path));
        }
    }

    // The 101 is written: the connection leaves the server for the
    // upgrade's function.
    void hand_over(const conn_ptr& c) {
        auto up = std::move(c->upgrade);
        c->tcp = tcp_stream();
        vow::net::stream s = std::move(c->stream);
        c->ph = phase::closed;
        c->srv = nullptr;
        conns_.erase(c->pos);
        if (conns_.empty())
            sweep_.cancel();
        auto where = fmt::format("http_server upgrade handler for {} {}", up->req.method, up->req.path);
        try {
            up->fn(std::move(s), std::move(up->req));
        } catch (...) {
            r_.report_exception(std::current_exception(), where);
        }
        check_drained();
    }

    // An upgrade response that the server will not hand over: its answer,
    // or nullopt if it may go ahead.
    std::optional<http_response> refuse_upgrade(const conn& c) {
        if (c.req.version_minor < 1 || !c.req.headers.has_token("Connection", "upgrade") ||
            !c.req.headers.contains("Upgrade")) {
            report(std::make_exception_ptr(usage_error(
                       fmt::format("vow::net::http_server: the handler for {} {} answered 101 with an upgrade "
                                   "function, but the request asked for no upgrade (HTTP/1.1 with Connection: "
                                   "upgrade and an Upgrade header)",
                                   c.req.method, c.req.path))),
                   c.req);
            return internal_error();
        }
        if (!c.buf.empty())
            return http_response::text("bytes after an upgrade request: a client must wait for the 101\n", 400);
        if (draining_)
            return http_response::text("shutting down\n", 503);
        return std::nullopt;
    }

    void finish_response(conn& c, http_response& resp, std::string& out) {
        if (resp.status == 101 && resp.upgrade) {
            if (auto refusal = refuse_upgrade(c)) {
                c.close_after = true;
                finish_response(c, *refusal, out);
                return;
            }
            c.upgrade = std::make_unique<conn::upgrade_state>(conn::upgrade_state{resp.upgrade, c.req});
        } else if (resp.status >= 100 && resp.status < 200) {
            // An interim status as the final answer would leave the client
            // waiting for the real one.
            report(std::make_exception_ptr(usage_error(fmt::format(
                       "vow::net::http_server: the handler for {} {} answered {} without an upgrade function",
                       c.req.method, c.req.path, resp.status))),
                   c.req);
            c.close_after = true;
            auto error = internal_error();
            finish_response(c, error, out);
            return;
        }
        // A handler's own "Connection: close" is honoured, not only announced.
        const bool head = c.req.method == "HEAD";
        const bool http10 = c.req.version_minor == 0;
        // A streamed body of unknown length goes chunked, or to an HTTP/1.0
        // client until the connection closes.
        const bool close_delimited = resp.body_source && !resp.body_source.length && http10;
        bool keep = !c.close_after && !draining_ && c.req.keep_alive() &&
                    !resp.headers.has_token("Connection", "close") && !close_delimited;
        if (!keep)
            c.close_after = true;
        // An HTTP/1.0 client keeps the connection only if told so (RFC 9112 C.2.2).
        const bool announce = keep && http10;
        const http_response* sent = &resp;
        http_response fallback;
        const std::size_t mark = out.size();
        bool streams = false;
        try {
            detail::serialize_response(out, resp, keep, head, announce, http10);
            streams = resp.body_source && !head && detail::status_has_body(resp.status);
        } catch (...) {
            // A response that cannot be written (a CR or LF in a header
            // value, a bad status): the handler's error, answered with 500.
            // The serializer may have appended part of it: drop that.
            out.resize(mark);
            report(std::current_exception(), c.req);
            fallback = internal_error();
            detail::serialize_response(out, fallback, keep, head, announce);
            sent = &fallback;
        }
        if (log_) {
            try {
                log_(c.req, *sent, reactor::clock::now() - c.started);
            } catch (...) {
                r_.report_exception(std::current_exception(), "http_server access log");
            }
        }
        if (streams) {
            const bool chunked = !resp.body_source.length && !http10;
            c.body = std::make_unique<conn::body_state>(
                conn::body_state{std::move(resp.body_source), std::move(c.req), chunked});
        }
    }

    void close_conn(conn& c) noexcept {
        if (c.ph == phase::closed)
            return;
        if (c.body_in)
            fail_body(c, std::make_exception_ptr(io_error(std::make_error_code(std::errc::operation_canceled),
                                                          "vow::net::http_server: the connection was closed while "
                                                          "its request body was being read")));
        c.ph = phase::closed;
        c.srv = nullptr;
        c.stream.close();
        auto keep = *c.pos;   // the list holds the last reference, maybe
        conns_.erase(c.pos);
        if (conns_.empty())
            sweep_.cancel();
        check_drained();
    }

    void sweep() {
        auto now = reactor::clock::now();
        for (auto it = conns_.begin(); it != conns_.end();) {
            auto& c = **it++;
            if (c.reading_body && c.body_in && now >= c.deadline) {
                fail_body(c, std::make_exception_ptr(timeout_error(fmt::format(
                                 "vow::net::http_server: {} {}: no request body bytes within body_timeout "
                                 "(after {} bytes)",
                                 c.req.method, c.req.path, c.body_in->received))));
                close_conn(c);
            } else if ((write_stalled(c) && now >= c.write_deadline) ||
                       (c.ph != phase::handling && c.ph != phase::writing && now >= c.deadline)) {
                // A client that stopped reading, or one past its header or idle deadline.
                close_conn(c);
            }
        }
    }

    void check_drained() noexcept {
        if (!draining_ || !conns_.empty() || hooks_pending_ > 0 || listener_.is_open())
            return;
        grace_timer_.cancel();
        auto waiters = std::move(drained_);
        drained_.clear();
        for (auto& p : waiters)
            (void)p.try_resolve();
    }

    reactor& r_;
    http_server_options opts_;
    detail::http_limits limits_;
    tcp_server listener_;
    std::vector<route_entry> routes_;
    access_log log_;
    std::function<void(std::exception_ptr, const http_request&)> on_error_;
    std::list<conn_ptr> conns_;
    handle sweep_;
    handle grace_timer_;
    handle settle_timer_;
    reactor::duration sweep_period_{};
    bool draining_ = false;
    std::vector<promise<void>> drained_;
    std::vector<std::function<future<void>(reactor::duration)>> shutdown_hooks_;
    std::size_t hooks_pending_ = 0;
    std::uint64_t requests_ = 0;
    std::size_t streaming_routes_ = 0;
    std::vector<std::pair<std::string, std::string>> scratch_params_;   // route_for's
    std::string spare_out_;  // the responses' buffer, between borrowed_buffers
};

namespace {
// The thread check (docs/design.md, "Threading"), before the constructor
// does anything else.
reactor& checked(reactor& r, const char* function) {
    vow::detail::check_thread(r, function);
    return r;
}
}  // namespace

http_server::http_server(reactor& r, std::string_view host, std::uint16_t port,
                         http_server_options opts)
    : impl_(std::make_shared<impl>(checked(r, "net::http_server::http_server"), host, port,
                                   std::move(opts))) {
    impl_->start();
}

http_server::~http_server() {
    if (impl_) {
        if (impl_->holds_reactor())
            vow::detail::check_thread(impl_->get_reactor(), "net::http_server::~http_server");
        impl_->close_all();
    }
}

// Members that act on the server are checked; the getters are not.
void http_server::add_route(std::string_view method, std::string_view pattern, const http_route_options& opts,
                            http_handler fn) {
    vow::detail::check_thread(impl_->get_reactor(), "net::http_server::route");
    impl_->add_route(method, pattern, opts, std::move(fn));
}
void http_server::on_response(access_log fn) {
    vow::detail::check_thread(impl_->get_reactor(), "net::http_server::on_response");
    impl_->on_response(std::move(fn));
}
void http_server::on_error(std::function<void(std::exception_ptr, const http_request&)> fn) {
    vow::detail::check_thread(impl_->get_reactor(), "net::http_server::on_error");
    impl_->on_error(std::move(fn));
}
void http_server::on_shutdown(std::function<future<void>(reactor::duration)> fn) {
    vow::detail::check_thread(impl_->get_reactor(), "net::http_server::on_shutdown");
    impl_->on_shutdown(std::move(fn));
}
future<void> http_server::shutdown(reactor::duration grace) {
    vow::detail::check_thread(impl_->get_reactor(), "net::http_server::shutdown");
    return impl_->shutdown(grace);
}
void http_server::close() noexcept {
    if (impl_->holds_reactor())
        vow::detail::check_thread(impl_->get_reactor(), "net::http_server::close");
    impl_->close_all();
}
address http_server::local_address() const { return impl_->local(); }
std::uint16_t http_server::port() const { return impl_->local().port(); }
reactor& http_server::get_reactor() const noexcept { return impl_->get_reactor(); }
std::size_t http_server::connections() const noexcept { return impl_->connections(); }
std::uint64_t http_server::requests() const noexcept { return impl_->requests(); }

}  // namespace vow::net
