// net/ws/connection.cpp - ws_connection: the background reader, sends,
// pings, the close handshake, keepalive and idle timers.
//
// One object per connection, owned by the ws_connection handles and, while
// closing, by the close timer too, so the handshake finishes after the user
// dropped its last handle. The background read and the keepalive timer hold
// it weakly: an open connection whose last handle is dropped is closed.
//
// Phases: open -> (a close frame sent or received, or a protocol error)
// closing -> closed. While closing, the reader keeps reading (and drops
// what it reads) until the peer's close frame and then its end of stream,
// or close_timeout; the server half-closes the transport first (RFC 6455
// 7.1.1).
#include "protocol.hpp"

#include <vow/net/ws/connection.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/promise/promise.hpp>

#include <fmt/format.h>

#include <deque>
#include <list>

namespace vow::net {

using namespace detail::ws;

bool ws_close_code_sendable(std::uint16_t code) noexcept { return detail::ws::close_code_receivable(code); }

class ws_connection::impl : public std::enable_shared_from_this<impl> {
public:
    impl(stream s, bool client, ws_options o, agreed a)
        : r_(s.get_reactor()),
          s_(std::move(s)),
          client_(client),
          o_(o),
          subprotocol_(std::move(a.subprotocol)),
          reader_(!client, o_.max_message_bytes, nullptr) {
        if (a.deflate) {
            // Our sending side: the server's parameters if we are the server.
            int send_bits = client ? a.client_max_window_bits : a.server_max_window_bits;
            bool send_reset = client ? a.client_no_context_takeover : a.server_no_context_takeover;
            bool recv_reset = client ? a.server_no_context_takeover : a.client_no_context_takeover;
            int recv_bits = client ? a.server_max_window_bits : a.client_max_window_bits;
            ws_deflate_options d = o_.deflate.value_or(ws_deflate_options{});
            deflate_min_ = d.min_size;
            def_ = std::make_unique<deflater>(send_bits, send_reset, d.level);
            inf_ = std::make_unique<inflater>(recv_bits, recv_reset);
            reader_ = frame_reader(!client, o_.max_message_bytes, inf_.get());
        }
        last_rx_ = r_.now();
    }

    ~impl() {
        timer_.cancel();
        close_timer_.cancel();
        s_.close();
    }

    void start() {
        pump();
        arm_timer();
    }

    // ---- receiving ----------------------------------------------------------

    future<ws_message> receive(const io_options& io) {
        if (!queue_.empty()) {
            auto m = std::move(queue_.front());
            queue_.pop_front();
            pump();
            return make_ready_future(r_, std::move(m));
        }
        if (end_)
            return make_exception_future<ws_message>(r_, end_);
        if (waiter_)
            throw usage_error("vow::net::ws_connection::receive: a receive() is already waiting (one at a time)");
        auto& op = waiter_.emplace(r_);
        auto f = op.get_future();
        op.arm(io.timeout, io.deadline, io.stop, [this](expiry why) {
            waiter_.reset();
            return expired_error(why, "net::ws_connection::receive");
        });
        pump();
        return f;
    }

    void pump() {
        // While closing, reading goes on past a full queue: the peer's close
        // frame may be behind the messages nobody took (deliver() drops the
        // ones that do not fit then).
        if (reading_ || phase_ == phase::closed || pong_wait_ ||
            (queue_.size() >= o_.max_queue && phase_ == phase::open))
            return;
        reading_ = true;
        // The read does not keep the connection: dropping the last handle
        // of an open connection closes it (a closing one holds itself).
        auto w = weak_from_this();
        (void)s_.read_some()
            .then([w](std::string data) {
                if (auto self = w.lock())
                    self->on_data(std::move(data));
            })
            .catch_([w](const std::exception_ptr& e) {
                if (auto self = w.lock())
                    self->on_read_error(e);
            });
    }

