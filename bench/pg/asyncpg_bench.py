#!/usr/bin/python3
"""bench/pg/asyncpg_bench.py - examples/pg_bench's workloads on asyncpg, the
Python peer of bench/pg/run.py (Debian's /usr/bin/python3, python3-asyncpg).

  asyncpg_bench.py --dsn DSN --queries N --concurrency C [--workload add|rows|copy] [--rows R]

Does what examples/pg_bench does, and prints the same lines:

- add (default): `SELECT $1::int + 1` N times, i = 0..N-1, from C workers
  taking the next i from a shared counter over a pool of C connections
  (asyncpg.create_pool, min_size = max_size = C); every answer is checked
  (i + 1). Prints `queries/s X`.
- rows: `SELECT i, 'row ' || i, i * 0.5::float8 FROM generate_series(1, R) i`
  N times the same way; every field of every row is read (int, text, float8)
  and the row count checked. Prints `rows/s X` (N * R rows).
- copy: R rows (default 1,000,000) (i, 'row i', i * 0.5) for i = 1..R into
  a fresh table pg_bench_copy (id int, name text, value float8) with
  copy_records_to_table (binary COPY FROM STDIN) on one connection; the rows
  are generated inside the timed part, as by every contender. Prints
  `rows/s X`.

The clock starts once the pool is open (the table dropped and created, for
copy) and stops when the last answer has arrived; `elapsed S` follows.
Exits 1 with the server's message on any error.
"""
import argparse
import asyncio
import sys
import time

import asyncpg

ROWS_SQL = "SELECT i, 'row ' || i, i * 0.5::float8 FROM generate_series(1, {}) i"
COPY_TABLE = "pg_bench_copy"


def dsn_kwargs(dsn):
    """asyncpg takes URIs; this takes libpq's `key=value ...` form too."""
    if "://" in dsn:
        return {"dsn": dsn}
    names = {"host": "host", "port": "port", "user": "user", "password": "password", "dbname": "database"}
    kw = {}
    for part in dsn.split():
        key, _, value = part.partition("=")
        if key not in names:
            sys.exit(f"asyncpg_bench: unsupported DSN key {key!r}")
        kw[names[key]] = int(value) if key == "port" else value.strip("'")
    return kw


async def pooled(args, work):
    """Runs work(conn, i) for i in 0..N-1 from C workers over a pool of C."""
    pool = await asyncpg.create_pool(**dsn_kwargs(args.dsn), min_size=args.concurrency,
                                     max_size=args.concurrency)
    next_i = 0

    async def worker():
        nonlocal next_i
        async with pool.acquire() as conn:
            while next_i < args.queries:
                i = next_i
                next_i += 1
                await work(conn, i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return elapsed


async def add(args):
    async def one(conn, i):
        v = await conn.fetchval("SELECT $1::int + 1", i)
        if v != i + 1:
            raise RuntimeError(f"SELECT {i}::int + 1 answered {v!r}")

    elapsed = await pooled(args, one)
    print(f"queries/s {args.queries / elapsed:.1f}")
    return elapsed


async def rows(args):
    sql = ROWS_SQL.format(args.rows)

    async def one(conn, _):
        result = await conn.fetch(sql)
        total = 0.0
        for r in result:
            total += r[0] + len(r[1]) + r[2]
        if len(result) != args.rows:
            raise RuntimeError(f"{len(result)} rows, expected {args.rows}")

    elapsed = await pooled(args, one)
    print(f"rows/s {args.queries * args.rows / elapsed:.1f}")
    return elapsed


async def copy(args):
    conn = await asyncpg.connect(**dsn_kwargs(args.dsn))
    await conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
    await conn.execute(f"CREATE TABLE {COPY_TABLE} (id int, name text, value float8)")
    start = time.perf_counter()
    records = ((i, f"row {i}", i * 0.5) for i in range(1, args.rows + 1))
    await conn.copy_records_to_table(COPY_TABLE, records=records, columns=["id", "name", "value"])
    elapsed = time.perf_counter() - start
    count = await conn.fetchval(f"SELECT count(*) FROM {COPY_TABLE}")
    await conn.execute(f"DROP TABLE {COPY_TABLE}")
    await conn.close()
    if count != args.rows:
        raise RuntimeError(f"the table has {count} rows, expected {args.rows}")
    print(f"rows/s {args.rows / elapsed:.1f}")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--queries", type=int, default=100000)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--workload", choices=["add", "rows", "copy"], default="add")
    ap.add_argument("--rows", type=int)
    args = ap.parse_args()
    if args.rows is None:
        args.rows = 1000000 if args.workload == "copy" else 10000
    try:
        elapsed = asyncio.run({"add": add, "rows": rows, "copy": copy}[args.workload](args))
    except (asyncpg.PostgresError, OSError, RuntimeError) as e:
        print(f"asyncpg_bench: {e}", file=sys.stderr)
        return 1
    print(f"elapsed {elapsed:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
