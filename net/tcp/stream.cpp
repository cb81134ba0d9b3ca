// vow::net TCP streams on raw non-blocking sockets and the reactor's
// vow::fd_watcher (not libevent's bufferevents).
//
// Why not bufferevents: they read at most 4 KiB per call, ask FIONREAD
// before each read, and re-arm events around every operation - about five
// syscalls per request/response. Here a stream keeps its watcher started
// for reading while it is open (level-triggered, so a request/response
// costs epoll_wait, recv and send), reads each chunk into the reactor's
// 64 KiB scratch buffer, and writes through: send at once, and only on
// EAGAIN queue the rest and watch for writability. Each pending read, write
// and shutdown is a vow::pending_operation: its deadline and stop token end
// it through the same path.
//
// send_file rides the same watcher: once the queued output is flushed, the
// writable events go to sendfile(2) from the file's descriptor (a dup the
// transfer owns) until the file's region is in the kernel.
#include "../net_internal.hpp"
#include "../read_framing.hpp"

#include <vow/fs/file.hpp>
#include <vow/net/tcp/stream.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/reactor/fd_watcher.hpp>

#include <fmt/chrono.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <list>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <source_location>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <type_traits>
#include <unistd.h>
#include <variant>
#include <vector>

namespace vow::net::detail {

std::exception_ptr make_expired(expiry why, std::string_view operation) {
    return expired_error(why, fmt::format("net::{}", operation));
}
std::exception_ptr make_closed(std::string_view operation) {
    return make_io_error(ECANCELED, fmt::format("vow::net::{}: the stream was closed", operation));
}

namespace {

void set_nodelay_fd(int fd, bool on) {
    int v = on ? 1 : 0;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// The most one writable event hands to sendfile(2) before the loop turns
// (nginx's sendfile_max_chunk): a fast reader on loopback could otherwise
// keep one transfer going for the whole file while every other stream waits.
// The watcher is level-triggered, so the next turn goes on at once.
constexpr std::uint64_t send_file_burst = std::uint64_t{2} << 20;

// A send_file in progress: the region still to send, from a descriptor of
// its own (a dup, so the caller may close the file meanwhile), and the
// future's promise.
struct file_send {
    file_send(reactor& r, int fd_, std::uint64_t offset_, std::uint64_t length, std::string path_)
        : fd(fd_), offset(offset_), remaining(length), path(std::move(path_)), op(r, std::source_location::current()) {}
    ~file_send() { ::close(fd); }
    file_send(const file_send&) = delete;
    file_send& operator=(const file_send&) = delete;

    int fd;
    std::uint64_t offset;
    std::uint64_t remaining;
    std::uint64_t sent = 0;
    std::string path;
    pending_operation<std::uint64_t> op;
};

}  // namespace

// ---------------------------------------------------------------- streams

class stream_impl final : public net_object, public stream_interface {
public:
    // Throws vow::reactor_error if the reactor cannot watch `fd`.
    stream_impl(reactor& r, int fd, const stream_options& o)
        : r_(&r), fd_(fd), opts_(o), io_(r, fd, "tcp_stream callback", fd_watcher::bind<&stream_impl::on_io>(this)) {
        io_.start(io_events::readable);   // first: a throw leaves nothing registered
        svc_ = &net_service::of(r);
        svc_->add(this);
        if (o.nodelay)
            set_nodelay_fd(fd, true);
    }
    ~stream_impl() override { close_now(); }

    void teardown() noexcept override {
        // The reactor is going: stop watching, close the fd, and let the
        // promises break quietly (reactor::closing() is true).
        svc_ = nullptr;
        release_fd();
        drop_ops();
    }

    reactor& get_reactor() const noexcept override { return *r_; }
    bool is_open() const noexcept override { return fd_ >= 0; }
    int fd() const noexcept { return fd_; }
    bool at_eof() const noexcept override { return eof_ && in_.empty(); }
    std::size_t buffered_input() const noexcept override { return in_.size(); }
    bool read_pending() const noexcept override { return rop_.has_value(); }
    std::size_t buffered_output() const noexcept override { return out_.size(); }
    address local_address() const override { return local(); }
    address peer_address() const override { return peer(); }

