// pg/connection.cpp - vow::pg::connection: libpq's non-blocking API driven
// by the reactor (docs/design.md, "PostgreSQL").
//
// The shape: one impl per connection, holding the PGconn, one fd_watcher on
// its socket, and a queue of operations in call order. The first `sent_`
// operations have been handed to libpq; the rest wait (behind an exclusive
// operation, or for the connect). Ordinary queries are pipelined (libpq's
// pipeline mode): each is sent as [Parse] Bind/Execute + Sync, so each has
// its own error scope, and its answer is [prepare result, NULL,] execute
// result, NULL, PIPELINE_SYNC. Exclusive operations (simple-protocol
// execute, single-row queries, COPY) need the pipeline empty: the queue
// holds them back until everything before them has answered, leaves
// pipeline mode, runs them alone and enters it again for what follows.
#include <vow/net/dns/resolve.hpp>
#include <vow/pg/connection.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/reactor/fd_watcher.hpp>
#include <vow/reactor/handle.hpp>
#include <vow/reactor/stop_link.hpp>

#include "pg_internal.hpp"
#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace vow::pg {

namespace {

using detail::make_error;
using detail::make_connection_error;

enum class op_kind : unsigned char {
    query,      // pipelined, answered with a result
    execute,    // exclusive: simple protocol, several statements
    rows,       // exclusive: single-row mode, rows to a callback
    copy_in,    // exclusive: COPY FROM STDIN
    copy_out,   // exclusive: COPY TO STDOUT
};

bool exclusive(op_kind k) {
    return k == op_kind::execute || k == op_kind::rows || k == op_kind::copy_in || k == op_kind::copy_out;
}

struct pq_result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, pq_result_deleter>;

// True for a string that is an IPv4 or IPv6 address (no lookup needed).
bool numeric_host(std::string_view h) {
    return h.find_first_not_of("0123456789.") == std::string_view::npos || h.find(':') != std::string_view::npos;
}

std::vector<std::string> split_commas(std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        auto comma = s.find(',', start);
        out.emplace_back(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos)
            return out;
        start = comma + 1;
    }
}

std::string join_commas(const std::vector<std::string>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i)
            out += ',';
        out += v[i];
    }
    return out;
}

