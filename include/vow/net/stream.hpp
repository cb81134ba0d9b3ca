/// @file
/// Any byte stream as futures: vow::net::stream and vow::net::stream_interface.
///
/// vow::net::stream is the one type the protocols above a transport take
/// (HTTP now, WebSocket next), and vow::net::stream_interface is what a
/// transport implements to be one.
///
/// A tcp_stream converts to a stream (sharing its connection, no allocation);
/// so does a TLS stream (`<vow/net/tls.hpp>`); a later transport (a Unix
/// socket, a WebSocket's connection) implements stream_interface and is one
/// too. docs/design.md, "Streams", says why this is a virtual interface behind
/// a handle rather than a concept and templates, and what it costs.
///
/// Every member means what tcp_stream's member of the same name means
/// (`<vow/net/tcp/stream.hpp>`): one read at a time, nothing lost by a read
/// that times out or is cancelled, end of stream not an error (read_some
/// yields "", read_line std::nullopt; read_exactly and read_until reject with
/// vow::net::incomplete_read), limit_error past a limit, io_options on every
/// wait. A transport that implements stream_interface promises the same.
///
/// Like tcp_stream, a stream is a handle: copies share one connection, which
/// closes when close() is called or the last copy (of the stream or of the
/// transport's own handle) is destroyed. Thread-bound to its reactor.
#pragma once

#include <vow/net/address.hpp>
#include <vow/net/io_options.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace vow::net {

/// What a transport implements. Callers use vow::net::stream, which checks
/// that it is not empty before it calls through.
///
/// Each member means what tcp_stream's member of the same name means, and a
/// transport promises the same behaviour (see the file description).
class stream_interface {
public:
    virtual ~stream_interface() = default;

    /// The next bytes available; "" at end of stream (tcp_stream::read_some).
    [[nodiscard]] virtual future<std::string> read_some(io_options opts) = 0;
    /// As read_some, into `storage` (tcp_stream::read_some_into).
    [[nodiscard]] virtual future<std::string> read_some_into(std::string storage, io_options opts) = 0;
    /// Exactly `n` bytes (tcp_stream::read_exactly).
    [[nodiscard]] virtual future<std::string> read_exactly(std::size_t n, io_options opts) = 0;
    /// Bytes up to and including the first `delimiter`, within `max_bytes`
    /// (tcp_stream::read_until).
    [[nodiscard]] virtual future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes,
                                                         io_options opts) = 0;
    /// The next line, at most `max` bytes; std::nullopt at end of stream
    /// (tcp_stream::read_line).
    [[nodiscard]] virtual future<std::optional<std::string>> read_line(std::size_t max, io_options opts) = 0;
    /// Sends `data` (tcp_stream::write).
    [[nodiscard]] virtual future<void> write(std::string_view data, io_options opts) = 0;
    /// Ends the sending side once queued output is flushed
    /// (tcp_stream::shutdown).
    [[nodiscard]] virtual future<void> shutdown(io_options opts) = 0;
    /// Closes at once; pending and later operations reject
    /// (tcp_stream::close).
    virtual void close() noexcept = 0;

    /// True until the stream is closed.
    [[nodiscard]] virtual bool is_open() const noexcept = 0;
    /// True once end of stream was seen and every byte before it was read.
    [[nodiscard]] virtual bool at_eof() const noexcept = 0;
    /// Bytes received and not yet read.
    [[nodiscard]] virtual std::size_t buffered_input() const noexcept = 0;
    /// True while a read waits for bytes (tcp_stream::read_pending).
    [[nodiscard]] virtual bool read_pending() const noexcept = 0;
    /// Bytes written and still queued in the stream's output buffer.
    [[nodiscard]] virtual std::size_t buffered_output() const noexcept = 0;
    /// This end's socket address.
    [[nodiscard]] virtual address local_address() const = 0;
    /// The peer's socket address.
    [[nodiscard]] virtual address peer_address() const = 0;
    /// The reactor the stream is bound to.
    [[nodiscard]] virtual reactor& get_reactor() const = 0;

protected:
    /// For derived classes.
    stream_interface() = default;
    /// For derived classes.
    stream_interface(const stream_interface&) = default;
    /// For derived classes.
    stream_interface& operator=(const stream_interface&) = default;
};

