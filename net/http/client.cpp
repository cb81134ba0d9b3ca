// vow::net::http_client: one op per request (redirects included), a pool of
// keep-alive streams per scheme://host:port with a cap and a FIFO of
// waiters, responses parsed by net/http/parser. An https:// connection is a
// tcp_stream with the TLS layer of the options over it (vow-tls's
// tls_context, through vow::net::tls_layer: libvow does not link OpenSSL).
//
// Each attempt of an op has a number; continuations of an older attempt
// (a read that rejects because the attempt's stream was closed) see a
// different number and do nothing. An op's request is a
// vow::pending_operation: its timeout and stop token end it through
// retire(), as errors and the client's destruction do through fail(); both
// give back its slot and close its stream.
#include "parser.hpp"
#include "../net_internal.hpp"

#include <vow/net/http/client.hpp>
#include <vow/net/tcp.hpp>
#include <vow/net/url.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <deque>
#include <functional>
#include <limits>
#include <list>
#include <unordered_map>
#include <vector>

namespace vow::net {

namespace {

bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool idempotent(std::string_view m) {
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE";
}

bool is_redirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// What one read of a streamed request body's file asks for: big enough that
// the pool's round trip is a small part of each, small beside the stream's
// buffers.
constexpr std::size_t upload_chunk = std::size_t{256} * 1024;

}  // namespace

class http_client::impl : public std::enable_shared_from_this<http_client::impl> {
public:
    struct op {
        op(reactor& r) : call(r) {}
        // Settled (or expired): no continuation of it may act any more.
        bool done() const noexcept { return !call.pending(); }
        pending_operation<http_response> call;
        std::string method;
        url u;
        std::string body;
        request_options ro;
        int redirects = 0;
        std::list<std::shared_ptr<op>>::iterator pos;
        // The current attempt.
        unsigned attempt = 0;
        std::string key;
        bool slot = false;        // counts against the host's connection cap
        bool retried = false;
        bool reused = false;
        bool got_bytes = false;
        // The streamed request body (ro.body_source) was all handed to the
        // stream: until then the connection cannot carry another request.
        bool upload_done = true;
        // The response's head was parsed and its body is streamed
        // (ro.on_body): reads go to pump_body. discard_body: it is a
        // redirect's, which no one receives.
        bool in_body = false;
        bool discard_body = false;
        stream s;
        std::string buf;
        detail::response_parser parser;
        http_response resp;
    };
    using op_ptr = std::shared_ptr<op>;

    struct pool {
        struct idle_conn {
            stream s;
            reactor::time_point since;
        };
        std::vector<idle_conn> idle;
        std::size_t open = 0;                       // idle + in use + connecting
        std::deque<std::weak_ptr<op>> waiters;
    };

    impl(reactor& r, http_client_options o) : r_(r), opts_(std::move(o)) {
        for (auto t : {opts_.connect_timeout, opts_.request_timeout, opts_.idle_timeout})
            if (t <= reactor::duration::zero())
                throw invalid_argument("vow::net::http_client: timeouts must be positive");
        if (opts_.max_connections_per_host == 0 || opts_.max_header_bytes == 0)
            throw invalid_argument("vow::net::http_client: max_connections_per_host and max_header_bytes must be "
                                   "positive");
        if (opts_.max_redirects < 0)
            throw invalid_argument("vow::net::http_client: max_redirects is negative");
        limits_.max_header_bytes = opts_.max_header_bytes;
        limits_.max_body_bytes = opts_.max_body_bytes;
        // A sunk body is bounded by its consumer, not by max_body_bytes.
        sunk_limits_ = limits_;
        sunk_limits_.max_body_bytes = std::numeric_limits<std::size_t>::max() / 4;
    }

    ~impl() { shutdown(); }