    void on_data(std::string data) {
        reading_ = false;
        if (phase_ == phase::closed)
            return;
        if (data.empty())
            return on_eof();
        last_rx_ = r_.now();
        if (ping_sent_) {
            // The keepalive ping is answered (any byte will do): the next
            // one is due ping_interval from now, not at the ping's timeout.
            ping_sent_ = false;
            timer_.cancel();
            arm_timer();
        }
        if (reader_.failed()) {   // after a close frame or an error: drop what comes
            pump();
            return;
        }
        if (in_pos_ == in_.size()) {
            in_ = std::move(data);
            in_pos_ = 0;
        } else {
            if (in_pos_ > 0) {
                in_.erase(0, in_pos_);
                in_pos_ = 0;
            }
            in_.append(data);
        }
        process();
        if (in_pos_ == in_.size()) {
            in_ = std::string();   // an idle connection holds no buffer
            in_pos_ = 0;
        }
        pump();
    }

    void process() {
        while (in_pos_ < in_.size() && !reader_.failed() && phase_ != phase::closed) {
            reader_event ev;
            in_pos_ += reader_.next(in_.data() + in_pos_, in_.size() - in_pos_, ev);
            switch (ev.kind) {
            case reader_event::none:
                return;
            case reader_event::message:
                deliver(ws_message{ev.type, std::move(ev.data)});
                break;
            case reader_event::ping:
                if (phase_ == phase::open)
                    send_pong(ev.data);
                break;
            case reader_event::pong:
                on_pong(ev.data);
                break;
            case reader_event::close:
                on_close_frame(ev.code, std::move(ev.data));
                break;
            case reader_event::error:
                fail(ev.code, std::move(ev.data));
                break;
            }
        }
    }

    void deliver(ws_message m) {
        if (waiter_) {
            auto& op = *waiter_;
            op.resolve(std::move(m));
            waiter_.reset();
        } else if (queue_.size() < o_.max_queue || phase_ == phase::open) {
            queue_.push_back(std::move(m));
        }   // else: closing, and the queue is full: dropped (the connection is ending)
    }

    void on_eof() {
        if (close_received_ && close_sent_)
            return finish();
        // Dropped without a close frame (1006).
        if (!end_)
            end_ = std::make_exception_ptr(ws_error(
                fmt::format("vow::net::ws_connection: {} closed the connection without a close frame (1006)",
                            who()),
                ws_close::abnormal));
        close_code_ = ws_close::abnormal;
        finish();
    }

    void on_read_error(const std::exception_ptr& e) {
        reading_ = false;
        if (phase_ == phase::closed)
            return;
        if (!end_) {
            std::string what;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                what = x.what();
            } catch (...) {
                what = "unknown error";
            }
            end_ = std::make_exception_ptr(ws_error(
                fmt::format("vow::net::ws_connection: the connection to {} failed: {} (1006)", who(), what),
                ws_close::abnormal));
        }
        if (!close_code_)
            close_code_ = ws_close::abnormal;
        finish();
    }

    // ---- control frames -------------------------------------------------------

    void send_pong(std::string_view payload) {
        out_.clear();
        append_frame(out_, opcode::pong, true, false, payload, client_);
        auto f = s_.write(out_);
        // A peer that pings faster than it reads our pongs is held back: no
        // more reading until this pong is taken.
        if (s_.buffered_output() > pong_limit) {
            pong_wait_ = true;
            auto w = weak_from_this();
            (void)std::move(f)
                .then([w] {
                    if (auto self = w.lock()) {
                        self->pong_wait_ = false;
                        self->pump();
                    }
                })
                .catch_([w](const std::exception_ptr&) {
                    if (auto self = w.lock())
                        self->pong_wait_ = false;
                });
        } else {
            (void)std::move(f).catch_([](const std::exception_ptr&) {});
        }
    }

    void on_pong(std::string_view payload) {
        // A pong answers the ping with its payload and every earlier one.
        auto it = pings_.begin();
        for (; it != pings_.end(); ++it)
            if (it->payload == payload)
                break;
        if (it == pings_.end())
            return;   // unsolicited: allowed, ignored
        ++it;
        while (pings_.begin() != it) {
            pings_.front().op.resolve();
            pings_.pop_front();
        }
    }