/// Any byte stream as futures: a handle over a stream_interface.
///
/// Copies share one connection. Each member means what tcp_stream's member
/// of the same name means (see the file description); on an empty stream the
/// operations throw vow::usage_error and the getters return false, 0 or an
/// empty address.
class stream {
public:
    /// An empty stream: is_open() is false and every operation throws
    /// vow::usage_error.
    stream() noexcept = default;
    /// A handle over the transport `impl` (shared with other handles).
    explicit stream(std::shared_ptr<stream_interface> impl) noexcept : impl_(std::move(impl)) {}

    /// The next bytes available; "" at end of stream (tcp_stream::read_some).
    [[nodiscard]] future<std::string> read_some(io_options opts = {}) {
        return need("read_some").read_some(std::move(opts));
    }
    /// As read_some, but into `storage`, which the future yields
    /// (tcp_stream::read_some_into).
    [[nodiscard]] future<std::string> read_some_into(std::string storage, io_options opts = {}) {
        return need("read_some_into").read_some_into(std::move(storage), std::move(opts));
    }
    /// Exactly `n` bytes (tcp_stream::read_exactly).
    [[nodiscard]] future<std::string> read_exactly(std::size_t n, io_options opts = {}) {
        return need("read_exactly").read_exactly(n, std::move(opts));
    }
    /// Bytes up to and including the first `delimiter`; limit_error past
    /// `max_bytes` (tcp_stream::read_until).
    [[nodiscard]] future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes,
                                                 io_options opts = {}) {
        return need("read_until").read_until(delimiter, max_bytes, std::move(opts));
    }
    /// The next line, without its line end, at most `max` bytes (default
    /// 64 KiB); std::nullopt at end of stream (tcp_stream::read_line).
    [[nodiscard]] future<std::optional<std::string>>
    read_line(std::size_t max = std::size_t{64} * 1024, io_options opts = {}) {
        return need("read_line").read_line(max, std::move(opts));
    }
    /// Sends `data` (tcp_stream::write).
    [[nodiscard]] future<void> write(std::string_view data, io_options opts = {}) {
        return need("write").write(data, std::move(opts));
    }
    /// Ends the sending side once queued output is flushed; reading goes on
    /// (tcp_stream::shutdown).
    [[nodiscard]] future<void> shutdown(io_options opts = {}) {
        return need("shutdown").shutdown(std::move(opts));
    }
    /// Closes the connection at once (tcp_stream::close); does nothing on an
    /// empty stream.
    void close() noexcept {
        if (impl_)
            impl_->close();
    }

    /// True if not empty and not closed.
    [[nodiscard]] bool is_open() const noexcept { return impl_ && impl_->is_open(); }
    /// True once end of stream was seen and every byte before it was read.
    [[nodiscard]] bool at_eof() const noexcept { return impl_ && impl_->at_eof(); }
    /// Bytes received and not yet read; 0 if empty.
    [[nodiscard]] std::size_t buffered_input() const noexcept { return impl_ ? impl_->buffered_input() : 0; }
    /// True while a read waits for bytes (tcp_stream::read_pending).
    [[nodiscard]] bool read_pending() const noexcept { return impl_ && impl_->read_pending(); }
    /// Bytes written and still queued in the stream's output buffer; 0 if
    /// empty.
    [[nodiscard]] std::size_t buffered_output() const noexcept { return impl_ ? impl_->buffered_output() : 0; }
    /// This end's socket address; an empty address if empty.
    [[nodiscard]] address local_address() const { return impl_ ? impl_->local_address() : address{}; }
    /// The peer's socket address; an empty address if empty.
    [[nodiscard]] address peer_address() const { return impl_ ? impl_->peer_address() : address{}; }
    /// The reactor the stream is bound to.
    /// Throws vow::usage_error on an empty stream.
    [[nodiscard]] reactor& get_reactor() const { return need("get_reactor").get_reactor(); }

    /// The transport itself, for what only it offers (a tcp_stream's
    /// native_handle, a TLS stream's certificate): nullptr if empty.
    [[nodiscard]] stream_interface* get() const noexcept { return impl_.get(); }
    /// The shared pointer to the transport (null if empty).
    [[nodiscard]] const std::shared_ptr<stream_interface>& shared() const noexcept { return impl_; }

    /// is_open().
    explicit operator bool() const noexcept { return is_open(); }

private:
    stream_interface& need(const char* op) const {
        if (!impl_)
            throw_empty(op);
        return *impl_;
    }
    [[noreturn]] static void throw_empty(const char* op);

    std::shared_ptr<stream_interface> impl_;
};

}  // namespace vow::net