    void shutdown() noexcept {
        // No waiter may take a freed slot now: it would connect for a
        // request that is about to be rejected, from a client that is gone.
        closing_ = true;
        while (!ops_.empty()) {
            auto o = ops_.front();
            fail(o, detail::make_io_error(ECANCELED, fmt::format("vow::net::http_client: {} {}: the client was "
                                                                 "destroyed",
                                                                 o->method, o->u.to_string())));
        }
        close_idle();
        sweep_.cancel();
    }

    future<http_response> request(std::string_view method, std::string_view text, std::string body,
                                  request_options ro) {
        if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char))
            throw invalid_argument(fmt::format("vow::net::http_client: '{}' is not a valid method", method));
        url u = url::parse(text);   // throws url_error
        if (u.scheme != "http" && u.scheme != "https")
            throw url_error(fmt::format("{}: the HTTP client takes http:// and https:// URLs (for {}:// use "
                                        "vow::net::ws_connect)",
                                        text, u.scheme));
        if (u.scheme == "https" && !opts_.tls)
            throw usage_error(no_tls(u));
        if (ro.timeout && *ro.timeout <= reactor::duration::zero())
            throw invalid_argument("vow::net::http_client: the request timeout is not positive");
        if (ro.body_source && !body.empty())
            throw invalid_argument("vow::net::http_client: a request takes a string body or a "
                                   "request_options::body_source, not both");
        if (ro.body_source.file && (!ro.body_source.length || !ro.body_source.file->is_open()))
            throw invalid_argument("vow::net::http_client: a file body_source needs an open file and its length");
        auto o = std::make_shared<op>(r_);
        o->method.assign(method);
        o->u = std::move(u);
        o->body = std::move(body);
        o->ro = std::move(ro);
        auto f = o->call.get_future();
        if (o->ro.stop.stop_requested()) {
            o->call.reject(detail::make_cancelled(fmt::format("http_client: {} {}", o->method, o->u.to_string())));
            return f;
        }
        ops_.push_front(o);
        o->pos = ops_.begin();
        auto limit = o->ro.timeout.value_or(opts_.request_timeout);
        // The op is in ops_ while it is pending, which is whenever this runs.
        o->call.arm(limit, {}, o->ro.stop, [this, raw = o.get(), limit](expiry why) {
            op_ptr op = *raw->pos;
            auto error = why == expiry::timeout
                             ? std::make_exception_ptr(timeout_error(fmt::format(
                                   "vow::net::http_client: {} {}: no complete response within {}", op->method,
                                   op->u.to_string(), std::chrono::duration_cast<std::chrono::milliseconds>(limit))))
                             : detail::make_cancelled(fmt::format("http_client: {} {}", op->method, op->u.to_string()));
            retire(op);
            return error;
        });
        attempt(o, false);
        return f;
    }

    void close_idle() noexcept {
        for (auto& [key, pl] : pools_) {
            for (auto& c : pl.idle) {
                c.s.close();
                --pl.open;
            }
            pl.idle.clear();
            wake(pl);
        }
    }

    std::size_t idle_count() const noexcept {
        std::size_t n = 0;
        for (auto& [key, pl] : pools_)
            n += pl.idle.size();
        return n;
    }
    std::uint64_t opened() const noexcept { return opened_; }
    reactor& get_reactor() const noexcept { return r_; }
    // A request in flight or an idle connection open: shutting down would
    // touch the reactor. Otherwise the client may outlive its reactor, and
    // closing is left unchecked.
    bool holds_reactor() const noexcept {
        if (!ops_.empty())
            return true;
        for (auto& [key, pl] : pools_)
            for (auto& c : pl.idle)
                if (c.s.is_open())
                    return true;
        return false;
    }

