#!/usr/bin/env python3
"""bench/results.py - vow against its peers, side by side, in one run: runs
every benchmark, then writes RESULTS.md (tables: figure, vow, each peer,
ratio), PNG plots and the machine's description. bench/run installs what is
missing and then runs this with Debian's python3; run it through bench/run.

  bench/run                      # full run: bench/RESULTS.md, bench/plots/
  bench/run --quick              # smoke run: BUILD/bench-results-quick/
  bench/run --only micro         # one part: micro, loop, net
  bench/run --only loop          # rewrites only RESULTS.md's loop section
  bench/run --out DIR            # write RESULTS.md and plots/ into DIR

What runs (bench/README.md, "bench/run", says more):

- micro: the programs in bench/peers/, one per library (vow, raw libevent,
  Boost.Asio, boost::future, libuv, Node.js, asyncio, uvloop), each doing
  the same workloads (callback chain, then-chain, all over 100k futures, 1M
  timers, cross-thread posts, bytes per pending future) and printing one JSON
  line per workload. Every program runs once per repetition (5; 3 with
  --quick, at a tenth of the sizes), the programs taking turns in a
  rotating order, unpinned (the cross-thread workload needs both cores).
- loop: bench/peers/loop_vow (vow::repeat, recursion through then) and
  bench/peers/loop_node.js (the same loops in Node.js): ns per iteration
  and RSS growth per level, one process per workload, figure and
  repetition (5; 3 with --quick, at a tenth of the size), vow and Node.js
  taking turns, both pinned to one core (--loop-cpu). `--only loop`
  replaces just the loop section of an existing RESULTS.md.
- net: bench/net/run.py, which pins each server to core 0 and its load to
  core 1: TCP echo (64 B and 16 KiB, 1/100/1000 connections; loadgen checks
  every byte), HTTP hello world with wrk (1/64/256 connections), the HTTP
  client (10,000 GETs at concurrency 100), and the memory of each echo
  server holding 10,000 idle connections. Its own tables are copied into
  RESULTS.md under "Details".

Every figure is the median of the repetitions, with min and max in the
detail tables. A ratio compares medians taken in this same run, which is
what survives a shared, noisy machine: absolute figures drift between runs.

A full run (not --quick, not --only, default --out) also rewrites the
headline table in README.md's "## Performance" section, between the
markers <!-- bench/run:headline --> and <!-- /bench/run:headline -->, so
that the README's numbers are the file's.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = ["vow", "libevent", "Boost.Asio", "boost::future", "libuv", "Node.js", "asyncio",
         "uvloop"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_text(argv, **kw):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
        return (r.stdout or r.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# --------------------------------------------------------------------------
# Build

def build_options(build):
    out = run_text(["meson", "introspect", "--buildoptions", str(build)])
    try:
        return {o["name"]: o["value"] for o in json.loads(out)}
    except ValueError:
        return {}


# The meson targets each part runs; None: everything (net needs the examples).
PART_TARGETS = {
    "micro": {"micro_vow", "micro_libevent", "micro_asio", "micro_boost_future", "micro_libuv"},
    "loop": {"loop_vow"},
    "net": None,
}


def ninja_targets(build, parts):
    """The ninja targets that build what `parts` run, or [] for everything."""
    wanted = set()
    for p in parts:
        if PART_TARGETS.get(p) is None:
            return []
        wanted |= PART_TARGETS[p]
    try:
        targets = json.loads(run_text(["meson", "introspect", "--targets", str(build)]))
    except ValueError:
        return []
    return [os.path.relpath(t["filename"][0], build) for t in targets
            if t["name"] in wanted and t.get("filename")]


def build_all(build, parts):
    """Configures BUILD with optimisation (release: -O3, NDEBUG), the bench
    programs and the examples (vow's servers and fetch), no tests, and builds
    what the chosen parts run (everything when net is among them)."""
    wanted = {"buildtype": "release", "bench": True, "examples": True, "tests": False}
    if not (build / "build.ninja").exists():
        log(f"configuring {build} (release, bench, examples, no tests)")
        subprocess.run(["meson", "setup", str(build), "--buildtype=release", "-Dbench=true",
                        "-Dexamples=true", "-Dtests=false"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    else:
        have = build_options(build)
        change = [f"-D{k}={str(v).lower() if isinstance(v, bool) else v}"
                  for k, v in wanted.items() if have.get(k) != v]
        if change:
            log(f"reconfiguring {build}: {' '.join(change)}")
            subprocess.run(["meson", "configure", str(build), *change], check=True,
                           stdout=subprocess.DEVNULL)
    targets = ninja_targets(build, parts)
    log(f"building {build}" + (f": {' '.join(targets)}" if targets else ""))
    r = subprocess.run(["ninja", "-C", str(build), *targets], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        log(r.stdout[-3000:])
        raise SystemExit("bench/run: the build failed")


# --------------------------------------------------------------------------
# The machine

def machine_description(python, node):
    def lscpu(field):
        for line in run_text(["lscpu"]).splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
        return "?"

    def pkg(name):
        return run_text(["pkg-config", "--modversion", name]) or "not found"

    def deb(name):
        return run_text(["dpkg-query", "-W", "-f=${Version}", name]) or "not installed"

    def py_mod(mod):
        return run_text([python, "-c", f"import {mod}; print({mod}.__version__)"]) or \
            "not installed"

    boost = "not found"
    vh = Path("/usr/include/boost/version.hpp")
    if vh.exists():
        m = re.search(r'BOOST_LIB_VERSION "([\d_]+)"', vh.read_text())
        boost = m.group(1).replace("_", ".") if m else "?"
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    os_name = "?"
    osr = Path("/etc/os-release")
    if osr.exists():
        m = re.search(r'PRETTY_NAME="([^"]*)"', osr.read_text())
        os_name = m.group(1) if m else "?"
    commit = run_text(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]) or "?"
    dirty = run_text(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    return [
        ("CPU", f"{lscpu('Model name')}"),
        ("cores", f"{os.cpu_count()} (`nproc`), {lscpu('Thread(s) per core')} thread(s) "
                  f"per core"),
        ("memory", f"{mem_kb / 1024 / 1024:.1f} GiB"),
        ("OS, kernel", f"{os_name}, Linux {platform.release()}"),
        ("compiler", run_text(["c++", "--version"]).splitlines()[0]
         if run_text(["c++", "--version"]) else "?"),
        ("build", "meson `--buildtype=release` (-O3, NDEBUG), "
                  f"meson {run_text(['meson', '--version'])}"),
        ("vow", f"commit {commit}{' with local changes' if dirty else ''}"),
        ("libevent", pkg("libevent_core")),
        ("fmt", pkg("fmt")),
        ("Boost (Asio, Thread)", boost),
        ("libuv", pkg("libuv")),
        ("Node.js", run_text([node, "--version"]) if node else "not installed"),
        ("Python", f"{run_text([python, '--version'])} ({python}); uvloop "
                   f"{py_mod('uvloop')}, aiohttp {py_mod('aiohttp')}"),
        ("wrk", deb("wrk")),
        ("plots", f"matplotlib {py_mod('matplotlib')}"),
    ]


# --------------------------------------------------------------------------
# Micro-benchmarks: bench/peers/

MICRO = [
    # key, label, unit, lower is better
    ("chain", "callback chain: one callback queues the next", "ns/callback"),
    ("then", "then-chain on a pending promise (build + resolve + run)", "ns/step"),
    ("all", "`all` over 100k pending futures (make, all, resolve, run)", "ns/future"),
    ("timers", "1M timers: scheduled, every second one cancelled, rest fired", "ns/timer"),
    ("xthread", "cross-thread posts: 4 threads post 1M callbacks", "ns/post"),
    ("future_bytes", "memory: heap per pending promise/future pair", "bytes"),
]

# Why a peer has no figure for a workload its program does not implement.
NO_COUNTERPART = {
    "libevent": "no futures in libevent",
    "Boost.Asio": "no continuation futures in Asio",
    "boost::future": "no event loop in Boost.Thread",
    "libuv": "no futures in libuv",
    "Node.js": "no threads sharing one loop in Node.js",
}


def micro_programs(bench_bin, python, node, has_uvloop):
    def compiled(name, why):
        p = bench_bin / name
        return [str(p)] if p.exists() else why

    return {
        "vow": compiled("micro_vow", "not built"),
        "libevent": compiled("micro_libevent", "not built"),
        "Boost.Asio": compiled("micro_asio", "not built: Boost headers not found (libboost-dev)"),
        "boost::future": compiled("micro_boost_future",
                                  "not built: Boost.Thread not found (libboost-thread-dev)"),
        "libuv": compiled("micro_libuv", "not built: libuv not found (libuv1-dev)"),
        "Node.js": [node, "--expose-gc", str(HERE / "peers" / "micro_node.js")] if node
        else "node not installed",
        "asyncio": [python, str(HERE / "peers" / "micro_asyncio.py"), "--loop=asyncio"],
        "uvloop": [python, str(HERE / "peers" / "micro_asyncio.py"), "--loop=uvloop"]
        if has_uvloop else "python3-uvloop not installed",
    }


def run_micro(args, programs):
    """{peer: {workload: [values]}}, {peer: {workload: n}}, {peer: error}."""
    values = {p: {} for p in PEERS}
    sizes = {p: {} for p in PEERS}
    errors = {}
    peers = [p for p in PEERS if not isinstance(programs[p], str)]
    for rep in range(args.reps):
        order = peers[rep % len(peers):] + peers[:rep % len(peers)]
        for peer in order:
            if peer in errors:
                continue
            log(f"micro: {peer} (rep {rep + 1}/{args.reps})")
            argv = programs[peer] + [f"--div={args.div}"]
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
            except subprocess.TimeoutExpired:
                errors[peer] = "timed out (600 s)"
                continue
            if r.returncode != 0:
                errors[peer] = f"exit status {r.returncode}: {r.stderr.strip()[-300:]}"
                continue
            for line in r.stdout.splitlines():
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                v = d.get("ns_per_op", d.get("bytes_per_op"))
                values[peer].setdefault(d["workload"], []).append(v)
                sizes[peer][d["workload"]] = d["n"]
    return values, sizes, errors


# --------------------------------------------------------------------------
# Loops: bench/peers/loop_vow and bench/peers/loop_node.js

LOOP_PEERS = ["vow", "Node.js"]
LOOP = [
    # key, label, unit; the figure each program prints is per iteration (level)
    ("then", "plain `then` step: N thens on a pending promise, resolved, run (Node.js: `.then`)",
     "ns/step"),
    ("repeat_plain", "`repeat`, body returns a plain `stop_iteration` (Node.js: async "
     "function loop, `await` of a boolean)", "ns/iteration"),
    ("repeat_ready", "`repeat`, body returns `make_ready_future(r, stop_iteration::no)` "
     "(Node.js: `await Promise.resolve(false)`)", "ns/iteration"),
    ("repeat_pending", "`repeat`, body returns a promise's future that a `call_soon` resolves "
     "(Node.js: `await` a promise that `queueMicrotask` resolves)", "ns/iteration"),
    ("recurse_ready", "recursion through then: `f(n) = make_ready_future(r).then([] { return "
     "f(n - 1); })` (Node.js: `Promise.resolve().then(() => loop(n - 1))`)", "ns/level"),
    ("recurse_pending", "the same recursion, each level waiting on a promise resolved by "
     "`call_soon` (Node.js: `queueMicrotask`)", "ns/level"),
    ("recurse_bytes", "memory: peak RSS growth per level of the recursion (ready shape)",
     "bytes/level"),
    ("recurse_pending_bytes", "memory: peak RSS growth per level of the recursion (pending shape)",
     "bytes/level"),
    ("repeat_bytes", "memory: peak RSS growth over the whole `repeat` loop with a pending body "
     "(Node.js: the async function loop)", "KiB"),
]
# Plot titles (the labels are too long for a subplot).
LOOP_SHORT = {
    "then": "plain then step",
    "repeat_plain": "repeat, plain stop_iteration body",
    "repeat_ready": "repeat, ready-future body",
    "repeat_pending": "repeat, pending body (call_soon / microtask)",
    "recurse_ready": "recursion through then, ready shape",
    "recurse_pending": "recursion through then, pending shape",
    "recurse_bytes": "RSS per level, recursion (ready shape)",
    "recurse_pending_bytes": "RSS per level, recursion (pending shape)",
    "repeat_bytes": "RSS growth over the repeat loop",
}
# Figures shown as a total over the loop (bytes per iteration × N).
LOOP_TOTAL_KIB = {"repeat_bytes"}
NODE_HEAP_MB = 4096  # the 1M-level Node.js recursion holds every level until the bottom settles


def loop_programs(bench_bin, node):
    vow = bench_bin / "loop_vow"
    return {
        "vow": [str(vow)] if vow.exists() else "not built",
        "Node.js": [node, f"--max-old-space-size={NODE_HEAP_MB}", str(HERE / "peers" / "loop_node.js")]
        if node else "node not installed",
    }


def run_loop(args, programs):
    """Every workload in a process of its own (a memory figure must not find
    the heap an earlier workload freed), vow and Node.js taking turns, each
    pinned to --loop-cpu. {peer: {key: [values]}}, {peer: {key: n}}, {peer: error}."""
    values = {p: {} for p in LOOP_PEERS}
    sizes = {p: {} for p in LOOP_PEERS}
    errors = {}
    pin = []
    if args.loop_cpu != "none":
        if shutil.which("taskset"):
            pin = ["taskset", "-c", args.loop_cpu]
        else:
            log("loop: no taskset (util-linux): not pinned")
    peers = [p for p in LOOP_PEERS if not isinstance(programs[p], str)]
    for rep in range(args.reps):
        log(f"loop: rep {rep + 1}/{args.reps}")
        for i, (key, _, _) in enumerate(LOOP):
            order = peers if (rep + i) % 2 == 0 else peers[::-1]
            for peer in order:
                if peer in errors:
                    continue
                argv = pin + programs[peer] + [f"--div={args.div}", key]
                try:
                    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
                except subprocess.TimeoutExpired:
                    errors[peer] = f"{key} timed out (600 s)"
                    continue
                if r.returncode != 0:
                    errors[peer] = f"{key}: exit status {r.returncode}: {r.stderr.strip()[-300:]}"
                    continue
                for line in r.stdout.splitlines():
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue
                    v = d.get("ns_per_op", d.get("bytes_per_op"))
                    if d["workload"] in LOOP_TOTAL_KIB:
                        v = v * d["n"] / 1024
                    values[peer].setdefault(d["workload"], []).append(v)
                    sizes[peer][d["workload"]] = d["n"]
    return values, sizes, errors, pin


def fquot(r):
    """vow ÷ Node.js, readable from 0.001 up."""
    if r is None:
        return "—"
    if r >= 0.1:
        return f"{r:.2f}"
    if r >= 0.001:
        return f"{r:.3f}"
    return "< 0.001"


def loop_table(rows):
    """figure | vow | Node.js | vow ÷ Node.js, each cell median (min–max, runs)."""
    out = ["| Figure | vow | Node.js | vow ÷ Node.js |", "|---|---:|---:|---:|"]
    for row in rows:
        cells = [f"{row.label} ({row.unit})"]
        for p in LOOP_PEERS:
            v = row.values.get(p)
            if not v:
                cells.append(f"— ({row.why.get(p, 'no figure')})")
            else:
                cells.append(f"{'**' if p == 'vow' else ''}{fnum(statistics.median(v))}"
                             f"{'**' if p == 'vow' else ''} ({fnum(min(v))}–{fnum(max(v))}, {len(v)})")
        vow, node = row.med("vow"), row.med("Node.js")
        cells.append(fquot(vow / node) if vow is not None and node else "—")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


LOOP_START = "<!-- bench/run:loop -->"
LOOP_END = "<!-- /bench/run:loop -->"


def splice_loop(old, section):
    """RESULTS.md with its loop section replaced by `section` (or inserted
    before the notes, or at the end, if it has none)."""
    a, b = old.find(LOOP_START), old.find(LOOP_END)
    if a >= 0 and b > a:
        return old[:a] + section + old[b + len(LOOP_END):]
    for anchor in ("## Network\n", "## Why some cells are empty\n"):
        i = old.find(anchor)
        if i >= 0:
            return old[:i] + section + "\n\n" + old[i:]
    return old.rstrip() + "\n\n" + section + "\n"


# --------------------------------------------------------------------------
# Network: bench/net/run.py

NET_PEER = {  # run.py's program names -> our columns
    "vow": "vow", "bufferevent": "libevent", "evhttp": "libevent", "asio": "Boost.Asio",
    "libuv": "libuv", "node": "Node.js", "asyncio": "asyncio", "uvloop": "uvloop",
    "aiohttp": "asyncio", "aiohttp-uvloop": "uvloop",
}
NET_NO_COUNTERPART = {
    "boost::future": "no I/O in Boost.Thread's futures",
}
HTTP_NO_COUNTERPART = {
    "Boost.Asio": "no HTTP in Asio (Boost.Beast is not measured)",
    "libuv": "no HTTP in libuv",
    "boost::future": "no I/O in Boost.Thread's futures",
}
CLIENT_NO_COUNTERPART = dict(HTTP_NO_COUNTERPART, libevent="not measured: evhttp's client "
                             "is not a request pool")


def run_net(args, build):
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    argv = [sys.executable, str(HERE / "net" / "run.py"), "--build-dir", str(build),
            "--no-build", "--no-install", "--only", "tcp,http,client,idle", "--http-all",
            "--json", path, "--tcp-connections", "1,100,1000"]
    if args.quick:
        argv += ["--quick", "--seconds", "1", "--warmup", "0.3", "--idle", "10000"]
    else:
        argv += ["--reps", str(args.net_reps), "--seconds", str(args.seconds), "--warmup",
                 str(args.warmup), "--count", "10000", "--hold", "0.5"]
    log("net: " + " ".join(argv[1:]))
    r = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        data = []
    Path(path).unlink(missing_ok=True)
    return data, r.stdout, r.returncode


def net_rows(data):
    """[(key, label, unit, higher_is_better, {peer: [values]})]."""
    rows = []

    def collect(pred, field, scale=1.0):
        out = {}
        for d in data:
            if pred(d) and d.get(field) is not None and d["program"] in NET_PEER:
                out.setdefault(NET_PEER[d["program"]], []).append(d[field] * scale)
        return out

    conns = sorted({d["connections"] for d in data if d["group"] == "tcp"})
    for size, label in ((64, "64 B"), (16384, "16 KiB")):
        for c in conns:
            pred = (lambda d, s=size, c=c: d["group"] == "tcp" and d["size"] == s
                    and d["connections"] == c)
            if size == 64:
                rows.append((f"tcp{size}x{c}.rate", f"TCP echo {label} × {c} conn: round trips/s",
                             "round trips/s", True, collect(pred, "round_trips_per_s")))
                rows.append((f"tcp{size}x{c}.cpu", f"TCP echo {label} × {c} conn: server CPU",
                             "ns/round trip", False, collect(pred, "server_ns_per_round_trip")))
            else:
                rows.append((f"tcp{size}x{c}.rate", f"TCP echo {label} × {c} conn: MB/s",
                             "MB/s", True, collect(pred, "bytes_per_s", 1e-6)))
                rows.append((f"tcp{size}x{c}.cpu", f"TCP echo {label} × {c} conn: server CPU",
                             "ns/byte", False, collect(pred, "server_ns_per_byte")))
    for c in sorted({d["connections"] for d in data if d["group"] == "http"}):
        pred = lambda d, c=c: d["group"] == "http" and d["connections"] == c  # noqa: E731
        rows.append((f"http{c}.rate", f"HTTP hello, wrk -c{c}: requests/s", "requests/s", True,
                     collect(pred, "requests_per_s")))
        rows.append((f"http{c}.cpu", f"HTTP hello, wrk -c{c}: server CPU", "µs/request", False,
                     collect(pred, "server_ns_per_request", 1e-3)))
    pred = lambda d: d["group"] == "client"  # noqa: E731
    rows.append(("client.rate", "HTTP client: GETs, 100 in flight, requests/s",
                 "requests/s", True, collect(pred, "requests_per_s")))
    pred = lambda d: d["group"] == "idle"  # noqa: E731
    rows.append(("idle.hwm", "10,000 idle TCP connections: server's peak RSS", "MB", False,
                 collect(pred, "hwm_kb", 1 / 1024)))
    rows.append(("idle.per_conn", "10,000 idle TCP connections: RSS per connection",
                 "bytes", False, collect(pred, "bytes_per_connection")))
    return rows


# --------------------------------------------------------------------------
# Tables

def fnum(v):
    if v is None:
        return "—"
    a = abs(v)
    if a >= 10000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def advantage(vow, peer, higher_is_better):
    """How many times better vow is than the peer (>1: vow is better)."""
    if vow is None or peer is None or vow == 0 or peer == 0:
        return None
    return vow / peer if higher_is_better else peer / vow


def fratio(r):
    if r is None:
        return ""
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


class Row:
    def __init__(self, key, label, unit, higher, values, why=None):
        self.key, self.label, self.unit, self.higher = key, label, unit, higher
        self.values = values            # {peer: [values]}
        self.why = why or {}            # {peer: why there is no figure}

    def med(self, peer):
        v = self.values.get(peer)
        return statistics.median(v) if v else None

    def ratio(self, peer):
        return advantage(self.med("vow"), self.med(peer), self.higher)


def main_table(rows, notes, marks=True):
    """figure | vow | each peer: median (vow's advantage ×)."""
    out = ["| Figure | " + " | ".join(PEERS) + " |", "|---|" + "---:|" * len(PEERS)]
    for row in rows:
        cells = [f"{row.label} ({row.unit}, {'higher' if row.higher else 'lower'} is better)"]
        for p in PEERS:
            m = row.med(p)
            if m is None:
                why = row.why.get(p)
                if why and marks:
                    mark = notes.setdefault(why, len(notes) + 1)
                    cells.append(f"— (note {mark})")
                else:
                    cells.append("—")
            elif p == "vow":
                cells.append(f"**{fnum(m)}**")
            else:
                cells.append(f"{fnum(m)} ({fratio(row.ratio(p))})")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def spread_table(rows):
    """The same figures as median (min–max) and the number of repetitions."""
    out = ["| Figure | " + " | ".join(PEERS) + " |", "|---|" + "---:|" * len(PEERS)]
    for row in rows:
        cells = [f"{row.label} ({row.unit})"]
        for p in PEERS:
            v = row.values.get(p)
            if not v:
                cells.append("—")
            elif len(v) == 1:
                cells.append(f"{fnum(v[0])} (1 run)")
            else:
                cells.append(f"{fnum(statistics.median(v))} ({fnum(min(v))}–{fnum(max(v))}, "
                             f"{len(v)})")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# --------------------------------------------------------------------------
# Plots

def make_plots(plot_dir, micro_rows, net_rows_, headline, loop_rows=()):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (apt-get install python3-matplotlib): no plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    colors = {"vow": "#d62728", "libevent": "#7f7f7f", "Boost.Asio": "#1f77b4",
              "boost::future": "#17becf", "libuv": "#9467bd", "Node.js": "#2ca02c",
              "asyncio": "#ff7f0e", "uvloop": "#bcbd22"}
    written = []

    def bars(ax, row, title=None):
        peers = [p for p in PEERS if row.med(p) is not None]
        meds = [row.med(p) for p in peers]
        lo = [m - min(row.values[p]) for p, m in zip(peers, meds)]
        hi = [max(row.values[p]) - m for p, m in zip(peers, meds)]
        y = range(len(peers))
        ax.barh(y, meds, xerr=[lo, hi], color=[colors[p] for p in peers], capsize=2)
        ax.set_yticks(list(y), peers)
        ax.invert_yaxis()
        ax.set_title(title or row.label, fontsize=9)
        ax.set_xlabel(f"{row.unit} ({'higher' if row.higher else 'lower'} is better)",
                      fontsize=8)
        ax.tick_params(labelsize=8)
        if meds and max(meds) / max(min(meds), 1e-12) > 50:
            ax.set_xscale("log")

    def grid(name, rows, cols, title):
        rows = [r for r in rows if any(r.med(p) is not None for p in PEERS)]
        if not rows:
            return
        nrows = (len(rows) + cols - 1) // cols
        fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 2.6 * nrows), squeeze=False)
        for ax, row in zip(axes.flat, rows):
            bars(ax, row, getattr(row, "short", None))
        for ax in list(axes.flat)[len(rows):]:
            ax.axis("off")
        fig.suptitle(title + " — medians, whiskers min–max", fontsize=11)
        fig.tight_layout()
        fig.savefig(plot_dir / name, dpi=90)
        plt.close(fig)
        written.append(name)

    grid("micro.png", micro_rows, 3, "In-process workloads")
    grid("loop.png", loop_rows, 3, "Loops: vow::repeat and recursion through then")
    tcp = [r for r in net_rows_ if r.key.startswith("tcp")]
    grid("tcp.png", tcp, 4, "TCP echo, server on core 0, loadgen on core 1")
    http = [r for r in net_rows_ if r.key.startswith(("http", "client"))]
    grid("http.png", http, 3, "HTTP hello world (wrk) and HTTP client")
    mem = [r for r in micro_rows if r.key == "future_bytes"] + \
        [r for r in net_rows_ if r.key.startswith("idle")]
    grid("memory.png", mem, 3, "Memory")

    # The summary: vow's advantage over each peer on the headline figures.
    rows = [r for r in headline if any(r.ratio(p) for p in PEERS[1:])]
    if rows:
        fig, ax = plt.subplots(figsize=(11, 0.5 + 0.55 * len(rows) * 1.6))
        peers = PEERS[1:]
        h = 0.8 / len(peers)
        for i, p in enumerate(peers):
            ys, xs = [], []
            for j, r in enumerate(rows):
                x = r.ratio(p)
                if x:
                    ys.append(j + (i - len(peers) / 2) * h)
                    xs.append(x)
            if xs:
                ax.barh(ys, [x - 1 for x in xs], height=h, color=colors[p], label=p, left=1)
        ax.axvline(1, color="black", linewidth=1)
        ax.set_xscale("log")
        from matplotlib.ticker import FuncFormatter
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("vow's advantage: how many times better vow's median is "
                      "(right of 1: vow is better)", fontsize=8)
        ax.legend(fontsize=7, loc="lower right", ncol=2)
        ax.set_title("vow against its peers, same run, same machine", fontsize=10)
        fig.tight_layout()
        fig.savefig(plot_dir / "summary.png", dpi=90)
        plt.close(fig)
        written.append("summary.png")
    return written