    future<void> ping(std::string_view payload, const io_options& io) {
        if (payload.size() > 125)
            throw invalid_argument(fmt::format(
                "vow::net::ws_connection::ping: a payload of {} bytes (a control frame holds at most 125)",
                payload.size()));
        if (auto e = send_refusal())
            return make_exception_future<void>(r_, e);
        out_.clear();
        append_frame(out_, opcode::ping, true, false, payload, client_);
        (void)s_.write(out_).catch_([](const std::exception_ptr&) {});
        auto& p = pings_.emplace_back(r_, std::string(payload));
        auto f = p.op.get_future();
        auto it = std::prev(pings_.end());
        p.op.arm(io.timeout, io.deadline, io.stop, [this, it](expiry why) {
            pings_.erase(it);
            return expired_error(why, "net::ws_connection::ping");
        });
        return f;
    }

    void on_close_frame(std::uint16_t code, std::string reason) {
        close_received_ = true;
        close_code_ = code;
        close_reason_ = reason;
        if (!end_)
            end_ = std::make_exception_ptr(ws_closed(
                code == ws_close::no_status
                    ? fmt::format("vow::net::ws_connection: {} closed the connection (no code: 1005)", who())
                    : fmt::format("vow::net::ws_connection: {} closed the connection with {}{}{}", who(), code,
                                  reason.empty() ? "" : ": ", reason),
                code, reason));
        if (!close_sent_)
            send_close(code == ws_close::no_status ? 0 : code, reason);
        begin_closing();
    }

    // ---- sending ---------------------------------------------------------------

    std::exception_ptr send_refusal() {
        if (end_)
            return end_;
        if (close_sent_)
            return std::make_exception_ptr(ws_closed("vow::net::ws_connection: the connection is closing (a close "
                                                     "frame was sent)",
                                                     close_code_.value_or(ws_close::normal)));
        return nullptr;
    }

    future<void> send(ws_message_type type, std::string_view data, io_options io) {
        if (type == ws_message_type::text && !valid_utf8(data))
            throw invalid_argument("vow::net::ws_connection::send_text: the text is not valid UTF-8 (send it "
                                   "with send_binary)");
        if (auto e = send_refusal())
            return make_exception_future<void>(r_, e);
        out_.clear();
        opcode op = type == ws_message_type::text ? opcode::text : opcode::binary;
        bool rsv1 = false;
        std::string_view payload = data;
        if (def_ && data.size() >= deflate_min_) {
            def_->deflate(data, packed_);
            payload = packed_;
            rsv1 = true;
        }
        std::size_t frag = o_.fragment_size;
        if (frag == 0 || payload.size() <= frag) {
            append_frame(out_, op, true, rsv1, payload, client_);
        } else {
            std::size_t at = 0;
            bool first = true;
            while (at < payload.size()) {
                std::size_t n = std::min(frag, payload.size() - at);
                bool last = at + n == payload.size();
                append_frame(out_, first ? op : opcode::continuation, last, first && rsv1, payload.substr(at, n),
                             client_);
                first = false;
                at += n;
            }
        }
        if (s_.buffered_output() + out_.size() > o_.max_send_buffer)
            return make_exception_future<void>(
                r_, std::make_exception_ptr(limit_error(fmt::format(
                        "vow::net::ws_connection::send: {} bytes queued for {} and {} more would pass "
                        "max_send_buffer ({}): nothing was sent (a peer that does not read is held back here)",
                        s_.buffered_output(), who(), out_.size(), o_.max_send_buffer))));
        auto f = s_.write(out_, std::move(io));
        if (packed_.capacity() > std::size_t{64} * 1024)
            packed_ = std::string();
        if (out_.capacity() > std::size_t{64} * 1024)
            out_ = std::string();
        return f;
    }

    void send_close(std::uint16_t code, std::string_view reason) {
        close_sent_ = true;
        out_.clear();
        std::string payload;
        if (code) {
            payload.push_back(static_cast<char>(code >> 8));
            payload.push_back(static_cast<char>(code & 0xFF));
            payload.append(reason);
        }
        append_frame(out_, opcode::close, true, false, payload, client_);
        if (!close_code_)
            close_code_ = code ? code : ws_close::no_status;
        (void)s_.write(out_).catch_([](const std::exception_ptr&) {});
    }

