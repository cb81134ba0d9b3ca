// net/tls/buffered_reader.hpp - the reads of a stream whose bytes come in
// chunks from somewhere else: read_some, read_some_into, read_exactly,
// read_until and read_line, with tcp_stream's semantics
// (vow/net/tcp/stream.hpp), over a buffer that its owner fills.
//
// The owner (tls_stream now) pushes bytes as it gets them (decrypted
// records), says when the stream ended or failed, and is asked for more
// through `want_input` when a read waits or the read-ahead has room. The
// reader does the rest: one read at a time, nothing lost by a read that
// times out or is cancelled, end of stream, limit_error, incomplete_read,
// and the dropping of a too-long line through its '\n' (dropped bytes are
// never buffered).
//
// Its buffer (net/byte_buffer.hpp) and framing (net/read_framing.hpp) are
// tcp_stream's own. Meant to be hoisted to net/ (vow::net::detail) when a
// second transport needs it (a WebSocket's message stream, a decompressing
// body); tcp_stream keeps its own, which reads straight from the socket.
// Until then it lives here, header-only, under names of its own so that it
// cannot clash with libvow's internals.
//
// Thread safety: thread-bound to its reactor, like its owner.
#pragma once

#include "../read_framing.hpp"

#include <vow/error.hpp>
#include <vow/net/error.hpp>
#include <vow/net/io_options.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/reactor/reactor.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace vow::net::tls_detail {

class buffered_reader {
public:
    using kind = net::detail::read_kind;
    static constexpr std::size_t default_read_ahead_limit = std::size_t{64} * 1024;

    // `type_name` words the errors ("tls_stream": "vow::net::tls_stream::read_until: ...").
    // `want_input` is called when a read waits for bytes; it must not
    // settle anything inline (push from a later callback).
    buffered_reader(reactor& r, const char* type_name, std::function<void()> want_input,
                    std::size_t read_ahead_limit = default_read_ahead_limit)
        : r_(&r), type_(type_name), want_input_(std::move(want_input)), limit_(read_ahead_limit) {}
    buffered_reader(const buffered_reader&) = delete;
    buffered_reader& operator=(const buffered_reader&) = delete;

    // ------------------------------------------------------ the reads

    future<std::string> read_some(std::string storage, const io_options& o, const char* name) {
        return start<std::string>(kind::some, 0, {}, o, name, std::move(storage));
    }
    future<std::string> read_exactly(std::size_t n, const io_options& o) {
        return start<std::string>(kind::exactly, n, {}, o, "read_exactly");
    }
    future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes, const io_options& o) {
        if (delimiter.empty())
            throw invalid_argument(fmt::format("vow::net::{}::read_until: the delimiter is empty", type_));
        if (max_bytes < delimiter.size())
            throw invalid_argument(
                fmt::format("vow::net::{}::read_until: max_bytes ({}) is smaller than the delimiter ({} bytes)",
                            type_, max_bytes, delimiter.size()));
        return start<std::string>(kind::until, max_bytes, delimiter, o, "read_until");
    }
    future<std::optional<std::string>> read_line(std::size_t max, const io_options& o) {
        return start<std::optional<std::string>>(kind::line, max, {}, o, "read_line");
    }

    // ------------------------------------------------------ the owner

    // Bytes arrived: buffered (the start of a chunk that belongs to a
    // dropped line is skipped), and the pending read completed if it can.
    void push(const char* data, std::size_t size) {
        if (closed_ || failed_ || eof_)
            return;
        if (discarding_ && !net::detail::skip_dropped_line(data, size, discarding_))
            return;
        in_.append(data, size);
        if (rop_)
            finish_read();
    }
    // The clean end of the stream.
    void end() {
        if (closed_ || failed_ || eof_)
            return;
        eof_ = true;
        discarding_ = false;   // the too-long line ended with the stream
        if (rop_)
            finish_read();
    }
    // The stream failed: once the bytes buffered before it are read, every
    // read rejects with `error`.
    void fail(std::exception_ptr error) {
        if (closed_ || failed_)
            return;
        failed_ = std::move(error);
        discarding_ = false;
        if (rop_)
            finish_read();
    }
    // close(): the buffer is dropped; the pending read and every later one
    // reject with `error` (an io_error, operation_canceled).
    void close(std::exception_ptr error) noexcept {
        if (closed_)
            return;
        closed_ = std::move(error);
        in_.clear();
        if (rop_) {
            std::visit([&](auto& op) { op.reject(closed_); }, *rop_);
            rop_.reset();
        }
    }
    // The reactor is going: the pending read breaks quietly.
    void drop() noexcept { rop_.reset(); }

    // True if more input is wanted now: a read waits, or the read-ahead has
    // room, or a too-long line is being dropped.
    [[nodiscard]] bool wants_input() const noexcept {
        if (closed_ || failed_ || eof_)
            return false;
        return rop_.has_value() || discarding_ || in_.size() < limit_;
    }
    [[nodiscard]] bool pending() const noexcept { return rop_.has_value(); }
    [[nodiscard]] std::size_t buffered() const noexcept { return in_.size(); }
    [[nodiscard]] bool at_eof() const noexcept { return eof_ && in_.empty(); }
    [[nodiscard]] bool ended() const noexcept { return eof_ || failed_ || closed_; }

