// examples/pg_bench.cpp - PostgreSQL round trips through a vow::pg::pool,
// checked one by one: asyncpg's favourite benchmark, the vow way.
//
//   pg_bench --dsn "host=127.0.0.1 user=app dbname=app" --queries 100000 --concurrency 10
//   queries/s 41234
//
// --workload add (the default): `SELECT $1::int + 1` --queries times over
// a pool of --concurrency connections, every answer checked.
// --workload rows: the query below, --queries times at --concurrency,
// every field of every row decoded (int4, text, float8); prints rows/s.
//   SELECT i, 'row ' || i, i * 0.5::float8 FROM generate_series(1, --rows) i
// --workload copy: COPY FROM STDIN of --rows rows (default 1,000,000),
// (i, 'row i', i * 0.5) for i = 1..R, made while the clock runs in COPY's
// binary format (vow::pg::copy_writer), into a fresh table pg_bench_copy
// (id int, name text, value float8); rows/s.
// The table is made before the clock starts, and counted and dropped after.
//
// The pool's connections are opened before the clock starts. Any error
// (a wrong password, a closed port, a missing database, a wrong answer)
// prints the server's message and exits with status 1.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct options {
    std::string dsn;
    long queries = 10000;
    long concurrency = 10;
    long rows = -1;
    std::string workload = "add";
};

[[noreturn]] void usage(const std::string& why) {
    fmt::print(stderr,
               "pg_bench: {}\nusage: pg_bench --dsn DSN [--queries N] [--concurrency C] "
               "[--workload add|rows|copy] [--rows R]\n",
               why);
    std::exit(2);
}

long positive(std::string_view name, const char* text) {
    char* end = nullptr;
    long v = std::strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v <= 0)
        usage(fmt::format("{} must be a positive integer, not '{}'", name, text));
    return v;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc)
            usage(fmt::format("{} needs a value", a));
        const char* v = argv[++i];
        if (a == "--dsn")
            o.dsn = v;
        else if (a == "--queries")
            o.queries = positive(a, v);
        else if (a == "--concurrency")
            o.concurrency = positive(a, v);
        else if (a == "--rows")
            o.rows = positive(a, v);
        else if (a == "--workload")
            o.workload = v;
        else
            usage(fmt::format("unknown option {}", a));
    }
    if (o.dsn.empty())
        usage("--dsn is required");
    if (o.workload != "add" && o.workload != "rows" && o.workload != "copy")
        usage(fmt::format("--workload must be add, rows or copy, not '{}'", o.workload));
    if (o.rows < 0)
        o.rows = o.workload == "copy" ? 1'000'000 : 10'000;
    return o;
}

// ANCHOR: workers
// Runs `step(i)` for i = 0 .. n-1 with `concurrency` workers, each starting
// its next step when its last one settles; the first error ends the run.
template <class Step>
vow::future<void> run_workers(vow::reactor& r, long n, long concurrency, Step step) {
    auto next = std::make_shared<long>(0);
    auto workers = std::make_shared<vow::task_group>(r);
    for (long w = 0; w < concurrency; ++w)
        workers->spawn([&r, next, n, step] {
            return vow::repeat(r, [&r, next, n, step] {
                if (*next >= n)
                    return vow::make_ready_future(r, vow::stop_iteration::yes);
                return step((*next)++).then([] { return vow::stop_iteration::no; });
            });
        });
    return workers->join().finally([workers] {});
}
// ANCHOR_END: workers

}  // namespace

