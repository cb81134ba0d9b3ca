#!/usr/bin/env python3
"""Load and soak tests for the network examples: loopback only, bounded in time.

  soak.py echo-10k ECHO_SERVER [--sanitized]
      raises RLIMIT_NOFILE (soft to hard) so that the server inherits it,
      opens 10,000 connections to `ECHO_SERVER --port 0` in batches (so the
      listen backlog is never overrun), checks that the server holds every
      one (/proc/PID/fd), sends each its own pattern in two writes per round
      and checks every byte of every echo, then closes them all and checks
      that the server closed its ends too (no descriptor leaks).
  soak.py slowloris HTTP_SERVER [--sanitized]
      200 clients trickle a request head a byte at a time and never finish
      it (20 more trickle a body, 20 send nothing), while normal clients
      make requests (keep-alive and new connections): every request must be
      answered correctly within the clients' timeout, and every slow client
      must be dropped once the server's header (body, idle) timeout has
      passed, not before (the --*-timeout-ms flags shorten them).
  soak.py hostile-peers ECHO_SERVER HTTP_SERVER [--sanitized]
      peers that reset mid-request (SO_LINGER 0), half-close mid-request
      (also after a request with a large response that they read slowly),
      and stop reading while they push hundreds of MiB: the server's RSS is
      sampled meanwhile and must stay flat (backpressure, not buffering),
      the HTTP server must drop the peers that stop reading (its write
      timeout), every connection must be closed on the server's side too,
      and a normal client must still be served afterwards; last, SIGTERM
      while a slow reader takes a large response: it gets all of it.

Correctness is asserted (every byte, every response, every close, no lost
connection, no leaked descriptor) and memory ceilings that catch unbounded
growth; timings are reported, never asserted, except that the timeouts under
test must not fire early. Each test prints a few lines of figures: peak RSS
(VmHWM), RSS samples, round trips/s, requests/s.

Scale: VOW_SOAK_SCALE=F multiplies connection counts and data volumes
(e.g. 0.2); --sanitized (passed by meson for -Db_sanitize builds) defaults
it to 0.2 and raises the memory ceilings, since ASan's shadow memory and
quarantine inflate RSS. Every socket is non-blocking or has a timeout and
every phase has a deadline, so a broken server fails the test, never hangs
it; the servers are killed in finally blocks whatever happens.
"""
import errno
import os
import queue
import random
import re
import resource
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
MiB = 1 << 20


class Failure(Exception):
    pass


class Skip(Exception):
    """The machine cannot run the test (meson reports exit status 77 as SKIP)."""


def fail(msg):
    raise Failure(msg)


class Config:
    def __init__(self, sanitized):
        self.sanitized = sanitized
        self.scale = float(os.environ.get("VOW_SOAK_SCALE", "0.2" if sanitized else "1"))
        if not 0 < self.scale <= 1:
            fail(f"VOW_SOAK_SCALE must be in (0, 1], not {self.scale}")
        # Sanitized servers are several times slower: longer timeouts for
        # any one operation (they bound a hang, they do not measure speed).
        self.io_timeout = 30.0 if sanitized else 10.0
        # ASan adds shadow memory, redzones and a quarantine of freed
        # blocks (made small for the servers, see Server) to RSS.
        self.ceiling_mib = 2048 if sanitized else 1024
        self.growth_mib = 128 if sanitized else 64

    def n(self, full, least=1):
        return max(least, int(full * self.scale))


# ------------------------------------------------------------ processes

