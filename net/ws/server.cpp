// net/ws/server.cpp - ws_endpoint: the server's handshake (RFC 6455 4.2)
// on an http_server route, and the registry of the connections it opened.
#include "protocol.hpp"

#include <vow/net/ws/server.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>

#include <fmt/format.h>

#include <list>

namespace vow::net {

using namespace detail::ws;

namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Every value of the header fields called `name`, joined with ", ".
std::string joined(const http_headers& h, std::string_view name) {
    std::string out;
    for (const auto& [n, v] : h) {
        if (n.size() != name.size() || !std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                return (a | 0x20) == (b | 0x20);
            }))
            continue;
        if (!out.empty())
            out += ", ";
        out += v;
    }
    return out;
}

http_response refuse(int status, std::string why) {
    auto r = http_response::text(fmt::format("WebSocket handshake refused: {}\n", why), status);
    return r;
}

}  // namespace

class ws_endpoint::impl : public std::enable_shared_from_this<ws_endpoint::impl> {
public:
    impl(reactor& r, open_handler fn, ws_server_options o) : r_(r), on_open_(std::move(fn)), o_(std::move(o)) {
        if (!on_open_)
            throw invalid_argument("vow::net::ws_endpoint: the open handler is empty");
        if (o_.ws.deflate && (o_.ws.deflate->max_window_bits < 9 || o_.ws.deflate->max_window_bits > 15))
            throw invalid_argument("vow::net::ws_deflate_options: max_window_bits must be 9-15");
        for (const auto& p : o_.subprotocols)
            if (p.empty() || p.find_first_of(" \t,;\"") != std::string::npos)
                throw invalid_argument(fmt::format("vow::net::ws_server_options: '{}' is not a subprotocol token", p));
    }

    http_response accept(const http_request& req) {
        if (req.method != "GET")
            return refuse(400, fmt::format("the method is {}, not GET", req.method));
        if (req.version_minor < 1)
            return refuse(400, "HTTP/1.0 cannot upgrade (HTTP/1.1 is needed)");
        bool wants_ws = false;
        if (auto up = req.headers.get("Upgrade"))
            wants_ws = req.headers.has_token("Upgrade", "websocket");
        if (!wants_ws || !req.headers.has_token("Connection", "upgrade")) {
            auto r = refuse(426, "this is a WebSocket endpoint: the request needs Connection: Upgrade and "
                                 "Upgrade: websocket");
            r.headers.add("Upgrade", "websocket");
            r.headers.add("Sec-WebSocket-Version", "13");
            return r;
        }
        auto version = req.headers.get("Sec-WebSocket-Version");
        if (!version || trim(*version) != "13") {
            auto r = refuse(version ? 426 : 400,
                            version ? fmt::format("Sec-WebSocket-Version {} is not supported (13 is)", *version)
                                    : std::string("no Sec-WebSocket-Version (13 is supported)"));
            r.headers.add("Sec-WebSocket-Version", "13");
            return r;
        }
        if (req.headers.count("Sec-WebSocket-Key") != 1)
            return refuse(400, req.headers.contains("Sec-WebSocket-Key") ? "more than one Sec-WebSocket-Key"
                                                                         : "no Sec-WebSocket-Key");
        auto key = trim(*req.headers.get("Sec-WebSocket-Key"));
        if (!valid_key(key))
            return refuse(400, "the Sec-WebSocket-Key is not 16 bytes in base64");
        if (o_.check_origin) {
            auto origin = req.headers.get("Origin");
            if (!o_.check_origin(origin ? *origin : std::string_view(), req))
                return refuse(403, fmt::format("the origin '{}' is not allowed", origin ? *origin : ""));
        }
        if (shutting_)
            return refuse(503, "the server is shutting down");
        if (conns_.size() >= o_.max_connections)
            return refuse(503, "too many WebSocket connections");

        ws_connection::agreed agreed;
        std::string offered = joined(req.headers, "Sec-WebSocket-Protocol");
        if (!o_.subprotocols.empty()) {
            for (const auto& ours : o_.subprotocols) {
                bool found = false;
                std::string_view list = offered;
                while (!list.empty() && !found) {
                    auto comma = list.find(',');
                    if (trim(list.substr(0, comma)) == ours)
                        found = true;
                    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
                }
                if (found) {
                    agreed.subprotocol = ours;
                    break;
                }
            }
            if (agreed.subprotocol.empty() && o_.require_subprotocol)
                return refuse(400, fmt::format("none of the subprotocols offered ('{}') is spoken here", offered));
        }
        std::string extensions;
        if (o_.ws.deflate) {
            std::string header = joined(req.headers, "Sec-WebSocket-Extensions");
            deflate_params p;
            if (!header.empty() && negotiate_deflate(header, *o_.ws.deflate, p, extensions)) {
                agreed.deflate = true;
                agreed.client_no_context_takeover = p.client_no_context_takeover;
                agreed.server_no_context_takeover = p.server_no_context_takeover;
                agreed.client_max_window_bits = p.client_max_window_bits;
                agreed.server_max_window_bits = p.server_max_window_bits;
            }
        }

        http_response r;
        r.status = 101;
        r.headers.add("Upgrade", "websocket");
        r.headers.add("Connection", "Upgrade");
        r.headers.add("Sec-WebSocket-Accept", accept_value(key));
        if (!agreed.subprotocol.empty())
            r.headers.add("Sec-WebSocket-Protocol", agreed.subprotocol);
        if (!extensions.empty())
            r.headers.add("Sec-WebSocket-Extensions", extensions);
        for (const auto& [n, v] : o_.headers)
            r.headers.add(n, v);
        r.upgrade = [w = weak_from_this(),
                     agreed = std::move(agreed)](stream s, const http_request& req) mutable {
            auto self = w.lock();
            if (!self)
                return;   // the endpoint is gone: the stream closes
            self->open(std::move(s), std::move(agreed), req);
        };
        return r;
    }