# --------------------------------------------------------------------------

HEADLINE_KEYS = ["chain", "then", "all", "timers", "xthread", "future_bytes",
                 "tcp64x100.cpu", "tcp16384x100.cpu", "http64.rate", "http64.cpu",
                 "client.rate", "idle.hwm"]
README_START = "<!-- bench/run:headline -->"
README_END = "<!-- /bench/run:headline -->"


def update_readme(table):
    readme = ROOT / "README.md"
    text = readme.read_text()
    a, b = text.find(README_START), text.find(README_END)
    if a < 0 or b < a:
        log("README.md has no headline markers: not updated")
        return False
    readme.write_text(text[:a + len(README_START)] + "\n" + table + "\n" + text[b:])
    return True


def main():
    ap = argparse.ArgumentParser(description="vow against its peers, side by side",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: a tenth of the micro sizes, 1 network repetition of 1 s")
    ap.add_argument("--only", default="micro,loop,net", help="parts: micro,loop,net")
    ap.add_argument("--loop-cpu", default="1",
                    help="the core the loop part pins vow and Node.js to (taskset -c; "
                         "'none' not to pin)")
    ap.add_argument("--build-dir", default="build-bench", help="meson build directory")
    ap.add_argument("--out", help="where RESULTS.md and plots/ go (bench/; with --quick "
                                  "BUILD/bench-results-quick)")
    ap.add_argument("--reps", type=int, help="micro repetitions (5; 3 with --quick)")
    ap.add_argument("--net-reps", type=int, default=3, help="network repetitions (3)")
    ap.add_argument("--seconds", type=float, default=1.2,
                    help="seconds per network run (1.2; wrk rounds to whole seconds)")
    ap.add_argument("--warmup", type=float, default=0.3, help="network warm-up seconds (0.3)")
    ap.add_argument("--no-build", action="store_true", help="use the build as it is")
    ap.add_argument("--no-readme", action="store_true", help="never touch README.md")
    args = ap.parse_args()
    args.reps = args.reps or (3 if args.quick else 5)
    args.div = 10 if args.quick else 1
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    if not parts <= {"micro", "loop", "net"}:
        ap.error(f"--only: unknown part(s) {', '.join(sorted(parts - {'micro', 'loop', 'net'}))}")
    build = Path(args.build_dir)
    if not build.is_absolute():
        build = ROOT / build
    out = Path(args.out) if args.out else (build / "bench-results-quick" if args.quick else HERE)
    out = out.resolve()
    t_start = time.time()
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    load_start = Path("/proc/loadavg").read_text().split()[:3]

    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    node = shutil.which("node")
    has_uvloop = subprocess.run([python, "-c", "import uvloop"], capture_output=True).returncode == 0
    if not args.no_build:
        build_all(build, parts)
    t_built = time.time()
    bench_bin = build / "bench"

    micro_rows, micro_errors, sizes = [], {}, {}
    if "micro" in parts:
        programs = micro_programs(bench_bin, python, node, has_uvloop)
        values, sizes, micro_errors = run_micro(args, programs)
        for key, label, unit in MICRO:
            why = {}
            for p in PEERS:
                if isinstance(programs[p], str):
                    why[p] = f"{p}: {programs[p]}"
                elif p in micro_errors:
                    why[p] = f"{p} failed: {micro_errors[p]}"
                elif key not in values[p] and p in NO_COUNTERPART:
                    why[p] = f"{p}: {NO_COUNTERPART[p]}"
            micro_rows.append(Row(key, label, unit, False,
                                  {p: values[p].get(key, []) for p in PEERS}, why))
    t_micro = time.time()

    loop_rows, loop_sizes, loop_pin = [], {}, []
    if "loop" in parts:
        programs = loop_programs(bench_bin, node)
        values, loop_sizes, loop_errors, loop_pin = run_loop(args, programs)
        for key, label, unit in LOOP:
            why = {}
            for p in LOOP_PEERS:
                if isinstance(programs[p], str):
                    why[p] = programs[p]
                elif p in loop_errors:
                    why[p] = f"failed: {loop_errors[p]}"
            row = Row(key, label, unit, False, {p: values[p].get(key, []) for p in LOOP_PEERS}, why)
            row.short = LOOP_SHORT.get(key)
            loop_rows.append(row)
    t_loop = time.time()

    net_rows_, net_md, net_status = [], "", None
    if "net" in parts:
        data, net_md, net_status = run_net(args, build)
        for key, label, unit, higher, vals in net_rows(data):
            why = {}
            table = HTTP_NO_COUNTERPART if key.startswith("http") else \
                CLIENT_NO_COUNTERPART if key.startswith("client") else NET_NO_COUNTERPART
            for p in PEERS:
                if not vals.get(p):
                    why[p] = f"{p}: {table.get(p) or 'did not run: see the details below'}"
            net_rows_.append(Row(key, label, unit, higher, vals, why))
    t_net = time.time()

    rows = {r.key: r for r in micro_rows + net_rows_}
    headline = [rows[k] for k in HEADLINE_KEYS if k in rows]
    plots = make_plots(out / "plots", micro_rows, net_rows_, headline, loop_rows)
    load_end = Path("/proc/loadavg").read_text().split()[:3]
    duration = time.time() - t_start

    # ---------------------------------------------------------- RESULTS.md
    notes = {}
    md = []
    md.append("# vow against its peers\n")
    md.append(f"Written by `bench/run{' --quick' if args.quick else ''}` on {started}, in "
              f"{duration / 60:.1f} minutes (build {(t_built - t_start) / 60:.1f}, in-process "
              f"{(t_micro - t_built) / 60:.1f}, loops {(t_loop - t_micro) / 60:.1f}, network "
              f"{(t_net - t_loop) / 60:.1f}). Load "
              f"average {' / '.join(load_start)} at the start and {' / '.join(load_end)} at "
              "the end (1 / 5 / 15 minutes). Reproduce with `bench/run` (bench/README.md "
              "says what each figure is).\n")
    if args.quick:
        md.append("**This is a `--quick` smoke run**: a tenth of the in-process sizes and "
                  "one short repetition per network figure. Not for quoting.\n")
    md.append("Every figure is the median of the repetitions taken in this one run; vow and "
              "every peer take turns, so they share the machine's noise. **In each peer's "
              "cell, the figure in brackets is vow's advantage: how many times better vow's "
              "median is than that peer's** (its time, CPU or memory divided by vow's; for "
              "rates, vow's divided by its). Above 1× vow is better, below 1× the peer is. "
              "The ratios are the claim: absolute figures drift on a shared machine. "
              "Min and max of every figure are in the detail tables further down.\n")
    md.append("## Machine\n")
    md.append("| | |\n|---|---|")
    for k, v in machine_description(python, node):
        md.append(f"| {k} | {v} |")
    md.append("")
    if headline:
        md.append("## Headline\n")
        md.append(main_table(headline, notes) + "\n")
    if "summary.png" in (plots if isinstance(plots, list) else []):
        md.append("![vow's advantage over each peer](plots/summary.png)\n")

    if micro_rows:
        n_notes = notes
        md.append("## In-process workloads\n")
        md.append(f"bench/peers/: one program per library, the same workloads, "
                  f"{args.reps} repetitions{' at a tenth of the sizes' if args.quick else ''}"
                  ", the programs taking turns; not pinned (the cross-thread workload uses "
                  "both cores). Lower is better everywhere. Each cell: median (vow's "
                  "advantage).\n")
        md.append(main_table(micro_rows, n_notes) + "\n")
        if isinstance(plots, list) and "micro.png" in plots:
            md.append("![in-process workloads](plots/micro.png)\n")
        md.append("Median (min–max, repetitions):\n")
        md.append(spread_table(micro_rows) + "\n")
        odd = []
        for p in PEERS:
            for key, _, _ in MICRO:
                n = sizes.get(p, {}).get(key)
                vn = sizes.get("vow", {}).get(key)
                if n and vn and n != vn:
                    odd.append(f"{p} {key}: n = {n:,} (vow: {vn:,})")
        if odd:
            md.append("Sizes that differ from vow's (the figure is per operation): " +
                      "; ".join(odd) + ".\n")
        md.append(MICRO_NOTES)

    loop_md = ""
    if loop_rows:
        n = loop_sizes.get("vow", {}).get("recurse_bytes") or \
            next((v for p in LOOP_PEERS for v in loop_sizes.get(p, {}).values()), 0)
        pinned = f"pinned to core {args.loop_cpu} (`{' '.join(loop_pin)}`)" if loop_pin \
            else "not pinned"
        commit = run_text(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]) or "?"
        if run_text(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no",
                     "--", "bench/peers", "bench/results.py", "include", "promise", "reactor"]):
            commit += " with local changes"
        lm = [LOOP_START, "## Loops: `vow::repeat` and recursion through `then`\n"]
        lm.append(f"Measured by `bench/run{' --quick' if args.quick else ''}"
                  f"{' --only loop' if parts == {'loop'} else ''}` on {started} (vow commit "
                  f"{commit}; Node.js {run_text([node, '--version']) if node else '—'}; load "
                  f"average {' / '.join(load_start)} at the start of the run and "
                  f"{' / '.join(load_end)} at its end). bench/peers/loop_vow.cpp and "
                  "bench/peers/loop_node.js: the same loops, N = "
                  f"{n:,} iterations (levels) each, every figure measured in a process of its "
                  f"own, {args.reps} repetitions, vow and Node.js taking turns, {pinned}. "
                  "Each cell: median (min–max, repetitions). **The last column is vow's "
                  "median divided by Node.js's: below 1, vow is faster or smaller** (the "
                  "inverse of the brackets in the tables above). Memory: the peak RSS "
                  "(`VmHWM`, reset through `/proc/self/clear_refs` just before) while the "
                  f"loop runs, less `VmRSS` before it; one 4 KiB page over {n:,} levels is "
                  f"{4096 / max(n, 1):.3g} bytes per level.\n")
        lm.append(loop_table(loop_rows) + "\n")
        if isinstance(plots, list) and "loop.png" in plots:
            lm.append("![loops](plots/loop.png)\n")
        lm.append(LOOP_NOTES.rstrip())
        lm.append(LOOP_END)
        loop_md = "\n".join(lm)
        md.append(loop_md + "\n")

    if net_rows_:
        n_notes = notes
        md.append("## Network\n")
        md.append("bench/net/run.py: each server pinned to core 0, its load to core 1 "
                  f"(taskset), {1 if args.quick else args.net_reps} repetition(s) of "
                  f"{1 if args.quick else args.seconds:g} s per figure, servers taking turns. "
                  "The TCP load is bench/net/loadgen (compiled, checks every byte); HTTP is "
                  "wrk; the HTTP client figures are each client against the raw libevent "
                  "evhttp server. Server CPU is the server's own user+sys time "
                  "(/proc/<pid>/stat) per operation: on 2 cores the load generator is often "
                  "the bottleneck, and CPU per operation still tells the servers apart. "
                  "Each cell: median (vow's advantage). In the libevent column: "
                  "bufferevent (TCP), evhttp (HTTP); the asyncio and uvloop HTTP columns are "
                  "aiohttp on each loop.\n")
        md.append(main_table(net_rows_, n_notes) + "\n")
        for name, alt in (("tcp.png", "TCP echo"), ("http.png", "HTTP"),
                          ("memory.png", "memory")):
            if isinstance(plots, list) and name in plots:
                md.append(f"![{alt}](plots/{name})\n")
        md.append("Median (min–max, repetitions):\n")
        md.append(spread_table(net_rows_) + "\n")
        if net_status:
            md.append(f"bench/net/run.py exited with status {net_status}: some run had an "
                      "error; the details below say which.\n")
        md.append("### Details: bench/net/run.py's own tables\n")
        md.append("With each load program's and server's share of its core ('busy'): a "
                  "load near 100 % means the rate measures the load generator.\n")
        md.append(re.sub(r"^### ", "#### ", re.sub(r"^# .*\n", "", net_md, count=1),
                         flags=re.M).strip() + "\n")
    if isinstance(plots, str):
        md.append(f"No plots: {plots}.\n")
    if notes:
        md.append("## Why some cells are empty\n")
        md.append("The notes that the tables' empty cells refer to:\n")
        md.append("\n".join(f"{n}. {why}" for why, n in sorted(notes.items(),
                                                                key=lambda x: x[1])) + "\n")

    out.mkdir(parents=True, exist_ok=True)
    results = out / "RESULTS.md"
    if parts == {"loop"} and loop_md and results.exists():
        # The rest of the file stays the run it came from.
        results.write_text(splice_loop(results.read_text(), loop_md).rstrip() + "\n")
        log(f"replaced the loop section of {results}")
    else:
        results.write_text("\n".join(md).rstrip() + "\n")
    log(f"wrote {out / 'RESULTS.md'}" +
        (f" and {len(plots)} plots in {out / 'plots'}" if isinstance(plots, list) else ""))

    full = not args.quick and parts == {"micro", "loop", "net"} and out == HERE.resolve()
    if full and not args.no_readme:
        table = ("<!-- Written by bench/run from bench/RESULTS.md; do not edit by hand. -->\n" +
                 f"Measured {started} by `bench/run` ({os.cpu_count()} cores; "
                 "medians; in brackets, vow's advantage: how many times better vow is "
                 "than that peer; an empty cell: no counterpart, or see bench/RESULTS.md):\n\n" +
                 main_table(headline, {}, marks=False) + "\n")
        if update_readme(table):
            log("updated the headline table in README.md")
    log(f"bench/run took {duration / 60:.1f} minutes")
    return 0