    // ------------------------------------ vow::net::stream_interface
    // What tcp_stream's members and a vow::net::stream made of one call:
    // the thread check (docs/design.md, "Threading"), then the operation.

    future<std::string> read_some(io_options o) override {
        bound("net::tcp_stream::read_some");
        return start_read<std::string>(read_kind::some, 0, {}, o, "read_some");
    }
    future<std::string> read_some_into(std::string storage, io_options o) override {
        bound("net::tcp_stream::read_some_into");
        return start_read<std::string>(read_kind::some, 0, {}, o, "read_some_into", std::move(storage));
    }
    future<std::string> read_exactly(std::size_t n, io_options o) override {
        bound("net::tcp_stream::read_exactly");
        return start_read<std::string>(read_kind::exactly, n, {}, o, "read_exactly");
    }
    future<std::string> read_until(std::string_view delimiter, std::size_t max_bytes, io_options o) override {
        bound("net::tcp_stream::read_until");
        if (delimiter.empty())
            throw invalid_argument("vow::net::tcp_stream::read_until: the delimiter is empty");
        if (max_bytes < delimiter.size())
            throw invalid_argument(fmt::format(
                "vow::net::tcp_stream::read_until: max_bytes ({}) is smaller than the delimiter ({} bytes)",
                max_bytes, delimiter.size()));
        return start_read<std::string>(read_kind::until, max_bytes, delimiter, o, "read_until");
    }
    future<std::optional<std::string>> read_line(std::size_t max, io_options o) override {
        bound("net::tcp_stream::read_line");
        return start_read<std::optional<std::string>>(read_kind::line, max, {}, o, "read_line");
    }
    future<void> write(std::string_view data, io_options o) override {
        bound("net::tcp_stream::write");
        return send_data(data, o);
    }
    future<void> shutdown(io_options o) override {
        bound("net::tcp_stream::shutdown");
        return start_shutdown(o);
    }
    void close() noexcept override {
        // A closed stream touches nothing of its reactor, which may be gone.
        if (is_open())
            vow::detail::check_thread(*r_, "net::tcp_stream::close");
        close_now();
    }
    // Kept in 32 bytes rather than an address's 136: every accepted stream
    // holds its peer for its whole life (see the members).
    void set_peer(const address& a) noexcept {
        if (a.native_size() <= sizeof peer_) {
            std::memcpy(&peer_, a.native(), a.native_size());
            peer_len_ = a.native_size();
        }
    }
    const stream_options& options() const noexcept { return opts_; }
    stream_options& options() noexcept { return opts_; }

