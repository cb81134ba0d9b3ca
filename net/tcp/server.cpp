// vow::net::tcp_server: a listening socket watched for readability by a
// vow::fd_watcher while someone takes connections; each wakeup accepts up
// to 64 connections with accept4 (non-blocking and close-on-exec in the
// same call). Out of file descriptors, it pauses listening for 100 ms at a
// time rather than spinning, and reports each episode twice: when accept
// starts failing, and when it works again.
#include "../net_internal.hpp"

#include <vow/net/tcp/server.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/reactor/fd_watcher.hpp>

#include <cerrno>
#include <deque>
#include <iterator>
#include <linux/filter.h>
#include <netinet/in.h>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>

namespace vow::net {

class tcp_server::impl final : public detail::net_object, public std::enable_shared_from_this<tcp_server::impl> {
public:
    // An exception thrown by the connection handler escapes the watcher's
    // callback, and the reactor reports it under the watcher's name.
    impl(reactor& r, const address& where, const server_options& o)
        : r_(&r),
          opts_(o),
          fd_(open_listener(where, o)),
          watch_(r, fd_, "tcp_server connection handler", fd_watcher::bind<&impl::on_io>(this)) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
        local_ = address::from_native(reinterpret_cast<sockaddr*>(&ss), len);
        detail::net_service::of(r).add(this);
    }
    ~impl() override {
        detail::net_service::remove_from_owner(this);
        close();
        if (pause_timer_)
            pause_timer_.cancel();
    }

    void teardown() noexcept override {
        pause_timer_ = handle{};
        watch_.stop();
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        accept_.reset();   // breaks quietly: the reactor is closing
        ready_.clear();
    }

    void on_connection(connection_handler fn) {
        if (accept_)
            throw usage_error("vow::net::tcp_server::on_connection: an accept() is pending");
        handler_ = fn ? std::make_shared<connection_handler>(std::move(fn)) : nullptr;
        if (int err = update_listening())
            std::rethrow_exception(listen_failure(err));
    }

    future<tcp_stream> accept(const io_options& o) {
        if (handler_)
            throw usage_error("vow::net::tcp_server::accept: connections go to the on_connection handler");
        if (accept_)
            throw usage_error("vow::net::tcp_server::accept: another accept() is pending; one at a time");
        if (!ready_.empty()) {
            auto s = std::move(ready_.front());
            ready_.pop_front();
            return make_ready_future<tcp_stream>(*r_, std::move(s));
        }
        if (fd_ < 0)
            return make_exception_future<tcp_stream>(
                *r_, detail::make_io_error(ECANCELED, "vow::net::tcp_server::accept: the server is closed"));
        if (o.stop.stop_requested())
            return make_exception_future<tcp_stream>(*r_, detail::make_cancelled("tcp_server::accept"));
        accept_.emplace(*r_, std::source_location::current());
        if (int err = update_listening()) {
            accept_.reset();   // its future was never handed out: nothing to tell
            return make_exception_future<tcp_stream>(*r_, listen_failure(err));
        }
        auto f = accept_->get_future();
        accept_->arm(o.timeout, o.deadline, o.stop, [this](expiry why) {
            accept_.reset();
            (void)update_listening();   // stops listening: it never fails
            return detail::make_expired(why, "tcp_server::accept");
        });
        return f;
    }

    std::uint64_t accept_backlog() {
        if (fd_ < 0 || !handler_ || paused_)
            return 0;
        auto keep = shared_from_this();   // a handler may destroy the server
        const auto before = accepted_;
        for (;;) {
            // on_readable takes at most 64 per call; fewer means the backlog
            // is empty (EAGAIN), or accepting stopped (an error, a handler gone).
            const auto round = accepted_;
            on_readable();
            if (accepted_ - round < 64)
                return accepted_ - before;
        }
    }

    // Drops every SYN that reaches the listening socket from now on: a
    // socket filter (cBPF on the TCP header's flags) that lets the rest
    // pass, so handshakes under way still complete into the backlog.
    bool refuse_new_connections() noexcept {
        if (fd_ < 0)
            return false;
        // A: the flags byte (offset 13 of the TCP header, where a TCP
        // socket's filter starts); SYN without ACK: drop; anything else: keep.
        static sock_filter code[] = {
            {BPF_LD | BPF_B | BPF_ABS, 0, 0, 13},
            {BPF_ALU | BPF_AND | BPF_K, 0, 0, 0x12},
            {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0x02},
            {BPF_RET | BPF_K, 0, 0, 0},
            {BPF_RET | BPF_K, 0, 0, 0xffffffff},
        };
        sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
        return ::setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
    }

    void close() noexcept {
        if (fd_ < 0)
            return;
        watch_.stop();
        ::close(fd_);
        fd_ = -1;
        ready_.clear();
        fail_accept(detail::make_io_error(ECANCELED, "vow::net::tcp_server::accept: the server was closed"));
    }