std::string quote_identifier(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace

// The connections of one reactor. A connection with operations in flight
// holds itself (impl::self) until they settle, so a user who drops it does
// not cancel them; if the reactor is destroyed first, nothing would ever
// settle them, and the connection, its PGconn and its socket would leak.
// This service, destroyed first in ~reactor, ends each such connection
// then: its operations rejected (no continuation runs any more), its
// libpq connection finished, its self-reference dropped.
class live_connections final : public reactor::service {
public:
    explicit live_connections(reactor&) {}
    live_connections(const live_connections&) = delete;
    live_connections& operator=(const live_connections&) = delete;
    ~live_connections() override;

    void add(connection::impl* c) { live_.insert(c); }
    void remove(connection::impl* c) noexcept { live_.erase(c); }

private:
    std::unordered_set<connection::impl*> live_;
};

struct connection::impl : std::enable_shared_from_this<connection::impl> {
    struct op {
        op_kind kind = op_kind::query;
        std::optional<promise<result>> result_p;
        std::optional<promise<std::uint64_t>> count_p;
        std::string sql;
        std::vector<param> params;
        std::string stmt;          // cached statement name; "" for unnamed
        bool send_prepare = false;
        bool sent = false;
        bool retried = false;
        std::exception_ptr retry_error;   // the error a retry replaces
        int nulls = 0;             // NULL results seen (ends of commands)
        result_ptr res;
        std::exception_ptr error;
        // Cancellation.
        std::optional<expiry> expired;
        bool cancel_sent = false;
        reactor::duration cancel_retry = std::chrono::milliseconds(100);
        handle cancel_timer;   // sends the cancel again while the query runs on
        handle timer;
        stop_link link;
        // Streaming.
        row_fn on_row;
        chunk_producer producer;
        chunk_consumer consumer;
        std::uint64_t rows = 0;
        bool waiting_user = false;   // a row/chunk callback's future is pending
        bool copy_started = false;
        bool copy_ended = false;
        std::optional<std::string> pending_chunk;   // produced, not yet taken by libpq
    };

    impl(reactor& rr, connect_options o)
        : r(&rr), opts(std::move(o)), live(&rr.use_service<live_connections>()) {
        live->add(this);
    }

    ~impl() {
        if (live)
            live->remove(this);
        watcher.reset();
        if (conn)
            PQfinish(conn);
    }

    reactor* r;
    connect_options opts;
    live_connections* live;  // nullptr once the reactor has ended this connection
    PGconn* conn = nullptr;
    std::shared_ptr<PGcancel> cancel;
    std::optional<fd_watcher> watcher;
    io_events watching = io_events::none;

    // Connecting.
    bool connecting = false;
    std::optional<promise<connection>> connect_p;
    handle connect_timer;
    stop_link connect_link;

    bool open = false;
    bool closing = false;
    std::string lost;   // why it is closed, once it is
    std::vector<promise<void>> close_waiters;   // one per close() call
    bool closed = false;

    std::deque<std::unique_ptr<op>> ops;
    std::size_t sent = 0;
    bool flush_scheduled = false;
    bool want_write = false;
    bool in_tx = false;
    std::shared_ptr<impl> self;   // kept while operations are in flight

    std::unordered_map<std::string, std::string> statements;   // sql -> name
    std::uint64_t statement_counter = 0;

    std::deque<notification> notes;
    std::size_t notes_dropped = 0;
    std::optional<pending_operation<notification>> note_wait;

    // ---- connecting -------------------------------------------------------

    void start_connect(std::vector<std::pair<std::string, std::string>> params) {
        std::vector<const char*> keys;
        std::vector<const char*> values;
        for (auto& [k, v] : params) {
            keys.push_back(k.c_str());
            values.push_back(v.c_str());
        }
        keys.push_back(nullptr);
        values.push_back(nullptr);
        conn = PQconnectStartParams(keys.data(), values.data(), 0);
        if (!conn)
            throw std::bad_alloc();
        if (PQstatus(conn) == CONNECTION_BAD) {
            fail_connect(make_connection_error(conn, "connect"));
            return;
        }
        PQsetNoticeReceiver(conn, &impl::on_notice, this);
        connecting = true;
        watch_socket(io_events::writable);
    }

    // libpq's notice receiver: called inside libpq (PQconsumeInput,
    // PQgetResult), on the reactor's thread. Nothing may unwind through
    // libpq's C frames: a throw goes to the reactor's exception handler.
    static void on_notice(void* self, const PGresult* res) {
        auto* c = static_cast<impl*>(self);
        if (!c->opts.on_notice)
            return;
        try {
            c->opts.on_notice(detail::notice_fields(res));
        } catch (...) {
            c->r->call_soon([e = std::current_exception()] { std::rethrow_exception(e); });
        }
    }

    // Re-creates the watcher on libpq's current socket: during the connect
    // libpq may close one socket and open another (several hosts or
    // addresses, a TLS retry), and a watcher must never outlive its fd.
    void watch_socket(io_events ev) {
        watcher.reset();
        watching = io_events::none;
        int fd = PQsocket(conn);
        if (fd < 0) {
            fail_connect(make_connection_error(conn, "connect"));
            return;
        }
        watcher.emplace(*r, fd, "vow::pg::connection callback", fd_watcher::bind<&impl::on_io>(this));
        set_watch(ev);
    }

    void set_watch(io_events ev) {
        if (!watcher || ev == watching)
            return;
        if (int err = watcher->try_start(ev); err != 0) {
            auto e = std::make_exception_ptr(
                connection_error(error_fields{std::string(sqlstate::connection_failure), "ERROR",
                                              fmt::format("cannot watch the connection's socket: {}", std::strerror(err)),
                                              {}, {}, {}, {}, {}}));
            if (connecting)
                fail_connect(e);
            else
                fail_all(e);
            return;
        }
        watching = ev;
    }

    // Stops watching the socket, then closes libpq's connection (and it).
    void finish_libpq() {
        watcher.reset();
        watching = io_events::none;
        if (conn) {
            PQfinish(conn);
            conn = nullptr;
        }
    }

    void poll_connect() {
        watcher.reset();   // libpq may close the socket inside PQconnectPoll
        watching = io_events::none;
        switch (PQconnectPoll(conn)) {
        case PGRES_POLLING_READING: watch_socket(io_events::readable); return;
        case PGRES_POLLING_WRITING: watch_socket(io_events::writable); return;
        case PGRES_POLLING_OK: finish_connect(); return;
        default: fail_connect(make_connection_error(conn, "connect")); return;
        }
    }

    void finish_connect() {
        connecting = false;
        connect_timer.cancel();
        connect_link.reset();
        if (PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1) {
            fail_connect(make_connection_error(conn, "connect"));
            return;
        }
        PGcancel* c = PQgetCancel(conn);
        if (c)
            cancel = std::shared_ptr<PGcancel>(c, [](PGcancel* p) { PQfreeCancel(p); });
        open = true;
        watch_socket(io_events::readable);
        if (!open)
            return;
        auto p = std::move(*connect_p);
        connect_p.reset();
        p.resolve(connection(shared_from_this()));
        pump();
    }

    void fail_connect(std::exception_ptr e) {
        connecting = false;
        connect_timer.cancel();
        connect_link.reset();
        finish_libpq();
        lost = message_of(e);
        if (connect_p) {
            auto p = std::move(*connect_p);
            connect_p.reset();
            p.reject(e);
        }
    }

    static std::string message_of(const std::exception_ptr& e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            return x.what();
        } catch (...) {
            return "unknown error";
        }
    }

    // ---- I/O ----------------------------------------------------------------

    void on_io(io_events ready) {
        auto keep = shared_from_this();
        if (connecting) {
            poll_connect();
            return;
        }
        if (!conn)
            return;
        if (has(ready, io_events::readable)) {
            if (PQconsumeInput(conn) == 0) {
                fail_all(make_connection_error(conn, "read"));
                return;
            }
            process();
            if (!conn)
                return;
            take_notifications();
        }
        if (has(ready, io_events::writable) || want_write)
            flush();
        if (conn)
            continue_copy_in();
    }

    void schedule_flush() {
        if (flush_scheduled)
            return;
        flush_scheduled = true;
        std::weak_ptr<impl> w = weak_from_this();
        r->call_soon([w] {
            if (auto s = w.lock()) {
                s->flush_scheduled = false;
                if (s->conn && s->open) {
                    s->flush();
                    if (s->conn)
                        s->continue_copy_in();
                }
            }
        });
    }

    void flush() {
        int rc = PQflush(conn);
        if (rc < 0) {
            fail_all(make_connection_error(conn, "write"));
            return;
        }
        want_write = rc == 1;
        update_watch();
    }

    void update_watch() {
        if (!conn)
            return;
        io_events ev = io_events::none;
        bool paused = !ops.empty() && ops.front()->sent && ops.front()->waiting_user;
        if (!paused)
            ev = ev | io_events::readable;
        if (want_write)
            ev = ev | io_events::writable;
        set_watch(ev);
    }

    // ---- sending --------------------------------------------------------------

    void submit(std::unique_ptr<op> o, const query_options& qo, const char* what) {
        op* raw = o.get();
        ops.push_back(std::move(o));
        if (!self)
            self = shared_from_this();
        if (qo.timeout || qo.stop.stop_possible()) {
            std::weak_ptr<impl> w = weak_from_this();
            auto on_expiry = [w, raw, what](expiry why) {
                if (auto s = w.lock())
                    s->expire(raw, why, what);
            };
            if (qo.timeout)
                raw->timer = r->call_later(*qo.timeout, [on_expiry] { on_expiry(expiry::timeout); });
            if (qo.stop.stop_possible())
                raw->link.assign(*r, qo.stop, [on_expiry] { on_expiry(expiry::cancelled); });
        }
        if (open)
            pump();
    }

    void pump() {
        bool any = false;
        while (open && sent < ops.size()) {
            op& o = *ops[sent];
            if (sent > 0 && (exclusive(ops.front()->kind) || exclusive(o.kind)))
                break;
            if (exclusive(o.kind)) {
                if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && PQexitPipelineMode(conn) != 1) {
                    fail_all(make_connection_error(conn, "leave pipeline mode"));
                    return;
                }
                if (!send_exclusive(o))
                    return;
            } else {
                if (PQpipelineStatus(conn) == PQ_PIPELINE_OFF && PQenterPipelineMode(conn) != 1) {
                    fail_all(make_connection_error(conn, "enter pipeline mode"));
                    return;
                }
                if (!send_pipelined(o))
                    return;
            }
            o.sent = true;
            ++sent;
            any = true;
            if (exclusive(o.kind))
                break;
        }
        if (any)
            schedule_flush();
    }

    void param_arrays(const op& o, std::vector<const char*>& values, std::vector<int>& lengths,
                      std::vector<int>& formats, std::vector<Oid>& types) {
        const std::size_t n = o.params.size();
        values.resize(n);
        lengths.resize(n);
        formats.resize(n);
        types.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            const param& p = o.params[i];
            values[i] = p.null ? nullptr : p.value.c_str();
            lengths[i] = static_cast<int>(p.value.size());
            formats[i] = p.binary ? 1 : 0;
            types[i] = p.type;
        }
    }

    bool send_pipelined(op& o) {
        std::vector<const char*> values;
        std::vector<int> lengths, formats;
        std::vector<Oid> types;
        param_arrays(o, values, lengths, formats, types);
        const int n = static_cast<int>(o.params.size());
        bool ok = true;
        if (o.stmt.empty()) {
            ok = PQsendQueryParams(conn, o.sql.c_str(), n, types.data(), values.data(), lengths.data(),
                                   formats.data(), 0) == 1;
        } else {
            if (o.send_prepare)
                ok = PQsendPrepare(conn, o.stmt.c_str(), o.sql.c_str(), n, types.data()) == 1;
            ok = ok && PQsendQueryPrepared(conn, o.stmt.c_str(), n, values.data(), lengths.data(),
                                           formats.data(), 0) == 1;
        }
        ok = ok && PQpipelineSync(conn) == 1;
        if (!ok) {
            fail_all(make_connection_error(conn, "send"));
            return false;
        }
        return true;
    }

    bool send_exclusive(op& o) {
        bool ok = false;
        if (o.kind == op_kind::rows) {
            std::vector<const char*> values;
            std::vector<int> lengths, formats;
            std::vector<Oid> types;
            param_arrays(o, values, lengths, formats, types);
            ok = PQsendQueryParams(conn, o.sql.c_str(), static_cast<int>(o.params.size()), types.data(),
                                   values.data(), lengths.data(), formats.data(), 0) == 1;
            ok = ok && PQsetSingleRowMode(conn) == 1;
        } else {
            ok = PQsendQuery(conn, o.sql.c_str()) == 1;
        }
        if (!ok) {
            fail_all(make_connection_error(conn, "send"));
            return false;
        }
        return true;
    }

    // Picks the statement of a query: the cached one for its SQL, a new one
    // if there is room, or none.
    void choose_statement(op& o, bool use_cache) {
        if (!use_cache || opts.statement_cache == 0)
            return;
        auto it = statements.find(o.sql);
        if (it != statements.end()) {
            o.stmt = it->second;
            return;
        }
        if (statements.size() >= opts.statement_cache)
            return;
        o.stmt = fmt::format("vow_{}", ++statement_counter);
        o.send_prepare = true;
        statements.emplace(o.sql, o.stmt);
    }

    // ---- receiving ----------------------------------------------------------

    void process() {
        while (conn && !ops.empty() && ops.front()->sent) {
            op& o = *ops.front();
            if (o.waiting_user)
                return;
            if (o.kind == op_kind::copy_out && o.copy_started && !o.copy_ended) {
                if (!read_copy_out(o))
                    return;
                continue;
            }
            if (PQisBusy(conn))
                return;
            PGresult* raw = PQgetResult(conn);
            if (exclusive(o.kind)) {
                if (!raw) {
                    finish_front();
                    continue;
                }
                on_exclusive_result(o, result_ptr(raw));
                continue;
            }
            if (!raw) {
                ++o.nulls;
                continue;
            }
            result_ptr res(raw);
            switch (PQresultStatus(raw)) {
            case PGRES_PIPELINE_SYNC: finish_front(); break;
            case PGRES_PIPELINE_ABORTED: break;   // after this op's own failed prepare
            case PGRES_FATAL_ERROR:
                if (!o.error)
                    o.error = make_error(raw);
                break;
            case PGRES_COMMAND_OK:
            case PGRES_TUPLES_OK:
            case PGRES_EMPTY_QUERY:
                if (o.send_prepare && o.nulls == 0)
                    break;   // the prepare's own result
                o.res = std::move(res);
                break;
            default:
                if (!o.error)
                    o.error = make_unexpected(raw);
                break;
            }
        }
        if (conn && PQstatus(conn) == CONNECTION_BAD)
            fail_all(make_connection_error(conn, "read"));
    }

    std::exception_ptr make_unexpected(PGresult* res) {
        return std::make_exception_ptr(error(error_fields{
            "XX000", "ERROR",
            fmt::format("unexpected answer {} to {}", PQresStatus(PQresultStatus(res)),
                        ops.empty() ? std::string("a query") : fmt::format("'{}'", ops.front()->sql)),
            {}, {}, {}, {}, {}}));
    }

    void on_exclusive_result(op& o, result_ptr res) {
        PGresult* raw = res.get();
        switch (PQresultStatus(raw)) {
        case PGRES_SINGLE_TUPLE: {
            if (o.error)
                return;   // fn failed: the rest is read and dropped
            ++o.rows;
            result one(res.release());
            future<void> f;
            try {
                f = o.on_row(one[0]);
            } catch (...) {
                o.error = std::current_exception();
                return;
            }
            wait_user(o, std::move(f));
            return;
        }
        case PGRES_COPY_IN:
            o.copy_started = true;
            continue_copy_in();
            return;
        case PGRES_COPY_OUT:
            o.copy_started = true;
            return;
        case PGRES_FATAL_ERROR:
            if (!o.error)
                o.error = make_error(raw);
            return;
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            o.res = std::move(res);
            return;
        default:
            if (!o.error)
                o.error = make_unexpected(raw);
            return;
        }
    }

    // Waits for a row or chunk callback's future before reading on.
    void wait_user(op& o, future<void> f) {
        if (!f.valid() || (f.available() && !f.failed())) {
            if (f.valid())
                std::move(f).discard();
            return;
        }
        o.waiting_user = true;
        update_watch();
        std::weak_ptr<impl> w = weak_from_this();
        op* raw = &o;
        std::move(f)
            .then([w, raw] {
                if (auto s = w.lock())
                    s->user_done(raw, nullptr);
            })
            .catch_([w, raw](std::exception_ptr e) {
                if (auto s = w.lock())
                    s->user_done(raw, e);
            })
            .discard();
    }

    void user_done(op* o, std::exception_ptr e) {
        auto keep = shared_from_this();
        if (ops.empty() || ops.front().get() != o)
            return;
        o->waiting_user = false;
        if (e && !o->error) {
            o->error = e;
            if (o->kind == op_kind::copy_in && o->copy_started && !o->copy_ended) {
                o->copy_ended = true;
                o->pending_chunk.reset();
                if (PQputCopyEnd(conn, fmt::format("aborted by the client: {}", message_of(e)).c_str()) < 0) {
                    fail_all(make_connection_error(conn, "write"));
                    return;
                }
                schedule_flush();
            }
        }
        update_watch();
        if (o->kind == op_kind::copy_in)
            continue_copy_in();
        else
            process();
        if (conn)
            take_notifications();
    }

    // COPY FROM STDIN: hands libpq the produced chunk, then asks for the
    // next one once libpq's buffer is written out.
    void continue_copy_in() {
        while (conn && !ops.empty() && ops.front()->sent) {
            op& o = *ops.front();
            if (o.kind != op_kind::copy_in || !o.copy_started || o.copy_ended || o.waiting_user)
                return;
            if (o.pending_chunk) {
                int rc = PQputCopyData(conn, o.pending_chunk->data(), static_cast<int>(o.pending_chunk->size()));
                if (rc < 0) {
                    fail_all(make_connection_error(conn, "write"));
                    return;
                }
                if (rc == 0) {   // libpq's buffer is full: wait for room
                    want_write = true;
                    update_watch();
                    return;
                }
                o.pending_chunk.reset();
                flush();
                if (!conn || want_write)
                    return;   // the rest goes out when the socket has room
            }
            future<std::optional<std::string>> f;
            try {
                f = o.producer();
            } catch (...) {
                user_done(&o, std::current_exception());
                return;
            }
            o.waiting_user = true;
            std::weak_ptr<impl> w = weak_from_this();
            op* raw = &o;
            std::move(f)
                .then([w, raw](std::optional<std::string> chunk) {
                    auto s = w.lock();
                    if (!s || s->ops.empty() || s->ops.front().get() != raw)
                        return;
                    if (!chunk) {
                        raw->waiting_user = false;
                        raw->copy_ended = true;
                        if (PQputCopyEnd(s->conn, nullptr) < 0) {
                            s->fail_all(make_connection_error(s->conn, "write"));
                            return;
                        }
                        s->flush();
                        return;
                    }
                    raw->pending_chunk = std::move(*chunk);
                    raw->waiting_user = false;
                    s->continue_copy_in();
                })
                .catch_([w, raw](std::exception_ptr e) {
                    if (auto s = w.lock())
                        s->user_done(raw, e);
                })
                .discard();
            return;
        }
    }

    // COPY TO STDOUT: one row of output at a time to the consumer. False
    // when more input is needed or the consumer is busy.
    bool read_copy_out(op& o) {
        char* buf = nullptr;
        int n = PQgetCopyData(conn, &buf, 1);
        if (n > 0) {
            std::unique_ptr<char, void (*)(void*)> owned(buf, PQfreemem);
            ++o.rows;
            if (o.error)
                return true;
            future<void> f;
            try {
                f = o.consumer(std::string_view(buf, static_cast<std::size_t>(n)));
            } catch (...) {
                o.error = std::current_exception();
                return true;
            }
            wait_user(o, std::move(f));
            return !o.waiting_user;
        }
        if (n == 0)
            return false;
        o.copy_ended = true;   // -1: done, the final result follows; -2: error, likewise
        return true;
    }

    void finish_front() {
        std::unique_ptr<op> o = std::move(ops.front());
        ops.pop_front();
        --sent;
        o->timer.cancel();
        o->link.reset();
        o->cancel_timer.cancel();
        update_tx();
        if (o->error && !o->stmt.empty()) {
            const std::string state = error_state(o->error);
            if (state == sqlstate::invalid_sql_statement_name || state == sqlstate::feature_not_supported ||
                o->send_prepare) {
                // Prepared again next time, under a new name.
                auto it = statements.find(o->sql);
                if (it != statements.end() && it->second == o->stmt)
                    statements.erase(it);
                if (!o->retried && !o->send_prepare && !o->expired &&
                    (state == sqlstate::invalid_sql_statement_name || state == sqlstate::feature_not_supported)) {
                    retry(std::move(o));
                    after_op();
                    return;
                }
            }
        }
        if (o->error && o->retry_error && error_state(o->error) == "25P02")
            o->error = o->retry_error;   // invalidated inside a transaction: the first error is the one
        settle(*o);
        after_op();
    }

    void retry(std::unique_ptr<op> o) {
        o->retried = true;
        o->retry_error = o->error;
        o->error = nullptr;
        o->res.reset();
        o->sent = false;
        o->nulls = 0;
        o->stmt.clear();
        o->send_prepare = false;
        choose_statement(*o, true);
        ops.insert(ops.begin() + static_cast<std::ptrdiff_t>(sent), std::move(o));
    }

    static std::string error_state(const std::exception_ptr& e) {
        try {
            std::rethrow_exception(e);
        } catch (const error& x) {
            return x.sqlstate();
        } catch (...) {
            return {};
        }
    }

    void update_tx() {
        if (!conn)
            return;
        auto t = PQtransactionStatus(conn);
        if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
            in_tx = true;
        else if (t == PQTRANS_IDLE)
            in_tx = false;
    }

    void settle(op& o) {
        std::exception_ptr e = o.error;
        if (o.expired && e)
            e = expired_error(*o.expired, what_of(o.kind));
        if (o.result_p) {
            if (e)
                o.result_p->reject(e);
            else
                o.result_p->resolve(o.res ? result(o.res.release()) : result());
        } else if (o.count_p) {
            if (e) {
                o.count_p->reject(e);
            } else {
                std::uint64_t n = o.rows;
                if (o.kind == op_kind::copy_in && o.res)
                    n = result(o.res.release()).affected_rows();
                o.count_p->resolve(n);
            }
        }
    }

    static const char* what_of(op_kind k) {
        switch (k) {
        case op_kind::execute: return "pg::connection::execute";
        case op_kind::rows: return "pg::connection::for_each_row";
        case op_kind::copy_in: return "pg::connection::copy_from";
        case op_kind::copy_out: return "pg::connection::copy_to";
        default: return "pg::connection::query";
        }
    }

    void after_op() {
        if (!ops.empty() && ops.front()->sent && ops.front()->expired && !ops.front()->cancel_sent)
            send_cancel(*ops.front());
        pump();
        if (ops.empty()) {
            if (closing)
                finish_close();
            self.reset();   // the caller holds a reference for the rest of its turn
        }
    }

    // ---- cancellation ---------------------------------------------------------

    void expire(op* o, expiry why, const char* what) {
        auto keep = shared_from_this();
        auto it = std::find_if(ops.begin(), ops.end(), [o](const auto& p) { return p.get() == o; });
        if (it == ops.end())
            return;
        o->timer.cancel();
        o->link.reset();
        if (!o->sent) {
            std::unique_ptr<op> gone = std::move(*it);
            ops.erase(it);
            auto e = expired_error(why, what);
            if (gone->result_p)
                gone->result_p->reject(e);
            if (gone->count_p)
                gone->count_p->reject(e);
            if (ops.empty())
                self.reset();
            return;
        }
        o->expired = why;
        if (ops.front().get() == o)
            send_cancel(*o);
    }

    void send_cancel(op& o) {
        o.cancel_sent = true;
        if (!cancel)
            return;
        // Fire and forget, on the default pool: the job holds only the
        // PGcancel (never the reactor, which may be gone when it ends). A
        // cancel that fails lets the query finish, and its answer settles it.
        thread_pool::default_pool().submit([c = cancel] {
            char buf[256];
            PQcancel(c.get(), buf, sizeof buf);
        });
        // A backend ignores a cancel that arrives while it reads its next
        // message (between two pipelined queries, say): while the query
        // is still the one running, ask again, less and less often.
        std::weak_ptr<impl> w = weak_from_this();
        op* raw = &o;
        o.cancel_timer = r->call_later(o.cancel_retry, [w, raw] {
            auto s = w.lock();
            if (s && !s->ops.empty() && s->ops.front().get() == raw && raw->sent) {
                raw->cancel_retry = std::min<reactor::duration>(raw->cancel_retry * 2, std::chrono::seconds(2));
                s->send_cancel(*raw);
            }
        });
    }

    // ---- failure and close ------------------------------------------------------

    void fail_all(std::exception_ptr e) {
        auto keep = shared_from_this();
        if (lost.empty())
            lost = message_of(e);
        open = false;
        finish_libpq();
        auto pending = std::move(ops);
        ops.clear();
        sent = 0;
        for (auto& o : pending) {
            o->timer.cancel();
            o->link.reset();
            o->cancel_timer.cancel();
            if (o->result_p)
                o->result_p->reject(e);
            if (o->count_p)
                o->count_p->reject(e);
        }
        if (note_wait && note_wait->pending()) {
            note_wait->reject(e);
            note_wait.reset();
        }
        closed = true;
        for (auto& p : std::exchange(close_waiters, {}))
            p.resolve();
        self.reset();
    }

    void finish_close() {
        open = false;
        if (lost.empty())
            lost = "the connection was closed by close()";
        finish_libpq();
        if (note_wait && note_wait->pending()) {
            note_wait->reject(closed_error());
            note_wait.reset();
        }
        closed = true;
        for (auto& p : std::exchange(close_waiters, {}))
            p.resolve();
    }

    std::exception_ptr closed_error() const {
        return std::make_exception_ptr(connection_error(error_fields{
            std::string(sqlstate::connection_failure), "ERROR",
            fmt::format("the connection is closed: {}", lost.empty() ? "not connected" : lost), {}, {}, {}, {}, {}}));
    }

    // ---- notifications -----------------------------------------------------------

    void take_notifications() {
        while (PGnotify* n = PQnotifies(conn)) {
            notification note{n->relname ? n->relname : "", n->extra ? n->extra : "", n->be_pid};
            PQfreemem(n);
            if (note_wait && note_wait->pending()) {
                note_wait->resolve(std::move(note));
                note_wait.reset();
                continue;
            }
            notes.push_back(std::move(note));
            if (notes.size() > std::max<std::size_t>(opts.max_notifications, 1)) {
                notes.pop_front();
                ++notes_dropped;
            }
        }
    }

    // The reactor is being destroyed (live_connections' destructor): finish
    // libpq's connection and drop every promise, which breaks quietly
    // (reactor::closing()): no continuation can run any more.
    void end_with_reactor() {
        auto keep = shared_from_this();
        live = nullptr;
        lost = "the reactor was destroyed";
        open = connecting = false;
        closed = true;
        connect_timer.cancel();
        connect_link.reset();
        finish_libpq();
        connect_p.reset();
        for (auto& o : ops) {
            o->timer.cancel();
            o->link.reset();
            o->cancel_timer.cancel();
        }
        ops.clear();
        sent = 0;
        note_wait.reset();
        close_waiters.clear();
        self.reset();
    }

    // ---- making operations --------------------------------------------------------

    template <class P>
    std::optional<future<P>> refuse_if_closed() {
        if (open && !closing)
            return std::nullopt;
        return make_exception_future<P>(*r, closed_error());
    }
};