    // ---- closing ---------------------------------------------------------------

    future<void> close(std::uint16_t code, std::string_view reason) {
        if (!ws_close_code_sendable(code))
            throw invalid_argument(fmt::format("vow::net::ws_connection::close: {} may not be sent as a close code "
                                               "(1000-1003, 1007-1014, 3000-4999)",
                                               code));
        if (reason.size() > 123)
            throw invalid_argument(fmt::format(
                "vow::net::ws_connection::close: a reason of {} bytes (at most 123 fit a close frame)", reason.size()));
        if (!valid_utf8(reason))
            throw invalid_argument("vow::net::ws_connection::close: the reason is not valid UTF-8");
        if (phase_ == phase::closed)
            return make_ready_future(r_);
        auto f = closers_.emplace_back(r_).get_future();
        if (!close_sent_) {
            send_close(code, reason);
            if (!end_)
                end_ = std::make_exception_ptr(ws_closed(
                    fmt::format("vow::net::ws_connection: closed by this side with {}{}{}", code,
                                reason.empty() ? "" : ": ", reason),
                    code, std::string(reason)));
        }
        begin_closing();
        return f;
    }

    // A protocol error by the peer: close with `code`, fail what waits.
    void fail(std::uint16_t code, std::string what) {
        if (!end_)
            end_ = std::make_exception_ptr(ws_error(
                fmt::format("vow::net::ws_connection: {} sent {}; closed with {}", who(), what, code), code));
        close_code_ = code;
        if (!close_sent_) {
            std::string reason = what.size() <= 123 ? what : what.substr(0, 120);
            if (!valid_utf8(reason))
                reason.clear();
            send_close(code, reason);
        }
        close_received_ = true;   // nothing more is read from it
        begin_closing();
    }

    void fail_unresponsive(std::uint16_t code, std::string what) {
        if (!end_)
            end_ = std::make_exception_ptr(ws_error(fmt::format("vow::net::ws_connection: {} ({})", what, code), code));
        close_code_ = code;
        if (!close_sent_)
            send_close(code, what);
        close_received_ = true;
        begin_closing(std::chrono::seconds(1));
    }

    void begin_closing(std::optional<reactor::duration> wait = {}) {
        if (phase_ == phase::closed)
            return;
        reject_waiters();
        if (phase_ == phase::open) {
            phase_ = phase::closing;
            timer_.cancel();
            // The timer holds the connection, so the handshake finishes even
            // if every handle is dropped (and a reactor destroyed meanwhile
            // frees it with the timer).
            close_timer_ = r_.call_later(wait.value_or(o_.close_timeout),
                                         [self = shared_from_this()] { self->finish(); });
        }
        // The server ends the TCP connection once both close frames have
        // passed; the client waits for that (RFC 6455 7.1.1).
        if (close_sent_ && close_received_ && !client_ && !shut_) {
            shut_ = true;
            (void)s_.shutdown().catch_([](const std::exception_ptr&) {});
        }
        pump();
    }

    void reject_waiters() {
        if (waiter_ && queue_.empty()) {
            waiter_->reject(end_);
            waiter_.reset();
        }
        while (!pings_.empty()) {
            pings_.front().op.reject(end_);
            pings_.pop_front();
        }
    }

    void finish() {
        if (phase_ == phase::closed)
            return;
        phase_ = phase::closed;
        if (!close_code_)
            close_code_ = ws_close::abnormal;
        if (!end_)
            end_ = std::make_exception_ptr(ws_error(
                fmt::format("vow::net::ws_connection: the close handshake with {} timed out", who()),
                ws_close::abnormal));
        timer_.cancel();
        reject_waiters();
        s_.close();
        in_ = std::string();
        for (auto& p : closers_)
            p.resolve();
        closers_.clear();
        auto keep = shared_from_this();   // cancelling the close timer may drop the last other reference
        close_timer_.cancel();
        if (on_closed_)
            std::exchange(on_closed_, nullptr)();
    }