class Server:
    """An example server started with --port 0; a thread collects its stdout
    so that it can never block on a full pipe. Its stderr is ours: a
    sanitizer report lands in the test log."""

    def __init__(self, cfg, exe, *args):
        self.name = os.path.basename(exe)
        env = dict(os.environ)
        if cfg.sanitized:
            # ASan keeps freed blocks in a quarantine of 256 MiB to catch
            # late uses: RSS then grows with the bytes freed, not the bytes
            # live. A small quarantine keeps RSS a measure of live memory.
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))
        self.proc = subprocess.Popen([exe, "--port", "0", *args], stdout=subprocess.PIPE, text=True, env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            line = self.lines.get(timeout=cfg.io_timeout) or ""
        except queue.Empty:
            line = ""
        m = re.fullmatch(r"listening on (?:http://)?127\.0\.0\.1:(\d+)\n", line)
        if not m:
            self.kill()
            fail(f"{self.name}: no 'listening on 127.0.0.1:PORT' first line, got {line!r}")
        self.port = int(m.group(1))
        self.pid = self.proc.pid

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def status(self):
        """VmRSS and VmHWM (peak RSS) in bytes."""
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) * 1024
        return out

    def rss(self):
        return self.status()["VmRSS"]

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def wait_fds(self, want, timeout, what):
        """Waits until the server holds `want` descriptors (connections
        closed on its side too); fails with what it holds otherwise."""
        end = time.monotonic() + timeout
        while (have := self.fds()) != want:
            if time.monotonic() > end:
                fail(f"{self.name}: {what}: it holds {have} descriptors {timeout:.0f} s later, want {want}")
            time.sleep(0.05)

    def stop(self, signalled=False):
        """SIGTERM (unless `signalled` already); returns the rest of its
        stdout once it exited 0."""
        if not signalled:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            fail(f"{self.name} did not exit within 30 s of SIGTERM")
        out = []
        while (line := self.lines.get(timeout=10)) is not None:
            out.append(line)
        if self.proc.returncode != 0:
            fail(f"{self.name} exited with {self.proc.returncode} after SIGTERM:\n{''.join(out)}")
        return "".join(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def mib(n):
    return f"{n / MiB:.1f} MiB"


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        with open("/proc/sys/fs/nr_open") as f:
            hard = int(f.read())
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < want:
        raise Skip(f"RLIMIT_NOFILE's hard limit is {hard}; this test needs {want} "
                   "(raise it, or set VOW_SOAK_SCALE)")
    return hard


# ------------------------------------------------------------ sockets

def connect_blocking(cfg, port):
    s = socket.create_connection((HOST, port), timeout=cfg.io_timeout)
    return s


def connect_batch(port, count, deadline):
    """`count` non-blocking connects at once; returns the connected sockets."""
    socks = []
    sel = selectors.DefaultSelector()
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # two writes are two segments
            s.setblocking(False)
            err = s.connect_ex((HOST, port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                fail(f"connect: {os.strerror(err)}")
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE)
        waiting = len(socks)
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"{waiting} of {count} connects still pending at the deadline")
            for key, _ in sel.select(min(left, 1.0)):
                s = key.fileobj
                sel.unregister(s)
                waiting -= 1
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(f"connect: {os.strerror(err)}")
    except BaseException:
        for s in socks:
            s.close()
        raise
    finally:
        sel.close()
    return socks


def reset(s):
    """Closes with RST instead of FIN."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
    except OSError:
        pass
    s.close()


def send_some(s, data):
    """Non-blocking send: how many bytes the kernel took (0 if none)."""
    try:
        return s.send(data)
    except BlockingIOError:
        return 0


def slow_reader(cfg, port):
    """A connection whose receive window and segments are small (536-byte
    MSS, 4 KiB receive buffer), so the server's socket buffer for it stays
    small too: its writes then resolve while part of a large response is
    still queued in the stream, not yet in the kernel."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    s.settimeout(cfg.io_timeout)
    s.connect((HOST, port))
    return s


def read_slowly(s, timeout, slow_bytes=200_000):
    """Like read_to_close, but the first `slow_bytes` 2 KiB every 2 ms."""
    s.settimeout(timeout)
    data = bytearray()
    while True:
        try:
            c = s.recv(2048 if len(data) < slow_bytes else 1 << 16)
        except ConnectionResetError:
            return bytes(data), "reset"
        except TimeoutError:
            fail(f"no close within {timeout} s (got {len(data)} bytes)")
        if not c:
            return bytes(data), "eof"
        data += c
        if len(data) < slow_bytes:
            time.sleep(0.002)


def response_body(raw):
    """The body of one raw HTTP/1.1 response with Content-Length, or None
    if it is not all there (the head, then exactly that many bytes)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    m = re.search(rb"\r\nContent-Length: (\d+)\r\n", head + b"\r\n", re.IGNORECASE)
    if not sep or not m or int(m.group(1)) != len(body):
        return None
    return body


def read_to_close(s, timeout, limit=64 * MiB):
    """Everything until end of stream or reset: (bytes, "eof" | "reset")."""
    s.settimeout(timeout)
    data = bytearray()
    while True:
        try:
            c = s.recv(1 << 16)
        except ConnectionResetError:
            return bytes(data), "reset"
        except TimeoutError:
            fail(f"no close within {timeout} s (got {len(data)} bytes: {bytes(data[:60])!r})")
        if not c:
            return bytes(data), "eof"
        data += c
        if len(data) > limit:
            fail(f"more than {limit} bytes without a close")


# ------------------------------------------------------------ echo traffic

def pattern(index, round_):
    """A connection's message for one round: its number, the round, and
    200-399 bytes of its own pseudo-random data."""
    rng = random.Random(index * 1009 + round_)
    head = f"<{index:06d}:{round_:03d}>".encode()
    return head + rng.randbytes(200 + (index * 7 + round_ * 13) % 200)


class EchoConn:
    __slots__ = ("index", "sock", "want", "got", "out")

    def __init__(self, index, sock):
        self.index, self.sock = index, sock
        self.want, self.got, self.out = b"", bytearray(), b""


def exchange(conns, round_, deadline):
    """Every connection sends its pattern for `round_` in two writes and
    reads it back; every byte is compared. Returns the bytes echoed."""
    sel = selectors.DefaultSelector()
    pending = 0
    try:
        for c in conns:
            c.want, c.got, c.out = pattern(c.index, round_), bytearray(), b""
            cut = len(c.want) // 3
            for part in (c.want[:cut], c.want[cut:]):
                if c.out:
                    c.out += part
                    continue
                n = send_some(c.sock, part)
                c.out = part[n:]
            sel.register(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0), c)
            pending += 1
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                short = [c.index for c in conns if len(c.got) < len(c.want)]
                fail(f"round {round_}: {len(short)} connections still waiting for their echo at the deadline "
                     f"(first: {short[:5]})")
            for key, ev in sel.select(min(left, 1.0)):
                c = key.data
                if ev & selectors.EVENT_WRITE and c.out:
                    c.out = c.out[send_some(c.sock, c.out):]
                    if not c.out:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if ev & selectors.EVENT_READ:
                    try:
                        data = c.sock.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    except OSError as e:
                        fail(f"round {round_}: connection {c.index}: {e} after {len(c.got)} of {len(c.want)} bytes")
                    if not data:
                        fail(f"round {round_}: connection {c.index} closed by the server after "
                             f"{len(c.got)} of {len(c.want)} bytes")
                    start = len(c.got)
                    c.got += data
                    if c.got != c.want[:len(c.got)]:
                        bad = next((i for i in range(start, min(len(c.got), len(c.want)))
                                    if c.got[i] != c.want[i]), len(c.want))
                        fail(f"round {round_}: connection {c.index}: echoed byte {bad} differs "
                             f"({len(c.got)} bytes received, {len(c.want)} sent)")
                    if len(c.got) == len(c.want):
                        sel.unregister(c.sock)
                        pending -= 1
    finally:
        sel.close()
    return sum(len(c.want) for c in conns)


def soak_echo_10k(cfg, exe):
    n = cfg.n(10_000, least=100)
    rounds = 5
    batch = 250  # well under the server's backlog (1024) and somaxconn
    raise_fd_limit(n + 100)  # before the server starts: it inherits the limit
    server = Server(cfg, exe)
    conns = []
    try:
        base_fds, base_rss = server.fds(), server.rss()
        deadline = time.monotonic() + 8 * cfg.io_timeout
        t0 = time.monotonic()
        # Each batch's round-0 echo proves the server accepted all of it
        # before the next batch arrives at the backlog.
        while len(conns) < n:
            socks = connect_batch(server.port, min(batch, n - len(conns)), deadline)
            fresh = [EchoConn(len(conns) + i, s) for i, s in enumerate(socks)]
            conns += fresh
            exchange(fresh, 0, deadline)
        t_open = time.monotonic() - t0
        held = server.fds() - base_fds
        if held != n:
            fail(f"the server holds {held} connection descriptors, want {n}")
        idle_rss = server.rss()

        # Every connection at once, `rounds` times: throughput with all open.
        t1 = time.monotonic()
        echoed = 0
        for r in range(1, rounds + 1):
            echoed += exchange(conns, r, time.monotonic() + 4 * cfg.io_timeout)
        t_rounds = time.monotonic() - t1
        busy_rss = server.rss()
        if server.fds() - base_fds != n:
            fail(f"a connection was lost: the server holds {server.fds() - base_fds}, want {n}")

        for c in conns:
            c.sock.close()
        conns = []
        server.wait_fds(base_fds, 4 * cfg.io_timeout, f"after {n} clients closed")
        peak = server.status()["VmHWM"]
        if peak > cfg.ceiling_mib * MiB:
            fail(f"peak RSS {mib(peak)} is over the ceiling of {cfg.ceiling_mib} MiB")
        out = server.stop()
    finally:
        for c in conns:
            c.sock.close()
        server.kill()
    if f"served {n} connections" not in out:
        fail(f"want 'served {n} connections' at exit, got:\n{out}")
    trips = n * rounds
    print(f"soak_echo_10k: {n} concurrent connections opened in {t_open:.1f} s (batches of {batch}), "
          f"all held by the server, every byte of {n * (rounds + 1)} echoes checked, all closed on both sides")
    print(f"  throughput with all {n} open: {trips / t_rounds:,.0f} round trips/s, "
          f"{2 * echoed / t_rounds / 1e6:.1f} MB/s (sent + echoed), {rounds} rounds in {t_rounds:.1f} s")
    print(f"  server RSS: {mib(base_rss)} at start, {mib(idle_rss)} with {n} idle connections "
          f"({(idle_rss - base_rss) / n / 1024:.1f} KiB each), {mib(busy_rss)} after the rounds, "
          f"peak {mib(peak)} (ceiling {cfg.ceiling_mib} MiB)")


# ------------------------------------------------------------ HTTP clients

class HttpClient:
    """A blocking keep-alive HTTP/1.1 client on a raw socket with a timeout:
    just enough to check the example's responses byte for byte."""

    def __init__(self, cfg, port):
        self.sock = connect_blocking(cfg, port)
        self.buf = b""

    def _fill(self):
        c = self.sock.recv(1 << 16)
        if not c:
            fail(f"end of stream while waiting for a response (have {self.buf[:60]!r})")
        self.buf += c

    def response(self):
        """(status, headers dict with lower-case names, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def get_user(self, k, close=False):
        extra = "Connection: close\r\n" if close else ""
        self.sock.sendall(f"GET /users/{k} HTTP/1.1\r\nHost: soak\r\n{extra}\r\n".encode())
        status, headers, body = self.response()
        want = f'{{"id": {k}, "name": "user {k}"}}'.encode()
        if status != 200 or body != want or headers.get("content-type") != "application/json":
            fail(f"GET /users/{k} gave {status} {headers.get('content-type')} {body[:80]!r}")
        if close:
            rest, _ = read_to_close(self.sock, self.sock.gettimeout())
            if rest:
                fail(f"bytes after a Connection: close response: {rest[:60]!r}")

    def close(self):
        self.sock.close()


def check_served(cfg, port, what):
    c = HttpClient(cfg, port)
    try:
        c.get_user(42)
        c.get_user(43, close=True)
    except (Failure, OSError) as e:
        fail(f"after {what}, a normal client was not served: {e}")
    finally:
        c.close()


def normal_client(cfg, port, stop, done, errors, seed):
    """Until `stop`: 20 requests on a keep-alive connection, then one on a
    new connection that asks to close; every response checked. Appends the
    completion time of each request to `done`."""
    k = seed * 1_000_000
    try:
        while not stop.is_set():
            c = HttpClient(cfg, port)
            try:
                for _ in range(20):
                    if stop.is_set():
                        break
                    k += 1
                    c.get_user(k)
                    done.append(time.monotonic())
            finally:
                c.close()
            if stop.is_set():
                break
            c = HttpClient(cfg, port)
            try:
                k += 1
                c.get_user(k, close=True)
                done.append(time.monotonic())
            finally:
                c.close()
    except (Failure, OSError) as e:
        errors.append(f"normal client {seed}, request {k}: {e}")


# What the slow clients send, a byte per tick: a head that never ends, or
# (after a complete head, sent at once) a body that never ends.
SLOW_HEAD = b"GET /slow-and-never HTTP/1.1\r\nHost: soak\r\nX-Trickle: "
SLOW_BODY_HEAD = b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 1000000\r\n\r\n"


class SlowClient:
    def __init__(self, cfg, port, kind):
        self.kind = kind  # "head", "body" or "silent"
        self.sock = connect_blocking(cfg, port)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.sent = 0
        self.start = time.monotonic()  # first byte sent (silent: connected)
        self.closed = None
        self.got = b""
        if kind == "body":
            self.sock.send(SLOW_BODY_HEAD)  # a fresh socket takes 60 bytes at once

    def trickle(self, now):
        if self.closed is not None or self.kind == "silent":
            return
        if self.kind == "head":
            byte = SLOW_HEAD[self.sent:self.sent + 1] or b"a"
        else:
            byte = b"b"
        try:
            if self.sock.send(byte) == 1:
                if self.sent == 0 and self.kind == "head":
                    self.start = now
                self.sent += 1
        except BlockingIOError:
            pass
        except OSError:
            self.closed = now


def soak_slowloris(cfg, exe):
    # The attack is not scaled: it is small, and it is the point.
    kinds = ["head"] * 200 + ["body"] * 20 + ["silent"] * 20
    workers = 4
    stretch = 1.5 if cfg.sanitized else 1.0
    header_ms, body_ms, idle_ms = (int(stretch * t) for t in (2000, 1000, 2500))
    # When each kind must be dropped, after its first byte (silent: connect).
    limit = {"head": header_ms / 1000, "body": (header_ms + body_ms) / 1000, "silent": idle_ms / 1000}
    tick = 0.1  # each slow client sends one byte per tick
    server = Server(cfg, exe, "--quiet", "--header-timeout-ms", str(header_ms), "--body-timeout-ms", str(body_ms),
                    "--idle-timeout-ms", str(idle_ms))
    slow = []
    stop = threading.Event()
    threads = []
    try:
        base_fds, base_rss = server.fds(), server.rss()
        for kind in kinds:
            slow.append(SlowClient(cfg, server.port, kind))
        t_attack = time.monotonic()
        for c in slow:
            c.trickle(time.monotonic())
        sel = selectors.DefaultSelector()
        for i, c in enumerate(slow):
            sel.register(c.sock, selectors.EVENT_READ, i)
        # The server holds every slow client before the normal ones start.
        server.wait_fds(base_fds + len(slow), cfg.io_timeout, f"{len(slow)} slow clients connected")
        attack_rss = server.rss()

        done, errors = [], []
        t_normal = time.monotonic()
        threads = [threading.Thread(target=normal_client, args=(cfg, server.port, stop, done, errors, i + 1))
                   for i in range(workers)]
        for t in threads:
            t.start()

        end = time.monotonic() + max(limit.values()) + 3 * cfg.io_timeout
        next_tick = time.monotonic()
        while any(c.closed is None for c in slow):
            now = time.monotonic()
            if now > end:
                left = [c.kind for c in slow if c.closed is None]
                fail(f"{len(left)} slow clients ({', '.join(sorted(set(left)))}) still connected "
                     f"{now - t_attack:.1f} s into the attack (timeouts: header {header_ms} ms, "
                     f"body {body_ms} ms, idle {idle_ms} ms)")
            if now >= next_tick:
                for c in slow:
                    c.trickle(now)
                next_tick = now + tick
            for key, _ in sel.select(max(0.0, min(next_tick - time.monotonic(), 0.05))):
                c = slow[key.data]
                try:
                    data = c.sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    c.got += data
                    continue
                if c.closed is None:
                    c.closed = time.monotonic()
                sel.unregister(c.sock)
        sel.close()
        t_dropped = min(c.closed for c in slow)
        # Normal clients go on a moment after the slow ones are gone.
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(2 * cfg.io_timeout)
            if t.is_alive():
                fail("a normal client did not finish")
        threads = []
        if errors:
            fail("normal clients during the attack:\n  " + "\n  ".join(errors[:10]))
        during = [t for t in done if t_normal <= t < t_dropped]
        if not during:
            fail("no normal request was answered while the slow clients were connected")
        lives = {k: [c.closed - c.start for c in slow if c.kind == k] for k in limit}
        for k, xs in lives.items():
            if min(xs) < 0.9 * limit[k]:
                fail(f"a slow client ({k}) was dropped {min(xs):.2f} s after its first byte, before its "
                     f"timeout of {limit[k]:.2f} s")
        answered = [c for c in slow if c.got]
        if answered:
            fail(f"{len(answered)} slow clients got bytes before the close: {answered[0].got[:60]!r}")
        server.wait_fds(base_fds, cfg.io_timeout, "after the attack")
        check_served(cfg, server.port, "the attack")
        peak = server.status()["VmHWM"]
        if peak > cfg.ceiling_mib * MiB:
            fail(f"peak RSS {mib(peak)} is over the ceiling of {cfg.ceiling_mib} MiB")
        out = server.stop()
    finally:
        stop.set()
        for t in threads:
            t.join(2 * cfg.io_timeout)
        for c in slow:
            c.sock.close()
        server.kill()
    total = len(done) + 2  # and check_served's two
    m = re.search(r"shut down after (\d+) requests", out)
    if not m or int(m.group(1)) != total:
        fail(f"want 'shut down after {total} requests' (the normal clients' only), got:\n{out}")
    window = t_dropped - t_normal
    counts = {k: kinds.count(k) for k in limit}
    print(f"soak_slowloris: {counts['head']} clients trickling a head ({1 / tick:.0f} bytes/s), {counts['body']} "
          f"a body, {counts['silent']} silent; each dropped once its timeout passed, never before:")
    for k, what in (("head", f"header timeout {header_ms} ms"),
                    ("body", f"header + body timeout {header_ms + body_ms} ms"),
                    ("silent", f"idle timeout {idle_ms} ms")):
        print(f"  {k}: dropped {min(lives[k]):.2f}-{max(lives[k]):.2f} s after the first byte ({what})")
    print(f"  normal clients ({workers} threads, keep-alive and new connections): {len(done)} requests, every one "
          f"answered right; while all {len(slow)} slow clients were connected: {len(during)} in {window:.2f} s = "
          f"{len(during) / window:,.0f} requests/s")
    print(f"  server RSS: {mib(base_rss)} at start, {mib(attack_rss)} holding the slow clients, "
          f"peak {mib(peak)} (ceiling {cfg.ceiling_mib} MiB)")


# ------------------------------------------------------------ hostile peers

class Push:
    """What push_without_reading saw: bytes each peer got into the kernel,
    when each last made progress and when it was dropped (seconds from the
    start, None if it was not), and (seconds, server RSS) samples."""

    def __init__(self, count):
        self.sent = [0] * count
        self.last_progress = [0.0] * count
        self.dropped_at = [None] * count
        self.samples = []
        self.seconds = 0.0


def push_without_reading(server, socks, payload_for, budget, seconds, until_dropped):
    """Each socket sends up to `budget` bytes (payload_for(i), repeated) and
    never reads, for at most `seconds`: until every peer is dropped by the
    server (`until_dropped`) or, otherwise, until none has made progress for
    1.5 s. Samples the server's RSS every 100 ms."""
    res = Push(len(socks))
    payloads = [payload_for(i) for i in range(len(socks))]
    offsets = [0] * len(socks)
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_WRITE, i)
    start = next_sample = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            if now >= next_sample:
                res.samples.append((now - start, server.rss()))
                next_sample = now + 0.1
            active = [i for i in range(len(socks)) if res.dropped_at[i] is None and res.sent[i] < budget]
            if not active or now - start > seconds:
                break
            if not until_dropped and all(now - start - res.last_progress[i] > 1.5 for i in active):
                break
            for key, _ in sel.select(0.05):
                i = key.data
                p = payloads[i]
                try:
                    n = socks[i].send(p[offsets[i]:offsets[i] + (1 << 18)])
                except BlockingIOError:
                    continue
                except OSError:  # reset by the server
                    res.dropped_at[i] = time.monotonic() - start
                    sel.unregister(socks[i])
                    continue
                res.sent[i] += n
                offsets[i] = (offsets[i] + n) % len(p)
                res.last_progress[i] = time.monotonic() - start
                if res.sent[i] >= budget:
                    sel.unregister(socks[i])
    finally:
        sel.close()
    res.seconds = time.monotonic() - start
    return res