live_connections::~live_connections() {
    // Ending one connection never ends another, but copy: end_with_reactor
    // may destroy the impl, whose destructor would erase from the set.
    std::vector<std::weak_ptr<connection::impl>> all;
    all.reserve(live_.size());
    for (auto* c : live_)
        all.push_back(c->weak_from_this());
    live_.clear();
    for (auto& w : all) {
        if (auto c = w.lock())
            c->end_with_reactor();
    }
}

// ---- public API ----------------------------------------------------------------

namespace {

// Starts libpq's connect; a throw (out of memory) fails the connect.
void start_connect(const std::shared_ptr<connection::impl>& p,
                   std::vector<std::pair<std::string, std::string>> params) {
    try {
        p->start_connect(std::move(params));
    } catch (...) {
        p->fail_connect(std::current_exception());
    }
}

}  // namespace

future<connection> connection::connect(reactor& r, std::string_view conninfo, connect_options opts) {
    vow::detail::check_thread(r, "pg::connection::connect");
    char* err = nullptr;
    std::string info(conninfo);
    PQconninfoOption* parsed = PQconninfoParse(info.c_str(), &err);
    if (!parsed) {
        std::string why = err ? err : "out of memory";
        if (err)
            PQfreemem(err);
        while (!why.empty() && why.back() == '\n')
            why.pop_back();
        throw vow::invalid_argument(fmt::format("vow::pg::connection::connect: bad connection string: {}", why));
    }
    std::vector<std::pair<std::string, std::string>> params;
    for (PQconninfoOption* o = parsed; o->keyword; ++o)
        if (o->val)
            params.emplace_back(o->keyword, o->val);
    PQconninfoFree(parsed);
    return connect(r, params, std::move(opts));
}