private:
    // Starts (or restarts) an attempt: a pooled connection, a new one, or a
    // place in the host's queue.
    void attempt(const op_ptr& o, bool force_new) {
        ++o->attempt;
        o->key = fmt::format("{}://{}:{}", o->u.scheme, o->u.host, o->u.port);
        pool& pl = pools_[o->key];
        if (!force_new) {
            while (!pl.idle.empty()) {
                auto c = std::move(pl.idle.back());
                pl.idle.pop_back();
                if (!c.s.is_open() || c.s.at_eof() || c.s.buffered_input() != 0) {
                    c.s.close();
                    --pl.open;
                    continue;
                }
                o->slot = true;
                o->reused = true;
                o->s = std::move(c.s);
                send(o);
                return;
            }
        }
        if (pl.open >= opts_.max_connections_per_host) {
            if (force_new && !pl.idle.empty()) {   // make room: drop an idle one
                pl.idle.front().s.close();
                pl.idle.erase(pl.idle.begin());
                --pl.open;
            } else {
                pl.waiters.push_back(o);
                return;
            }
        }
        ++pl.open;
        ++opened_;
        o->slot = true;
        o->reused = false;
        // connect_timeout covers the TCP connect and the TLS handshake.
        connect_options co;
        co.stop = o->ro.stop;
        co.deadline = r_.now() + opts_.connect_timeout;
        unsigned id = o->attempt;
        auto start_connect = [&]() -> future<stream> {
            try {
                auto tcp = connect(r_, o->u.host, o->u.port, co);
                if (o->u.scheme != "https")
                    return std::move(tcp).then([](const tcp_stream& s) { return stream(s); });
                return std::move(tcp).then(
                    [tls = opts_.tls, host = o->u.host, io = io_options{co.stop, {}, co.deadline}](
                        const tcp_stream& s) { return tls->connect(s, host, io); });
            } catch (...) {
                return make_exception_future<stream>(r_, std::current_exception());
            }
        };
        (void)start_connect()
            .then([this, o, id](stream s) {
                if (o->done() || o->attempt != id)
                    return;   // the stream closes here; the slot was freed by fail()
                o->s = std::move(s);
                send(o);
            })
            .catch_([this, o, id](std::exception_ptr e) {
                if (o->done() || o->attempt != id)
                    return;
                release(o, false);
                fail(o, std::move(e));
            });
    }

    void send(const op_ptr& o) {
        o->got_bytes = false;
        o->in_body = false;
        o->buf.clear();
        o->resp = http_response{};
        o->parser = detail::response_parser(o->ro.on_body ? sunk_limits_ : limits_);
        prepare_parser(o);
        http_headers headers = o->ro.headers;
        for (const auto& [name, value] : opts_.default_headers)
            if (!headers.contains(name))
                headers.add(name, value);
        if (!headers.contains("User-Agent"))
            headers.add("User-Agent", "vow/0.1");
        std::string out;
        const http_body_source& src = o->ro.body_source;
        if (src)
            detail::serialize_request_head(out, o->method, o->u.target, o->u.host_header(), headers, src.length);
        else
            detail::serialize_request(out, o->method, o->u.target, o->u.host_header(), headers, o->body);
        o->upload_done = !src;
        unsigned id = o->attempt;
        // Every continuation checks o->done() before it touches `this`: the
        // client's destruction finishes every op first, so an op that is not
        // done proves the client is alive.
        (void)o->s.write(out).catch_([this, o, id](std::exception_ptr e) {
            if (!o->done())
                attempt_failed(o, id, std::move(e));
        });
        if (src)
            upload(o, id, 0);
        read(o);
    }

    void prepare_parser(const op_ptr& o) {
        o->parser.expect_no_body(o->method == "HEAD");
        o->parser.stream_body(static_cast<bool>(o->ro.on_body));
    }

    // Sends the streamed request body from byte `sent` on: the next chunk
    // is asked for (from the producer, or read from the file) only once the
    // stream took the last one, so memory stays at one chunk plus the
    // stream's high-water mark.
    void upload(const op_ptr& o, unsigned id, std::uint64_t sent) {
        (void)detail::next_body_chunk(r_, o->ro.body_source, sent, upload_chunk)
            .then([this, o, id, sent](std::optional<std::string> chunk) {
                if (!o->done() && o->attempt == id)
                    send_chunk(o, id, sent, std::move(chunk));
            })
            .catch_([this, o, id](std::exception_ptr e) {
                if (!o->done())
                    abort_attempt(o, id, std::move(e));   // the producer's own error: not retried
            });
    }

    void send_chunk(const op_ptr& o, unsigned id, std::uint64_t sent, std::optional<std::string> chunk) {
        const http_body_source& src = o->ro.body_source;
        auto body_error = [&](std::string what) {
            abort_attempt(o, id, std::make_exception_ptr(http_error(fmt::format(
                                     "vow::net::http_client: {} {}: {}", o->method, o->u.to_string(), what))));
        };
        // A file that ends early gives the end: the length check reports it.
        if (!chunk) {
            if (src.length && sent != *src.length) {
                body_error(fmt::format("the request body ended after {} of its {} bytes (http_body_source::length)",
                                       sent, *src.length));
                return;
            }
            // The last chunk of a chunked body; if the write fails, the read reports it.
            if (!src.length)
                (void)o->s.write(detail::last_chunk).catch_([](const std::exception_ptr&) {});
            o->upload_done = true;
            return;
        }
        if (chunk->empty()) {
            upload(o, id, sent);
            return;
        }
        if (src.length && chunk->size() > *src.length - sent) {
            body_error(fmt::format("the request body's producer gave more than its length of {} bytes "
                                   "(http_body_source::length)",
                                   *src.length));
            return;
        }
        sent += chunk->size();
        future<void> taken = [&] {
            if (src.length)
                return o->s.write(*chunk);
            std::string framed;
            framed.reserve(chunk->size() + 16);
            detail::append_chunk(framed, *chunk);
            return o->s.write(framed);
        }();
        (void)std::move(taken)
            .then([this, o, id, sent] {
                if (!o->done() && o->attempt == id)
                    upload(o, id, sent);
            })
            .catch_([this, o, id](std::exception_ptr e) {
                // Once the response has begun, the server may have closed
                // its side on purpose (an early 413): the read reports.
                if (!o->done() && !o->got_bytes)
                    attempt_failed(o, id, std::move(e));
            });
    }

    void read(const op_ptr& o) {
        unsigned id = o->attempt;
        (void)o->s.read_some()
            .then([this, o, id](std::string chunk) {
                if (o->done() || o->attempt != id)
                    return;
                on_chunk(o, std::move(chunk));
            })
            .catch_([this, o, id](std::exception_ptr e) {
                if (!o->done())
                    attempt_failed(o, id, std::move(e));
            });
    }

    void on_chunk(const op_ptr& o, std::string chunk) {
        if (o->in_body) {
            on_body_bytes(o, chunk);
            return;
        }
        detail::parse_result res;
        if (chunk.empty()) {
            res = o->parser.finish(o->buf, o->resp);
            if (res.status != detail::parse_status::complete) {
                auto what = o->got_bytes
                                ? fmt::format("vow::net::http_client: {} {}: the connection closed in the middle of "
                                              "the response",
                                              o->method, o->u.to_string())
                                : fmt::format("vow::net::http_client: {} {}: the server closed the connection "
                                              "without a response",
                                              o->method, o->u.to_string());
                attempt_failed(o, o->attempt, std::make_exception_ptr(http_error(what)));
                return;
            }
            complete(o, false);
            return;
        }
        o->got_bytes = true;
        if (o->buf.empty())
            o->buf = std::move(chunk);
        else
            o->buf.append(chunk);
        res = o->parser.parse(o->buf, o->resp);
        // An interim response (100 Continue, 103 Early Hints): skip it.
        while (res.status == detail::parse_status::complete && o->resp.status >= 100 && o->resp.status < 200 &&
               o->resp.status != 101) {
            o->buf.erase(0, res.consumed);
            o->resp = http_response{};
            o->parser.reset();
            prepare_parser(o);
            res = o->buf.empty() ? detail::parse_result{}
                                 : o->parser.parse(o->buf, o->resp);
        }
        switch (res.status) {
        case detail::parse_status::need_more:
            read(o);
            return;
        case detail::parse_status::error:
        case detail::parse_status::head:   // request parsers only
            bad_response(o, res);
            return;
        case detail::parse_status::complete:
            if (o->ro.on_body) {
                start_body(o, res.consumed);
                return;
            }
            complete(o, o->resp.keep_alive() && res.consumed == o->buf.size());
            return;
        }
    }

    void bad_response(const op_ptr& o, const detail::parse_result& res) {
        release(o, false);
        auto what = fmt::format("vow::net::http_client: {} {}: bad response: {}", o->method, o->u.to_string(),
                                res.error_reason);
        if (res.error_status == 413 || res.error_status == 431)
            fail(o, std::make_exception_ptr(limit_error(what)));
        else
            fail(o, std::make_exception_ptr(http_error(what)));
    }

    // The head of a response whose body goes to ro.on_body was parsed (the
    // first `head_size` bytes of buf).
    void start_body(const op_ptr& o, std::size_t head_size) {
        o->buf.erase(0, head_size);
        o->in_body = true;
        // A redirect about to be followed is not the answer: its body is
        // read (to keep the connection) and dropped.
        o->discard_body = o->ro.follow_redirects && is_redirect(o->resp.status) && o->resp.headers.contains("Location");
        pump_body(o);
    }

    // Hands what buf holds of the body to the sink; reads more once the
    // sink's future settles.
    void pump_body(const op_ptr& o) {
        std::string chunk;
        auto res = o->parser.body_some(o->buf, chunk, o->resp.trailers);
        o->buf.erase(0, res.consumed);
        if (res.status == detail::parse_status::error) {
            bad_response(o, res);
            return;
        }
        bool end = res.status == detail::parse_status::complete;
        if (chunk.empty() || o->discard_body) {
            after_body_chunk(o, end);
            return;
        }
        unsigned id = o->attempt;
        future<void> taken = [&] {
            try {
                return o->ro.on_body(std::move(chunk));
            } catch (...) {
                return make_exception_future<void>(r_, std::current_exception());
            }
        }();
        (void)std::move(taken)
            .then([this, o, id, end] {
                if (!o->done() && o->attempt == id)
                    after_body_chunk(o, end);
            })
            .catch_([this, o, id](std::exception_ptr e) {
                if (!o->done())
                    abort_attempt(o, id, std::move(e));
            });
    }

    void after_body_chunk(const op_ptr& o, bool end) {
        if (end)
            complete(o, o->resp.keep_alive() && o->buf.empty());
        else
            read(o);
    }

    void on_body_bytes(const op_ptr& o, std::string_view bytes) {
        if (!bytes.empty()) {
            o->buf.append(bytes);
            pump_body(o);
            return;
        }
        auto res = o->parser.finish_body();
        if (res.status == detail::parse_status::complete) {
            complete(o, false);
            return;
        }
        attempt_failed(o, o->attempt,
                       std::make_exception_ptr(http_error(fmt::format("vow::net::http_client: {} {}: {}", o->method,
                                                                      o->u.to_string(), res.error_reason))));
    }

    void complete(const op_ptr& o, bool keep) {
        release(o, keep);
        http_response& resp = o->resp;
        if (o->ro.follow_redirects && is_redirect(resp.status)) {
            if (auto loc = resp.headers.get("Location")) {
                if (o->redirects >= opts_.max_redirects) {
                    fail(o, std::make_exception_ptr(
                                http_error(fmt::format("vow::net::http_client: {} {}: more than {} redirects",
                                                       o->method, o->u.to_string(), opts_.max_redirects))));
                    return;
                }
                url next;
                try {
                    next = o->u.resolve(*loc);
                    if (next.scheme != "http" && next.scheme != "https")
                        throw http_error(fmt::format("vow::net::http_client: {} {}: refused the redirect to {}: not "
                                                     "an http:// or https:// URL",
                                                     o->method, o->u.to_string(), next.to_string()));
                    if (o->u.scheme == "https" && next.scheme == "http" && !opts_.allow_https_to_http_redirects)
                        throw http_error(fmt::format(
                            "vow::net::http_client: {} {}: refused the redirect to {}: it leaves HTTPS for plain "
                            "HTTP (set http_client_options::allow_https_to_http_redirects to follow it)",
                            o->method, o->u.to_string(), next.to_string()));
                    if (next.scheme == "https" && !opts_.tls)
                        throw usage_error(no_tls(next));
                    if (!becomes_get(*o) && !replayable(*o))
                        throw http_error(fmt::format(
                            "vow::net::http_client: {} {}: a {} redirect to {} repeats the request with its body, "
                            "and a body from a producer (http_body_source::next) cannot be sent twice",
                            o->method, o->u.to_string(), resp.status, next.to_string()));
                } catch (...) {
                    fail(o, std::current_exception());
                    return;
                }
                ++o->redirects;
                if (becomes_get(*o)) {
                    if (o->method != "HEAD")
                        o->method = "GET";
                    o->body.clear();
                    o->ro.body_source = {};
                    // The headers that described the dropped body would now
                    // describe nothing (Transfer-Encoding would even promise
                    // a chunked body that never comes).
                    for (const char* h : {"Content-Type", "Content-Encoding", "Content-Language",
                                          "Content-Location", "Transfer-Encoding"})
                        o->ro.headers.remove(h);
                }
                // Credentials meant for one origin are not handed to another
                // (as browsers, curl and Python requests do).
                if (next.host != o->u.host || next.port != o->u.port || next.scheme != o->u.scheme)
                    for (const char* h : {"Authorization", "Proxy-Authorization", "Cookie"})
                        o->ro.headers.remove(h);
                o->u = std::move(next);
                o->retried = false;
                attempt(o, false);
                return;
            }
        }
        o->call.resolve(std::move(o->resp));
        drop_body(o);
        ops_.erase(o->pos);
    }

    // 303, and 301/302 after a POST: the redirect is followed with a GET
    // without the body.
    static bool becomes_get(const op& o) {
        int st = o.resp.status;
        return st == 303 || ((st == 301 || st == 302) && o.method == "POST");
    }

    // Whether the request's body can be sent again (a retry, a 307/308): a
    // producer cannot, a file region can.
    static bool replayable(const op& o) {
        const http_body_source& src = o.ro.body_source;
        return !src || src.file != nullptr;
    }

    // Lets go of the request's producer or file and the response's sink as
    // soon as the op is over: continuations still pending hold the op.
    static void drop_body(const op_ptr& o) {
        o->ro.body_source = {};
        o->ro.on_body = {};
    }

    // An error of the request itself (its producer, the response's sink):
    // the attempt ends with it, without a retry, and the connection closes.
    void abort_attempt(const op_ptr& o, unsigned id, std::exception_ptr e) {
        if (o->done() || o->attempt != id)
            return;
        release(o, false);
        fail(o, std::move(e));
    }

    void attempt_failed(const op_ptr& o, unsigned id, std::exception_ptr e) {
        if (o->done() || o->attempt != id)
            return;
        bool retry = o->reused && !o->got_bytes && !o->retried && idempotent(o->method) && replayable(*o);
        release(o, false);
        if (retry) {
            o->retried = true;
            attempt(o, true);
            return;
        }
        fail(o, std::move(e));
    }

    // Gives the op's connection back (to the pool if `keep`) and its slot.
    void release(const op_ptr& o, bool keep) {
        if (!o->slot)
            return;
        o->slot = false;
        pool& pl = pools_[o->key];
        if (keep && o->upload_done && o->s.is_open() && pl.idle.size() < opts_.max_idle_per_host) {
            pl.idle.push_back({std::move(o->s), r_.now()});
            if (!sweep_)
                sweep_ = r_.call_every(std::max<reactor::duration>(opts_.idle_timeout / 4, std::chrono::milliseconds(10)),
                                       [this] { sweep(); });
        } else {
            o->s.close();
            o->s = stream{};
            --pl.open;
        }
        wake(pl);
    }

    // Lets the first live waiter of `pl` try again, if there is room.
    void wake(pool& pl) {
        if (closing_)
            return;
        while (!pl.waiters.empty() && (pl.open < opts_.max_connections_per_host || !pl.idle.empty())) {
            auto w = pl.waiters.front().lock();
            pl.waiters.pop_front();
            if (w && !w->done())
                attempt(w, false);
        }
    }

    // Takes an op that has just settled or expired off the books: gives its
    // slot back, closes its stream, drops it from ops_.
    void retire(const op_ptr& o) {
        if (o->slot)
            release(o, false);
        o->s.close();
        drop_body(o);
        ops_.erase(o->pos);
    }

    void fail(const op_ptr& o, std::exception_ptr e) {
        if (o->done())
            return;
        // A copy on purpose: it keeps the op alive through retire(), whose
        // ops_.erase may drop the last other reference.
        // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): the copy is the keep-alive
        op_ptr keep = o;
        keep->call.reject(std::move(e));
        retire(keep);
    }

    static std::string no_tls(const url& u) {
        return fmt::format("vow::net::http_client: {}: https:// needs TLS: set http_client_options::tls to a "
                           "vow::net::tls_context::client() (<vow/net/tls.hpp>, library vow-tls)",
                           u.to_string());
    }

    void sweep() {
        auto now = r_.now();
        bool any = false;
        for (auto& [key, pl] : pools_) {
            auto& v = pl.idle;
            for (std::size_t i = 0; i < v.size();) {
                if (now - v[i].since >= opts_.idle_timeout || !v[i].s.is_open() || v[i].s.at_eof()) {
                    v[i].s.close();
                    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
                    --pl.open;
                } else {
                    ++i;
                }
            }
            any = any || !v.empty();
            wake(pl);
        }
        if (!any)
            sweep_.cancel();
    }

    reactor& r_;
    http_client_options opts_;
    detail::http_limits limits_;
    detail::http_limits sunk_limits_;
    std::unordered_map<std::string, pool> pools_;
    std::list<op_ptr> ops_;
    handle sweep_;
    std::uint64_t opened_ = 0;
    bool closing_ = false;
};

