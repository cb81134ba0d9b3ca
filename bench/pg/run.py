#!/usr/bin/env python3
"""bench/pg/run.py - vow::pg (examples/pg_bench) against asyncpg and Node.js's
postgres.js, on the same throwaway PostgreSQL server.

  python3 bench/pg/run.py --pg-bench build-bench/examples/pg_bench
  python3 bench/pg/run.py --contenders asyncpg,postgres.js   # the peers alone
  python3 bench/pg/run.py --pg-bench ... --reps 5 --workloads add --json out.json

How it measures:

- scripts/pg_cluster starts one cluster for the whole run (stopped at the
  end, also on failure or Ctrl-C). The postmaster and the processes it has
  already forked are pinned to core 0 (taskset -a -p -c 0; backends fork
  later and inherit it), every client to core 1 (taskset -c 1): the server
  and the client never compete for a core. --no-pin to turn that off.
- The workloads (examples/pg_bench's; asyncpg_bench.py's docstring has the
  details, the same for every contender):
  add   `SELECT $1::int + 1`, --queries times, --concurrency in flight over
        a pool of that many connections, every answer checked;
  rows  the generate_series query of --rows rows (10,000), --rows-queries
        times (200), at --concurrency, every field of every row read;
  copy  --copy-rows rows (1,000,000) into a fresh table with COPY FROM
        STDIN on one connection, the rows generated inside the timed part.
- Each client times itself from the moment its pool is open to the last
  answer and prints `queries/s X` or `rows/s X`: that rate is the figure
  compared. Its CPU time (user + system, from wait4's rusage of the client
  process, start-up included) is divided by the work done: µs per query,
  or ns per row. The server's CPU per unit of work is the growth of the
  postmaster's and its children's CPU time (/proc, children reaped into
  cutime and cstime) over the run.
- Every contender runs every workload --reps times (3), the contenders
  taking turns in a rotating order so they share the machine's noise. The
  tables show the median with min and max; the ratio is vow's advantage:
  vow's median rate over the peer's (above 1x vow is faster) and the peer's
  median client CPU over vow's (above 1x vow uses less).

A contender that cannot run here (no pg_bench given, no asyncpg, no node or
no npm's postgres) has its row, saying why; nothing is made up. asyncpg runs
on Debian's /usr/bin/python3 (python3-asyncpg, installed with apt-get when
missing); postgres.js on `node`, installed with `npm install --prefix
NPM_DIR postgres@3` (build-bench/npm, as bench/net does for ws; --npm-dir)
and found through NODE_PATH. --no-install never runs apt-get or npm.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RATE = re.compile(r"^(queries|rows)/s ([0-9.]+)$", re.M)
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"run.py: {msg}", file=sys.stderr, flush=True)


def start_cluster():
    p = subprocess.run([str(ROOT / "scripts" / "pg_cluster"), "start"], stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("run.py: scripts/pg_cluster start failed (above)")
    env = dict(re.findall(r"^(\w+)='?(.*?)'?$", p.stdout, re.M))
    return env["VOW_PG_DIR"], env["VOW_TEST_PG_DSN"]


def postmaster_pid(pg_dir):
    return int(Path(pg_dir, "data", "postmaster.pid").read_text().split()[0])


def children(pid):
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def server_cpu(pid):
    """CPU seconds of the postmaster, its reaped children and its live ones."""
    def fields(p):
        try:
            return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
    f = fields(pid)
    total = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
    for c in children(pid):
        g = fields(c)
        if g:
            total += int(g[11]) + int(g[12])
    return total / TICK


def ensure_asyncpg(python, allowed):
    check = [python, "-c", "import asyncpg; print(asyncpg.__version__)"]
    p = subprocess.run(check, capture_output=True, text=True)
    if p.returncode != 0 and allowed and shutil.which("apt-get"):
        log("installing python3-asyncpg")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "python3-asyncpg"]
        if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
        p = subprocess.run(check, capture_output=True, text=True)
    if p.returncode != 0:
        return None, f"no asyncpg for {python} (apt-get install python3-asyncpg)"
    return p.stdout.strip(), None


def ensure_postgres_js(node, prefix, allowed):
    if not node:
        return None, None, "node not installed"
    manifest = prefix / "node_modules" / "postgres" / "package.json"

    def version():
        try:
            return json.loads(manifest.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None

    if version() is None:
        if not allowed or not shutil.which("npm"):
            return None, None, (f"npm's postgres not installed (npm install --prefix {prefix} postgres@3)"
                                if shutil.which("npm") else "npm not installed (apt-get install npm)")
        log(f"installing npm's postgres into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "postgres@3"],
                           capture_output=True, text=True)
        if r.returncode != 0 or version() is None:
            return None, None, f"npm install postgres failed: {(r.stderr or r.stdout).strip()[-200:]}"
    return str(prefix / "node_modules"), version(), None


def run_once(argv, env, pid_server, pin):
    """Runs one client; returns (rate, client CPU s, server CPU s, wall s)."""
    cmd = (["taskset", "-c", "1"] if pin else []) + argv
    before = server_cpu(pid_server)
    base_children = len(children(pid_server))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True)
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"run.py: {' '.join(argv)}: exit {proc.returncode}: {stderr.strip()[-500:]}")
    m = RATE.search(stdout)
    if not m:
        sys.exit(f"run.py: {' '.join(argv)}: no 'queries/s' or 'rows/s' line in {stdout!r}")
    # Let the backends exit, so that their CPU time is reaped into the postmaster's.
    deadline = time.monotonic() + 3
    while len(children(pid_server)) > base_children and time.monotonic() < deadline:
        time.sleep(0.02)
    return float(m.group(2)), ru.ru_utime + ru.ru_stime, server_cpu(pid_server) - before, wall


def med(xs):
    return f"{statistics.median(xs):,.0f} ({min(xs):,.0f}–{max(xs):,.0f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg-bench", help="examples/pg_bench, built with --buildtype=release "
                                       "(required unless --contenders leaves vow out)")
    ap.add_argument("--contenders", default="vow,asyncpg,postgres.js",
                    help="comma-separated, of vow, asyncpg, postgres.js (all)")
    ap.add_argument("--workloads", default="add,rows,copy")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--queries", type=int, default=100000, help="add: queries (100000)")
    ap.add_argument("--concurrency", type=int, default=10, help="add and rows: in flight (10)")
    ap.add_argument("--rows", type=int, default=10000, help="rows: rows per query (10000)")
    ap.add_argument("--rows-queries", type=int, default=200, help="rows: queries (200)")
    ap.add_argument("--copy-rows", type=int, default=1000000, help="copy: rows (1000000)")
    ap.add_argument("--python", default="/usr/bin/python3", help="a Python with asyncpg")
    ap.add_argument("--node", default=shutil.which("node"))
    ap.add_argument("--npm-dir", default=str(ROOT / "build-bench" / "npm"),
                    help="where npm installs postgres.js (build-bench/npm)")
    ap.add_argument("--no-install", action="store_true", help="never run apt-get or npm")
    ap.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    ap.add_argument("--json", help="also write every measurement to this file")
    args = ap.parse_args()

    names = [c.strip() for c in args.contenders.split(",") if c.strip()]
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for n in names:
        if n not in ("vow", "asyncpg", "postgres.js"):
            ap.error(f"unknown contender {n}")
    for w in workloads:
        if w not in ("add", "rows", "copy"):
            ap.error(f"unknown workload {w}")
    if "vow" in names and not args.pg_bench:
        ap.error("--pg-bench is required when vow is among the contenders")
    pin = not args.no_pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    if not pin:
        log("not pinning (no taskset, one core, or --no-pin)")

    skipped, versions, commands, envs = {}, {}, {}, {}
    base_env = dict(os.environ)
    for n in names:
        if n == "vow":
            if not os.access(args.pg_bench, os.X_OK):
                skipped[n] = f"{args.pg_bench} is not an executable"
            commands[n] = [os.path.abspath(args.pg_bench)]
            envs[n] = base_env
        elif n == "asyncpg":
            versions[n], why = ensure_asyncpg(args.python, not args.no_install)
            if why:
                skipped[n] = why
            commands[n] = [args.python, str(HERE / "asyncpg_bench.py")]
            envs[n] = base_env
        else:
            node_path, versions[n], why = ensure_postgres_js(args.node, Path(args.npm_dir).resolve(),
                                                             not args.no_install)
            if why:
                skipped[n] = why
            commands[n] = [args.node or "node", str(HERE / "postgres_node.js")]
            envs[n] = dict(base_env, NODE_PATH=node_path or "")
    running = [n for n in names if n not in skipped]

    def workload_args(w, dsn):
        common = ["--dsn", dsn, "--workload", w]
        if w == "add":
            return common + ["--queries", str(args.queries), "--concurrency", str(args.concurrency)]
        if w == "rows":
            return common + ["--queries", str(args.rows_queries), "--concurrency", str(args.concurrency),
                             "--rows", str(args.rows)]
        return common + ["--queries", "1", "--concurrency", "1", "--rows", str(args.copy_rows)]

    def work(w):
        return {"add": args.queries, "rows": args.rows_queries * args.rows, "copy": args.copy_rows}[w]

    results = {w: {n: {"rate": [], "client_cpu": [], "server_cpu": [], "wall": []} for n in running}
               for w in workloads}
    pg_dir = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        pg_dir, dsn = start_cluster()
        pid = postmaster_pid(pg_dir)
        if pin:
            for p in [pid] + children(pid):
                subprocess.run(["taskset", "-a", "-p", "-c", "0", str(p)], stdout=subprocess.DEVNULL, check=True)
        load_start = os.getloadavg()
        for w in workloads:
            for rep in range(args.reps):
                order = running[rep % len(running):] + running[:rep % len(running)] if running else []
                for n in order:
                    rate, ccpu, scpu, wall = run_once(commands[n] + workload_args(w, dsn), envs[n], pid, pin)
                    r = results[w][n]
                    r["rate"].append(rate)
                    r["client_cpu"].append(ccpu)
                    r["server_cpu"].append(scpu)
                    r["wall"].append(wall)
                    log(f"{w} rep {rep + 1}/{args.reps} {n}: {rate:,.0f}/s, client CPU {ccpu:.2f} s, "
                        f"server CPU {scpu:.2f} s")
        load_end = os.getloadavg()
    finally:
        if pg_dir:
            subprocess.run([str(ROOT / "scripts" / "pg_cluster"), "stop", pg_dir])

    unit = {"add": ("queries/s", "µs/query", 1e6), "rows": ("rows/s", "ns/row", 1e9),
            "copy": ("rows/s", "ns/row", 1e9)}
    what = {"add": f"`SELECT $1::int + 1` x {args.queries:,}, {args.concurrency} in flight",
            "rows": f"{args.rows:,}-row generate_series x {args.rows_queries}, {args.concurrency} in flight",
            "copy": f"COPY FROM STDIN of {args.copy_rows:,} rows, one connection"}
    print(f"PostgreSQL clients, {args.reps} repetitions, server on core 0 and clients on core 1"
          f"{'' if pin else ' (not pinned)'}; load average {load_start[0]:.2f} at the start, "
          f"{load_end[0]:.2f} at the end. Versions: "
          + ", ".join(f"{n} {v}" for n, v in versions.items() if v) + ".")
    for w in workloads:
        rate_unit, cpu_unit, scale = unit[w]
        print()
        print(f"{w}: {what[w]}")
        print()
        print(f"| Client | {rate_unit}: median (min–max) | vow's advantage | client CPU, {cpu_unit}: "
              f"median (min–max) | vow's advantage | server CPU, {cpu_unit}: median |")
        print("|---|---:|---:|---:|---:|---:|")
        vow = results[w].get("vow")
        for n in names:
            if n in skipped:
                print(f"| {n} | skipped: {skipped[n]} | | | | |")
                continue
            r = results[w][n]
            cpu = [c / work(w) * scale for c in r["client_cpu"]]
            srv = [c / work(w) * scale for c in r["server_cpu"]]
            if vow is None or n == "vow":
                adv_rate = adv_cpu = "—"
            else:
                adv_rate = f"{statistics.median(vow['rate']) / statistics.median(r['rate']):.2f}×"
                adv_cpu = f"{statistics.median(r['client_cpu']) / statistics.median(vow['client_cpu']):.2f}×"
            print(f"| {n} | {med(r['rate'])} | {adv_rate} | "
                  f"{statistics.median(cpu):.2f} ({min(cpu):.2f}–{max(cpu):.2f}) | {adv_cpu} | "
                  f"{statistics.median(srv):.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "versions": versions, "skipped": skipped, "results": results,
                       "load": [load_start, load_end]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