future<connection> connection::connect(reactor& r, const std::vector<std::pair<std::string, std::string>>& given,
                                       connect_options opts) {
    vow::detail::check_thread(r, "pg::connection::connect");
    auto params = given;
    auto find = [&](std::string_view key) -> std::string* {
        for (auto& [k, v] : params)
            if (k == key)
                return &v;
        return nullptr;
    };
    if (!find("client_encoding"))
        params.emplace_back("client_encoding", "UTF8");
    if (std::string* o = find("options"))
        *o = "-c DateStyle=ISO " + *o;
    else
        params.emplace_back("options", "-c DateStyle=ISO");
    if (!find("fallback_application_name"))
        params.emplace_back("fallback_application_name", "vow");

    auto p = std::make_shared<impl>(r, opts);
    p->connect_p.emplace(r);
    future<connection> f = p->connect_p->get_future();
    // The connect holds the impl until it settles.
    p->self = p;
    auto on_expiry = [w = std::weak_ptr<impl>(p)](expiry why) {
        if (auto s = w.lock()) {
            s->fail_connect(expired_error(why, "pg::connection::connect"));
            s->self.reset();
        }
    };
    if (opts.timeout)
        p->connect_timer = r.call_later(*opts.timeout, [on_expiry] { on_expiry(expiry::timeout); });
    if (opts.stop.stop_possible())
        p->connect_link.assign(r, opts.stop, [on_expiry] { on_expiry(expiry::cancelled); });

    // Host names go through vow's resolver, as hostaddr.
    std::vector<std::string> hosts;
    std::string* host = find("host");
    if (host && !find("hostaddr"))
        hosts = split_commas(*host);
    std::vector<std::size_t> to_resolve;
    for (std::size_t i = 0; i < hosts.size(); ++i)
        if (!hosts[i].empty() && hosts[i][0] != '/' && hosts[i][0] != '@' && !numeric_host(hosts[i]))
            to_resolve.push_back(i);
    auto settle_self = [p](future<connection>&& fut) {
        return std::move(fut).finally([p] {
            if (p->ops.empty())
                p->self.reset();
        });
    };
    if (to_resolve.empty()) {
        start_connect(p, std::move(params));
        return settle_self(std::move(f));
    }
    // One lookup after another (rarely more than one host).
    auto addrs = std::make_shared<std::vector<std::string>>(hosts.size());
    for (std::size_t i = 0; i < hosts.size(); ++i)
        if (numeric_host(hosts[i]))
            (*addrs)[i] = hosts[i];
    auto chain = make_ready_future(r);
    for (std::size_t i : to_resolve) {
        chain = std::move(chain).then([&r, i, hosts, addrs, stop = opts.stop] {
            return net::resolve(r, hosts[i], 0, {.stop = stop}).then([i, addrs](std::vector<net::address> a) {
                (*addrs)[i] = a.front().host();
            });
        });
    }
    std::move(chain)
        .then([w = std::weak_ptr<impl>(p), params = std::move(params), addrs]() mutable {
            auto s = w.lock();
            if (!s || !s->connect_p)
                return;
            params.emplace_back("hostaddr", join_commas(*addrs));
            start_connect(s, std::move(params));
        })
        .catch_([w = std::weak_ptr<impl>(p)](std::exception_ptr e) {
            if (auto s = w.lock())
                if (s->connect_p)
                    s->fail_connect(std::make_exception_ptr(connection_error(error_fields{
                        std::string(sqlstate::unable_to_connect), "FATAL", impl::message_of(e), {}, {}, {}, {}, {}})));
        })
        .discard();
    return settle_self(std::move(f));
}

