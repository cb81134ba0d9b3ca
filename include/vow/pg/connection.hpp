/// @file
/// vow::pg::connection: one PostgreSQL connection on the reactor: every call
/// returns a future.
///
/// @code
/// vow::pg::connection::connect(r, "host=db.local user=app dbname=app")
///     .then([](vow::pg::connection c) {
///         return c.query("SELECT name FROM users WHERE id = $1", 42);
///     })
///     .then([](vow::pg::result res) { fmt::print("{}\n", res.value<std::string>()); });
/// @endcode
///
/// Connecting: libpq's non-blocking connect (PQconnectStartParams and
/// PQconnectPoll) driven by the reactor's fd watchers. The connection string
/// is libpq's (key=value pairs or a postgresql:// URI; every libpq keyword
/// works, sslmode and the other TLS settings included). A host given by name
/// is resolved with vow's own resolver and handed to libpq as hostaddr
/// (libpq's own lookup would block the loop); host stays set, for TLS
/// verification. Unless the string sets them, client_encoding is UTF8 and
/// DateStyle ISO (what vow's timestamptz reading expects). A refusal (wrong
/// password, no such database, nothing listening) rejects with
/// vow::pg::connection_error carrying libpq's message; connect_options'
/// timeout with vow::timeout_error, its stop token with
/// vow::cancelled_error.
///
/// Queries run in the order they were called, and are pipelined: a query is
/// sent at once (written out once per turn of the loop, with everything else
/// queued in that turn), without waiting for the answers to earlier ones, so
/// a burst of queries costs one round trip. Each query is its own implicit
/// transaction unless a BEGIN is in effect, and an error in one affects no
/// other. Parameters are $1, $2, ... bound from C++ values
/// (`<vow/pg/types.hpp>`). By default each distinct SQL text is prepared once
/// per connection and reused (up to connect_options::statement_cache texts;
/// later ones run unprepared); a statement the server has invalidated (a
/// table's columns changed, DISCARD ALL) is prepared again and the query
/// retried once, unless inside a transaction, where the error is returned.
///
/// Cancelling: query_options' stop token or timeout end a query. One not yet
/// sent (waiting behind a COPY, say) is dropped. One the server is running
/// gets a cancel request (PQcancel, on vow's thread pool, since it blocks),
/// repeated while it runs on (a backend drops a cancel that arrives between
/// two queries), and one queued behind others gets it when its turn comes;
/// it then rejects with vow::cancelled_error or vow::timeout_error. A query that completes
/// before the cancel reaches the server resolves normally, and a cancel
/// that arrives just as the next query starts may cancel that one instead
/// (PostgreSQL's cancel names a backend, not a query).
///
/// execute() runs SQL through the simple protocol: several statements
/// separated by ';', no parameters (scripts, DDL). copy_from() and
/// for_each_row() stream. They, like execute(), wait for the queries before
/// them to finish and hold back the ones after them.
///
/// Failure: if the connection is lost (server shutdown, backend terminated,
/// network), every query waiting on it rejects with
/// vow::pg::connection_error carrying the reason, and so does every later
/// call: a lost connection is not reopened (a pool replaces it).
///
/// A handle: copies share one connection. The connection closes when the
/// last copy is gone and no query is in flight (queries called before keep
/// it open until they settle), or at close(). Thread-bound to its reactor,
/// like every vow object.
#pragma once

#include <vow/pg/error.hpp>
#include <vow/pg/result.hpp>
#include <vow/pg/types.hpp>
#include <vow/promise/future.hpp>
#include <vow/reactor/reactor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vow::pg {

/// The options of connection::connect (and of a pool's connections).
struct connect_options {
    /// The whole connect (name lookup, TCP, TLS, authentication); past it
    /// the connect rejects with vow::timeout_error. nullopt: no limit.
    std::optional<reactor::duration> timeout = std::chrono::seconds(10);
    /// Cancels the connect (vow::cancelled_error).
    std::stop_token stop = {};
    /// How many distinct SQL texts a connection prepares and keeps.
    std::size_t statement_cache = 256;
    /// Notifications (LISTEN) kept for next_notification() while nobody
    /// waits; past it the oldest are dropped, and the next wait says how
    /// many (vow::pg::notifications_lost).
    std::size_t max_notifications = 10000;
    /// The server's notices and warnings (RAISE NOTICE, "there is no
    /// transaction in progress"), on the reactor's thread as they arrive;
    /// empty: they are dropped. An exception it throws goes to the reactor's
    /// exception handler.
    std::function<void(const error_fields&)> on_notice = {};
};

