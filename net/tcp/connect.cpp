// vow::net::connect: resolve, then a non-blocking connect to each address
// in turn until one answers; the first success wins, the last error is
// reported if none does. One deadline covers resolution and every attempt:
// the whole connect is one vow::pending_operation, and each attempt's
// socket is watched for writability by a vow::fd_watcher.
#include "../net_internal.hpp"

#include <vow/net/dns/resolve.hpp>
#include <vow/net/tcp/connect.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/reactor/fd_watcher.hpp>

#include <cerrno>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>

namespace vow::net {

namespace {

class connect_op final : public detail::net_object, public std::enable_shared_from_this<connect_op> {
public:
    connect_op(reactor& r, std::string label, connect_options o)
        : r_(&r), op_(r), label_(std::move(label)), opts_(std::move(o)) {
        detail::net_service::of(r).add(this);
    }
    ~connect_op() override {
        detail::net_service::remove_from_owner(this);
        close_socket();
    }

    future<tcp_stream> start(std::optional<std::vector<address>> known, std::string_view host, std::uint16_t port) {
        auto f = op_.get_future();
        self_ = shared_from_this();   // alive until finished (or torn down)
        op_.arm(opts_.timeout, opts_.deadline, opts_.stop, [this](expiry why) {
            auto error = detail::make_expired(why, fmt::format("connect to {}", label_));
            done_ = true;
            close_socket();
            self_.reset();   // may destroy this: nothing after
            return error;
        });
        if (known) {
            addrs_ = std::move(*known);
            try_next();
        } else {
            resolve_options ro;
            ro.stop = opts_.stop;
            ro.family = opts_.family;
            std::weak_ptr<connect_op> w = shared_from_this();
            (void)resolve(*r_, host, port, ro)
                .then([w](std::vector<address> a) {
                    if (auto op = w.lock(); op && !op->done_) {
                        op->addrs_ = std::move(a);
                        op->try_next();
                    }
                })
                .catch_([w](std::exception_ptr e) {
                    if (auto op = w.lock(); op && !op->done_)
                        op->finish_error(std::move(e));
                });
        }
        return f;
    }

    void teardown() noexcept override {
        done_ = true;
        close_socket();
        auto keep = std::move(self_);   // may destroy this (the promise breaks quietly): nothing after
    }

private:
    void try_next() {
        while (!done_ && next_ < addrs_.size()) {
            const address& a = addrs_[next_++];
            close_socket();
            fd_ = ::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd_ < 0) {
                last_error_ = errno;
                last_addr_ = a;
                continue;
            }
            int rc;
            do
                rc = ::connect(fd_, a.native(), a.native_size());
            while (rc != 0 && errno == EINTR);
            if (rc == 0) {
                succeed(a);
                return;
            }
            if (errno == EINPROGRESS) {
                current_ = a;
                watch_.emplace(*r_, fd_, "connect callback", fd_watcher::bind<&connect_op::on_io>(this));
                int err = watch_->try_start(io_events::writable);
                if (err == 0)
                    return;
                errno = err;   // the reactor could not watch the socket: try the next address
            }
            last_error_ = errno;
            last_addr_ = a;
        }
        if (done_)
            return;
        if (last_error_ == 0)
            finish_error(std::make_exception_ptr(dns_error(fmt::format("vow::net::connect to {}: no address", label_))));
        else
            finish_error(detail::make_io_error(
                last_error_, fmt::format("vow::net::connect to {} ({})", label_, last_addr_)));
    }

    // Once: the attempt's socket is writable (connected, or failed).
    void on_io(io_events) {
        auto keep = shared_from_this();
        if (watch_)  // always: this is its callback
            watch_->stop();
        on_writable();
    }

    void on_writable() {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == 0) {
            succeed(current_);
            return;
        }
        last_error_ = err;
        last_addr_ = current_;
        try_next();
    }

    void succeed(const address& a) {
        watch_.reset();
        int fd = std::exchange(fd_, -1);
        tcp_stream s;
        try {
            s = detail::make_stream(*r_, fd, opts_.stream, &a);
        } catch (...) {
            finish_error(std::current_exception());
            return;
        }
        done_ = true;
        auto keep = std::move(self_);
        op_.resolve(std::move(s));
    }

    void finish_error(std::exception_ptr e) {
        if (done_)
            return;
        done_ = true;
        close_socket();
        auto keep = std::move(self_);
        op_.reject(std::move(e));
    }

    void close_socket() noexcept {
        watch_.reset();   // stops watching before the fd closes
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    reactor* r_;
    pending_operation<tcp_stream> op_;
    std::string label_;
    connect_options opts_;
    std::vector<address> addrs_;
    std::size_t next_ = 0;
    int fd_ = -1;
    std::optional<fd_watcher> watch_;   // one per attempt: each has its own socket
    bool done_ = false;   // settled, or torn down
    address current_;
    address last_addr_;
    int last_error_ = 0;
    std::shared_ptr<connect_op> self_;
};

void check_connect_options(const connect_options& o) {
    if (o.family != 0 && o.family != AF_INET && o.family != AF_INET6)
        throw invalid_argument(fmt::format("vow::net::connect: family {} is not AF_UNSPEC, AF_INET or AF_INET6",
                                           o.family));
    if (o.timeout && *o.timeout <= reactor::duration::zero())
        throw invalid_argument("vow::net::connect: the timeout is not positive");
    if (o.stream.max_write_buffer == 0 || o.stream.high_water > o.stream.max_write_buffer)
        throw invalid_argument("vow::net::connect: stream options need 0 < high_water <= max_write_buffer");
}

}  // namespace

future<tcp_stream> connect(reactor& r, std::string_view host, std::uint16_t port, connect_options opts) {
    vow::detail::check_thread(r, "net::connect");
    check_connect_options(opts);
    if (host.empty())
        throw invalid_argument("vow::net::connect: the host is empty");
    if (port == 0)
        throw invalid_argument(fmt::format("vow::net::connect: port 0 for host '{}'", host));
    std::string label = host.find(':') != std::string_view::npos && host.front() != '['
                            ? fmt::format("[{}]:{}", host, port)
                            : fmt::format("{}:{}", host, port);
    if (opts.stop.stop_requested())
        return make_exception_future<tcp_stream>(r, detail::make_cancelled(fmt::format("connect to {}", label)));
    std::optional<std::vector<address>> known;
    if (auto a = address::try_parse(host, port))
        known.emplace(1, *a);
    auto op = std::make_shared<connect_op>(r, std::move(label), std::move(opts));
    return op->start(std::move(known), host, port);
}

future<tcp_stream> connect(reactor& r, std::string_view host, std::uint16_t port, std::stop_token stop) {
    connect_options o;
    o.stop = std::move(stop);
    return connect(r, host, port, std::move(o));
}

future<tcp_stream> connect(reactor& r, const address& to, connect_options opts) {
    vow::detail::check_thread(r, "net::connect");
    check_connect_options(opts);
    if (to.empty() || to.port() == 0)
        throw invalid_argument(fmt::format("vow::net::connect: cannot connect to '{}' (empty address or port 0)", to));
    auto label = to.to_string();
    if (opts.stop.stop_requested())
        return make_exception_future<tcp_stream>(r, detail::make_cancelled(fmt::format("connect to {}", label)));
    auto op = std::make_shared<connect_op>(r, std::move(label), std::move(opts));
    return op->start(std::vector<address>{to}, {}, to.port());
}

}  // namespace vow::net