    void abort() noexcept {
        if (phase_ == phase::closed)
            return;
        if (!end_)
            end_ = std::make_exception_ptr(
                ws_error("vow::net::ws_connection: aborted by this side (1006)", ws_close::abnormal));
        close_code_ = ws_close::abnormal;
        try {
            finish();
        } catch (...) {
        }
    }

    // ---- keepalive and idle timeout ------------------------------------------------

    void arm_timer() {
        if (phase_ != phase::open || (!o_.ping_interval && !o_.idle_timeout))
            return;
        reactor::time_point at = reactor::time_point::max();
        if (o_.idle_timeout)
            at = std::min(at, last_rx_ + *o_.idle_timeout);
        if (o_.ping_interval)
            at = std::min(at, ping_sent_ ? ping_at_ + o_.ping_timeout : last_rx_ + *o_.ping_interval);
        auto w = weak_from_this();
        timer_ = r_.call_at(at, [w] {
            if (auto self = w.lock())
                self->on_timer();
        });
    }

    void on_timer() {
        if (phase_ != phase::open)
            return;
        auto now = r_.now();
        if (o_.idle_timeout && now - last_rx_ >= *o_.idle_timeout) {
            (void)close(ws_close::going_away, "idle timeout");
            return;
        }
        if (o_.ping_interval) {
            if (ping_sent_ && now - ping_at_ >= o_.ping_timeout)
                return fail_unresponsive(ws_close::internal_error, "keepalive ping timeout");
            if (!ping_sent_ && now - last_rx_ >= *o_.ping_interval) {
                ping_sent_ = true;
                ping_at_ = now;
                out_.clear();
                append_frame(out_, opcode::ping, true, false, "vow-keepalive", client_);
                (void)s_.write(out_).catch_([](const std::exception_ptr&) {});
            }
        }
        arm_timer();
    }

    std::string who() const {
        try {
            return fmt::format("the {} at {}", client_ ? "server" : "client", s_.peer_address().to_string());
        } catch (...) {
            return client_ ? "the server" : "the client";
        }
    }

    enum class phase : std::uint8_t { open, closing, closed };
    static constexpr std::size_t pong_limit = std::size_t{64} * 1024;

    struct pending_ping {
        pending_ping(reactor& r, std::string p) : payload(std::move(p)), op(r) {}
        std::string payload;
        pending_operation<void> op;
    };

    reactor& r_;
    stream s_;
    bool client_;
    ws_options o_;
    std::string subprotocol_;
    std::unique_ptr<inflater> inf_;
    std::unique_ptr<deflater> def_;
    std::size_t deflate_min_ = 0;
    frame_reader reader_;
    phase phase_ = phase::open;
    bool reading_ = false;
    bool pong_wait_ = false;
    bool close_sent_ = false;
    bool close_received_ = false;
    bool shut_ = false;
    bool ping_sent_ = false;
    std::string in_;
    std::size_t in_pos_ = 0;
    std::string out_;
    std::string packed_;
    std::deque<ws_message> queue_;
    std::optional<pending_operation<ws_message>> waiter_;
    std::list<pending_ping> pings_;
    std::list<promise<void>> closers_;
    std::exception_ptr end_;
    std::optional<std::uint16_t> close_code_;
    std::string close_reason_;
    reactor::time_point last_rx_;
    reactor::time_point ping_at_;
    handle timer_;
    handle close_timer_;

public:
    // Called once when the connection is closed (the endpoint's registry).
    std::function<void()> on_closed_;
    bool is_open() const noexcept { return phase_ == phase::open; }
    bool closed() const noexcept { return phase_ == phase::closed; }
    const std::string& subprotocol() const noexcept { return subprotocol_; }
    bool deflate_on() const noexcept { return def_ != nullptr; }
    std::optional<std::uint16_t> close_code() const noexcept {
        return phase_ == phase::open ? std::nullopt : close_code_;
    }
    const std::string& close_reason() const noexcept { return close_reason_; }
    std::size_t buffered_output() const noexcept { return s_.buffered_output(); }
    address peer_address() const { return s_.peer_address(); }
    reactor& get_reactor() const noexcept { return r_; }
    const std::exception_ptr& end() const noexcept { return end_; }
};