    address peer() const {
        if (peer_len_ != 0)
            return address::from_native(reinterpret_cast<const sockaddr*>(&peer_), peer_len_);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (fd_ < 0 || ::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
            return {};
        return address::from_native(reinterpret_cast<sockaddr*>(&ss), len);
    }
    address local() const {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
            return {};
        return address::from_native(reinterpret_cast<sockaddr*>(&ss), len);
    }

    // ------------------------------------------------------------ reads

    // T is std::string for read_some, read_exactly and read_until, and
    // std::optional<std::string> for read_line (std::nullopt: the end).
    template <class T>
    future<T> start_read(read_kind kind, std::size_t n, std::string_view delim, const io_options& o,
                         const char* name, std::string storage = {}) {
        static_assert(std::is_same_v<T, std::string> || std::is_same_v<T, std::optional<std::string>>);
        if (rop_)
            throw usage_error(fmt::format(
                "vow::net::tcp_stream::{}: another read is still pending; a stream allows one read at a time",
                name));
        spec_.kind = kind;
        spec_.n = n;
        if (kind == read_kind::some)
            spec_.storage() = std::move(storage);
        else
            spec_.delim.assign(delim);
        spec_.scanned = 0;
        spec_.name = name;
        read_result res;
        if (try_complete(res)) {
            if (discarding_)
                resume_reading();
            if (res.error)
                return make_exception_future<T>(*r_, std::move(res.error));
            return make_ready_future<T>(*r_, value_as<T>(res));
        }
        if (o.stop.stop_requested())
            return make_exception_future<T>(*r_, make_cancelled(op_name(name)));
        resume_reading();
        if (error_)   // the reactor could not watch the socket: the stream failed
            return make_exception_future<T>(*r_, io_failure("read from"));
        auto& op = rop_.emplace(std::in_place_type<pending_operation<T>>, *r_, std::source_location::current());
        future<T> f = std::get<pending_operation<T>>(op).get_future();
        std::get<pending_operation<T>>(op).arm(o.timeout, o.deadline, o.stop, [this](expiry why) {
            rop_.reset();
            return make_expired(why, op_name(spec_.name));
        });
        return f;
    }

    // ----------------------------------------------------------- writes

    future<void> send_data(std::string_view data, const io_options& o) {
        if (fd_ < 0)
            return make_exception_future<void>(*r_, make_closed("tcp_stream::write"));
        if (shut_requested_)
            throw usage_error("vow::net::tcp_stream::write: the stream was shut down for writing");
        if (sf_)
            throw_sending_file("write");
        if (error_)
            return make_exception_future<void>(*r_, io_failure("write to"));
        if (out_.size() + data.size() > opts_.max_write_buffer)
            return make_exception_future<void>(*r_, std::make_exception_ptr(limit_error(fmt::format(
                "vow::net::tcp_stream::write: {} bytes already queued plus {} new would pass the stream's "
                "max_write_buffer of {} bytes; wait for write() futures before writing more, or raise the "
                "limit with set_write_limits",
                out_.size(), data.size(), opts_.max_write_buffer))));
        if (data.empty() && out_.size() <= opts_.high_water)
            return make_ready_future(*r_);
        if (out_.empty()) {
            ssize_t n;
            do
                n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            while (n < 0 && errno == EINTR);
            if (n < 0) {
                if (!would_block(errno)) {
                    fail_io(errno);
                    return make_exception_future<void>(*r_, io_failure("write to"));
                }
                n = 0;
            }
            data.remove_prefix(static_cast<std::size_t>(n));
            if (data.empty())
                return make_ready_future(*r_);
        }
        out_.append(data.data(), data.size());
        resume_writing();
        if (error_)   // the reactor could not watch the socket: the stream failed
            return make_exception_future<void>(*r_, io_failure("write to"));
        if (out_.size() <= opts_.high_water)
            return make_ready_future(*r_);
        if (o.stop.stop_requested())
            return make_exception_future<void>(*r_, make_cancelled("tcp_stream::write"));
        auto& w = waiters_.emplace_back(*r_, std::source_location::current());
        auto it = std::prev(waiters_.end());
        future<void> f = w.get_future();
        w.arm(o.timeout, o.deadline, o.stop, [this, it](expiry why) {
            waiters_.erase(it);
            return make_expired(why, "tcp_stream::write");
        });
        return f;
    }

    future<void> start_shutdown(const io_options& o) {
        if (fd_ < 0)
            return make_exception_future<void>(*r_, make_closed("tcp_stream::shutdown"));
        if (shut_requested_)
            throw usage_error("vow::net::tcp_stream::shutdown: already shut down");
        if (sf_)
            throw_sending_file("shutdown");
        if (error_)
            return make_exception_future<void>(*r_, io_failure("shutdown of"));
        shut_requested_ = true;
        if (out_.empty()) {
            do_shutdown();
            if (error_)
                return make_exception_future<void>(*r_, io_failure("shutdown of"));
            return make_ready_future(*r_);
        }
        if (o.stop.stop_requested())
            return make_exception_future<void>(*r_, make_cancelled("tcp_stream::shutdown"));
        shut_ = std::make_unique<pending_operation<void>>(*r_, std::source_location::current());
        future<void> f = shut_->get_future();
        shut_->arm(o.timeout, o.deadline, o.stop, [this](expiry why) {
            shut_.reset();
            return make_expired(why, "tcp_stream::shutdown");
        });
        return f;
    }

    // ------------------------------------------------------- send_file

    future<std::uint64_t> send_file(const fs::file& f, std::uint64_t offset, std::uint64_t length,
                                    const io_options& o) {
        using result = std::uint64_t;
        if (!f.is_open())
            throw usage_error("vow::net::tcp_stream::send_file: the file is not open (closed, moved from, or "
                              "never opened)");
        if (fd_ < 0)
            return make_exception_future<result>(*r_, make_closed("tcp_stream::send_file"));
        if (shut_requested_)
            throw usage_error("vow::net::tcp_stream::send_file: the stream was shut down for writing");
        if (sf_)
            throw_sending_file("send_file");
        if (error_)
            return make_exception_future<result>(*r_, io_failure("send a file to"));
        if (o.stop.stop_requested())
            return make_exception_future<result>(*r_, make_cancelled("tcp_stream::send_file"));
        // fstat(2) of an open file reads no data: cheap on the loop, and it
        // lets a region the file does not have fail before a byte is sent.
        struct ::stat st {};
        if (::fstat(f.native_handle(), &st) != 0)
            return make_exception_future<result>(
                *r_, make_io_error(errno, fmt::format("vow::net::tcp_stream::send_file: fstat of '{}'", f.path())));
        if (!S_ISREG(st.st_mode))
            throw invalid_argument(
                fmt::format("vow::net::tcp_stream::send_file: '{}' is not a regular file", f.path()));
        const auto size = static_cast<std::uint64_t>(st.st_size);
        if (offset > size || length > size - offset)
            return make_exception_future<result>(*r_, make_io_error(ENODATA, fmt::format(
                "vow::net::tcp_stream::send_file: '{}' has {} bytes, fewer than offset {} + length {}; "
                "nothing was sent", f.path(), size, offset, length)));
        if (length == 0)
            return make_ready_future<result>(*r_, 0);
        int dup_fd = ::fcntl(f.native_handle(), F_DUPFD_CLOEXEC, 0);
        if (dup_fd < 0)
            return make_exception_future<result>(
                *r_, make_io_error(errno, fmt::format("vow::net::tcp_stream::send_file: dup of '{}'", f.path())));
        sf_ = std::make_unique<file_send>(*r_, dup_fd, offset, length, f.path());
        future<result> fut = sf_->op.get_future();
        // The bytes written before go first: the file follows once out_ is
        // flushed (on_writable), or now if nothing is queued.
        if (out_.empty() && pump_file())
            return fut;
        resume_writing();   // on failure: fail_io, which ends the transfer
        if (sf_)
            sf_->op.arm(o.timeout, o.deadline, o.stop, [this](expiry why) {
                auto e = make_expired(why, "tcp_stream::send_file");
                sf_.reset();
                close_now();   // the peer may have part of the region: the stream is unusable
                return e;
            });
        return fut;
    }

    void close_now() noexcept {
        net_service::remove_from_owner(this);
        svc_ = nullptr;
        if (fd_ < 0 && !rop_ && waiters_.empty() && !shut_ && !sf_)
            return;
        release_fd();
        if (rop_)
            fail_read(make_closed(op_name(spec_.name)));
        while (!waiters_.empty())
            fail_waiter(waiters_.begin(), make_closed("tcp_stream::write"));
        if (shut_)
            fail_shutdown(make_closed("tcp_stream::shutdown"));
        if (sf_)
            std::exchange(sf_, nullptr)->op.reject(make_closed("tcp_stream::send_file"));
        in_.clear();
        out_.clear();
    }

    void set_nodelay(bool on) {
        opts_.nodelay = on;
        if (fd_ >= 0)
            set_nodelay_fd(fd_, on);
    }

private:
    void bound(const char* function) const { vow::detail::check_thread(*r_, function); }

    [[noreturn]] static void throw_sending_file(const char* op) {
        throw usage_error(fmt::format("vow::net::tcp_stream::{}: a send_file is still running on this stream; "
                                      "wait for its future first",
                                      op));
    }

    struct read_spec {
        read_kind kind = read_kind::some;
        std::size_t n = 0;        // exactly: count; until: max_bytes; line: max
        // until: the delimiter. some: the storage read_some_into was given
        // (empty for read_some), which the value is built in. One member for
        // both, so a stream is no larger for the second.
        std::string delim;
        std::string& storage() noexcept { return delim; }
        std::size_t scanned = 0;  // until, line: bytes searched without a match
        const char* name = "read_some";
    };
    template <class T>
    static T value_as(read_result& res) {
        if constexpr (std::is_same_v<T, std::string>)
            return std::move(res.value);
        else if (res.end)
            return std::nullopt;
        else
            return T(std::move(res.value));
    }
    // The pending read: read_line's future has its own type. The
    // alternative is fixed when the read starts, so settling it costs one
    // index test, and the byte-moving paths are the same for every kind.
    using pending_read = std::variant<pending_operation<std::string>, pending_operation<std::optional<std::string>>>;

    static std::string op_name(const char* name) { return fmt::format("tcp_stream::{}", name); }

    std::exception_ptr io_failure(std::string_view verb) const {
        auto peer_addr = peer();
        std::string what = peer_addr.empty() ? fmt::format("vow::net::tcp_stream: {} peer", verb)
                                             : fmt::format("vow::net::tcp_stream: {} {}", verb, peer_addr);
        return make_io_error(error_, what);
    }

    // Completes spec_ from the buffer, end of stream or error if it can
    // (the framing is net/read_framing.hpp's, shared with vow-tls).
    bool try_complete(read_result& res) {
        switch (spec_.kind) {
        case read_kind::some:
            if (!in_.empty()) {
                if (has_storage()) {
                    res.value = take_some(in_.data(), in_.size());
                    in_.clear();   // the buffer keeps its storage too
                } else {
                    res.value = in_.take_all();   // hands the buffer's storage over
                }
                return true;
            }
            break;
        case read_kind::exactly:
            if (frame_exactly(in_, spec_.n, res))
                return true;
            break;
        case read_kind::line: {
            bool rest_to_drop = false;
            if (frame_line(in_, spec_.n, spec_.scanned, res, "tcp_stream", rest_to_drop)) {
                // The read that found the line too long resumes reading once
                // it has settled, if the read-ahead had paused it: dropping
                // needs no room.
                discarding_ = rest_to_drop && !eof_;
                return true;
            }
            break;
        }
        case read_kind::until:
            if (frame_until(in_, spec_.delim, spec_.n, spec_.scanned, res, "tcp_stream"))
                return true;
            break;
        }
        // Closed first: after close() the stream reports that, not the end
        // of stream or socket error it may have seen before.
        if (fd_ < 0) {
            res.error = make_closed(op_name(spec_.name));
            return true;
        }
        if (error_) {
            res.error = io_failure("read from");
            return true;
        }
        if (eof_) {
            frame_at_end(in_, spec_.kind, spec_.n, res, "tcp_stream", spec_.name);
            return true;
        }
        return false;
    }

    // read_some's value: the bytes, in the caller's storage if it gave one
    // (read_some_into: no allocation while they fit its capacity), else in
    // a new string.
    // The least room a read_some_into's storage needs to be read into
    // directly (below it, a read through the 64 KiB scratch buffer may
    // take more in one call).
    static constexpr std::size_t direct_read_min = 4096;
    bool has_storage() noexcept { return spec_.storage().capacity() > std::string().capacity(); }
    std::string take_some(const char* data, std::size_t size) {
        if (!has_storage())
            return std::string(data, size);
        std::string& s = spec_.storage();
        s.assign(data, size);
        return std::move(s);
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
        if (discarding_)
            resume_reading();
    }

    void fail_read(std::exception_ptr e) {
        if (!rop_)
            return;
        std::visit([&](auto& op) { op.reject(std::move(e)); }, *rop_);
        rop_.reset();
    }

    void fail_waiter(std::list<pending_operation<void>>::iterator it, std::exception_ptr e) {
        it->reject(std::move(e));
        waiters_.erase(it);
    }

    void fail_shutdown(std::exception_ptr e) {
        if (!shut_)
            return;
        shut_->reject(std::move(e));
        shut_.reset();
    }

    // A refusal to watch the socket (epoll_ctl: out of memory, a descriptor
    // closed behind the stream's back) fails the stream as a socket error
    // would. Never called while a read is being completed.
    void resume_reading() {
        if (fd_ >= 0 && !eof_ && !error_ && !has(io_.events(), io_events::readable))
            if (int err = io_.try_start(io_.events() | io_events::readable))
                fail_io(err);
    }
    void pause_reading() noexcept { io_.stop(io_events::readable); }
    void resume_writing() {
        if (fd_ >= 0 && !has(io_.events(), io_events::writable))
            if (int err = io_.try_start(io_.events() | io_events::writable))
                fail_io(err);
    }
    void pause_writing() noexcept { io_.stop(io_events::writable); }

    // The watcher's callback: one event per call.
    void on_io(io_events ready) {
        if (has(ready, io_events::readable))
            on_readable();
        else
            on_writable();
    }

    void on_readable() {
        if (!rop_ && in_.size() >= opts_.read_ahead_limit) {
            pause_reading();   // nobody reads: let the kernel's window push back
            return;
        }
        // A read_some_into waiting with room of its own is read straight
        // into: the bytes are copied once, by the kernel.
        if (rop_ && spec_.kind == read_kind::some && in_.empty() && !discarding_ &&
            spec_.storage().capacity() >= direct_read_min) {
            std::string& s = spec_.storage();
            s.resize(s.capacity());   // fills only what was past its size
            ssize_t n = ::recv(fd_, s.data(), s.size(), 0);
            if (n > 0) {
                s.resize(static_cast<std::size_t>(n));
                std::get<pending_operation<std::string>>(*rop_).resolve(std::move(s));
                rop_.reset();
                return;
            }
            s.clear();
            if (n < 0 && (errno == EINTR || would_block(errno)))
                return;
            if (n < 0) {
                fail_io(errno);
                return;
            }
            eof_ = true;
            pause_reading();
            finish_read();
            return;
        }
        char* buf = svc_ ? svc_->scratch() : nullptr;
        if (!buf)
            return;
        ssize_t n = ::recv(fd_, buf, net_service::scratch_size, 0);
        if (n > 0) {
            const char* data = buf;
            auto size = static_cast<std::size_t>(n);
            // The rest of a line read_line found too long is dropped as it
            // arrives, whatever read is pending (or none): it is never
            // buffered, so an endless line costs no memory.
            if (discarding_ && !skip_dropped_line(data, size, discarding_))
                return;
            if (rop_ && spec_.kind == read_kind::some && in_.empty()) {
                std::get<pending_operation<std::string>>(*rop_).resolve(take_some(data, size));
                rop_.reset();
                return;
            }
            in_.append(data, size);
        } else if (n == 0) {
            eof_ = true;
            discarding_ = false;   // the too-long line ended with the stream
            pause_reading();
        } else {
            if (errno == EINTR || would_block(errno))
                return;
            fail_io(errno);
            return;
        }
        if (rop_)
            finish_read();
    }

    void on_writable() {
        if (!out_.empty()) {
            ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR || would_block(errno))
                    return;
                fail_io(errno);
                return;
            }
            out_.consume(static_cast<std::size_t>(n));
            if (out_.size() <= opts_.high_water) {
                while (!waiters_.empty()) {
                    waiters_.front().resolve();
                    waiters_.pop_front();
                }
            }
            if (!out_.empty())
                return;
        }
        // A send_file waits for the queued output, then takes the events.
        if (sf_ && !pump_file())
            return;
        if (fd_ < 0 || error_)   // the file's transfer failed and closed the stream
            return;
        pause_writing();
        if (shut_requested_)
            do_shutdown();
    }