namespace {
// The thread check (docs/design.md, "Threading"), before the constructor
// does anything else.
reactor& checked(reactor& r, const char* function) {
    vow::detail::check_thread(r, function);
    return r;
}
}  // namespace

http_client::http_client(reactor& r, http_client_options opts)
    : impl_(std::make_shared<impl>(checked(r, "net::http_client::http_client"), std::move(opts))) {}
http_client::~http_client() {
    if (impl_) {
        if (impl_->holds_reactor())
            vow::detail::check_thread(impl_->get_reactor(), "net::http_client::~http_client");
        impl_->shutdown();
    }
}

// Members that act on the client are checked; the getters are not.
future<http_response> http_client::get(std::string_view url, request_options opts) {
    vow::detail::check_thread(impl_->get_reactor(), "net::http_client::get");
    return impl_->request("GET", url, {}, std::move(opts));
}
future<http_response> http_client::post(std::string_view url, std::string body, request_options opts) {
    vow::detail::check_thread(impl_->get_reactor(), "net::http_client::post");
    return impl_->request("POST", url, std::move(body), std::move(opts));
}
future<http_response> http_client::request(std::string_view method, std::string_view url, std::string body,
                                           request_options opts) {
    vow::detail::check_thread(impl_->get_reactor(), "net::http_client::request");
    return impl_->request(method, url, std::move(body), std::move(opts));
}
void http_client::close_idle() noexcept {
    if (impl_->holds_reactor())
        vow::detail::check_thread(impl_->get_reactor(), "net::http_client::close_idle");
    impl_->close_idle();
}
std::size_t http_client::idle_connections() const noexcept { return impl_->idle_count(); }
std::uint64_t http_client::connections_opened() const noexcept { return impl_->opened(); }

}  // namespace vow::net
