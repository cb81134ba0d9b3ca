// tests/support/memory_transport.hpp - a vow::net::stream_interface with no
// socket behind it, for driving a stream layered on a transport (a
// tls_stream) byte by byte: whatever is deliver()ed is what the reads
// return, one deliver() per read_some (so the caller decides the
// segmentation), and writes go to on_write.
//
//   auto t = std::make_shared<vow::test::memory_transport>(r);
//   t->on_write = [&](std::string_view bytes) { sent += bytes; };
//   auto f = vow::net::tls_stream::accept(ctx, vow::net::stream(t));
//   t->deliver(client_hello);   // the next read_some resolves with it
//   t->deliver_eof();           // then read_some yields "" (end of stream)
//
// Only what a layered stream needs of its transport is real: read_some,
// read_some_into, write, shutdown, close and the getters. The other reads
// throw vow::usage_error (nothing here uses them), and io_options are
// ignored: a read waits until something is delivered, the transport ends,
// or it is closed. Writes complete at once (buffered_output() is 0).
//
// Thread safety: thread-bound to its reactor, like every stream.
#pragma once

#include <vow/error.hpp>
#include <vow/net/error.hpp>
#include <vow/net/stream.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>

#include <cerrno>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace vow::test {

class memory_transport final : public net::stream_interface {
public:
    explicit memory_transport(reactor& r) : r_(&r) {}

    // Called with the bytes of every write (a view valid for the call);
    // unset: they are swallowed.
    std::function<void(std::string_view)> on_write;
    // Called when the stream above shuts the transport down for writing.
    std::function<void()> on_shutdown;

    // What one read_some yields (ignored if empty, after the end, or once
    // closed).
    void deliver(std::string bytes) {
        if (bytes.empty() || ended_ || closed_)
            return;
        if (pending_) {
            auto p = std::exchange(pending_, std::nullopt);
            p->resolve(std::move(bytes));
        } else {
            queue_.push_back(std::move(bytes));
        }
    }
    // The end of stream, after what was delivered: reads then yield "".
    void deliver_eof() { end(nullptr); }
    // A reset, after what was delivered: reads then reject with
    // net::io_error (ECONNRESET).
    void deliver_reset() {
        end(std::make_exception_ptr(
            net::io_error(std::make_error_code(std::errc::connection_reset), "memory_transport: reset")));
    }

    [[nodiscard]] bool shut_down() const noexcept { return shut_; }
    [[nodiscard]] std::size_t bytes_written() const noexcept { return written_; }

    // ----------------------------------------- net::stream_interface

    future<std::string> read_some(net::io_options) override {
        if (pending_)
            throw usage_error("memory_transport::read_some: a read is already pending");
        if (closed_)
            return make_exception_future<std::string>(*r_, closed_error());
        if (!queue_.empty()) {
            std::string s = std::move(queue_.front());
            queue_.pop_front();
            return make_ready_future(*r_, std::move(s));
        }
        if (ended_)
            return end_error_ ? make_exception_future<std::string>(*r_, end_error_)
                              : make_ready_future(*r_, std::string());
        return pending_.emplace(*r_).get_future();
    }
    future<std::string> read_some_into(std::string, net::io_options o) override { return read_some(o); }
    future<std::string> read_exactly(std::size_t, net::io_options) override { unsupported("read_exactly"); }
    future<std::string> read_until(std::string_view, std::size_t, net::io_options) override {
        unsupported("read_until");
    }
    future<std::optional<std::string>> read_line(std::size_t, net::io_options) override { unsupported("read_line"); }

    future<void> write(std::string_view data, net::io_options) override {
        if (closed_)
            return make_exception_future<void>(*r_, closed_error());
        if (shut_)
            throw usage_error("memory_transport::write: shut down for writing");
        written_ += data.size();
        if (on_write && !data.empty())
            on_write(data);
        return make_ready_future(*r_);
    }
    future<void> shutdown(net::io_options) override {
        if (closed_)
            return make_exception_future<void>(*r_, closed_error());
        if (!shut_) {
            shut_ = true;
            if (on_shutdown)
                on_shutdown();
        }
        return make_ready_future(*r_);
    }
    void close() noexcept override {
        if (closed_)
            return;
        closed_ = true;
        queue_.clear();
        // A read cut short by close() rejects, as tcp_stream's does; not
        // while the reactor is being destroyed, when promises break quietly.
        if (pending_ && !r_->closing()) {
            auto p = std::exchange(pending_, std::nullopt);
            p->reject(closed_error());
        }
        pending_.reset();
    }

    bool is_open() const noexcept override { return !closed_; }
    bool at_eof() const noexcept override { return ended_ && queue_.empty(); }
    std::size_t buffered_input() const noexcept override {
        std::size_t n = 0;
        for (const auto& s : queue_)
            n += s.size();
        return n;
    }
    bool read_pending() const noexcept override { return pending_.has_value(); }
    std::size_t buffered_output() const noexcept override { return 0; }
    net::address local_address() const override { return {}; }
    net::address peer_address() const override { return {}; }
    reactor& get_reactor() const override { return *r_; }

private:
    void end(std::exception_ptr e) {
        if (ended_ || closed_)
            return;
        ended_ = true;
        end_error_ = e;
        if (pending_ && queue_.empty()) {
            auto p = std::exchange(pending_, std::nullopt);
            if (e)
                p->reject(e);
            else
                p->resolve(std::string());
        }
    }
    [[noreturn]] static void unsupported(const char* op) {
        throw usage_error(std::string("memory_transport::") + op + ": not supported (read_some only)");
    }
    static std::exception_ptr closed_error() {
        return std::make_exception_ptr(
            net::io_error(std::make_error_code(std::errc::operation_canceled), "memory_transport: closed"));
    }

    reactor* r_;
    std::deque<std::string> queue_;
    std::optional<promise<std::string>> pending_;
    std::exception_ptr end_error_;
    std::size_t written_ = 0;
    bool ended_ = false;
    bool closed_ = false;
    bool shut_ = false;
};

}  // namespace vow::test