MICRO_NOTES = """What each program does for each workload (bench/README.md has more):

- **chain**: vow `call_soon`; libevent `event_active` on its own event (a base
  with `EVENT_BASE_FLAG_NOLOCK`, libevent's fastest); Asio `post`; libuv a
  `uv_idle_t` (libuv has no run-soon queue: one callback per loop iteration,
  which polls); Node.js `setImmediate`; asyncio and uvloop `loop.call_soon`.
  Node.js, asyncio, uvloop and libuv poll for I/O between two callbacks;
  vow, libevent and Asio run queued callbacks back to back.
- **then**: vow `then`; boost::future `.then(launch::sync, ...)` (10,000
  steps: deeper chains overflow the stack); Node.js `.then`; asyncio and
  uvloop a chain of futures, each resolved by a done-callback of the one
  before.
- **all**: vow `all`; boost `when_all` (which waits on a thread of its
  own); Node.js `Promise.all`; asyncio `gather`.
- **timers**: vow `call_later` + `handle::cancel`; libevent `event_assign` +
  `event_add` / `event_del` into one caller-owned block; Asio `steady_timer`
  (a cancelled timer still runs its handler, with `operation_aborted`);
  libuv `uv_timer_start` / `uv_timer_stop` (caller-owned handles); Node.js
  `setTimeout` / `clearTimeout`; asyncio `call_later` / `cancel`. Delays
  0–9 ms; the time includes waiting for the last one.
- **xthread**: vow `call_soon_threadsafe`; libevent `event_base_once` (locked
  base); Asio `post` from the threads; libuv a mutex-protected queue and
  `uv_async_send` (wakeups coalesce); asyncio `call_soon_threadsafe`.
- **future_bytes**: C++: `mallinfo2()` heap growth (chunk overhead included)
  while 100k pending promise/future pairs are made; Node.js: `heapUsed`
  between two full GCs per pending `new Promise` whose resolve function is
  kept; Python: `tracemalloc` per `loop.create_future()`.
"""

