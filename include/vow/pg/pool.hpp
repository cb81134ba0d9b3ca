/// @file
/// vow::pg::pool: a pool of PostgreSQL connections.
///
/// @code
/// vow::pg::pool db(r, "host=127.0.0.1 dbname=app user=app", {.max_size = 10});
/// // any free connection:
/// db.query("SELECT count(*) FROM users").then([](vow::pg::result res) { ... });
/// // one connection, for a while:
/// db.acquire().then([](vow::pg::pool::lease c) {
///     return vow::pg::transaction(*c, [](vow::pg::connection& c) { ... });
/// });
/// db.close();   // future<void>: waits for the leases out, then closes all
/// @endcode
///
/// Connections are made on demand, up to max_size, and kept when returned.
/// acquire() takes an idle connection (the most recently returned) if one is
/// open, otherwise makes one if the pool is below max_size, otherwise waits:
/// waiters are served in the order they came, each within acquire_timeout
/// (vow::timeout_error) and its stop token (vow::cancelled_error). More than
/// max_waiters waiting rejects at once with vow::pg::pool_exhausted.
///
/// A connection is checked before it is handed out (a lost one, found by its
/// socket's end, is dropped and replaced) and reset when it comes back: an
/// open transaction is rolled back (a connection that cannot roll back is
/// closed). A connect that fails rejects the waiter that has waited longest,
/// with the connect's error.
///
/// A lease is a handle: copies share it; the connection goes back to the
/// pool when the last copy is destroyed. Queries called on it before that
/// keep running (the connection is returned once they settle).
///
/// close() refuses new acquires (and rejects the waiters) with
/// vow::pg::pool_closed, closes idle connections, and resolves once every
/// lease has come back and its connection is closed. Destroying the pool
/// does the same without waiting. Thread-bound to its reactor.
#pragma once

#include <vow/pg/connection.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace vow::pg {

/// The options of a pool.
struct pool_options {
    /// The most connections open (or being made) at once.
    std::size_t max_size = 10;
    /// How long acquire() (and query() through the pool) waits for a
    /// connection; nullopt: as long as it takes.
    std::optional<reactor::duration> acquire_timeout = std::chrono::seconds(30);
    /// The most acquires waiting at once; one more rejects with pool_exhausted.
    std::size_t max_waiters = 100000;
    /// For each connection the pool makes.
    connect_options connect = {};
};

/// acquire() on a closed (closing) pool.
class pool_closed : public std::runtime_error {
public:
    /// An error with the message `what`.
    using std::runtime_error::runtime_error;
};
/// Too many acquires are waiting (pool_options::max_waiters).
class pool_exhausted : public std::runtime_error {
public:
    /// An error with the message `what`.
    using std::runtime_error::runtime_error;
};

/// A pool of PostgreSQL connections, made on demand up to a maximum and
/// handed out as leases (this file's description says how).
class pool {
    struct impl;

public:
    /// One connection taken from the pool: a handle whose copies share it.
    /// The connection goes back to the pool when the last copy is
    /// destroyed (once the queries called on it have settled).
    class lease {
    public:
        /// No connection.
        lease() = default;
        /// The connection.
        [[nodiscard]] connection& operator*() const noexcept { return state_->conn; }
        /// The connection's members.
        [[nodiscard]] connection* operator->() const noexcept { return &state_->conn; }
        /// The connection.
        [[nodiscard]] connection& get() const noexcept { return state_->conn; }
        /// True if the lease holds a connection (not default-constructed).
        explicit operator bool() const noexcept { return state_ != nullptr; }

    private:
        friend struct pool::impl;
        struct state {
            state(std::shared_ptr<impl> p, connection c) : pool(std::move(p)), conn(std::move(c)) {}
            ~state();
            state(const state&) = delete;
            state& operator=(const state&) = delete;
            std::shared_ptr<impl> pool;
            connection conn;
        };
        explicit lease(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}
        std::shared_ptr<state> state_;
    };

    /// A pool of connections made with `conninfo` (libpq's string or URI).
    /// Makes no connection yet. Throws vow::invalid_argument for max_size 0.
    pool(reactor& r, std::string conninfo, pool_options opts = {});
    /// Closes the pool as close() does, without waiting for the leases out.
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    /// A connection for a while: an idle one (the most recently returned),
    /// a new one below max_size, or the next one free, in the order the
    /// calls came. Rejects with vow::timeout_error after acquire_timeout,
    /// vow::cancelled_error on `stop`, pool_exhausted past max_waiters,
    /// pool_closed once closed, or a failed connect's error.
    [[nodiscard]] future<lease> acquire(std::stop_token stop = {});

    /// Runs one query on a free connection.
    template <class... A>
    [[nodiscard]] future<result> query(std::string_view sql, const A&... args) {
        return query_params(query_options{}, sql, {make_param(args)...});
    }
    /// The same with options (`opts.stop` also ends the wait for a connection).
    template <class... A>
    [[nodiscard]] future<result> query(const query_options& opts, std::string_view sql, const A&... args) {
        return query_params(opts, sql, {make_param(args)...});
    }
    /// The same with parameters already made.
    [[nodiscard]] future<result> query_params(const query_options& opts, std::string_view sql,
                                              std::vector<param> params);

    /// Refuses new acquires and rejects the waiters (pool_closed), closes
    /// idle connections; resolves once every lease has come back and its
    /// connection is closed.
    future<void> close();

    /// Connections open or being made.
    [[nodiscard]] std::size_t size() const noexcept;
    /// Connections open and not leased.
    [[nodiscard]] std::size_t idle() const noexcept;
    /// Acquires waiting.
    [[nodiscard]] std::size_t waiting() const noexcept;
    /// The reactor the pool is bound to.
    [[nodiscard]] reactor& get_reactor() const noexcept;

private:
    std::shared_ptr<impl> p_;
};

}  // namespace vow::pg
