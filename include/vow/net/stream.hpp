// vow/net/stream.hpp - any byte stream as futures: vow::net::stream, the one
// type the protocols above a transport take (HTTP now, WebSocket next), and
// vow::net::stream_interface, what a transport implements to be one.
//
// A tcp_stream converts to a stream (sharing its connection, no allocation);
// so does a TLS stream (<vow/net/tls.hpp>); a later transport (a Unix socket,
// a WebSocket's connection) implements stream_interface and is one too.
// docs/design.md, "Streams", says why this is a virtual interface behind a
// handle rather than a concept and templates, and what it costs.
//
// Every member means what tcp_stream's member of the same name means
// (vow/net/tcp/stream.hpp): one read at a time, nothing lost by a read that
// times out or is cancelled, end of stream not an error (read_some yields
// "", read_line std::nullopt; read_exactly and read_until reject with
// vow::net::incomplete_read), limit_error past a limit, io_options on every
// wait. A transport that implements stream_interface promises the same.
//
// Like tcp_stream, a stream is a handle: copies share one connection, which
// closes when close() is called or the last copy (of the stream or of the
// transport's own handle) is destroyed. Thread-bound to its reactor.
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

// What a transport implements. Callers use vow::net::stream, which checks
// that it is not empty before it calls through.
class stream_interface {
public:
    virtual ~stream_interface() = default;

    [[nodiscard]] virtual future<std::string> read_some(io_options opts) = 0;
    [[nodiscard]] virtual future<std::string> read_some_into(std::string storage, io_options opts) = 0;
    [[nodiscard]] virtual future<std::string> read_exactly(std::size_t n, io_options opts) = 0;
    [[nodiscard]] virtual future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes,
                                                         io_options opts) = 0;
    [[nodiscard]] virtual future<std::optional<std::string>> read_line(std::size_t max, io_options opts) = 0;
    [[nodiscard]] virtual future<void> write(std::string_view data, io_options opts) = 0;
    [[nodiscard]] virtual future<void> shutdown(io_options opts) = 0;
    virtual void close() noexcept = 0;

    [[nodiscard]] virtual bool is_open() const noexcept = 0;
    [[nodiscard]] virtual bool at_eof() const noexcept = 0;
    [[nodiscard]] virtual std::size_t buffered_input() const noexcept = 0;
    [[nodiscard]] virtual bool read_pending() const noexcept = 0;
    [[nodiscard]] virtual std::size_t buffered_output() const noexcept = 0;
    [[nodiscard]] virtual address local_address() const = 0;
    [[nodiscard]] virtual address peer_address() const = 0;
    [[nodiscard]] virtual reactor& get_reactor() const = 0;

protected:
    stream_interface() = default;
    stream_interface(const stream_interface&) = default;
    stream_interface& operator=(const stream_interface&) = default;
};

class stream {
public:
    // An empty stream: is_open() is false and every operation throws
    // vow::usage_error.
    stream() noexcept = default;
    explicit stream(std::shared_ptr<stream_interface> impl) noexcept : impl_(std::move(impl)) {}

    [[nodiscard]] future<std::string> read_some(io_options opts = {}) { return need("read_some").read_some(opts); }
    [[nodiscard]] future<std::string> read_some_into(std::string storage, io_options opts = {}) {
        return need("read_some_into").read_some_into(std::move(storage), opts);
    }
    [[nodiscard]] future<std::string> read_exactly(std::size_t n, io_options opts = {}) {
        return need("read_exactly").read_exactly(n, opts);
    }
    [[nodiscard]] future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes,
                                                 io_options opts = {}) {
        return need("read_until").read_until(delimiter, max_bytes, opts);
    }
    [[nodiscard]] future<std::optional<std::string>> read_line(std::size_t max = 64 * 1024, io_options opts = {}) {
        return need("read_line").read_line(max, opts);
    }
    [[nodiscard]] future<void> write(std::string_view data, io_options opts = {}) {
        return need("write").write(data, opts);
    }
    [[nodiscard]] future<void> shutdown(io_options opts = {}) { return need("shutdown").shutdown(opts); }
    void close() noexcept {
        if (impl_)
            impl_->close();
    }

    [[nodiscard]] bool is_open() const noexcept { return impl_ && impl_->is_open(); }
    [[nodiscard]] bool at_eof() const noexcept { return impl_ && impl_->at_eof(); }
    [[nodiscard]] std::size_t buffered_input() const noexcept { return impl_ ? impl_->buffered_input() : 0; }
    [[nodiscard]] bool read_pending() const noexcept { return impl_ && impl_->read_pending(); }
    [[nodiscard]] std::size_t buffered_output() const noexcept { return impl_ ? impl_->buffered_output() : 0; }
    [[nodiscard]] address local_address() const { return impl_ ? impl_->local_address() : address{}; }
    [[nodiscard]] address peer_address() const { return impl_ ? impl_->peer_address() : address{}; }
    // Throws vow::usage_error on an empty stream.
    [[nodiscard]] reactor& get_reactor() const { return need("get_reactor").get_reactor(); }

    // The transport itself, for what only it offers (a tcp_stream's
    // native_handle, a TLS stream's certificate): nullptr if empty.
    [[nodiscard]] stream_interface* get() const noexcept { return impl_.get(); }
    [[nodiscard]] const std::shared_ptr<stream_interface>& shared() const noexcept { return impl_; }

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