/// The options of one query (or execute, or for_each_row).
struct query_options {
    /// Cancels the query (this file's description says how); it then
    /// rejects with vow::cancelled_error.
    std::stop_token stop = {};
    /// How long the query may take, from the call; past it the query is
    /// cancelled and rejects with vow::timeout_error. nullopt: no limit.
    std::optional<reactor::duration> timeout = {};
    /// Use the connection's statement cache (prepare once, reuse).
    bool prepare = true;
};

/// A NOTIFY received on a channel the connection LISTENs to.
struct notification {
    std::string channel;  ///< The channel it was sent on.
    std::string payload;  ///< Its payload ("" if none was given).
    int backend_pid = 0;  ///< of the session that sent it
};

/// Notifications were dropped because none was taken for too long.
class notifications_lost : public std::runtime_error {
public:
    /// An error with the message `what`, for `n` notifications dropped.
    notifications_lost(std::string what, std::size_t n) : std::runtime_error(std::move(what)), count_(n) {}
    /// How many notifications were dropped.
    [[nodiscard]] std::size_t count() const noexcept { return count_; }

private:
    std::size_t count_;
};

/// One PostgreSQL connection: a handle whose copies share it; every call
/// returns a future (this file's description says how queries run).
///
/// The connection closes when the last copy is gone and no query is in
/// flight, or at close(). A reactor destroyed with connections still open
/// closes them first, queries in flight or not: their futures break
/// quietly, as every promise of a destroyed reactor does, and nothing of
/// them is left. Thread-bound to its reactor.
class connection {
public:
    /// The shared state (opaque, defined in the library).
    struct impl;

    /// An empty handle: its calls throw vow::usage_error.
    connection() noexcept = default;

    /// Connects with a libpq connection string or URI.
    [[nodiscard]] static future<connection> connect(reactor& r, std::string_view conninfo,
                                                    connect_options opts = {});
    /// Connects with libpq keywords and values ({"host", "127.0.0.1"}, ...).
    [[nodiscard]] static future<connection> connect(
        reactor& r, const std::vector<std::pair<std::string, std::string>>& params, connect_options opts = {});

    /// Runs `sql` with `args` bound to $1, $2, ...; resolves with its rows.
    template <class... A>
    [[nodiscard]] future<result> query(std::string_view sql, const A&... args) {
        return query_params(query_options{}, sql, {make_param(args)...});
    }
    /// The same with options (a stop token, a timeout, no statement cache).
    template <class... A>
    [[nodiscard]] future<result> query(const query_options& opts, std::string_view sql, const A&... args) {
        return query_params(opts, sql, {make_param(args)...});
    }
    /// The same with parameters already made.
    [[nodiscard]] future<result> query_params(const query_options& opts, std::string_view sql,
                                              std::vector<param> params);

    /// Runs one or more statements without parameters (simple protocol);
    /// resolves with the last statement's result.
    [[nodiscard]] future<result> execute(std::string_view sql, const query_options& opts = {});

    /// BEGIN (with `mode`, e.g.\ "ISOLATION LEVEL SERIALIZABLE"), COMMIT and
    /// ROLLBACK, as execute() runs them; transaction() below wraps the three.
    [[nodiscard]] future<void> begin(std::string_view mode = {});
    /// COMMIT, as execute() runs it.
    [[nodiscard]] future<void> commit();
    /// ROLLBACK, as execute() runs it.
    [[nodiscard]] future<void> rollback();

    /// Runs `sql` and calls fn(row) for each row as it arrives (libpq's
    /// single-row mode: memory holds one row at a time, whatever the size of
    /// the result). fn returns void or future<void>; the next row is read
    /// once that future settles (backpressure: the server waits, TCP holds
    /// it back). Resolves with the number of rows; rejects with what fn
    /// threw or rejected with (the rest of the result is read and dropped)
    /// or with the query's error.
    template <class F, class... A>
    [[nodiscard]] future<std::uint64_t> for_each_row(std::string_view sql, F fn, const A&... args) {
        return for_each_row_params(query_options{}, sql, {make_param(args)...}, row_callback(std::move(fn)));
    }
    /// What for_each_row calls: an empty (default) future means done at once.
    using row_fn = std::function<future<void>(const row&)>;
    /// for_each_row with options and parameters already made.
    [[nodiscard]] future<std::uint64_t> for_each_row_params(const query_options& opts, std::string_view sql,
                                                            std::vector<param> params, row_fn fn);