    bool is_open() const noexcept { return fd_ >= 0; }
    const address& local() const noexcept { return local_; }
    std::uint64_t accepted() const noexcept { return accepted_; }
    reactor& get_reactor() const noexcept { return *r_; }

private:
    // A bound, listening, non-blocking socket. Throws vow::invalid_argument
    // for bad options and vow::net::io_error naming the step that failed.
    static int open_listener(const address& where, const server_options& o) {
        if (where.empty())
            throw invalid_argument("vow::net::tcp_server: the address is empty");
        if (o.backlog <= 0)
            throw invalid_argument(fmt::format("vow::net::tcp_server: backlog must be positive, not {}", o.backlog));
        if (o.stream.max_write_buffer == 0 || o.stream.high_water > o.stream.max_write_buffer)
            throw invalid_argument("vow::net::tcp_server: stream options need 0 < high_water <= max_write_buffer");
        int fd = ::socket(where.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            fail(fd, errno, "socket for", where);
        int one = 1;
        if (o.reuse_address)
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (o.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
            fail(fd, errno, "SO_REUSEPORT on", where);
        if (where.is_v6()) {
            int v6only = o.v6_only ? 1 : 0;
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        }
        if (::bind(fd, where.native(), where.native_size()) != 0)
            fail(fd, errno, "bind to", where);
        if (::listen(fd, o.backlog) != 0)
            fail(fd, errno, "listen on", where);
        return fd;
    }

    [[noreturn]] static void fail(int fd, int err, const char* what, const address& where) {
        if (fd >= 0)
            ::close(fd);
        throw io_error(std::error_code(err, std::generic_category()),
                       fmt::format("vow::net::tcp_server: {} {}", what, where));
    }

    void fail_accept(std::exception_ptr e) {
        if (!accept_)
            return;
        accept_->reject(std::move(e));
        accept_.reset();
        (void)update_listening();   // stops listening: it never fails
    }

    // Listens while someone takes connections. Returns the errno of the
    // system's refusal to watch the socket (0 if none); stopping never fails.
    [[nodiscard]] int update_listening() noexcept {
        bool want = fd_ >= 0 && !paused_ && (handler_ || accept_);
        if (!want) {
            watch_.stop();
            return 0;
        }
        return watch_.try_start(io_events::readable);
    }

    std::exception_ptr listen_failure(int err) const {
        return detail::make_io_error(err, fmt::format("vow::net::tcp_server: cannot watch the listening socket on {}",
                                                      local_));
    }

    void on_io(io_events) {
        auto keep = shared_from_this();   // a handler may destroy the server
        on_readable();
    }

    void on_readable() {
        for (int i = 0; i < 64 && fd_ >= 0 && (handler_ || accept_); ++i) {
            sockaddr_storage ss{};
            socklen_t len = sizeof ss;
            int cfd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (cfd < 0) {
                int err = errno;
                if (err == EAGAIN || err == EWOULDBLOCK)
                    return;
                if (err == EINTR || err == ECONNABORTED || err == EPROTO)
                    continue;
                if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
                    pause_for_resources(err);
                else
                    r_->report_exception(detail::make_io_error(err, fmt::format("vow::net::tcp_server: accept on {}",
                                                                                local_)),
                                         "tcp_server accept");
                return;
            }
            ++accepted_;
            if (reported_exhaustion_)
                report_recovery();
            address peer;
            try {
                peer = address::from_native(reinterpret_cast<sockaddr*>(&ss), len);
            } catch (const std::exception&) {
            }
            tcp_stream s;
            try {
                s = detail::make_stream(*r_, cfd, opts_.stream, peer.empty() ? nullptr : &peer);
            } catch (...) {
                r_->report_exception(std::current_exception(), "tcp_server accept");
                continue;
            }
            if (handler_) {
                // Our own reference: the handler may replace itself (call
                // on_connection) while it runs, which would destroy it. What
                // it throws ends this batch; the watcher's callback reports
                // it, and the next turn accepts the rest.
                auto h = handler_;
                (*h)(std::move(s));
            } else {
                accept_->resolve(std::move(s));
                accept_.reset();
                (void)update_listening();   // stops listening: it never fails
            }
        }
    }

    // One report per episode of exhaustion, not per failed accept: the
    // first failure says that accepting pauses, the first accept that works
    // again (report_recovery) says that it is over, so a log shows each
    // episode and how long it lasted.
    void pause_for_resources(int err) {
        if (!reported_exhaustion_) {
            reported_exhaustion_ = true;
            exhausted_since_ = r_->now();
            exhaustion_errno_ = err;
            failed_accepts_ = 0;
            r_->report_exception(
                detail::make_io_error(err, fmt::format("vow::net::tcp_server: accept on {} (pausing 100 ms at a "
                                                       "time until it works again, which is reported too)",
                                                       local_)),
                "tcp_server accept");
        }
        ++failed_accepts_;
        paused_ = true;
        watch_.stop();
        pause_timer_ = r_->call_later(std::chrono::milliseconds(100), [this] {
            paused_ = false;
            if (int err = update_listening())
                r_->report_exception(listen_failure(err), "tcp_server accept");
        });
    }

    // Through the same exception handler as the failure, with its errno, so
    // whoever logs the one sees the other; `where` tells them apart.
    // noexcept: it runs between accept4 and the stream that owns the new
    // descriptor.
    void report_recovery() noexcept {
        reported_exhaustion_ = false;
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(r_->now() - exhausted_since_);
        std::exception_ptr report;
        try {
            report = detail::make_io_error(
                exhaustion_errno_, fmt::format("vow::net::tcp_server: accept on {} works again, after {} ms in which "
                                               "{} accept{} failed",
                                               local_, took.count(), failed_accepts_, failed_accepts_ == 1 ? "" : "s"));
        } catch (...) {
            report = std::current_exception();
        }
        r_->report_exception(report, "tcp_server accept recovered");
    }

    reactor* r_;
    server_options opts_;
    int fd_ = -1;
    fd_watcher watch_;
    bool paused_ = false;
    bool reported_exhaustion_ = false;
    address local_;
    std::uint64_t accepted_ = 0;
    reactor::time_point exhausted_since_{};   // while reported_exhaustion_: the episode
    int exhaustion_errno_ = 0;
    std::uint64_t failed_accepts_ = 0;
    std::shared_ptr<connection_handler> handler_;   // empty: connections go to accept()
    std::optional<pending_operation<tcp_stream>> accept_;
    std::deque<tcp_stream> ready_;
    handle pause_timer_;
};

namespace {

address listen_address(std::string_view host, std::uint16_t port) {
    if (host == "localhost")
        return address::parse("127.0.0.1", port);
    if (host.empty())
        throw invalid_argument("vow::net::tcp_server: the host is empty (use \"0.0.0.0\" or \"::\" for all)");
    auto a = address::try_parse(host, port);
    if (!a)
        throw invalid_argument(fmt::format("vow::net::tcp_server: '{}' is not a numeric address or \"localhost\"; "
                                           "resolve names first with vow::net::resolve",
                                           host));
    return *a;
}

// The thread check (docs/design.md, "Threading") of the constructors, which
// runs before anything else they do.
reactor& checked(reactor& r, const char* function) {
    vow::detail::check_thread(r, function);
    return r;
}

// The check of closing: a closed server touches nothing of its reactor, and
// may outlive it (~reactor closes what is still open).
void check_if_open(const tcp_server::impl& s, const char* function) noexcept {
    if (s.is_open())
        vow::detail::check_thread(s.get_reactor(), function);
}

}  // namespace

tcp_server::tcp_server(reactor& r, std::string_view host, std::uint16_t port, server_options opts)
    : tcp_server(checked(r, "net::tcp_server::tcp_server"), listen_address(host, port), opts) {}

tcp_server::tcp_server(reactor& r, const address& where, server_options opts)
    : impl_(std::make_shared<impl>(checked(r, "net::tcp_server::tcp_server"), where, opts)) {}

tcp_server::~tcp_server() {
    if (impl_) {
        check_if_open(*impl_, "net::tcp_server::~tcp_server");
        impl_->close();
    }
}
tcp_server::tcp_server(tcp_server&&) noexcept = default;
tcp_server& tcp_server::operator=(tcp_server&& o) noexcept {
    if (this != &o) {
        if (impl_) {
            check_if_open(*impl_, "net::tcp_server::operator=");
            impl_->close();
        }
        impl_ = std::move(o.impl_);
    }
    return *this;
}

namespace {
tcp_server::impl& need(const std::shared_ptr<tcp_server::impl>& p, const char* op) {
    if (!p)
        throw usage_error(fmt::format("vow::net::tcp_server::{}: the server was moved from", op));
    return *p;
}
// need() and the thread check, for the members that act on the server (the
// getters are not checked).
tcp_server::impl& bound(const std::shared_ptr<tcp_server::impl>& p, const char* op, const char* function) {
    tcp_server::impl& s = need(p, op);
    vow::detail::check_thread(s.get_reactor(), function);
    return s;
}
}  // namespace

void tcp_server::on_connection(connection_handler fn) {
    bound(impl_, "on_connection", "net::tcp_server::on_connection").on_connection(std::move(fn));
}
future<tcp_stream> tcp_server::accept(const io_options& opts) {
    return bound(impl_, "accept", "net::tcp_server::accept").accept(opts);
}
std::uint64_t tcp_server::accept_backlog() {
    return bound(impl_, "accept_backlog", "net::tcp_server::accept_backlog").accept_backlog();
}
bool tcp_server::refuse_new_connections() noexcept {
    if (!impl_)
        return false;
    check_if_open(*impl_, "net::tcp_server::refuse_new_connections");
    return impl_->refuse_new_connections();
}

void tcp_server::close() noexcept {
    if (impl_) {
        check_if_open(*impl_, "net::tcp_server::close");
        impl_->close();
    }
}
bool tcp_server::is_open() const noexcept { return impl_ && impl_->is_open(); }
address tcp_server::local_address() const { return need(impl_, "local_address").local(); }
std::uint16_t tcp_server::port() const { return need(impl_, "port").local().port(); }
std::uint64_t tcp_server::accepted() const noexcept { return impl_ ? impl_->accepted() : 0; }

}  // namespace vow::net
