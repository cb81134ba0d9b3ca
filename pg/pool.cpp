// pg/pool.cpp - vow::pg::pool: connections on demand, FIFO waiters,
// reset on return, replacement of lost connections, graceful close.
#include <vow/pg/pool.hpp>

#include <vow/error.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>

#include <fmt/format.h>

#include <deque>
#include <list>
#include <utility>
#include <vector>

namespace vow::pg {

struct pool::impl : std::enable_shared_from_this<pool::impl> {
    impl(reactor& rr, std::string info, pool_options o) : r(&rr), conninfo(std::move(info)), opts(std::move(o)) {}

    reactor* r;
    std::string conninfo;
    pool_options opts;
    std::vector<connection> idle;   // most recently returned last
    std::size_t total = 0;          // open, being made, or out on lease
    std::size_t connecting = 0;
    // Waiters in arrival order; a list, so a waiter's expiry can remove it.
    std::list<pending_operation<lease>> waiters;
    bool closing = false;
    std::vector<promise<void>> close_waiters;   // one per close() call

    lease make_lease(connection c) {
        return lease(std::make_shared<lease::state>(shared_from_this(), std::move(c)));
    }

    std::exception_ptr closed_error() const {
        return std::make_exception_ptr(pool_closed("vow::pg::pool: the pool is closed"));
    }

    future<lease> acquire(std::stop_token stop) {
        vow::detail::check_thread(*r, "pg::pool::acquire");
        if (closing)
            return make_exception_future<lease>(*r, closed_error());
        while (!idle.empty()) {
            connection c = std::move(idle.back());
            idle.pop_back();
            if (c.is_open())
                return make_ready_future(*r, make_lease(std::move(c)));
            --total;   // lost while idle: dropped, replaced below if needed
        }
        if (waiters.size() >= opts.max_waiters)
            return make_exception_future<lease>(
                *r, pool_exhausted(fmt::format("vow::pg::pool::acquire: {} acquires are waiting already "
                                               "(pool_options::max_waiters)",
                                               waiters.size())));
        auto& w = waiters.emplace_back(*r);
        auto f = w.get_future();
        auto it = std::prev(waiters.end());
        w.arm(opts.acquire_timeout, {}, stop, [this, it](expiry why) {
            waiters.erase(it);
            return expired_error(why, "pg::pool::acquire");
        });
        grow();
        return f;
    }

    // Starts connects while waiters outnumber the connects under way and
    // there is room.
    void grow() {
        while (!closing && connecting < waiters.size() && total < opts.max_size) {
            ++total;
            ++connecting;
            std::weak_ptr<impl> w = weak_from_this();
            connection::connect(*r, conninfo, opts.connect)
                .then([w](connection c) {
                    if (auto s = w.lock()) {
                        --s->connecting;
                        s->give(std::move(c));
                    }
                })
                .catch_([w](std::exception_ptr e) {
                    if (auto s = w.lock()) {
                        --s->connecting;
                        --s->total;
                        if (!s->waiters.empty()) {
                            s->waiters.front().reject(e);
                            s->waiters.pop_front();
                        }
                        s->maybe_closed();
                    }
                })
                .discard();
        }
    }

    // A connection is free: to the oldest waiter, or idle.
    void give(connection c) {
        if (closing || !c.is_open()) {
            drop(std::move(c));
            return;
        }
        if (!waiters.empty()) {
            auto l = make_lease(std::move(c));
            waiters.front().resolve(std::move(l));
            waiters.pop_front();
            return;
        }
        idle.push_back(std::move(c));
    }

    void drop(connection c) {
        --total;
        if (c.is_open())
            c.close().discard();
        maybe_closed();
        grow();   // a waiter may need a replacement
    }

    // The last copy of a lease is gone.
    void returned(connection c) {
        if (!c)
            return;
        if (!c.is_open() || closing) {
            drop(std::move(c));
            return;
        }
        if (c.pending() > 0 || c.in_transaction()) {
            // Queries still running, or a transaction left open: give it
            // back once they settle, rolled back.
            auto self = shared_from_this();
            c.execute("ROLLBACK")
                .then([self, c](result) mutable { self->give(std::move(c)); })
                .catch_([self, c](std::exception_ptr) mutable { self->drop(std::move(c)); })
                .discard();
            return;
        }
        give(std::move(c));
    }

    void maybe_closed() {
        if (closing && total == 0)
            for (auto& p : std::exchange(close_waiters, {}))
                p.resolve();
    }

    void start_close() {
        if (closing)
            return;
        closing = true;
        auto e = closed_error();
        while (!waiters.empty()) {
            waiters.front().reject(e);
            waiters.pop_front();
        }
        auto conns = std::move(idle);
        idle.clear();
        for (auto& c : conns) {
            --total;
            c.close().discard();
        }
    }
};

pool::lease::state::~state() {
    if (pool)
        pool->returned(std::move(conn));
}

pool::pool(reactor& r, std::string conninfo, pool_options opts) {
    vow::detail::check_thread(r, "pg::pool::pool");
    if (opts.max_size == 0)
        throw vow::invalid_argument("vow::pg::pool: max_size must be at least 1");
    p_ = std::make_shared<impl>(r, std::move(conninfo), std::move(opts));
}

pool::~pool() {
    if (p_)
        p_->start_close();
}

future<pool::lease> pool::acquire(std::stop_token stop) { return p_->acquire(std::move(stop)); }

future<result> pool::query_params(const query_options& opts, std::string_view sql, std::vector<param> params) {
    // The lease is held by the continuation until the query settles.
    return p_->acquire(opts.stop).then(
        [opts, sql = std::string(sql), params = std::move(params)](lease l) mutable {
            // Back to the pool before the caller's continuation runs.
            return l->query_params(opts, sql, std::move(params)).finally([l]() mutable { l = {}; });
        });
}

future<void> pool::close() {
    vow::detail::check_thread(*p_->r, "pg::pool::close");
    auto f = p_->close_waiters.emplace_back(*p_->r).get_future();
    p_->start_close();
    p_->maybe_closed();
    return f;
}

std::size_t pool::size() const noexcept { return p_->total; }
std::size_t pool::idle() const noexcept { return p_->idle.size(); }
std::size_t pool::waiting() const noexcept { return p_->waiters.size(); }
reactor& pool::get_reactor() const noexcept { return *p_->r; }

}  // namespace vow::pg