    // Hands the file to the socket until its region is all in the kernel,
    // the socket's buffer is full (the watcher says when it has room), or
    // one burst was sent this turn. True when the transfer has ended: its
    // future is settled and sf_ is empty. A file that ends before the
    // region does (it shrank since send_file began) or a socket error fails
    // it, and closes the stream: the peer has part of the region.
    bool pump_file() {
        file_send& sf = *sf_;
        std::uint64_t burst = 0;
        while (sf.remaining > 0) {
            if (burst >= send_file_burst)
                return false;
            auto off = static_cast<off_t>(sf.offset);
            auto want = static_cast<std::size_t>(std::min(sf.remaining, send_file_burst));
            ssize_t n = ::sendfile(fd_, sf.fd, &off, want);
            if (n > 0) {
                auto got = static_cast<std::uint64_t>(n);
                sf.offset += got;
                sf.remaining -= got;
                sf.sent += got;
                burst += got;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && would_block(errno))
                return false;
            std::exception_ptr e;
            if (n == 0)
                e = make_io_error(ENODATA, fmt::format("vow::net::tcp_stream::send_file: '{}' ended {} bytes "
                                                       "early (it shrank while being sent); the stream was "
                                                       "closed after {} bytes",
                                                       sf.path, sf.remaining, sf.sent));
            else {
                error_ = errno;
                e = io_failure("send a file to");
            }
            std::exchange(sf_, nullptr)->op.reject(std::move(e));
            if (error_)
                fail_io(error_);
            close_now();
            return true;
        }
        std::exchange(sf_, nullptr)->op.resolve(sf.sent);
        return true;
    }