connection::impl& connection::get(const char* what) const {
    if (!p_)
        throw usage_error(fmt::format("vow::{}: the connection is empty (default-constructed)", what));
    vow::detail::check_thread(*p_->r, what);
    return *p_;
}

namespace {

// libpq takes SQL and text parameters as C strings: a NUL byte would cut
// them short without a word. Refused instead.
void check_no_nul(std::string_view what, std::string_view sql, const std::vector<param>* params) {
    if (sql.find('\0') != std::string_view::npos)
        throw vow::invalid_argument(fmt::format("vow::{}: the SQL text contains a NUL byte", what));
    if (!params)
        return;
    for (std::size_t i = 0; i < params->size(); ++i) {
        const param& p = (*params)[i];
        if (!p.null && !p.binary && p.value.find('\0') != std::string::npos)
            throw conversion_error(fmt::format("vow::pg: parameter ${} contains a NUL byte, which PostgreSQL's "
                                               "text cannot hold: send binary data as vow::pg::bytes (bytea)",
                                               i + 1));
    }
}

}  // namespace

// Every operation starts the same way: the thread and the connection
// checked, the SQL (and text parameters) free of NUL bytes, refused at once
// if the connection is closed; otherwise an op of `kind`, set up by
// `setup`, queued. P is result (a query's rows) or std::uint64_t (a count).
template <class P, class Setup>
future<P> connection::start(const char* what, op_kind_tag kind, std::string_view sql, std::vector<param>* params,
                            const query_options& qo, Setup setup) {
    impl& c = get(what);
    check_no_nul(what, sql, params);
    if (auto refused = c.refuse_if_closed<P>())
        return std::move(*refused);
    auto o = std::make_unique<impl::op>();
    o->kind = static_cast<op_kind>(kind);
    o->sql.assign(sql);
    if (params)
        o->params = std::move(*params);
    setup(c, *o);
    future<P> f;
    if constexpr (std::is_same_v<P, result>)
        f = o->result_p.emplace(*c.r).get_future();
    else
        f = o->count_p.emplace(*c.r).get_future();
    c.submit(std::move(o), qo, what);
    return f;
}