def rss_line(samples, base):
    """Ten samples, evenly spread: "0.5s +3.9" is 3.9 MiB over `base` 0.5 s in."""
    picks = sorted({round(i * (len(samples) - 1) / 9) for i in range(10)})
    return ", ".join(f"{samples[i][0]:.1f}s {(samples[i][1] - base) / MiB:+.1f}" for i in picks)


def hostile_echo(cfg, exe):
    server = Server(cfg, exe)
    socks = []
    connections = 0
    try:
        base_fds = server.fds()
        # Resets: some before the echo comes back, some in the middle of a
        # large send whose echo is still being written.
        n_reset = cfg.n(100, least=10)
        for i in range(n_reset):
            s = connect_blocking(cfg, server.port)
            connections += 1
            s.setblocking(False)
            send_some(s, os.urandom(64 * 1024 if i % 2 else 300))
            socks.append(s)
        deadline = time.monotonic() + cfg.io_timeout
        for i, s in enumerate(socks):
            if i % 3 == 0:  # mid-large-send: wait until the echo has begun
                s.setblocking(True)
                s.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    s.recv(1)
                except OSError:
                    pass
            reset(s)
        socks = []
        server.wait_fds(base_fds, cfg.io_timeout, f"after {n_reset} resets")

        # Half-closes: send, half-close mid-exchange (before the echo is
        # read), and the whole echo must still come back before end of stream.
        n_half = cfg.n(50, least=5)
        payloads = [os.urandom(1000 + i * 2000) for i in range(n_half)]
        for p in payloads:
            s = connect_blocking(cfg, server.port)
            connections += 1
            socks.append(s)
        for s, p in zip(socks, payloads):
            s.sendall(p)  # at most 100 KiB: the kernel takes it without our reading
            s.shutdown(socket.SHUT_WR)
        for i, (s, p) in enumerate(zip(socks, payloads)):
            got, how = read_to_close(s, cfg.io_timeout)
            if how != "eof" or got != p:
                fail(f"half-close {i}: {len(got)} of {len(p)} bytes back, then {how}")
            s.close()
        socks = []
        server.wait_fds(base_fds, cfg.io_timeout, f"after {n_half} half-closes")

        # Peers that push without reading: the server must stop reading them
        # (its writes wait), so its memory stays flat.
        n_push = 20
        budget = cfg.n(200 * MiB, least=16 * MiB)
        for _ in range(n_push):
            socks.append(connect_blocking(cfg, server.port))
            connections += 1
        push_base = server.rss()
        blocks = [os.urandom(1 << 20) for _ in range(4)]
        push = push_without_reading(server, socks, lambda i: blocks[i % 4], budget,
                                    seconds=10 if cfg.sanitized else 6, until_dropped=False)
        sent, samples = push.sent, push.samples
        growth = max(r for _, r in samples) - push_base
        if growth > cfg.growth_mib * MiB:
            fail(f"echo_server's RSS grew {mib(growth)} while {n_push} peers pushed without reading "
                 f"(bound {cfg.growth_mib} MiB): samples {rss_line(samples, push_base)}")
        if max(sent) >= budget:
            fail(f"a peer that never reads sent all {mib(budget)}: no backpressure")
        for s in socks:
            reset(s)
        socks = []
        server.wait_fds(base_fds, cfg.io_timeout, f"after {n_push} pushing peers reset")

        # Still serving.
        with connect_blocking(cfg, server.port) as s:
            connections += 1
            s.sendall(b"still there?")
            s.shutdown(socket.SHUT_WR)
            got, how = read_to_close(s, cfg.io_timeout)
            if got != b"still there?" or how != "eof":
                fail(f"echo after the hostile peers: {got!r}, {how}")
        peak = server.status()["VmHWM"]
        if peak > cfg.ceiling_mib * MiB:
            fail(f"echo_server's peak RSS {mib(peak)} is over the ceiling of {cfg.ceiling_mib} MiB")
        out = server.stop()
    finally:
        for s in socks:
            s.close()
        server.kill()
    if f"served {connections} connections" not in out:
        fail(f"want 'served {connections} connections' at exit, got:\n{out}")
    print(f"hostile peers, echo_server: {n_reset} resets mid-request, {n_half} half-closes mid-exchange "
          f"(every byte back), {n_push} peers pushing without reading, then a normal client: OK")
    print(f"  the pushing peers got {mib(min(sent))}-{mib(max(sent))} each into the kernel of {mib(budget)} "
          f"tried; server RSS over {mib(push_base)}: {rss_line(samples, push_base)} "
          f"(max {growth / MiB:+.1f} MiB, bound {cfg.growth_mib}); peak {mib(peak)}")