    void do_shutdown() {
        if (fd_ >= 0 && ::shutdown(fd_, SHUT_WR) != 0 && errno != ENOTCONN)
            error_ = errno;
        if (shut_) {
            if (error_)
                shut_->reject(io_failure("shutdown of"));
            else
                shut_->resolve();
            shut_.reset();
        }
    }

    // A socket error: the stream is done for; everything waiting rejects.
    void fail_io(int err) {
        error_ = err;
        pause_reading();
        pause_writing();
        out_.clear();
        if (rop_)
            finish_read();
        while (!waiters_.empty())
            fail_waiter(waiters_.begin(), io_failure("write to"));
        if (shut_)
            fail_shutdown(io_failure("shutdown of"));
        if (sf_) {
            // A socket error mid-file (a reset peer): the transfer fails and
            // the stream closes, as for any end of a send_file but success.
            std::exchange(sf_, nullptr)->op.reject(io_failure("send a file to"));
            close_now();
        }
    }

    void release_fd() noexcept {
        if (fd_ < 0)
            return;
        pause_reading();
        pause_writing();
        ::close(fd_);
        fd_ = -1;
    }

    // Teardown: promises are destroyed unsettled (broken quietly).
    void drop_ops() noexcept {
        rop_.reset();
        waiters_.clear();
        shut_.reset();
        sf_.reset();
    }