LOOP_NOTES = """What each program does (bench/README.md, "Loops", has more):

- vow's `repeat` calls its body and, when the body's future is already
  settled (or the body returned a plain `stop_iteration`), goes straight to
  the next iteration, yielding to the reactor every 4096; a pending future
  is waited for. Node.js's counterpart is an async function's loop, `for
  (;;) if (await body()) break;`: every `await` takes a microtask, ready or
  not.
- The pending bodies wait on a promise resolved on a later turn: vow's
  `call_soon` (a queued callback, no I/O poll in between) and Node.js's
  `queueMicrotask`, the nearest equivalent. `setImmediate` would add a poll
  of the loop per iteration (the in-process `chain` row measures that).
- The recursion's handler returns the next level's pending future. vow
  moves the outermost consumer onto it (adoption collapses: the
  `vow/promise/detail/state.hpp` header, rule 6), so the recursion runs in
  constant memory. A JavaScript promise resolved with another promise stays
  pending, with a reaction on the inner one, until the inner one settles:
  all N levels are alive until the bottom resolves, so Node.js runs with
  `--max-old-space-size=4096`.
- Node.js's RSS includes garbage its collector has not reclaimed yet (and
  the young generation's fixed size): in the `repeat` row that, not growth
  per iteration, is most of its figure.
"""

if __name__ == "__main__":
    sys.exit(main())