    /// What copy_from calls for the next chunk of data: nullopt when done.
    using chunk_producer = std::function<future<std::optional<std::string>>()>;
    /// COPY ... FROM STDIN: sends what `next` produces until it yields
    /// nullopt, with backpressure (next is called again once the data
    /// before it is written out or buffered under 256 KiB). The data is
    /// COPY's format as `sql` asks for it (text by default: tab-separated
    /// columns, a newline per row). Resolves with the rows copied; an error
    /// of the producer aborts the COPY (nothing is committed) and rejects
    /// with it.
    [[nodiscard]] future<std::uint64_t> copy_from(std::string_view sql, chunk_producer next);

    /// What copy_to calls with each row of COPY's output. An empty (default)
    /// future from it means done at once.
    using chunk_consumer = std::function<future<void>(std::string_view)>;
    /// COPY ... TO STDOUT: calls fn(data) with each row of COPY's output;
    /// fn returns void or future<void> (backpressure as for for_each_row).
    /// Resolves with the rows copied.
    [[nodiscard]] future<std::uint64_t> copy_to(std::string_view sql, chunk_consumer fn);

    /// LISTEN / UNLISTEN `channel` (quoted as an identifier: any name).
    [[nodiscard]] future<void> listen(std::string_view channel);
    /// UNLISTEN `channel` (quoted as an identifier, as listen()).
    [[nodiscard]] future<void> unlisten(std::string_view channel);
    /// The next notification, in arrival order; kept while nobody waits (see
    /// connect_options::max_notifications). Rejects with connection_error
    /// when the connection is lost; a stop request or timeout ends the wait
    /// only. One wait at a time (a second throws vow::usage_error).
    [[nodiscard]] future<notification> next_notification(std::stop_token stop = {},
                                                          std::optional<reactor::duration> timeout = {});

    /// Closes the connection once the queries already called have settled;
    /// later calls reject with connection_error. Resolves when closed.
    future<void> close();

    /// True from connect until the connection is lost or closed.
    [[nodiscard]] bool is_open() const noexcept;
    /// True while a transaction block (BEGIN) is open, as of the last answer.
    [[nodiscard]] bool in_transaction() const noexcept;
    /// Queries called and not settled yet.
    [[nodiscard]] std::size_t pending() const noexcept;
    /// The process ID of the server process serving this connection (0 if none).
    [[nodiscard]] int backend_pid() const noexcept;
    /// The server's version as a number: 150004 for 15.4 (0 if not connected).
    [[nodiscard]] int server_version() const noexcept;
    /// The reason the connection was lost, or empty.
    [[nodiscard]] std::string error_message() const;
    /// The reactor the connection is bound to; throws vow::usage_error if empty.
    [[nodiscard]] reactor& get_reactor() const;

    /// True if both handles share one connection (or both are empty).
    friend bool operator==(const connection& a, const connection& b) noexcept { return a.p_ == b.p_; }
    /// True unless the handle is empty (default-constructed).
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    explicit connection(std::shared_ptr<impl> p) noexcept : p_(std::move(p)) {}
    impl& get(const char* what) const;
    // An operation's kind, opaque here (connection.cpp's op_kind).
    enum class op_kind_tag : unsigned char {};
    template <class P, class Setup>
    future<P> start(const char* what, op_kind_tag kind, std::string_view sql, std::vector<param>* params,
                    const query_options& qo, Setup setup);

    template <class F>
    static row_fn row_callback(F fn) {
        return [fn = std::move(fn)](const row& r) mutable -> future<void> {
            if constexpr (std::is_void_v<std::invoke_result_t<F&, const row&>>) {
                fn(r);
                return future<void>();
            } else {
                return fn(r);
            }
        };
    }

    std::shared_ptr<impl> p_;
};

/// Runs fn(c) inside BEGIN ... COMMIT on `c`: fn returns a future (or a
/// value); when it resolves the transaction commits and the future resolves
/// with fn's value; if fn throws or its future rejects (a query cancelled
/// by its stop token or timeout included), the transaction rolls back and
/// the future rejects with that error; if the ROLLBACK fails too, the
/// connection is closed (so no transaction stays open on it).
/// `begin` is the statement that opens it ("BEGIN ISOLATION LEVEL
/// SERIALIZABLE", ...).
template <class F>
auto transaction(connection c, F fn, std::string_view begin = "BEGIN");

}  // namespace vow::pg

#include <vow/pg/detail/transaction.hpp>