    reactor* r_;
    int fd_;
    stream_options opts_;
    net_service* svc_ = nullptr;
    fd_watcher io_;
    bool eof_ = false;
    bool shut_requested_ = false;
    bool discarding_ = false;   // dropping the rest of a too-long line, through its '\n'
    int error_ = 0;
    byte_buffer in_;
    byte_buffer out_;
    read_spec spec_;
    std::optional<pending_read> rop_;
    std::list<pending_operation<void>> waiters_;
    // Idle connections are what a server holds most of, so what only some
    // streams need is kept small: a pending shutdown on the heap, and the
    // peer's address (set on accept, so peer_address() needs no syscall and
    // still answers after the peer has gone) in a sockaddr_in6, which holds
    // an IPv4 address too. 10,000 idle connections: see bench/RESULTS.md.
    std::unique_ptr<pending_operation<void>> shut_;
    std::unique_ptr<file_send> sf_;   // a send_file in progress
    sockaddr_in6 peer_{};
    socklen_t peer_len_ = 0;
};

struct stream_access {
    static tcp_stream wrap(std::shared_ptr<stream_impl> impl) noexcept { return tcp_stream(std::move(impl)); }
};

tcp_stream make_stream(reactor& r, int fd, const stream_options& opts, const address* peer) {
    try {
        auto impl = std::make_shared<stream_impl>(r, fd, opts);
        if (peer)
            impl->set_peer(*peer);
        return stream_access::wrap(std::move(impl));
    } catch (...) {
        ::close(fd);
        throw;
    }
}

}  // namespace vow::net::detail

