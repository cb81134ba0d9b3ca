#!/usr/bin/env python3
"""bench/net/run.py - vow's network benchmarks: TCP echo, HTTP hello world
and an HTTP client, each vow program beside the raw libevent program it
replaces and beside Node.js and Python.

  python3 bench/net/run.py                 # 3 repetitions of every workload
  python3 bench/net/run.py --quick         # smoke run: 1 repetition, 2 s each
  python3 bench/net/run.py --only tcp,http # some groups: tcp, http, client
  python3 bench/net/run.py --http-all      # wrk at 1 and 256 connections too
  python3 bench/net/run.py --json out.json # also save every measurement
  python3 bench/net/run.py --only idle     # memory with 10,000 idle connections
  python3 bench/net/run.py --only https,client-https   # the HTTPS rows
  python3 bench/net/run.py --only idle-https   # memory with 2,000 idle HTTPS connections
  python3 bench/net/run.py --only ws,idle-ws   # WebSocket echo, and 10,000 idle WebSockets
  python3 bench/net/run.py --only static   # a 1 MiB file: vow, nginx (sendfile), Node.js
  python3 bench/net/run.py --only scaling  # http_server --threads 1 against --threads 2

How it measures (bench/README.md says more):

- Every server runs pinned to core 0 (taskset -c 0) and the load to core 1,
  so the server never competes with its own load (the scaling group
  excepted: its servers and wrk share cores 0 and 1). Each server is started
  once per group and must print "listening on 127.0.0.1:<port>" first.
- The server's CPU time (user + sys, all its threads) is read from
  /proc/<pid>/stat just before each load run and just after it (after a
  0.2 s pause for it to close the connections); the load program's own CPU
  time comes from wait4(). Both are shown as "busy" percentages of the run's
  wall time: a load program near 100 % is the bottleneck, not the server.
- Every (server, workload) pair runs --reps times (3; 1 with --quick), the
  servers taking turns in a rotating order, and the table shows the median
  with the min and max. Ratios are of medians.

Workloads:

  tcp     bench/net/loadgen (compiled, no vow inside) against the echo
          servers: 64 B and 16 KiB, each with 1, 100 and 1000 connections
          (--tcp-connections). Round trips/s, and server CPU ns per round
          trip (64 B) or per byte echoed (16 KiB). Baseline: echo_bufferevent.
  http    wrk -t1 -c64 (and -c1, -c256 with --http-all) against the
          hello-world servers, after a check that GET / answers "hello
          world" and a 1 s warm-up. Requests/s. Baseline: http_evhttp.
          The anchor is nginx (bench/net/http_nginx.sh: one worker, no
          master process, `return 200`, no access log), pinned like the
          others: vow's goal is less server CPU per request than nginx.
  client  COUNT (10,000) GETs, CONCURRENCY (100) at a time, by vow's
          examples/fetch, Node.js fetch and aiohttp's client, against
          http_evhttp. Requests/s, and errors.
  https   HTTPS hello world: wrk -t1 -c64 over TLS against examples/http_server
          --tls-cert/--tls-key, nginx (http_nginx.sh --tls) and Node.js's
          `https` (http_node.js --cert --key), all with the same EC P-256 certificate
          (made by tests/tls/make_certs.sh) and their default TLS 1.3
          ciphers. Requests/s and server CPU per request; then full
          handshakes: the same with "Connection: close" (a new connection
          and handshake per request). Baseline: nginx. wrk does its own
          crypto on its core: where it saturates, server CPU decides.
  client-https  COUNT GETs at CONCURRENCY by examples/fetch (--cafile),
          Node.js fetch (NODE_EXTRA_CA_CERTS) and aiohttp (SSL_CERT_FILE)
          against nginx with TLS: the HTTPS client row.
  idle    memory: each echo server's resident set (VmRSS, and its peak
          VmHWM, from /proc/<pid>/status) before and while loadgen --hold
          holds IDLE (10,000) connections open, each after one checked
          round trip. Bytes per connection = (RSS held - RSS before) / IDLE.
          The soft RLIMIT_NOFILE is raised to the hard limit first (the
          servers and loadgen inherit it); fewer fds than IDLE + 100 lowers
          IDLE, and the table says so.
  idle-https  the same measure for the https group's servers (vow's
          examples/http_server --tls-cert/--tls-key, nginx --tls, Node.js
          http_node.js --cert --key) holding IDLE_HTTPS (2,000, --idle-https) TLS
          connections: bench/net/idle_https.py (python3 ssl + asyncio, on
          core 1) opens them, 100 handshakes at a time, does one checked
          keep-alive GET / on each, prints "idle N" and holds them for
          --hold seconds. What a connection costs once its handshake is done:
          OpenSSL's SSL object and buffers plus the server's own state.

  ws      WebSocket echo: bench/net/ws_loadgen (compiled, no vow inside:
          loadgen's shape over RFC 6455, its upgrade checked, masked binary
          frames, every echoed byte checked) against vow's examples/ws_echo,
          Node.js's npm ws (bench/net/ws_echo_node.js, perMessageDeflate off)
          and Python's websockets (bench/net/ws_echo_websockets.py,
          compression=None, asyncio's loop): 64 B and 16 KiB messages, 100
          connections (--ws-connections), one message in flight on each.
          Messages/s, and server CPU ns per message (64 B) or per byte
          (16 KiB); then vow's ratios to Node.js ws and to websockets beside
          the goals (at 64 B x 100: >= 2x and >= 10x the messages/s).
  static  the static rows of issue 17: wrk -t1 -c64 GET /file.bin, a 1 MiB
          random file in a temporary directory (in the page cache), for
          --static-seconds (10) against vow's examples/file_server --quiet
          (sendfile(2) on plain TCP), nginx (http_nginx.sh --static: one
          worker, `sendfile on`) and Node.js (static_node.js: http,
          fs.createReadStream(path).pipe(res)), each checked first to answer
          the file's exact bytes (sha256). Requests/s, MiB/s and server CPU
          per request; then vow's ratios beside the goals (>= 1.0x nginx's
          and >= 3x Node.js's requests/s). Baseline: nginx.
  idle-ws memory, as idle, of the ws group's servers holding IDLE (10,000)
          WebSocket connections, each upgraded and after one checked 64 B
          message, held by ws_loadgen --hold (which answers pings).
  scaling the scaling rows of issue 18: wrk -t1 -c32 GET /spin?us=500 (each
          request burns 500 µs of CPU on the thread of the reactor serving
          it) against examples/http_server --quiet --threads 1 and
          --threads 2 (two reactors on two threads, each with its own
          http_server on the port via SO_REUSEPORT), each checked first to
          answer "spun 500 us on reactor R" from every one of its reactors.
          Not pinned as the others: the 2-thread server needs both cores, so
          both servers and wrk run with taskset -c 0,1 (wrk's share of the
          cores is its "load busy"). Requests/s, server busy (% of one
          core: 200 % is both) and CPU per request; then threads2's
          requests/s over threads1's beside the goal (>= 1.7x). Baseline:
          threads1.

vow's programs are examples/echo_server, examples/http_server,
examples/fetch and examples/ws_echo in the build directory; a row says "not
built yet" when the program does not exist. The harness builds what it
needs (meson setup BUILD_DIR --buildtype=release -Dbench=true, then meson
compile of the targets), installs wrk, python3-uvloop, python3-aiohttp and
python3-websockets with apt-get when they are missing, and npm's ws with
`npm install --prefix NPM_DIR ws@8` (BUILD_DIR/npm; --npm-dir) when it is
not there, passing NODE_PATH=NPM_DIR/node_modules to the Node.js ws peer
(--no-install to skip both). Loopback only: every server listens on
127.0.0.1 and every load targets it.

Exit status: 0 when every run that could run finished without errors, 1
otherwise (a verification error, a server that died, a timeout).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import ssl
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
LISTENING = re.compile(r"listening on [^\s]*?:(\d+)")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Setup: packages, interpreter, build

def py_version(python, module):
    out = subprocess.run([python, "-c", f"import {module}; print({module}.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "?"


def python_has(python, modules):
    code = "import " + ", ".join(modules)
    return subprocess.run([python, "-c", code], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def pick_python(requested):
    """The interpreter for the Python peers: Debian's python3 (where apt puts
    uvloop and aiohttp) unless --python says otherwise."""
    if requested:
        return requested
    for cand in ("/usr/bin/python3", sys.executable):
        if cand and Path(cand).exists() and python_has(cand, ["aiohttp", "uvloop"]):
            return cand
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def ensure_packages(python, allowed):
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk")
    if not python_has(python, ["uvloop"]):
        missing.append("python3-uvloop")
    if not python_has(python, ["aiohttp"]):
        missing.append("python3-aiohttp")
    if not python_has(python, ["websockets"]):
        missing.append("python3-websockets")
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        missing.append("nginx-light")
    if not missing:
        return
    if not allowed or shutil.which("apt-get") is None or os.geteuid() != 0:
        log(f"missing packages (not installing): {' '.join(missing)}; "
            "their rows will say so")
        return
    log(f"installing {' '.join(missing)} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL)
        if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            log("apt-get install failed; the rows that need those packages will say so")


def ensure_node_ws(node, prefix, allowed):
    """npm's ws for bench/net/ws_echo_node.js, in PREFIX/node_modules:
    installed there with npm when missing (and allowed). Returns (the
    NODE_PATH to run the peer with, ws's version), or (None, why not)."""
    if not node:
        return None, "node not installed"
    modules = prefix / "node_modules"
    manifest = modules / "ws" / "package.json"

    def version():
        try:
            return json.loads(manifest.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None

    if version() is None:
        if not allowed or shutil.which("npm") is None:
            return None, (f"npm's ws not installed (npm install --prefix {prefix} ws)"
                          if shutil.which("npm") else "npm not installed (apt-get install npm)")
        log(f"installing npm's ws into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                            "ws@8"], capture_output=True, text=True)
        if r.returncode != 0 or version() is None:
            return None, f"npm install ws failed: {(r.stderr or r.stdout).strip()[-200:]}"
    return str(modules), version()


def meson_targets(build):
    out = subprocess.run(["meson", "introspect", "--targets", str(build)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return set()
    return {t["name"] for t in json.loads(out.stdout)}


def ensure_built(build, vow_names, peers=True):
    if not (build / "build.ninja").exists():
        log(f"configuring {build}")
        subprocess.run(["meson", "setup", str(build), "--buildtype=release", "-Dbench=true"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    targets = meson_targets(build)
    if "loadgen" not in targets:
        subprocess.run(["meson", "configure", str(build), "-Dbench=true", "-Dexamples=true"],
                       check=True, stdout=subprocess.DEVNULL)
    # Regenerate first if a meson.build changed since the setup, so the
    # target list knows about programs added since (vow's examples, asio).
    subprocess.run(["ninja", "-C", str(build), "build.ninja"], stdout=subprocess.DEVNULL)
    targets = meson_targets(build)
    peers = [t for t in ("loadgen", "ws_loadgen", "echo_bufferevent", "http_evhttp", "echo_asio",
                         "echo_libuv") if t in targets] if peers else []
    if peers:
        log(f"building {' '.join(peers)}")
        subprocess.run(["meson", "compile", "-C", str(build), "-j", "2", *peers], check=True,
                       stdout=subprocess.DEVNULL)
    present = [n for n in vow_names if n in targets]
    if present:
        log(f"building vow's {' '.join(present)}")
        r = subprocess.run(["meson", "compile", "-C", str(build), "-j", "2", *present],
                           stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            log("building vow's programs failed; their rows will say 'not built'")


# --------------------------------------------------------------------------
# Processes

def pinned(cpus, argv, pin):
    """argv under taskset -c CPUS (a core, or a list such as "0,1") if pin."""
    return (["taskset", "-c", str(cpus)] if pin else []) + argv


def cpu_seconds(pid):
    """user + sys CPU seconds of a whole process (all threads), /proc/pid/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process pinned to CPUS (core 0; the scaling group gives it
    both), started and stopped by the harness. Its stdout is drained by a
    thread so it never blocks on a full pipe."""

    def __init__(self, name, argv, pin, cpus="0"):
        self.name = name
        self.argv = argv
        self.pin = pin
        self.cpus = cpus
        self.proc = None
        self.port = None
        self.lines = []
        self.errfile = None

    def start(self, timeout=15.0):
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in self.argv]
        self.errfile = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(pinned(self.cpus, argv, self.pin), stdout=subprocess.PIPE,
                                     stderr=self.errfile, text=True, bufsize=1)
        ready = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                m = LISTENING.search(line)
                if m and not ready.is_set():
                    self.port = int(m.group(1)) or port
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        ready.wait(timeout)
        if self.port is None:
            why = "exited" if self.proc.poll() is not None else "printed no 'listening on' line"
            self.stop()
            raise RuntimeError(f"{self.name} {why}: {self.stderr_tail()}")
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stderr_tail(self, n=400):
        if self.errfile is None:
            return ""
        self.errfile.seek(0)
        text = self.errfile.read().decode(errors="replace").strip()
        out = " | ".join(self.lines[-3:])
        return (text[-n:] or out[-n:] or "(no output)")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_load(argv, pin, timeout, cpus="1"):
    """Runs a load program pinned to CPUS (core 1 unless a group says
    otherwise); returns (status, stdout, stderr, wall seconds, CPU seconds of
    the load program)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(pinned(cpus, argv, pin), stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                status = -1
                break
            time.sleep(0.02)
        proc.returncode = 0  # reaped above; keep Popen from waiting again
        wall = time.perf_counter() - start
        code = -1 if status == -1 else os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (code, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                wall, ru.ru_utime + ru.ru_stime)


def measure_server(server, argv, pin, timeout, load_cpus="1"):
    """One load run (pinned to LOAD_CPUS) against a server, with the server's
    CPU time around it."""
    if not server.alive():
        raise RuntimeError(f"{server.name} died earlier: {server.stderr_tail()}")
    before = server.cpu()
    code, out, err, wall, load_cpu = run_load(argv, pin, timeout, load_cpus)
    time.sleep(0.2)  # let the server close the connections inside the window
    if not server.alive():
        raise RuntimeError(f"{server.name} died during the run: {server.stderr_tail()}")
    server_cpu = server.cpu() - before
    return code, out, err, wall, load_cpu, server_cpu


# --------------------------------------------------------------------------
# Results and tables

class Cell:
    """The repetitions of one (peer, workload): figures by name, errors."""

    def __init__(self):
        self.figures = {}
        self.errors = []
        self.unavailable = None
        self.outputs = []

    def add(self, **figures):
        for k, v in figures.items():
            self.figures.setdefault(k, []).append(v)

    def median(self, key):
        vals = self.figures.get(key)
        return statistics.median(vals) if vals else None


def fmt_num(v):
    if v is None:
        return "—"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_spread(cell, key):
    vals = cell.figures.get(key)
    if not vals:
        return "—"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt_num(med)
    return f"{fmt_num(med)} ({fmt_num(min(vals))}–{fmt_num(max(vals))})"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}x"


def print_table(title, peers, cells, columns, baseline, note=""):
    """columns: (header, key, show_ratio_vs_baseline, show_vow_over_this); a
    table without a "vow" row (the scaling group's) has no "vow ÷ this"."""
    print(f"\n### {title}\n")
    if note:
        print(note + "\n")
    vow = cells.get("vow")
    columns = [(h, k, vs_base, vow_over and vow is not None) for h, k, vs_base, vow_over in columns]
    head = ["program"]
    for header, key, vs_base, vow_over in columns:
        head.append(header + " median (min–max)")
        if vs_base:
            head.append(f"÷ {baseline}")
        if vow_over:
            head.append("vow ÷ this")
    head += ["server busy", "load busy", "errors"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in peers:
        cell = cells[name]
        row = [name]
        if cell.unavailable:
            row.append(cell.unavailable)
            row += [""] * (len(head) - 2)
            print("| " + " | ".join(row) + " |")
            continue
        for header, key, vs_base, vow_over in columns:
            row.append(fmt_spread(cell, key))
            if vs_base:
                base = cells.get(baseline)
                row.append(ratio(cell.median(key), base.median(key) if base else None))
            if vow_over:
                row.append("" if name == "vow" else
                           ratio(vow.median(key), cell.median(key)))
        busy = cell.median("server_busy")
        row.append("—" if busy is None else f"{busy:.0f} %")
        lbusy = cell.median("load_busy")
        row.append("—" if lbusy is None else f"{lbusy:.0f} %")
        row.append(str(len(cell.errors)) if cell.errors else "0")
        print("| " + " | ".join(row) + " |")
    for name in peers:
        if cells[name].errors:
            FAILED.append(f"{title}: {name}")
        for e in cells[name].errors[:3]:
            print(f"\n- {name}: {e}")
    sys.stdout.flush()


# --------------------------------------------------------------------------
# The groups

def rotate(items, r):
    r %= max(len(items), 1)
    return items[r:] + items[:r]


def start_servers(specs, cells, pin, cpus="0"):
    servers = {}
    for name, spec in specs.items():
        if isinstance(spec, str):
            cells[name].unavailable = spec
            continue
        for argv in spec:  # alternatives: e.g. with --quiet, then without
            try:
                servers[name] = Server(name, argv, pin, cpus).start()
                log(f"  {name}: listening on port {servers[name].port}")
                break
            except RuntimeError as e:
                cells[name].unavailable = f"failed to start: {e}"
        if name in servers:
            cells[name].unavailable = None
    return servers


def echo_workloads(sizes, connection_counts):
    """(title, connections, size) for every size and connection count."""
    return [(f"{label} x {c} connection{'s' if c > 1 else ''}", c, size)
            for label, size in sizes for c in connection_counts]


def echo_group(args, specs, results, group, loadgen, workloads, columns, title, baseline, note):
    """Runs an echo load program (loadgen or ws_loadgen: the same options and
    JSON line) against echo servers, every workload --reps times, the servers
    taking turns; prints a table per workload (columns(size) gives its
    columns); returns the cells, {workload title: {program: Cell}}."""
    peers = list(specs)
    all_cells = {w[0]: {p: Cell() for p in peers} for w in workloads}
    log(f"{group}: starting echo servers")
    servers = start_servers(specs, all_cells[workloads[0][0]], args.pin)
    for w in workloads[1:]:
        for p in peers:
            all_cells[w[0]][p].unavailable = all_cells[workloads[0][0]][p].unavailable
    try:
        for wtitle, conns, size in workloads:
            cells = all_cells[wtitle]
            for rep in range(args.reps):
                for name in rotate(peers, rep):
                    if name not in servers or cells[name].unavailable:
                        continue
                    argv = [str(loadgen), "--host", "127.0.0.1",
                            "--port", str(servers[name].port), "--connections", str(conns),
                            "--size", str(size), "--seconds", str(args.seconds),
                            "--warmup", str(args.warmup)]
                    log(f"{group} {wtitle}: {name} (rep {rep + 1}/{args.reps})")
                    try:
                        code, out, err, wall, load_cpu, server_cpu = measure_server(
                            servers[name], argv, args.pin, args.seconds + args.warmup + 60)
                    except RuntimeError as e:
                        cells[name].errors.append(str(e))
                        cells[name].unavailable = "died"
                        continue
                    try:
                        res = json.loads(out.strip().splitlines()[-1])
                    except (ValueError, IndexError):
                        cells[name].errors.append(
                            f"{loadgen.name} status {code}: {err.strip()[-300:]}")
                        continue
                    if code != 0 or res["errors"]:
                        cells[name].errors.append(
                            f"{loadgen.name} status {code}, {res['errors']} error(s): "
                            f"{res['error_detail']}")
                        continue
                    total = res["total_round_trips"]
                    cells[name].add(
                        rt_per_s=res["round_trips_per_s"],
                        mb_per_s=res["bytes_per_s"] / 1e6,
                        ns_per_rt=server_cpu * 1e9 / total if total else None,
                        ns_per_byte=server_cpu * 1e9 / (total * size) if total else None,
                        server_busy=100 * server_cpu / wall,
                        load_busy=100 * load_cpu / wall)
                    results.append({"group": group, "workload": wtitle, "program": name,
                                    "connections": conns, "size": size,
                                    "server_ns_per_round_trip":
                                        server_cpu * 1e9 / total if total else None,
                                    "server_ns_per_byte":
                                        server_cpu * 1e9 / (total * size) if total else None,
                                    "rep": rep, "server_cpu_s": server_cpu, "wall_s": wall,
                                    "load_cpu_s": load_cpu, **res})
            print_table(f"{title}, {wtitle}", peers, cells, columns(size), baseline, note)
    finally:
        for s in servers.values():
            s.stop()
    return all_cells


def tcp_group(args, specs, results):
    def columns(size):
        if size >= 1024:
            return [("MB/s", "mb_per_s", True, True),
                    ("server CPU ns/byte", "ns_per_byte", True, True)]
        return [("round trips/s", "rt_per_s", True, True),
                ("server CPU ns/round trip", "ns_per_rt", True, True)]

    echo_group(args, specs, results, "tcp", args.loadgen,
               echo_workloads((("64 B", 64), ("16 KiB", 16384)), args.tcp_connections), columns,
               "TCP echo", "bufferevent",
               "loadgen on core 1, server on core 0. Server CPU is user+sys over the "
               "whole loadgen run (warm-up included), divided by every round trip "
               "(or payload byte, one direction) echoed in it.")


# The ws group's goals (issue 15): vow's messages/s over each peer's at 64 B.
WS_GOALS = {"node-ws": ("Node.js ws", 2.0), "websockets": ("websockets", 10.0)}


def ws_group(args, specs, results, versions):
    """WebSocket echo: ws_loadgen against vow's examples/ws_echo, Node.js ws
    and Python websockets; a table per workload, then vow's ratios to each
    peer beside the goals."""
    def columns(size):
        if size >= 1024:
            return [("messages/s", "rt_per_s", False, True),
                    ("MB/s", "mb_per_s", False, False),
                    ("server CPU ns/byte", "ns_per_byte", False, True)]
        return [("messages/s", "rt_per_s", False, True),
                ("server CPU ns/message", "ns_per_rt", False, True)]

    workloads = echo_workloads((("64 B", 64), ("16 KiB", 16384)), args.ws_connections)
    all_cells = echo_group(
        args, specs, results, "ws", args.ws_loadgen, workloads, columns, "WebSocket echo", "",
        f"ws_loadgen on core 1 (each connection upgraded, then one binary message of the "
        f"size in flight, every echoed byte checked), server on core 0; {versions}. Server CPU "
        "is user+sys over the whole ws_loadgen run (upgrades and warm-up included), divided "
        "by every message (or payload byte, one direction) echoed in it.")
    print("\n### WebSocket echo: vow against its peers\n")
    print("vow's median over the peer's for messages/s; the peer's median over vow's for server "
          "CPU per message (per byte at 16 KiB): above 1 vow is better on both. Goals (issue 15): "
          "at 64 B x 100 connections, vow's messages/s at least 2x Node.js ws's and 10x "
          "websockets'.\n")
    print("| ratio | workload | messages/s | server CPU | goal (messages/s) |")
    print("|---|---|---|---|---|")
    for wtitle, conns, size in workloads:
        cells = all_cells[wtitle]
        vow = cells.get("vow")
        cpu_key = "ns_per_byte" if size >= 1024 else "ns_per_rt"
        for peer, (label, goal) in WS_GOALS.items():
            if peer not in cells:
                continue
            other = cells[peer]
            rate = ratio(vow.median("rt_per_s"), other.median("rt_per_s"))
            cpu = ratio(other.median(cpu_key), vow.median(cpu_key))
            if size != 64 or conns != 100:
                verdict = "—"
            elif vow.median("rt_per_s") is None:
                why = (vow.unavailable or "errors").split(":")[0]
                verdict = f">= {goal:g}x: vow not measured ({why})"
            elif other.median("rt_per_s") is None:
                why = (other.unavailable or "errors").split(":")[0]
                verdict = f">= {goal:g}x: {label} not measured ({why})"
            else:
                met = vow.median("rt_per_s") >= goal * other.median("rt_per_s")
                verdict = f">= {goal:g}x: {'met' if met else 'not met'}"
            print(f"| vow / {label} | {wtitle} | {rate} | {cpu} | {verdict} |")
    sys.stdout.flush()


def memory_kb(pid):
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    rss = hwm = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


def raise_nofile():
    """Raises the soft limit on open files to the hard one; returns it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def idle_group(args, specs, results, group="idle", wanted=None, holder=None, title=None, method=None):
    """Memory of each server holding idle connections: by default the echo
    servers and args.idle TCP connections held by loadgen --hold. The
    idle-https group passes its HTTPS servers, its count, a holder (port,
    connections -> argv of a program with loadgen's idle protocol: "idle N",
    then a JSON line) and its table's title and method sentence."""
    peers = list(specs)
    cells = {p: Cell() for p in peers}
    limit = raise_nofile()
    conns = min(wanted or args.idle, limit - 100)
    if holder is None:
        def holder(port, n):
            return [str(args.loadgen), "--host", "127.0.0.1", "--port", str(port),
                    "--connections", str(n), "--size", "64", "--seconds", "60",
                    "--hold", str(args.hold)]
    title = title or f"Memory, {conns:,} idle TCP connections"
    method = method or (f"Each echo server, started fresh, before and while loadgen holds {conns:,} "
                        "connections open (each after one checked 64 B round trip).")
    for rep in range(args.reps):
        for name in rotate(peers, rep):
            spec = specs[name]
            if isinstance(spec, str):
                cells[name].unavailable = spec
                continue
            if cells[name].unavailable:
                continue
            # A fresh server each time: the peak must be this run's alone.
            servers = start_servers({name: spec}, cells, args.pin)
            if name not in servers:
                continue
            server = servers[name]
            try:
                time.sleep(0.3)
                base_rss, _ = memory_kb(server.proc.pid)
                argv = holder(server.port, conns)
                log(f"{group} {conns} connections: {name} (rep {rep + 1}/{args.reps})")
                proc = subprocess.Popen(pinned(1, argv, args.pin), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                held = None
                first = proc.stdout.readline()
                if first.startswith("idle "):
                    held = int(first.split()[1])
                    time.sleep(min(0.5, args.hold / 2))  # let the last accepts settle
                    rss, hwm = memory_kb(server.proc.pid)
                rest, err = proc.communicate(timeout=120)
                out = first + rest
                try:
                    res = json.loads(out.strip().splitlines()[-1])
                except (ValueError, IndexError):
                    res = {"errors": 1, "error_detail": (err or out).strip()[-300:]}
                if proc.returncode != 0 or res.get("errors") or held is None:
                    prog = Path(argv[1] if Path(argv[0]).name.startswith("python") else argv[0]).name
                    cells[name].errors.append(
                        f"{prog} status {proc.returncode}: {res.get('error_detail')}")
                    continue
                if not server.alive():
                    cells[name].errors.append(f"died: {server.stderr_tail()}")
                    cells[name].unavailable = "died"
                    continue
                per_conn = (rss - base_rss) * 1024 / held
                cells[name].add(rss_mb=rss / 1024, hwm_mb=hwm / 1024, base_mb=base_rss / 1024,
                                bytes_per_conn=per_conn)
                results.append({"group": group, "program": name, "rep": rep,
                                "connections": held, "base_rss_kb": base_rss, "rss_kb": rss,
                                "hwm_kb": hwm, "bytes_per_connection": per_conn})
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                cells[name].errors.append(str(e))
            finally:
                server.stop()
    print(f"\n### {title}\n")
    print(f"{method} RSS and peak RSS "
          "(VmHWM) from /proc/<pid>/status; bytes per connection = (RSS held - RSS "
          f"before) / {conns:,}. Medians of {args.reps} (min–max).\n")
    head = ["program", "RSS before, MB", "RSS held, MB", "peak RSS, MB", "bytes/connection",
            "vow ÷ this (bytes/conn)", "errors"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    vow = cells.get("vow")
    for name in peers:
        cell = cells[name]
        if cell.unavailable and not cell.figures:
            print("| " + " | ".join([name, cell.unavailable] + [""] * (len(head) - 2)) + " |")
            continue
        row = [name, fmt_spread(cell, "base_mb"), fmt_spread(cell, "rss_mb"),
               fmt_spread(cell, "hwm_mb"), fmt_spread(cell, "bytes_per_conn"),
               "" if name == "vow" else ratio(vow.median("bytes_per_conn") if vow else None,
                                              cell.median("bytes_per_conn")),
               str(len(cell.errors))]
        print("| " + " | ".join(row) + " |")
    for name in peers:
        if cells[name].errors:
            FAILED.append(f"{group}: {name}")
        for e in cells[name].errors[:3]:
            print(f"\n- {name}: {e}")


def check_hello(port, scheme="http", ssl_ctx=None):
    # A server that prints its "listening on" line before it binds (the
    # nginx wrapper, which then execs nginx) gets 3 s to start listening.
    deadline = time.monotonic() + 3
    while True:
        try:
            with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/", timeout=5, context=ssl_ctx) as r:
                body = r.read()
                if r.status != 200 or body != b"hello world":
                    return f"GET / answered {r.status} {body[:40]!r}, not 200 'hello world'"
            return None
        except urllib.error.URLError as e:
            if isinstance(e.reason, ConnectionRefusedError) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            return f"GET / failed: {e}"
        except Exception as e:  # any failure to answer is the finding
            return f"GET / failed: {e}"


WRK_RATE = re.compile(r"Requests/sec:\s*([\d.]+)")
WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def http_group(args, specs, results, scheme="http", ssl_ctx=None, group="http", title="HTTP hello world",
               baseline="evhttp", wrk_extra=(), conn_counts=None, path="/", check=None, seconds=None,
               body_bytes=None, note=None, server_cpus="0", load_cpus="1"):
    """wrk against hello-world servers. The HTTPS rows call it with
    scheme "https" (wrk does its own TLS) and, for full handshakes, with
    wrk_extra ["-H", "Connection: close"]: a new connection per request.
    The static rows call it with the file's path, their own check (port,
    program name -> None, or what is wrong), the run's seconds and the body's
    size in bytes (which adds a MiB/s column) and their own note. The scaling
    rows also pass their connection count and the CPUs the servers and wrk
    are pinned to (both "0,1" there; core 0 and core 1 otherwise). The
    warm-up uses the first connection count."""
    conn_counts = conn_counts or ([64] + ([1, 256] if args.http_all else []))
    seconds = seconds or args.seconds
    check = check or (lambda port, name: check_hello(port, scheme, ssl_ctx))
    peers = list(specs)
    all_cells = {c: {p: Cell() for p in peers} for c in conn_counts}
    wrk = shutil.which("wrk")
    first = all_cells[conn_counts[0]]
    if wrk is None:
        for c in conn_counts:
            for p in peers:
                all_cells[c][p].unavailable = "wrk not installed"
        servers = {}
    else:
        log(f"{group}: starting hello-world servers")
        servers = start_servers(specs, first, args.pin, server_cpus)
    for name, server in list(servers.items()):
        problem = check(server.port, name)
        if problem:
            first[name].unavailable = f"wrong answer: {problem}"
            server.stop()
            del servers[name]
    for c in conn_counts[1:]:
        for p in peers:
            all_cells[c][p].unavailable = all_cells[c][p].unavailable or first[p].unavailable
    try:
        for name, server in servers.items():  # warm-up (JIT, caches), untimed
            run_load([wrk, "-t1", f"-c{conn_counts[0]}", f"-d{max(1, round(args.warmup))}s", *wrk_extra,
                      f"{scheme}://127.0.0.1:{server.port}{path}"], args.pin, 60, load_cpus)
        for conns in conn_counts:
            cells = all_cells[conns]
            for rep in range(args.reps):
                for name in rotate(peers, rep):
                    if name not in servers or cells[name].unavailable:
                        continue
                    duration = max(1, round(seconds))
                    argv = [wrk, "-t1", f"-c{conns}", f"-d{duration}s", *wrk_extra,
                            f"{scheme}://127.0.0.1:{servers[name].port}{path}"]
                    log(f"{group} wrk -c{conns}: {name} (rep {rep + 1}/{args.reps})")
                    try:
                        code, out, err, wall, load_cpu, server_cpu = measure_server(
                            servers[name], argv, args.pin, seconds + 60, load_cpus)
                    except RuntimeError as e:
                        cells[name].errors.append(str(e))
                        cells[name].unavailable = "died"
                        continue
                    m = WRK_RATE.search(out)
                    if code != 0 or not m:
                        cells[name].errors.append(f"wrk status {code}: {(err or out)[-300:]}")
                        continue
                    rate = float(m.group(1))
                    bad = []
                    s = WRK_SOCKET.search(out)
                    if s and any(int(x) for x in s.groups()):
                        bad.append(s.group(0))
                    n = WRK_NON2XX.search(out)
                    if n:
                        bad.append(n.group(0))
                    if bad:
                        cells[name].errors.append("; ".join(bad))
                    requests = rate * duration
                    if body_bytes:
                        cells[name].add(mib_per_s=rate * body_bytes / 2**20)
                    cells[name].add(
                        req_per_s=rate,
                        ns_per_req=server_cpu * 1e9 / requests if requests else None,
                        server_busy=100 * server_cpu / wall,
                        load_busy=100 * load_cpu / wall)
                    results.append({"group": group, "connections": conns, "program": name,
                                    "rep": rep, "requests_per_s": rate,
                                    "server_ns_per_request":
                                        server_cpu * 1e9 / requests if requests else None,
                                    "server_cpu_s": server_cpu, "wall_s": wall,
                                    "load_cpu_s": load_cpu, "wrk_errors": bad})
            print_table(f"{title}, wrk -t1 -c{conns}{' ' + ' '.join(wrk_extra) if wrk_extra else ''}", peers,
                        cells,
                        [("requests/s", "req_per_s", True, True)]
                        + ([("MiB/s", "mib_per_s", False, False)] if body_bytes else [])
                        + [("server CPU ns/request", "ns_per_req", True, True)], baseline,
                        note or
                        "wrk on core 1, server on core 0; each server was checked to answer "
                        "GET / with 200 'hello world' and warmed up first. Server CPU per "
                        "request is approximate (wrk's rate times the duration).")
    finally:
        for s in servers.values():
            s.stop()
    return all_cells


# The static group's goals (issue 17): vow's requests/s over each peer's.
STATIC_GOALS = {"nginx": ("nginx", 1.0), "node": ("Node.js", 3.0)}
STATIC_SIZE = 1 << 20  # the file: 1 MiB of random bytes


def check_file(port, path, size, digest):
    """GET path must answer 200 with the file's bytes (its size, its sha256)."""
    deadline = time.monotonic() + 3  # the nginx wrapper says "listening" before nginx binds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                body = r.read()
                if r.status != 200 or len(body) != size or hashlib.sha256(body).hexdigest() != digest:
                    return (f"GET {path} answered {r.status} with {len(body)} bytes, sha256 "
                            f"{hashlib.sha256(body).hexdigest()[:16]}..., not the file's {size} "
                            f"bytes ({digest[:16]}...)")
            return None
        except urllib.error.URLError as e:
            if isinstance(e.reason, ConnectionRefusedError) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            return f"GET {path} failed: {e}"
        except Exception as e:  # any failure to answer is the finding
            return f"GET {path} failed: {e}"


def static_group(args, examples, node, results):
    """The static rows of issue 17: wrk -t1 -c64 fetching one 1 MiB file (in
    the page cache) from vow's examples/file_server, nginx with one worker and
    `sendfile on` (http_nginx.sh --static) and Node.js's http with
    fs.createReadStream (static_node.js), all serving the same directory; then
    vow's ratios beside the goals (vow >= 1.0x nginx, >= 3x Node.js)."""
    root = Path(tempfile.mkdtemp(prefix="vow-bench-static-"))
    try:
        data = os.urandom(STATIC_SIZE)
        (root / "file.bin").write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        file_server = examples / "file_server"
        specs = {
            "vow": [[str(file_server), "--root", str(root), "--port", "{port}", "--quiet"]]
            if file_server.exists() else "not built yet: examples/file_server",
            "nginx": [["sh", str(HERE / "http_nginx.sh"), "--port", "{port}", "--static", str(root)]]
            if shutil.which("nginx") or Path("/usr/sbin/nginx").exists()
            else "nginx not installed (nginx-light)",
            "node": [[node, str(HERE / "static_node.js"), "--root", str(root), "--port", "{port}"]]
            if node else "node not installed",
        }
        seconds = args.static_seconds
        all_cells = http_group(
            args, specs, results, group="static", title=f"Static file, {STATIC_SIZE >> 20} MiB",
            baseline="nginx", path="/file.bin",
            check=lambda port, name: check_file(port, "/file.bin", STATIC_SIZE, digest),
            seconds=seconds, body_bytes=STATIC_SIZE,
            note=(f"wrk on core 1, server on core 0, GET /file.bin ({STATIC_SIZE:,} random bytes, "
                  "in the page cache) for "
                  f"{max(1, round(seconds))} s after {max(1, round(args.warmup))} s of warm-up. "
                  "vow: examples/file_server --quiet (sendfile(2) on plain TCP); nginx: one "
                  "worker, no master, `sendfile on`, no access log; Node.js: static_node.js "
                  "(http, fs.createReadStream(path).pipe(res), Content-Length from fs.stat). "
                  "Each server was checked first to answer the file's exact bytes (sha256). "
                  "Server CPU per request is user+sys from /proc/PID/stat over the run, "
                  "divided by wrk's rate times the duration."))
        cells = all_cells[64]
        vow = cells["vow"]
        print("\n### Static file: vow against its peers\n")
        print("vow's median over the peer's for requests/s; the peer's median over vow's for server "
              "CPU per request: above 1 vow is better on both. Goals (issue 17): vow's requests/s "
              "at least 1.0x nginx's and 3x Node.js's; met only if the median meets it.\n")
        print("| ratio | requests/s | server CPU/request | goal (requests/s) |")
        print("|---|---|---|---|")
        for peer, (label, goal) in STATIC_GOALS.items():
            other = cells[peer]
            rate = ratio(vow.median("req_per_s"), other.median("req_per_s"))
            cpu = ratio(other.median("ns_per_req"), vow.median("ns_per_req"))
            if vow.median("req_per_s") is None:
                verdict = f">= {goal:g}x: vow not measured ({(vow.unavailable or 'errors').split(':')[0]})"
            elif other.median("req_per_s") is None:
                verdict = (f">= {goal:g}x: {label} not measured "
                           f"({(other.unavailable or 'errors').split(':')[0]})")
            else:
                met = vow.median("req_per_s") >= goal * other.median("req_per_s")
                verdict = f">= {goal:g}x: {'met' if met else 'not met'}"
            print(f"| vow / {label} | {rate} | {cpu} | {verdict} |")
        sys.stdout.flush()
    finally:
        shutil.rmtree(root, ignore_errors=True)


# The scaling group (issue 18): examples/http_server with 1 and 2 reactor
# threads, wrk on GET /spin, which burns SCALING_SPIN_US of CPU per request
# on the reactor's thread, so the server, not wrk, is what saturates.
SCALING_THREADS = (1, 2)
SCALING_SPIN_US = 500
SCALING_CONNECTIONS = 32
SCALING_GOAL = 1.7  # threads2's requests/s over threads1's, medians
SPUN = re.compile(rb"spun (\d+) us on reactor (\d+)\n")


def check_spin(port, us, reactors, tries=64):
    """GET /spin?us=US must answer 200 "spun US us on reactor R", and every
    one of the server's REACTORS reactors must answer at least once in TRIES
    requests, each on a new connection (urllib does not keep connections
    alive; the kernel's SO_REUSEPORT hash spreads them): a --threads that is
    not in effect is a wrong answer, not a quiet 1x."""
    seen = set()
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/spin?us={us}", timeout=5) as r:
                status, body = r.status, r.read()
        except Exception as e:  # any failure to answer is the finding
            return f"GET /spin?us={us} failed: {e}"
        m = SPUN.fullmatch(body)
        if status != 200 or not m or int(m.group(1)) != us:
            return f"GET /spin?us={us} answered {status} {body[:60]!r}, not 200 'spun {us} us on reactor R'"
        seen.add(int(m.group(2)))
        if len(seen) >= reactors:
            break
    if seen != set(range(reactors)):
        return (f"{tries} new connections were answered by reactor(s) {sorted(seen)}, not by each of "
                f"0..{reactors - 1}")
    return None


def scaling_group(args, examples, results):
    """Issue 18's scaling rows: wrk -t1 -c32 GET /spin?us=500 against
    examples/http_server --threads 1 and --threads 2, the two taking turns;
    the servers and wrk all on cores 0 and 1 (the 2-thread server needs both
    cores, so neither server is pinned to one); then threads2's requests/s
    over threads1's beside the goal (>= 1.7x)."""
    hs = examples / "http_server"
    specs = {f"threads{n}": [[str(hs), "--port", "{port}", "--quiet", "--threads", str(n)]]
             if hs.exists() else "not built yet: examples/http_server" for n in SCALING_THREADS}
    threads = {f"threads{n}": n for n in SCALING_THREADS}
    path = f"/spin?us={SCALING_SPIN_US}"
    where = ("the servers and wrk all on cores 0 and 1 (taskset -c 0,1: the 2-thread server needs "
             "both cores, so unlike the other groups neither server is pinned to one, and wrk "
             "competes with the server for them: its share is 'load busy')"
             if args.pin else "unpinned")
    all_cells = http_group(
        args, specs, results, group="scaling",
        title=f"Scaling with reactor threads, GET {path}", baseline="threads1",
        conn_counts=[SCALING_CONNECTIONS], path=path,
        check=lambda port, name: check_spin(port, SCALING_SPIN_US, threads[name]),
        server_cpus="0,1", load_cpus="0,1",
        note=(f"wrk -t1 -c{SCALING_CONNECTIONS} GET {path} for {max(1, round(args.seconds))} s after "
              f"{max(1, round(args.warmup))} s of warm-up, {where}. Each request burns "
              f"{SCALING_SPIN_US} µs of CPU on the thread of the reactor that serves it. threadsN "
              "is examples/http_server --quiet --threads N: N reactors on N threads, each with "
              "its own http_server on the port (SO_REUSEPORT from 2 on: the kernel spreads the "
              "connections by a hash, not necessarily evenly). Each server was checked first to "
              f"answer 'spun {SCALING_SPIN_US} us on reactor R', every one of its reactors on some "
              "new connection. 'server busy' and 'load busy' are user+sys over the run's wall "
              "time in % of one core (two cores: 200 %). Server CPU per request is approximate "
              "(wrk's rate times the duration)."))
    cells = all_cells[SCALING_CONNECTIONS]
    one, two = cells["threads1"], cells["threads2"]
    print("\n### Scaling with reactor threads: threads2 against threads1\n")
    print(f"threads2's median over threads1's, for requests/s and for server CPU per request "
          f"(near 1: a second reactor costs nothing per request). "
          f"goal: threads2 >= {SCALING_GOAL:g}x threads1 (issue 18); met only if the medians "
          "meet it.\n")
    print("| ratio | requests/s | server CPU/request | goal (requests/s) |")
    print("|---|---|---|---|")
    rate = ratio(two.median("req_per_s"), one.median("req_per_s"))
    cpu = ratio(two.median("ns_per_req"), one.median("ns_per_req"))
    missing = next((c for c in (two, one) if c.median("req_per_s") is None), None)
    if missing is not None:
        name = "threads2" if missing is two else "threads1"
        verdict = (f">= {SCALING_GOAL:g}x: {name} not measured "
                   f"({(missing.unavailable or 'errors').split(':')[0]})")
    else:
        met = two.median("req_per_s") >= SCALING_GOAL * one.median("req_per_s")
        verdict = f">= {SCALING_GOAL:g}x: {'met' if met else 'not met'}"
    print(f"| threads2 / threads1 | {rate} | {cpu} | {verdict} |")
    sys.stdout.flush()


REQ_RATE = re.compile(r"requests/s\W*\s*([\d.]+)", re.I)


def client_group(args, specs, results, server_spec, scheme="http", server_name="http_evhttp",
                 group="client", title="HTTP client"):
    peers = list(specs)
    cells = {p: Cell() for p in peers}
    for name, spec in specs.items():
        if isinstance(spec, str):
            cells[name].unavailable = spec
    log(f"{group}: starting the {server_name} hello-world server")
    try:
        server = Server(server_name, server_spec, args.pin).start()
    except RuntimeError as e:
        for p in peers:
            cells[p].unavailable = cells[p].unavailable or f"no server: {e}"
        print_table(title, peers, cells, [("requests/s", "req_per_s", False, True)], "")
        return
    url = f"{scheme}://127.0.0.1:{server.port}/"
    try:
        for rep in range(args.reps):
            for name in rotate(peers, rep):
                if cells[name].unavailable:
                    continue
                argv = [a.replace("{url}", url) for a in specs[name]]
                log(f"{group} {args.count} GETs x{args.concurrency}: {name} "
                    f"(rep {rep + 1}/{args.reps})")
                try:
                    code, out, err, wall, load_cpu, server_cpu = measure_server(
                        server, argv, args.pin, 300)
                except RuntimeError as e:
                    cells[name].errors.append(str(e))
                    break
                cells[name].outputs.append(out)
                rate = None
                errors = 0
                for line in out.splitlines():
                    line = line.strip()
                    if line.startswith("{"):
                        try:
                            res = json.loads(line)
                            rate = float(res["requests_per_s"])
                            errors = int(res.get("errors", 0))
                        except (ValueError, KeyError):
                            pass
                if rate is None:
                    m = REQ_RATE.search(out)
                    if m:
                        rate = float(m.group(1))
                if rate is None and code == 0:
                    rate = args.count / wall  # process wall time, start-up included
                    cells[name].figures.setdefault("wall_rate", [True])
                if code != 0 or errors:
                    # examples/fetch says its first error on stdout; the
                    # others on stderr.
                    first = [l for l in out.splitlines() if l.startswith("first error")]
                    cells[name].errors.append(
                        f"status {code}, {errors} error(s): {(first[0] if first else (err or out).strip())[-300:]}")
                    continue
                cells[name].add(req_per_s=rate,
                                server_busy=100 * server_cpu / wall,
                                load_busy=100 * load_cpu / wall)
                results.append({"group": group, "program": name, "rep": rep,
                                "requests_per_s": rate, "wall_s": wall,
                                "client_cpu_s": load_cpu, "server_cpu_s": server_cpu})
    finally:
        server.stop()
    note = (f"{args.count} GETs of {url.replace(str(server.port), 'PORT')} at concurrency "
            f"{args.concurrency}, client on core 1, {server_name} on core 0. 'server busy' "
            f"is {server_name}'s core; 'load busy' the client's. The clients check every body.")
    if "wall_rate" in cells.get("vow", Cell()).figures:
        note += (" vow's fetch printed no rate: its figure is COUNT / the process's wall "
                 "time, start-up included.")
    print_table(title, peers, cells, [("requests/s", "req_per_s", False, True)], "",
                note)
    vow = cells.get("vow")
    if vow and vow.outputs:
        print("\nvow's examples/fetch printed (last run):\n\n```")
        print("\n".join(vow.outputs[-1].strip().splitlines()[:20]))
        print("```")


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(
        description="vow's network benchmarks against raw libevent, Node.js and Python",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 repetition, 2 s per run, 2000 client requests")
    ap.add_argument("--build-dir", default="build-bench",
                    help="meson build directory, relative to the repository (build-bench)")
    ap.add_argument("--only", default="tcp,http,client",
                    help="groups: tcp,http,client,idle,https,client-https,idle-https,ws,idle-ws,"
                         "static,scaling "
                         "(default: tcp,http,client)")
    ap.add_argument("--tcp-connections", default="1,100,1000",
                    help="connection counts for the tcp group (1,100,1000)")
    ap.add_argument("--ws-connections", default="100",
                    help="connection counts for the ws group (100)")
    ap.add_argument("--idle", type=int, default=10000,
                    help="connections the idle and idle-ws groups hold (10000)")
    ap.add_argument("--hold", type=float, default=1.0,
                    help="seconds the idle, idle-https and idle-ws groups hold them (1)")
    ap.add_argument("--idle-https", type=int, default=2000,
                    help="connections the idle-https group holds (2000)")
    ap.add_argument("--reps", type=int, help="repetitions (3; 1 with --quick)")
    ap.add_argument("--seconds", type=float, help="timed seconds per run (5; 2 with --quick)")
    ap.add_argument("--static-seconds", type=float,
                    help="timed seconds per run of the static group (10; 2 with --quick)")
    ap.add_argument("--warmup", type=float, help="untimed seconds first (1; 0.5 with --quick)")
    ap.add_argument("--count", type=int, help="client requests (10000; 2000 with --quick)")
    ap.add_argument("--concurrency", type=int, default=100, help="client concurrency (100)")
    ap.add_argument("--http-all", action="store_true", help="wrk at 1 and 256 connections too")
    ap.add_argument("--python", help="interpreter for the Python peers (Debian's python3)")
    ap.add_argument("--npm-dir", help="where npm installs ws for the Node.js ws peer "
                                      "(BUILD_DIR/npm)")
    ap.add_argument("--no-install", action="store_true", help="never run apt-get or npm")
    ap.add_argument("--no-build", action="store_true", help="never run meson")
    ap.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    ap.add_argument("--json", help="also write every measurement to this file")
    args = ap.parse_args()
    args.reps = args.reps or (1 if args.quick else 3)
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.static_seconds = args.static_seconds or (2.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    args.count = args.count or (2000 if args.quick else 10000)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    known = ("tcp", "http", "client", "idle", "https", "client-https", "idle-https", "ws", "idle-ws",
             "static", "scaling")
    for g in groups:
        if g not in known:
            ap.error(f"unknown group {g!r}: choose from {', '.join(known)}")
    args.tcp_connections = [int(c) for c in args.tcp_connections.split(",") if c.strip()]
    args.ws_connections = [int(c) for c in args.ws_connections.split(",") if c.strip()]
    raise_nofile()  # 1000-connection runs need more than the usual 1024 fds

    args.pin = not args.no_pin and shutil.which("taskset") is not None \
        and len(os.sched_getaffinity(0)) >= 2
    if not args.pin:
        log("warning: not pinning (no taskset, fewer than 2 cores, or --no-pin): "
            "server and load share cores")

    build = Path(args.build_dir)
    if not build.is_absolute():
        build = ROOT / build
    python = pick_python(args.python)
    ensure_packages(python, not args.no_install)
    if not args.no_build:
        # The static and scaling groups need only examples/file_server and
        # examples/http_server: no peer programs.
        vow_only = set(groups) <= {"static", "scaling"}
        ensure_built(build, (["file_server"] if "static" in groups else [])
                     + (["http_server"] if "scaling" in groups else []) if vow_only else
                     ["echo_server", "http_server", "fetch", "ws_echo"]
                     + (["file_server"] if "static" in groups else []),
                     peers=not vow_only)
    args.loadgen = build / "bench" / "loadgen"
    args.ws_loadgen = build / "bench" / "ws_loadgen"
    bench_bin = build / "bench"
    examples = build / "examples"
    node = shutil.which("node")

    def compiled(path, argvs):
        return argvs if path.exists() else "not built yet"

    def needs(tool, argvs, why):
        return argvs if tool else why

    has_uvloop = python_has(python, ["uvloop"])
    has_aiohttp = python_has(python, ["aiohttp"])

    placement = "server on core 0, load on core 1"
    if "scaling" in groups:  # its servers need both cores: they share them with wrk
        placement = ("server and wrk on cores 0,1" if groups == ["scaling"] else
                     placement + " (scaling: server and wrk on cores 0,1)")
    if not args.pin:
        placement = "unpinned"
    print(f"# vow network benchmarks\n\n{time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} cores, {placement}"
          f", {args.reps} repetition(s) of "
          f"{args.static_seconds if groups == ['static'] else args.seconds:g} s (+{args.warmup:g} s warm-up), "
          f"load average {Path('/proc/loadavg').read_text().split()[0]} at the start, "
          f"python {python}, node {subprocess.run([node, '--version'], capture_output=True, text=True).stdout.strip() if node else 'missing'}.\n\n"
          "Figures are medians of the repetitions with (min–max); ratios are of medians. "
          "Higher is better for rates, lower for CPU time. '÷ baseline' is this program "
          "over the raw libevent one; 'vow ÷ this' is vow over this program (the form the "
          "goals take: vow >= 1.5x Node.js is 'vow ÷ this' >= 1.5 for rates). 'busy' is "
          "the share of its core a process used during the run: a load program near "
          "100 % is the bottleneck.")
    results = []

    if ("tcp" in groups or "idle" in groups) and not args.loadgen.exists():
        log(f"{args.loadgen} is missing: build it (or drop --no-build)")
        return 1
    echo_specs = None
    if "tcp" in groups or "idle" in groups:
        es = str(examples / "echo_server")
        echo_specs = {
            "bufferevent": compiled(bench_bin / "echo_bufferevent",
                                    [[str(bench_bin / "echo_bufferevent"), "--port", "{port}"]]),
            "vow": compiled(examples / "echo_server", [[es, "--port", "{port}", "--quiet"],
                                                       [es, "--port", "{port}"]]),
            "asio": compiled(bench_bin / "echo_asio",
                             [[str(bench_bin / "echo_asio"), "--port", "{port}"]]),
            "libuv": compiled(bench_bin / "echo_libuv",
                              [[str(bench_bin / "echo_libuv"), "--port", "{port}"]]),
            "node": needs(node, [[node or "", str(HERE / "echo_node.js"), "--port", "{port}"]],
                          "node not installed"),
            "uvloop": needs(has_uvloop, [[python, str(HERE / "echo_asyncio.py"), "--port",
                                          "{port}", "--loop", "uvloop"]],
                            "python3-uvloop not installed"),
            "asyncio": [[python, str(HERE / "echo_asyncio.py"), "--port", "{port}"]],
        }
        # Optional peers: built only where their library was found.
        if not (bench_bin / "echo_asio").exists():
            echo_specs["asio"] = "not built: Boost headers not found (libboost-dev)"
        if not (bench_bin / "echo_libuv").exists():
            echo_specs["libuv"] = "not built: libuv not found (libuv1-dev)"

    if "tcp" in groups:
        if not args.loadgen.exists():
            log(f"{args.loadgen} is missing: build it (or drop --no-build)")
            return 1
        tcp_group(args, echo_specs, results)

    if "http" in groups:
        hs = str(examples / "http_server")
        specs = {
            "evhttp": compiled(bench_bin / "http_evhttp",
                               [[str(bench_bin / "http_evhttp"), "--port", "{port}"]]),
            "vow": compiled(examples / "http_server", [[hs, "--port", "{port}", "--quiet"],
                                                       [hs, "--port", "{port}"]]),
            "nginx": needs(shutil.which("nginx") or Path("/usr/sbin/nginx").exists(),
                           [["sh", str(HERE / "http_nginx.sh"), "--port", "{port}"]],
                           "nginx not installed (nginx-light)"),
            "node": needs(node, [[node or "", str(HERE / "http_node.js"), "--port", "{port}"]],
                          "node not installed"),
            "aiohttp": needs(has_aiohttp, [[python, str(HERE / "http_aiohttp.py"), "--port",
                                            "{port}"]], "python3-aiohttp not installed"),
            "aiohttp-uvloop": needs(has_aiohttp and has_uvloop,
                                    [[python, str(HERE / "http_aiohttp.py"), "--port", "{port}",
                                      "--loop", "uvloop"]],
                                    "python3-aiohttp or python3-uvloop not installed"),
        }
        http_group(args, specs, results)

    if "client" in groups:
        n, c = str(args.count), str(args.concurrency)
        specs = {
            "vow": compiled(examples / "fetch", [str(examples / "fetch"), "--url", "{url}",
                                                 "--count", n, "--concurrency", c]),
            "node": needs(node, [node or "", str(HERE / "client_node.js"), "--url", "{url}",
                                 "--count", n, "--concurrency", c], "node not installed"),
            "aiohttp": needs(has_aiohttp, [python, str(HERE / "client_aiohttp.py"), "--url",
                                           "{url}", "--count", n, "--concurrency", c],
                             "python3-aiohttp not installed"),
            "aiohttp-uvloop": needs(has_aiohttp and has_uvloop,
                                    [python, str(HERE / "client_aiohttp.py"), "--url", "{url}",
                                     "--count", n, "--concurrency", c, "--loop", "uvloop"],
                                    "python3-aiohttp or python3-uvloop not installed"),
        }
        client_group(args, specs, results,
                     [str(bench_bin / "http_evhttp"), "--port", "{port}"])

    tls_groups = {"https", "client-https", "idle-https"} & set(groups)
    if tls_groups:
        certs = Path(tempfile.mkdtemp(prefix="vow-bench-certs-"))
        subprocess.run(["sh", str(ROOT / "tests" / "tls" / "make_certs.sh"), str(certs)], check=True,
                       capture_output=True)
        cert, key, ca = str(certs / "server.pem"), str(certs / "server.key"), str(certs / "ca.pem")
        ssl_ctx = ssl.create_default_context(cafile=ca)
        hs = str(examples / "http_server")
        nginx_tls = needs(shutil.which("nginx") or Path("/usr/sbin/nginx").exists(),
                          [["sh", str(HERE / "http_nginx.sh"), "--port", "{port}", "--tls", cert, key]],
                          "nginx not installed (nginx-light)")
        https_specs = {
            "nginx": nginx_tls,
            "vow": compiled(examples / "http_server", [[hs, "--port", "{port}", "--quiet", "--tls-cert", cert,
                                                        "--tls-key", key]]),
            "node": needs(node, [[node or "", str(HERE / "http_node.js"), "--port", "{port}", "--cert", cert,
                                  "--key", key]], "node not installed"),
        }
    if "https" in groups:
        specs = https_specs
        http_group(args, specs, results, "https", ssl_ctx, "https", "HTTPS hello world (the same EC P-256 "
                   "certificate everywhere)", "nginx")
        http_group(args, specs, results, "https", ssl_ctx, "https-handshake", "HTTPS full handshakes",
                   "nginx", ["-H", "Connection: close"], [64])
    if "client-https" in groups:
        n, c = str(args.count), str(args.concurrency)
        specs = {
            "vow": compiled(examples / "fetch", [str(examples / "fetch"), "--url", "{url}", "--count", n,
                                                 "--concurrency", c, "--cafile", ca]),
            "node": needs(node, ["env", f"NODE_EXTRA_CA_CERTS={ca}", node or "", str(HERE / "client_node.js"),
                                 "--url", "{url}", "--count", n, "--concurrency", c], "node not installed"),
            "aiohttp": needs(has_aiohttp, ["env", f"SSL_CERT_FILE={ca}", python, str(HERE / "client_aiohttp.py"),
                                           "--url", "{url}", "--count", n, "--concurrency", c],
                             "python3-aiohttp not installed"),
        }
        if isinstance(nginx_tls, str):
            for k in specs:
                specs[k] = nginx_tls
            client_group(args, specs, results, ["true"], "https", "nginx", "client-https", "HTTPS client")
        else:
            client_group(args, specs, results, nginx_tls[0], "https", "nginx (TLS)", "client-https",
                         "HTTPS client")
    if "idle-https" in groups:
        specs = {"vow": https_specs["vow"], "nginx": https_specs["nginx"], "node": https_specs["node"]}

        def https_holder(port, n):
            return [python, str(HERE / "idle_https.py"), "--port", str(port), "--cafile", ca,
                    "--connections", str(n), "--hold", str(args.hold)]

        idle_group(args, specs, results, "idle-https", args.idle_https, https_holder,
                   f"Memory, {min(args.idle_https, raise_nofile() - 100):,} idle HTTPS connections",
                   "Each HTTPS server (the https group's: the same EC P-256 certificate, default TLS 1.3), "
                   "started fresh, before and while bench/net/idle_https.py holds the connections open, "
                   "each after its handshake and one checked keep-alive GET.")
    if tls_groups:
        shutil.rmtree(certs, ignore_errors=True)

    if "idle" in groups:
        idle_group(args, echo_specs, results)

    if "ws" in groups or "idle-ws" in groups:
        if not args.ws_loadgen.exists():
            log(f"{args.ws_loadgen} is missing: build it (or drop --no-build)")
            return 1
        npm_dir = Path(args.npm_dir) if args.npm_dir else build / "npm"
        node_path, ws_version = ensure_node_ws(node, npm_dir.resolve(), not args.no_install)
        has_websockets = python_has(python, ["websockets"])
        ws_echo = examples / "ws_echo"
        if not ws_echo.exists():
            log(f"ws: vow's examples/ws_echo is not built ({ws_echo} is missing): vow's rows "
                "are skipped")
        ws_specs = {
            # --quiet first, as for echo_server; without it if ws_echo refuses it.
            "vow": [[str(ws_echo), "--port", "{port}", "--quiet"], [str(ws_echo), "--port", "{port}"]]
            if ws_echo.exists() else
            "not built yet: examples/ws_echo (vow's WebSocket echo server) is not in the build",
            "node-ws": needs(node_path, [["env", f"NODE_PATH={node_path}", node or "",
                                          str(HERE / "ws_echo_node.js"), "--port", "{port}"]],
                             ws_version),
            "websockets": needs(has_websockets, [[python, str(HERE / "ws_echo_websockets.py"),
                                                  "--port", "{port}"]],
                                "python3-websockets not installed"),
        }
        versions = (f"Node.js ws {ws_version if node_path else '(missing)'}, Python websockets "
                    f"{py_version(python, 'websockets') if has_websockets else '(missing)'}")
    if "ws" in groups:
        ws_group(args, ws_specs, results, versions)
    if "idle-ws" in groups:
        def ws_holder(port, n):
            return [str(args.ws_loadgen), "--host", "127.0.0.1", "--port", str(port),
                    "--connections", str(n), "--size", "64", "--seconds", "60",
                    "--hold", str(args.hold)]

        conns = min(args.idle, raise_nofile() - 100)
        idle_group(args, ws_specs, results, "idle-ws", args.idle, ws_holder,
                   f"Memory, {conns:,} idle WebSocket connections",
                   f"Each WebSocket echo server (the ws group's; {versions}), started fresh, "
                   f"before and while ws_loadgen holds {conns:,} connections open, each upgraded "
                   "and after one checked 64 B message.")

    if "static" in groups:
        static_group(args, examples, node, results)

    if "scaling" in groups:
        scaling_group(args, examples, results)

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if FAILED:
        log(f"errors in: {', '.join(FAILED)}")
    return 1 if FAILED else 0


FAILED = []  # "workload: program" for every table row that had an error

if __name__ == "__main__":
    sys.exit(main())