private:
    using read_result = net::detail::read_result;
    using pending_read = std::variant<pending_operation<std::string>, pending_operation<std::optional<std::string>>>;

    template <class T>
    static T value_as(read_result& res) {
        if constexpr (std::is_same_v<T, std::string>)
            return std::move(res.value);
        else if (res.end)
            return std::nullopt;
        else
            return T(std::move(res.value));
    }

    std::string op_name() const { return fmt::format("{}::{}", type_, name_); }

    template <class T>
    future<T> start(kind k, std::size_t n, std::string_view delim, const io_options& o, const char* name,
                    std::string storage = {}) {
        if (rop_)
            throw usage_error(fmt::format(
                "vow::net::{}::{}: another read is still pending; a stream allows one read at a time", type_, name));
        kind_ = k;
        n_ = n;
        if (k == kind::some)
            storage_ = std::move(storage);
        else
            delim_.assign(delim);
        scanned_ = 0;
        name_ = name;
        read_result res;
        if (try_complete(res)) {
            if (discarding_ && want_input_)
                want_input_();
            if (res.error)
                return make_exception_future<T>(*r_, std::move(res.error));
            return make_ready_future<T>(*r_, value_as<T>(res));
        }
        if (o.stop.stop_requested())
            return make_exception_future<T>(*r_, expired_error(expiry::cancelled, "net::" + op_name()));
        auto& op = rop_.emplace(std::in_place_type<pending_operation<T>>, *r_, std::source_location::current());
        future<T> f = std::get<pending_operation<T>>(op).get_future();
        std::get<pending_operation<T>>(op).arm(o.timeout, o.deadline, o.stop, [this](expiry why) {
            rop_.reset();
            return expired_error(why, "net::" + op_name());
        });
        if (want_input_)
            want_input_();
        return f;
    }

    bool has_storage() const noexcept { return storage_.capacity() > std::string().capacity(); }
    std::string take_some() {
        if (!has_storage())
            return in_.take_all();
        storage_.assign(in_.data(), in_.size());
        in_.clear();
        return std::move(storage_);
    }

    // The framing is net/read_framing.hpp's, shared with tcp_stream.
    bool try_complete(read_result& res) {
        switch (kind_) {
        case kind::some:
            if (!in_.empty()) {
                res.value = take_some();
                return true;
            }
            break;
        case kind::exactly:
            if (net::detail::frame_exactly(in_, n_, res))
                return true;
            break;
        case kind::line: {
            bool rest_to_drop = false;
            if (net::detail::frame_line(in_, n_, scanned_, res, type_, rest_to_drop)) {
                discarding_ = rest_to_drop && !eof_ && !failed_;
                return true;
            }
            break;
        }
        case kind::until:
            if (net::detail::frame_until(in_, delim_, n_, scanned_, res, type_))
                return true;
            break;
        }
        if (closed_) {
            res.error = closed_;
            return true;
        }
        if (failed_) {
            res.error = failed_;
            return true;
        }
        if (eof_) {
            net::detail::frame_at_end(in_, kind_, n_, res, type_, name_);
            return true;
        }
        return false;
    }

    void finish_read() {
        if (!rop_)  // every caller checks first
            return;
        read_result res;
        if (!try_complete(res))
            return;
        std::visit(
            [&]<class T>(pending_operation<T>& op) {
                if (res.error)
                    op.reject(std::move(res.error));
                else
                    op.resolve(value_as<T>(res));
            },
            *rop_);
        rop_.reset();
    }

    reactor* r_;
    const char* type_;
    std::function<void()> want_input_;
    std::size_t limit_;
    net::detail::byte_buffer in_;
    kind kind_ = kind::some;
    std::size_t n_ = 0;
    std::string delim_;
    std::string storage_;
    std::size_t scanned_ = 0;
    const char* name_ = "read_some";
    bool eof_ = false;
    bool discarding_ = false;
    std::exception_ptr failed_;
    std::exception_ptr closed_;
    std::optional<pending_read> rop_;
};

}  // namespace vow::net::tls_detail