int main(int argc, char** argv) {
    options o = parse(argc, argv);
    vow::reactor r;
    vow::pg::pool db(r, o.dsn, {.max_size = static_cast<std::size_t>(o.concurrency)});
    using clock = std::chrono::steady_clock;
    clock::time_point start, stop;   // stop: set by copy, which checks its table after the clock
    std::uint64_t units = 0;         // queries or rows

    // Open every connection of the pool before the clock starts.
    std::vector<vow::future<vow::pg::pool::lease>> opening;
    for (long i = 0; i < o.concurrency; ++i)
        opening.push_back(db.acquire());
    auto work = vow::all(std::move(opening)).then([&](std::vector<vow::pg::pool::lease> leases) {
        leases.clear();   // all back in the pool, open
        start = clock::now();
        if (o.workload == "add") {
            units = static_cast<std::uint64_t>(o.queries);
            return run_workers(r, o.queries, o.concurrency, [&db](long i) {
                const int n = static_cast<int>(i);
                return db.query("SELECT $1::int + 1", n).then([n](vow::pg::result res) {
                    if (res.value<int>() != n + 1)
                        throw std::runtime_error(fmt::format("SELECT {} + 1 answered {}", n, res.value<int>()));
                });
            });
        }
        if (o.workload == "rows") {
            units = static_cast<std::uint64_t>(o.queries) * static_cast<std::uint64_t>(o.rows);
            return run_workers(r, o.queries, o.concurrency, [&db, &o](long) {
                return db.query("SELECT i, 'row ' || i, i * 0.5::float8 FROM generate_series(1, $1::int) i",
                                static_cast<int>(o.rows))
                    .then([&o](vow::pg::result res) {
                        long bad = 0;
                        for (auto row : res) {
                            auto i = row.get<int>(0);
                            auto name = row.get<std::string_view>(1);
                            auto half = row.get<double>(2);
                            bad += half * 2 != i || name.size() < 5;
                        }
                        if (res.size() != o.rows || bad != 0)
                            throw std::runtime_error(
                                fmt::format("{} rows ({} wrong), expected {}", res.size(), bad, o.rows));
                    });
            });
        }
        // copy
        units = static_cast<std::uint64_t>(o.rows);
        return db.acquire().then([&r, &o, &start, &stop](vow::pg::pool::lease c) {
            return c->execute("DROP TABLE IF EXISTS pg_bench_copy; "
                              "CREATE TABLE pg_bench_copy (id int, name text, value float8)")
                .then([&r, &o, &start, c](vow::pg::result) {
                    start = clock::now();
                    // Rows in COPY's binary format (vow::pg::copy_writer), as
                    // asyncpg's copy_records_to_table sends them, 256 KiB a chunk.
                    struct rows_state {
                        vow::pg::copy_writer writer;
                        long next = 1;
                        bool done = false;
                        std::string name;
                    };
                    auto st = std::make_shared<rows_state>();
                    return c->copy_from("COPY pg_bench_copy FROM STDIN (FORMAT binary)", [&r, &o, st] {
                        std::optional<std::string> chunk;
                        if (!st->done) {
                            for (; st->next <= o.rows && st->writer.size() < 256 * 1024; ++st->next) {
                                st->name.assign("row ");
                                fmt::format_to(std::back_inserter(st->name), "{}", st->next);
                                st->writer.row(static_cast<std::int32_t>(st->next), st->name,
                                               static_cast<double>(st->next) * 0.5);
                            }
                            st->done = st->next > o.rows;
                            chunk = st->done ? st->writer.finish() : st->writer.take();
                        }
                        return vow::make_ready_future(r, std::move(chunk));
                    });
                })
                .then([&o, &stop, c](std::uint64_t copied) {
                    stop = clock::now();
                    if (copied != static_cast<std::uint64_t>(o.rows))
                        throw std::runtime_error(fmt::format("COPY reported {} rows, sent {}", copied, o.rows));
                    return c->query("SELECT count(*) FROM pg_bench_copy");
                })
                .then([&o, c](vow::pg::result res) {
                    if (res.value<std::int64_t>() != o.rows)
                        throw std::runtime_error(
                            fmt::format("pg_bench_copy holds {} rows, sent {}", res.value<std::int64_t>(), o.rows));
                    return c->execute("DROP TABLE pg_bench_copy");
                })
                .then([](vow::pg::result) {});
        });
    });
    try {
        vow::run_until_complete(r, std::move(work));
    } catch (const std::exception& e) {
        fmt::print(stderr, "pg_bench: {}\n", e.what());
        return 1;
    }
    if (stop == clock::time_point())
        stop = clock::now();
    double seconds = std::chrono::duration<double>(stop - start).count();
    fmt::print("{} {:.0f}\n", o.workload == "add" ? "queries/s" : "rows/s", static_cast<double>(units) / seconds);
    fmt::print("elapsed {:.3f}\n", seconds);
    vow::run_until_complete(r, db.close());
    return 0;
}