namespace vow::net {

using detail::stream_impl;

namespace {

stream_impl& need(const std::shared_ptr<stream_impl>& impl, const char* op) {
    if (!impl)
        throw usage_error(fmt::format("vow::net::tcp_stream::{}: the stream is empty (default-constructed "
                                      "or moved from)",
                                      op));
    return *impl;
}

// need() and the thread check (docs/design.md, "Threading") of the members
// that act on the stream; the getters are not checked. `function` is the
// full name for the check's message.
stream_impl& bound(const std::shared_ptr<stream_impl>& impl, const char* op, const char* function) {
    stream_impl& s = need(impl, op);
    vow::detail::check_thread(s.get_reactor(), function);
    return s;
}

}  // namespace

tcp_stream tcp_stream::adopt(reactor& r, int fd, stream_options opts) {
    vow::detail::check_thread(r, "net::tcp_stream::adopt");
    if (fd < 0)
        throw invalid_argument(fmt::format("vow::net::tcp_stream::adopt: bad file descriptor {}", fd));
    if (opts.max_write_buffer == 0 || opts.high_water > opts.max_write_buffer) {
        ::close(fd);
        throw invalid_argument("vow::net::tcp_stream::adopt: stream_options need 0 < high_water <= "
                               "max_write_buffer");
    }
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int err = errno;
        ::close(fd);
        throw io_error(std::error_code(err, std::generic_category()),
                       "vow::net::tcp_stream::adopt: cannot make the socket non-blocking");
    }
    return detail::make_stream(r, fd, opts, nullptr);
}

