#!/usr/bin/env python3
"""examples/check_pg.py - runs examples/pg_bench against the PostgreSQL
server in VOW_TEST_PG_DSN (scripts/pg_cluster starts one) and checks it.

    check_pg.py PG_BENCH

- add: 3,000 queries at concurrency 4 print "queries/s N" with N > 0 (every
  answer is checked by pg_bench itself; a wrong one exits 1);
- rows: 20 queries of 500 rows print "rows/s N";
- copy: 50,000 rows copied (pg_bench counts the table itself, then drops it);
- a wrong password, a closed port and a missing database each exit 1 with
  the server's (or libpq's) words on stderr;
- bad usage exits 2.

Without VOW_TEST_PG_DSN it exits 77: meson reports the test as skipped.
"""
import os
import re
import socket
import subprocess
import sys


def run(exe, *args, timeout=100):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def with_key(dsn, key, value):
    items = [i for i in dsn.split() if not i.startswith(key + "=")]
    return " ".join(items + [f"{key}={value}"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    exe = sys.argv[1]
    dsn = os.environ.get("VOW_TEST_PG_DSN")
    if not dsn:
        print("skipped: no PostgreSQL server: VOW_TEST_PG_DSN is not set "
              "(scripts/test and .ci/run start one with scripts/pg_cluster)")
        return 77
    failures = []

    def expect(cond, what, proc=None):
        if not cond:
            extra = f"\n  stdout: {proc.stdout!r}\n  stderr: {proc.stderr!r}" if proc else ""
            failures.append(what + extra)

    p = run(exe, "--dsn", dsn, "--queries", "3000", "--concurrency", "4")
    m = re.search(r"^queries/s (\d+)$", p.stdout, re.M)
    expect(p.returncode == 0 and m and int(m.group(1)) > 0, "add: queries/s", p)

    p = run(exe, "--dsn", dsn, "--workload", "rows", "--queries", "20", "--rows", "500", "--concurrency", "3")
    m = re.search(r"^rows/s (\d+)$", p.stdout, re.M)
    expect(p.returncode == 0 and m and int(m.group(1)) > 0, "rows: rows/s", p)

    p = run(exe, "--dsn", dsn, "--workload", "copy", "--rows", "50000", "--concurrency", "1")
    m = re.search(r"^rows/s (\d+)$", p.stdout, re.M)
    expect(p.returncode == 0 and m and int(m.group(1)) > 0, "copy: rows/s", p)

    p = run(exe, "--dsn", with_key(dsn, "password", "wrong"), "--queries", "10")
    expect(p.returncode == 1 and "password authentication failed" in p.stderr, "wrong password", p)
    p = run(exe, "--dsn", with_key(dsn, "port", str(free_port())), "--queries", "10")
    expect(p.returncode == 1 and "refused" in p.stderr, "closed port", p)
    p = run(exe, "--dsn", with_key(dsn, "dbname", "no_such_database"), "--queries", "10")
    expect(p.returncode == 1 and "no_such_database" in p.stderr, "missing database", p)
    p = run(exe, "--queries", "10")
    expect(p.returncode == 2 and "--dsn is required" in p.stderr, "usage: no --dsn", p)
    p = run(exe, "--dsn", dsn, "--queries", "0")
    expect(p.returncode == 2 and "positive" in p.stderr, "usage: --queries 0", p)

    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