future<result> connection::query_params(const query_options& qo, std::string_view sql, std::vector<param> params) {
    return start<result>("pg::connection::query", op_kind_tag(op_kind::query), sql, &params, qo,
                         [&qo](impl& c, impl::op& o) { c.choose_statement(o, qo.prepare); });
}

future<result> connection::execute(std::string_view sql, const query_options& qo) {
    return start<result>("pg::connection::execute", op_kind_tag(op_kind::execute), sql, nullptr, qo,
                         [](impl&, impl::op&) {});
}

future<std::uint64_t> connection::for_each_row_params(const query_options& qo, std::string_view sql,
                                                      std::vector<param> params, row_fn fn) {
    return start<std::uint64_t>("pg::connection::for_each_row", op_kind_tag(op_kind::rows), sql, &params, qo,
                                [&fn](impl&, impl::op& o) { o.on_row = std::move(fn); });
}

future<std::uint64_t> connection::copy_from(std::string_view sql, chunk_producer next) {
    if (!next)
        throw vow::invalid_argument("vow::pg::connection::copy_from: the producer is empty");
    return start<std::uint64_t>("pg::connection::copy_from", op_kind_tag(op_kind::copy_in), sql, nullptr, {},
                                [&next](impl&, impl::op& o) { o.producer = std::move(next); });
}