    void open(stream s, ws_connection::agreed agreed, const http_request& req) {
        if (shutting_)
            return;   // a 101 written as shutdown began: the stream closes
        auto c = ws_connection::open(std::move(s), false, o_.ws, std::move(agreed));
        auto it = conns_.insert(conns_.end(), c);
        access::on_closed(c, [w = weak_from_this(), it] {
            if (auto self = w.lock())
                self->remove(it);
        });
        on_open_(std::move(c), req);
    }

    void remove(std::list<ws_connection>::iterator it) {
        conns_.erase(it);
        if (shutting_ && conns_.empty()) {
            grace_.cancel();
            auto waiters = std::move(drained_);
            drained_.clear();
            for (auto& p : waiters)
                (void)p.try_resolve();
        }
    }

    future<void> shutdown(reactor::duration grace) {
        shutting_ = true;
        if (conns_.empty())
            return make_ready_future(r_);
        auto f = drained_.emplace_back(r_).get_future();
        if (drained_.size() == 1) {
            // close() may settle synchronously and erase: iterate a copy.
            std::vector<ws_connection> all(conns_.begin(), conns_.end());
            for (auto& c : all)
                if (c.is_open())
                    (void)c.close(ws_close::going_away, "server shutting down");
            grace_ = r_.call_later(grace, [w = weak_from_this()] {
                if (auto self = w.lock())
                    self->close_all();
            });
        }
        return f;
    }

    void close_all() noexcept {
        std::vector<ws_connection> all(conns_.begin(), conns_.end());
        for (auto& c : all)
            c.abort();
    }

    std::size_t size() const noexcept { return conns_.size(); }
    void each(const std::function<void(ws_connection&)>& fn) {
        std::vector<ws_connection> all(conns_.begin(), conns_.end());
        for (auto& c : all)
            if (c.is_open())
                fn(c);
    }

    reactor& r_;
    open_handler on_open_;
    ws_server_options o_;
    std::list<ws_connection> conns_;
    bool shutting_ = false;
    std::vector<promise<void>> drained_;
    handle grace_;
};

ws_endpoint::ws_endpoint(reactor& r, open_handler on_open, ws_server_options opts)
    : impl_(std::make_shared<impl>(r, std::move(on_open), std::move(opts))) {}

ws_endpoint::ws_endpoint(http_server& server, std::string_view pattern, open_handler on_open, ws_server_options opts)
    : ws_endpoint(server.get_reactor(), std::move(on_open), std::move(opts)) {
    server.get(pattern, [w = std::weak_ptr<impl>(impl_)](const http_request& req) {
        if (auto self = w.lock())
            return self->accept(req);
        return http_response::text("WebSocket endpoint closed\n", 503);
    });
    server.on_shutdown([w = std::weak_ptr<impl>(impl_), r = &server.get_reactor()](reactor::duration grace) {
        if (auto self = w.lock())
            return self->shutdown(grace);
        return make_ready_future(*r);
    });
}

ws_endpoint::~ws_endpoint() {
    if (impl_)
        impl_->close_all();
}

http_response ws_endpoint::accept(const http_request& req) { return impl_->accept(req); }
future<void> ws_endpoint::shutdown(reactor::duration grace) { return impl_->shutdown(grace); }
void ws_endpoint::close() noexcept { impl_->close_all(); }
std::size_t ws_endpoint::connections() const noexcept { return impl_->size(); }
void ws_endpoint::for_each_connection(const std::function<void(ws_connection&)>& fn) { impl_->each(fn); }

}  // namespace vow::net