def hostile_http(cfg, exe):
    write_timeout_ms = 4000 if cfg.sanitized else 2000
    server = Server(cfg, exe, "--quiet", "--write-timeout-ms", str(write_timeout_ms))
    socks = []
    try:
        base_fds = server.fds()
        # Resets mid-request: a partial head, a partial body, and a complete
        # request whose (slow) response is still being computed.
        n = cfg.n(60, least=9) // 3
        for i in range(3 * n):
            s = connect_blocking(cfg, server.port)
            kind = i % 3
            if kind == 0:
                s.sendall(b"GET /users/1 HTTP/1.1\r\nHost: so")
            elif kind == 1:
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 1048576\r\n\r\n" + b"b" * 300_000)
            else:
                s.sendall(b"GET /slow HTTP/1.1\r\nHost: soak\r\n\r\n")
            socks.append(s)
        time.sleep(0.05)
        for s in socks:
            reset(s)
        socks = []
        server.wait_fds(base_fds, cfg.io_timeout, f"after {3 * n} resets mid-request")

        # Half-closes: a complete request still gets its whole response, then
        # end of stream; an incomplete one gets the connection closed.
        cases = [
            (b"GET /users/5 HTTP/1.1\r\nHost: soak\r\n\r\n", b'{"id": 5, "name": "user 5"}'),
            (b"GET /slow HTTP/1.1\r\nHost: soak\r\n\r\n", b"done"),
            (b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
            (b"GET /users/5 HTTP/1.1\r\nHos", None),
            (b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 10\r\n\r\nhel", None),
        ]
        n_half = cfg.n(10, least=2)
        for _ in range(n_half):
            for s_req, _ in cases:
                s = connect_blocking(cfg, server.port)
                s.sendall(s_req)
                s.shutdown(socket.SHUT_WR)
                socks.append(s)
        for i, s in enumerate(socks):
            req, want = cases[i % len(cases)]
            got, how = read_to_close(s, cfg.io_timeout)
            if want is None:
                if got:
                    fail(f"an incomplete request {req!r} then half-close got {got[:80]!r}")
            elif not (got.startswith(b"HTTP/1.1 200") and got.endswith(b"\r\n\r\n" + want)):
                fail(f"{req!r} then half-close got {got[:200]!r}, then {how}")
            s.close()
        socks = []
        server.wait_fds(base_fds, cfg.io_timeout, f"after {n_half * len(cases)} half-closes")

        # Half-closes after a request with a large response, read slowly:
        # the part of the response still queued when the server reads the
        # end of stream must be sent before it closes.
        sizes = [200_000 + 100_003 * i for i in range(4)]
        for size in sizes:
            body = bytes(range(256)) * (size // 256) + bytes(size % 256)
            with slow_reader(cfg, server.port) as s:
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n" % size + body)
                s.shutdown(socket.SHUT_WR)
                got, how = read_slowly(s, cfg.io_timeout)
            if response_body(got) != body or how != "eof":
                fail(f"a {size}-byte POST /echo then half-close, read slowly: {len(got)} bytes "
                     f"(a {size}-byte body and its head wanted), then {how}")
        server.wait_fds(base_fds, cfg.io_timeout, "after the slowly read half-closes")

        # Peers that pipeline requests and never read a response: small GETs
        # (many responses per read) from one in four, large POST /echo
        # bodies (large responses) from the others. A GET peer has the
        # server answer some 40,000 requests before the kernel's buffers
        # are full, a few seconds' work under ASan. The server stops reading them while its writes wait,
        # and drops them at its write timeout; its RSS stays flat.
        n_push = 20
        budget = cfg.n(200 * MiB, least=16 * MiB)
        for _ in range(n_push):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # A small receive window, as a slow client has: the server can
            # answer only so many requests before its writes wait, which
            # bounds the time it takes (loopback's windows grow to 32 MiB).
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
            s.settimeout(cfg.io_timeout)
            s.connect((HOST, server.port))
            socks.append(s)
        body = os.urandom(256 * 1024)
        post = b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        get = b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n" * 4096
        push_base = server.rss()
        push = push_without_reading(server, socks, lambda i: get if i % 4 == 0 else post, budget,
                                    seconds=write_timeout_ms / 1000 + 3 * cfg.io_timeout, until_dropped=True)
        sent, samples, t_push = push.sent, push.samples, push.seconds
        dropped = [t is not None for t in push.dropped_at]
        growth = max(r for _, r in samples) - push_base
        if growth > cfg.growth_mib * MiB:
            fail(f"http_server's RSS grew {mib(growth)} while {n_push} peers pipelined without reading "
                 f"(bound {cfg.growth_mib} MiB): samples {rss_line(samples, push_base)}")
        if max(sent) >= budget:
            fail(f"a peer that never reads sent all {mib(budget)}: no backpressure")
        if not all(dropped):
            fail(f"{dropped.count(False)} of {n_push} peers that never read were not dropped within "
                 f"{t_push:.1f} s (write timeout {write_timeout_ms} ms)")
        for s in socks:
            s.close()
        socks = []
        server.wait_fds(base_fds, cfg.io_timeout, f"after {n_push} pipelining peers")

        check_served(cfg, server.port, "the hostile peers")
        peak = server.status()["VmHWM"]
        if peak > cfg.ceiling_mib * MiB:
            fail(f"http_server's peak RSS {mib(peak)} is over the ceiling of {cfg.ceiling_mib} MiB")

        # A graceful stop while a slow reader still takes a large response:
        # it gets all of it, then end of stream, and the server exits 0.
        size = 400_006
        body = bytes(range(256)) * (size // 256) + bytes(size % 256)
        with slow_reader(cfg, server.port) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n" % size + body)
            s.recv(1, socket.MSG_PEEK)  # the response has begun
            server.proc.send_signal(signal.SIGTERM)
            got, how = read_slowly(s, cfg.io_timeout)
        if response_body(got) != body or how != "eof":
            fail(f"a {size}-byte response read slowly across SIGTERM: {len(got)} bytes, then {how}")
        out = server.stop(signalled=True)
    finally:
        for s in socks:
            s.close()
        server.kill()
    if not re.search(r"shut down after \d+ requests", out):
        fail(f"no shutdown line:\n{out}")
    print(f"hostile peers, http_server: {3 * n} resets mid-request (head, body, awaited response), "
          f"{n_half * len(cases)} half-closes (complete requests answered, incomplete ones closed), "
          f"{len(sizes)} half-closes after a large request read slowly (every byte of the response), "
          f"{n_push} peers pipelining without reading, all dropped by the write timeout "
          f"({write_timeout_ms} ms) within {t_push:.1f} s, then a normal client, then SIGTERM while a slow "
          f"reader takes a large response (all of it): OK")
    stalls = [d - lp for d, lp in zip(push.dropped_at, push.last_progress)]
    print(f"  they stopped getting bytes into the kernel {min(push.last_progress):.1f}-"
          f"{max(push.last_progress):.1f} s in and were dropped {min(stalls):.1f}-{max(stalls):.1f} s after that")
    print(f"  the pipelining peers got {mib(min(sent))}-{mib(max(sent))} each into the kernel; server RSS over "
          f"{mib(push_base)}: {rss_line(samples, push_base)} (max {growth / MiB:+.1f} MiB, bound {cfg.growth_mib}); "
          f"peak {mib(peak)}")


def soak_hostile_peers(cfg, echo_exe, http_exe):
    hostile_echo(cfg, echo_exe)
    hostile_http(cfg, http_exe)


# ------------------------------------------------------------ main

def main(argv):
    sanitized = "--sanitized" in argv
    args = [a for a in argv if a != "--sanitized"]
    commands = {"echo-10k": (soak_echo_10k, 1), "slowloris": (soak_slowloris, 1),
                "hostile-peers": (soak_hostile_peers, 2)}
    if not args or args[0] not in commands or len(args) - 1 != commands[args[0]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    fn, _ = commands[args[0]]
    cfg = Config(sanitized)
    if cfg.scale != 1:
        print(f"(scale {cfg.scale:g}{', sanitized build' if sanitized else ''})")
    t0 = time.monotonic()
    try:
        fn(cfg, *args[1:])
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    except Skip as e:
        print(f"SKIP: {e}")
        return 77
    print(f"  ({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