future<std::uint64_t> connection::copy_to(std::string_view sql, chunk_consumer fn) {
    if (!fn)
        throw vow::invalid_argument("vow::pg::connection::copy_to: the consumer is empty");
    return start<std::uint64_t>("pg::connection::copy_to", op_kind_tag(op_kind::copy_out), sql, nullptr, {},
                                [&fn](impl&, impl::op& o) { o.consumer = std::move(fn); });
}

future<void> connection::begin(std::string_view mode) {
    std::string sql = "BEGIN";
    if (!mode.empty())
        sql.append(" ").append(mode);
    return execute(sql).then([](result) {});
}

future<void> connection::commit() {
    return execute("COMMIT").then([](result) {});
}

future<void> connection::rollback() {
    return execute("ROLLBACK").then([](result) {});
}

future<void> connection::listen(std::string_view channel) {
    return query(query_options{.prepare = false}, "LISTEN " + quote_identifier(channel)).then([](result) {});
}

future<void> connection::unlisten(std::string_view channel) {
    return query(query_options{.prepare = false}, "UNLISTEN " + quote_identifier(channel)).then([](result) {});
}

future<notification> connection::next_notification(std::stop_token stop, std::optional<reactor::duration> timeout) {
    impl& c = get("pg::connection::next_notification");
    if (c.note_wait && c.note_wait->pending())
        throw usage_error("vow::pg::connection::next_notification: a wait is already pending (one at a time)");
    if (c.notes_dropped) {
        auto n = std::exchange(c.notes_dropped, 0);
        return make_exception_future<notification>(
            *c.r, notifications_lost(fmt::format("vow::pg::connection::next_notification: {} notification(s) were "
                                                 "dropped: more than connect_options::max_notifications ({}) "
                                                 "waited to be taken",
                                                 n, c.opts.max_notifications),
                                     n));
    }
    if (!c.notes.empty()) {
        auto n = std::move(c.notes.front());
        c.notes.pop_front();
        return make_ready_future(*c.r, std::move(n));
    }
    if (!c.open)
        return make_exception_future<notification>(*c.r, c.closed_error());
    auto& op = c.note_wait.emplace(*c.r);
    auto f = op.get_future();
    impl* raw = &c;
    op.arm(timeout, {}, stop, [raw](expiry why) {
        raw->note_wait.reset();
        return expired_error(why, "pg::connection::next_notification");
    });
    return f;
}

future<void> connection::close() {
    impl& c = get("pg::connection::close");
    if (c.closed || (!c.open && !c.connecting))
        return make_ready_future(*c.r);
    auto f = c.close_waiters.emplace_back(*c.r).get_future();
    if (c.closing)
        return f;   // a second close: settles with the first
    c.closing = true;
    if (c.ops.empty())
        c.finish_close();
    return f;
}

bool connection::is_open() const noexcept { return p_ && p_->open && !p_->closing; }
bool connection::in_transaction() const noexcept { return p_ && p_->in_tx; }
std::size_t connection::pending() const noexcept { return p_ ? p_->ops.size() : 0; }
int connection::backend_pid() const noexcept { return p_ && p_->conn ? PQbackendPID(p_->conn) : 0; }
int connection::server_version() const noexcept { return p_ && p_->conn ? PQserverVersion(p_->conn) : 0; }
std::string connection::error_message() const { return p_ ? p_->lost : std::string(); }
reactor& connection::get_reactor() const { return *get("pg::connection::get_reactor").r; }

}  // namespace vow::pg