// The operations are stream_impl's overrides of stream_interface (final:
// these calls are direct), which check the thread.
future<std::string> tcp_stream::read_some(io_options opts) {
    return need(impl_, "read_some").read_some(std::move(opts));
}

future<std::string> tcp_stream::read_some_into(std::string storage, io_options opts) {
    return need(impl_, "read_some_into").read_some_into(std::move(storage), std::move(opts));
}

future<std::string> tcp_stream::read_exactly(std::size_t n, io_options opts) {
    return need(impl_, "read_exactly").read_exactly(n, std::move(opts));
}

future<std::string> tcp_stream::read_until(std::string_view delimiter, std::size_t max_bytes, io_options opts) {
    return need(impl_, "read_until").read_until(delimiter, max_bytes, std::move(opts));
}

future<std::optional<std::string>> tcp_stream::read_line(std::size_t max, io_options opts) {
    return need(impl_, "read_line").read_line(max, std::move(opts));
}

future<void> tcp_stream::write(std::string_view data, io_options opts) {
    return need(impl_, "write").write(data, std::move(opts));
}

future<void> tcp_stream::shutdown(io_options opts) {
    return need(impl_, "shutdown").shutdown(std::move(opts));
}

future<std::uint64_t> tcp_stream::send_file(const fs::file& f, std::uint64_t offset,
                                            std::uint64_t length, const io_options& opts) {
    return bound(impl_, "send_file", "net::tcp_stream::send_file").send_file(f, offset, length, opts);
}

void tcp_stream::close() noexcept {
    if (impl_)
        impl_->close();
}

tcp_stream::operator stream() const noexcept { return stream(std::shared_ptr<stream_interface>(impl_)); }

bool tcp_stream::is_open() const noexcept { return impl_ && impl_->is_open(); }
bool tcp_stream::at_eof() const noexcept { return impl_ && impl_->at_eof(); }
std::size_t tcp_stream::buffered_input() const noexcept { return impl_ ? impl_->buffered_input() : 0; }
bool tcp_stream::read_pending() const noexcept { return impl_ && impl_->read_pending(); }
std::size_t tcp_stream::buffered_output() const noexcept { return impl_ ? impl_->buffered_output() : 0; }
address tcp_stream::local_address() const { return impl_ ? impl_->local() : address{}; }
address tcp_stream::peer_address() const { return impl_ ? impl_->peer() : address{}; }
int tcp_stream::native_handle() const noexcept { return impl_ ? impl_->fd() : -1; }
reactor& tcp_stream::get_reactor() const { return need(impl_, "get_reactor").get_reactor(); }
void tcp_stream::set_nodelay(bool on) { bound(impl_, "set_nodelay", "net::tcp_stream::set_nodelay").set_nodelay(on); }

void tcp_stream::set_write_limits(std::size_t high_water, std::size_t max_write_buffer) {
    auto& s = bound(impl_, "set_write_limits", "net::tcp_stream::set_write_limits");
    if (max_write_buffer == 0 || high_water > max_write_buffer)
        throw invalid_argument(fmt::format("vow::net::tcp_stream::set_write_limits: need 0 < high_water ({}) <= "
                                           "max_write_buffer ({})",
                                           high_water, max_write_buffer));
    s.options().high_water = high_water;
    s.options().max_write_buffer = max_write_buffer;
}

}  // namespace vow::net