void detail::ws::access::on_closed(ws_connection& c, std::function<void()> fn) {
    c.impl_->on_closed_ = std::move(fn);
}

// ---- the handle ----------------------------------------------------------------

ws_connection ws_connection::open(stream transport, bool client, ws_options opts, agreed handshake) {
    if (!transport.is_open())
        throw usage_error("vow::net::ws_connection::open: the stream is not open");
    if (opts.max_message_bytes == 0 || opts.max_queue == 0 || opts.max_send_buffer == 0)
        throw invalid_argument("vow::net::ws_options: max_message_bytes, max_queue and max_send_buffer must be "
                               "positive");
    if (opts.ping_interval && *opts.ping_interval <= reactor::duration::zero())
        throw invalid_argument("vow::net::ws_options: ping_interval must be positive (or nullopt for none)");
    if (opts.idle_timeout && *opts.idle_timeout <= reactor::duration::zero())
        throw invalid_argument("vow::net::ws_options: idle_timeout must be positive (or nullopt for none)");
    if (opts.ping_timeout <= reactor::duration::zero() || opts.close_timeout <= reactor::duration::zero())
        throw invalid_argument("vow::net::ws_options: ping_timeout and close_timeout must be positive");
    if (opts.deflate && (opts.deflate->level < 1 || opts.deflate->level > 9 || opts.deflate->max_window_bits < 9 ||
                         opts.deflate->max_window_bits > 15))
        throw invalid_argument("vow::net::ws_deflate_options: level must be 1-9 and max_window_bits 9-15");
    auto p = std::make_shared<impl>(std::move(transport), client, opts, std::move(handshake));
    p->start();
    return ws_connection(std::move(p));
}

ws_connection::impl& ws_connection::need(const char* op) const {
    if (!impl_)
        throw usage_error(fmt::format("vow::net::ws_connection::{}: the connection is empty", op));
    return *impl_;
}

future<ws_message> ws_connection::receive(const io_options& opts) {
    return need("receive").receive(opts);
}
future<void> ws_connection::send_text(std::string_view text, io_options opts) {
    return need("send_text").send(ws_message_type::text, text, std::move(opts));
}
future<void> ws_connection::send_binary(std::string_view data, io_options opts) {
    return need("send_binary").send(ws_message_type::binary, data, std::move(opts));
}
future<void> ws_connection::send(const ws_message& m, io_options opts) {
    return need("send").send(m.type, m.data, std::move(opts));
}
future<void> ws_connection::ping(std::string_view payload, const io_options& opts) {
    return need("ping").ping(payload, opts);
}
future<void> ws_connection::close(std::uint16_t code, std::string_view reason) {
    return need("close").close(code, reason);
}
void ws_connection::abort() noexcept {
    if (impl_)
        impl_->abort();
}
bool ws_connection::is_open() const noexcept { return impl_ && impl_->is_open(); }
const std::string& ws_connection::subprotocol() const { return need("subprotocol").subprotocol(); }
bool ws_connection::deflate() const noexcept { return impl_ && impl_->deflate_on(); }
std::optional<std::uint16_t> ws_connection::close_code() const noexcept {
    return impl_ ? impl_->close_code() : std::nullopt;
}
std::string ws_connection::close_reason() const { return impl_ ? impl_->close_reason() : std::string(); }
std::size_t ws_connection::buffered_output() const noexcept { return impl_ ? impl_->buffered_output() : 0; }
address ws_connection::peer_address() const { return impl_ ? impl_->peer_address() : address{}; }
reactor& ws_connection::get_reactor() const { return need("get_reactor").get_reactor(); }

void ws_connection::end_of_loop(std::exception_ptr e) {
    auto& c = need("for_each_message");
    if (e == c.end()) {
        try {
            std::rethrow_exception(e);
        } catch (const ws_closed& x) {
            if (x.code() == ws_close::normal || x.code() == ws_close::going_away || x.code() == ws_close::no_status)
                return;
            throw;
        }
    }
    // The handler's own error: the connection cannot go on.
    if (c.is_open())
        (void)c.close(ws_close::internal_error, "");
    std::rethrow_exception(std::move(e));
}

}  // namespace vow::net
