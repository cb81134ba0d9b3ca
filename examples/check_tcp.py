#!/usr/bin/env python3
"""Runs the TCP examples on loopback and checks what they do.

  check_tcp.py echo ECHO_SERVER
      starts `ECHO_SERVER --port 0`, waits for "listening on H:P", then:
      small and 1 MiB payloads over several concurrent connections, every
      byte compared; a client that half-closes gets all its data back, then
      end of stream; a client that resets mid-stream does not disturb the
      others; a client that sends without reading is pushed back (its sends
      stall) instead of being buffered without bound; SIGTERM with a
      connection open: that connection is closed, exit status 0 and a
      "served N connections" line with the right N. Then, with short
      timeouts (--idle-timeout-ms, --write-timeout-ms): a client that sends
      nothing is disconnected (end of stream) after the idle timeout, and a
      client that sends but never reads is disconnected after the write
      timeout, while a client that keeps talking stays.
  check_tcp.py chat CHAT_SERVER
      three clients: greetings with their ids, join announcements, a line
      from A reaches B and C as "<A>: line" and never A, a leave
      announcement; a line over 4096 bytes gets its client an error line and
      a disconnect; a client that never reads while others chat at full
      speed is disconnected ("too slow") while the others go on receiving
      every line in order; SIGTERM: exit status 0, clients see end of stream.

Both also check that --help exits 0 and a bad argument exits 2. Every socket
operation has a timeout, so a broken server fails the check, never hangs it.
"""
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

TIMEOUT = 15  # seconds for any one socket operation; sanitized builds are slow
RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


class Server:
    """The program under test, started with --port 0. A thread collects its
    stdout, so a chatty server can never block on a full pipe."""

    def __init__(self, exe, *args):
        self.proc = subprocess.Popen([exe, "--port", "0", *args], stdout=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        try:
            line = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            line = None
        m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", line or "")
        if not m:
            self.proc.kill()
            fail(f"no 'listening on 127.0.0.1:PORT' first line, got {line!r}")
        self.port = int(m.group(1))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def stop(self):
        """SIGTERM; returns the rest of stdout once the server exited 0."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("the server did not exit within 20 s of SIGTERM")
        self.reader.join(TIMEOUT)
        out = []
        while (line := self.lines.get(timeout=TIMEOUT)) is not None:
            out.append(line)
        if self.proc.returncode != 0:
            fail(f"the server exited with {self.proc.returncode} after SIGTERM:\n{''.join(out)}")
        return "".join(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check_arguments(exe, more_bad=()):
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0 or "usage:" not in r.stdout or "--port" not in r.stdout:
        fail(f"--help exited {r.returncode} with {r.stdout!r}")
    for bad in (["--bogus"], ["--port", "70000"], ["--port", "x"], ["--port"], ["--host", "not-an-address"],
                *more_bad):
        r = subprocess.run([exe, *bad], capture_output=True, text=True, timeout=TIMEOUT)
        if r.returncode != 2 or not r.stderr:
            fail(f"{' '.join(bad)} exited {r.returncode} (want 2, with a message), stderr {r.stderr!r}")


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(TIMEOUT)
    s.connect(("127.0.0.1", port))
    return s


def recv_exactly(s, n):
    data = bytearray()
    while len(data) < n:
        c = s.recv(min(n - len(data), 1 << 20))
        if not c:
            fail(f"end of stream after {len(data)} of {n} bytes")
        data += c
    return bytes(data)


def recv_to_eof(s, limit=64 << 20):
    """Everything until end of stream (or a reset, reported as such)."""
    data = bytearray()
    while True:
        try:
            c = s.recv(1 << 20)
        except ConnectionResetError:
            return bytes(data), "reset"
        if not c:
            return bytes(data), "eof"
        data += c
        if len(data) > limit:
            fail(f"more than {limit} bytes without end of stream")


# ------------------------------------------------------------------ echo

def echo_one(port, payload, errors, index):
    """Sends `payload` from one thread while this one reads the echo (an
    echo client must read while it writes, or both sides stall), then
    half-closes; the echo must be the payload, then end of stream."""
    try:
        with connect(port) as s:
            def send():
                try:
                    for i in range(0, len(payload), 100_000):
                        s.sendall(payload[i:i + 100_000])
                    s.shutdown(socket.SHUT_WR)
                except OSError as e:
                    errors.append(f"connection {index}: send: {e}")
            t = threading.Thread(target=send)
            t.start()
            got, how = recv_to_eof(s)
            t.join(TIMEOUT)
            if how != "eof":
                errors.append(f"connection {index}: reset instead of end of stream")
            elif got != payload:
                first = next((i for i, (a, b) in enumerate(zip(got, payload)) if a != b), min(len(got), len(payload)))
                errors.append(f"connection {index}: echoed {len(got)} of {len(payload)} bytes, first difference at {first}")
    except OSError as e:
        errors.append(f"connection {index}: {e}")


def check_echo(exe):
    check_arguments(exe, more_bad=(["--idle-timeout-ms", "0"], ["--idle-timeout-ms", "x"],
                                   ["--write-timeout-ms", "-5"], ["--write-timeout-ms"]))
    server = Server(exe)
    connections = 0
    try:
        # Round trips on one connection: each small message comes back alone.
        with connect(server.port) as s:
            connections += 1
            for msg in [b"hello\n", b"x", b"\x00\xff binary \r\n", b"y" * 1000]:
                s.sendall(msg)
                if recv_exactly(s, len(msg)) != msg:
                    fail(f"round trip of {msg[:20]!r} came back different")

        # Several connections at once, 1 MiB each (and two small ones), every
        # byte compared; each ends with the client's half-close.
        payloads = [os.urandom(1 << 20) for _ in range(6)] + [b"short", b""]
        errors = []
        threads = [threading.Thread(target=echo_one, args=(server.port, p, errors, i)) for i, p in enumerate(payloads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(4 * TIMEOUT)
            if t.is_alive():
                fail("a concurrent echo connection did not finish")
        connections += len(payloads)
        if errors:
            fail("concurrent echo:\n  " + "\n  ".join(errors))

        # Half-close before reading anything: the server still owes us the
        # data, and must send all of it before its end of stream.
        with connect(server.port) as s:
            connections += 1
            payload = os.urandom(32 * 1024)
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            got, how = recv_to_eof(s)
            if how != "eof" or got != payload:
                fail(f"after a half-close: {len(got)} of {len(payload)} bytes, then {how}")

        # A client that resets mid-stream.
        s = connect(server.port)
        connections += 1
        s.sendall(b"ping")
        recv_exactly(s, 4)
        s.sendall(os.urandom(200_000))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        s.close()

        # A client that sends and never reads: the server waits for each
        # write before reading more, so our sends must stall long before
        # 256 MiB (kernel buffers hold a few MiB) rather than be buffered.
        with connect(server.port) as s:
            connections += 1
            s.settimeout(3)
            chunk = b"z" * (1 << 20)
            sent = 0
            try:
                while sent < (256 << 20):
                    s.sendall(chunk)
                    sent += len(chunk)
                fail("256 MiB went to a client that never reads: no backpressure")
            except TimeoutError:
                pass  # pushed back, as it should be
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)

        # Still serving; and a connection open at SIGTERM is closed by it.
        idle = connect(server.port)
        connections += 1
        idle.sendall(b"still there?")
        if recv_exactly(idle, 12) != b"still there?":
            fail("echo after the reset and stalled clients")
    except BaseException:
        server.kill()
        raise
    out = server.stop()
    got, how = recv_to_eof(idle)
    idle.close()
    if got or how not in ("eof", "reset"):
        fail(f"the open connection saw {got!r} and {how} at SIGTERM")
    if f"served {connections} connections" not in out:
        fail(f"want 'served {connections} connections' at exit, got:\n{out}")
    check_echo_timeouts(exe)
    print(f"echo_server: round trips, {len(payloads)} concurrent connections (up to 1 MiB each, every byte checked), "
          "half-close, reset, backpressure, idle and write timeouts, arguments and SIGTERM OK")


def check_echo_timeouts(exe):
    """The timeouts, shortened: no peer holds a connection for ever."""
    idle_ms, write_ms = 300, 300
    server = Server(exe, "--idle-timeout-ms", str(idle_ms), "--write-timeout-ms", str(write_ms))
    try:
        # A client that goes quiet: end of stream once it has sent nothing
        # for the idle timeout (not before: a correctness check, not a
        # speed goal; the upper bound is TIMEOUT, for loaded machines).
        with connect(server.port) as quiet, connect(server.port) as talker:
            quiet.sendall(b"hello")
            if recv_exactly(quiet, 5) != b"hello":
                fail("echo with short timeouts")
            since = time.monotonic()
            # Meanwhile a client that talks more often than that stays.
            for i in range(8):
                msg = f"keep {i}".encode()
                talker.sendall(msg)
                if recv_exactly(talker, len(msg)) != msg:
                    fail("a talking client's echo with short timeouts")
                time.sleep(idle_ms / 1000 / 3)
            try:
                got, how = recv_to_eof(quiet)
            except TimeoutError:
                fail(f"a quiet client still connected after {TIMEOUT} s: no idle timeout")
            quiet_for = time.monotonic() - since
            if got or how != "eof":
                fail(f"the quiet client saw {got[:40]!r} and {how}, want end of stream at the idle timeout")
            if quiet_for < 0.8 * idle_ms / 1000:
                fail(f"the quiet client was dropped after {quiet_for * 1000:.0f} ms, before the idle timeout "
                     f"of {idle_ms} ms")
            talker.sendall(b"still here")
            if recv_exactly(talker, 10) != b"still here":
                fail("the talking client lost its connection")

        # A client that sends and never reads: its echo backs up into the
        # server's stream, the write waits, and after the write timeout the
        # server drops the connection (with what it did not read: a reset).
        with connect(server.port) as s:
            chunk = b"w" * (64 << 10)
            sent = 0
            deadline = time.monotonic() + TIMEOUT
            try:
                while time.monotonic() < deadline and sent < (256 << 20):
                    s.sendall(chunk)   # blocks once every buffer is full, until the reset
                    sent += len(chunk)
                fail(f"a client that never reads still connected after {sent >> 10} KiB and "
                     f"{TIMEOUT} s: no write timeout")
            except (ConnectionResetError, BrokenPipeError):
                pass
            except TimeoutError:
                fail(f"a client that never reads still connected after {sent >> 10} KiB: no write timeout")
    except BaseException:
        server.kill()
        raise
    out = server.stop()
    if "served 3 connections" not in out:
        fail(f"want 'served 3 connections' at exit, got:\n{out}")


# ------------------------------------------------------------------ chat

class ChatClient:
    """A line-reading client. Lines come back without their "\\n"."""

    def __init__(self, port, rcvbuf=None):
        self.sock = connect(port, rcvbuf)
        self.buf = bytearray()
        greeting = self.line()
        m = re.fullmatch(r"\* you are (\S+)", greeting)
        if not m:
            fail(f"the greeting is {greeting!r}, want '* you are <id>'")
        self.id = m.group(1)

    def line(self):
        while (i := self.buf.find(b"\n")) < 0:
            try:
                c = self.sock.recv(1 << 16)
            except TimeoutError:
                fail(f"no line within {self.sock.gettimeout()} s (have {bytes(self.buf[:80])!r})")
            if not c:
                fail(f"end of stream while waiting for a line (have {bytes(self.buf[:80])!r})")
            self.buf += c
        line = bytes(self.buf[:i]).decode()
        del self.buf[:i + 1]
        return line

    def expect(self, want, who):
        got = self.line()
        if got != want:
            fail(f"{who} got {got!r}, want {want!r}")

    def send(self, text):
        self.sock.sendall(text.encode())

    def close(self):
        self.sock.close()


def check_chat(exe):
    check_arguments(exe)
    server = Server(exe)
    try:
        a = ChatClient(server.port)
        b = ChatClient(server.port)
        a.expect(f"* {b.id} joined", "A")
        c = ChatClient(server.port)
        a.expect(f"* {c.id} joined", "A")
        b.expect(f"* {c.id} joined", "B")
        if len({a.id, b.id, c.id}) != 3:
            fail(f"ids are not distinct: {a.id} {b.id} {c.id}")

        a.send("hello from A\n")
        b.expect(f"{a.id}: hello from A", "B")
        c.expect(f"{a.id}: hello from A", "C")
        # A must not get its own line: the next thing A reads is B's line.
        b.send("hi A, B here\r\n")  # "\r\n" endings are taken too
        a.expect(f"{b.id}: hi A, B here", "A")
        c.expect(f"{b.id}: hi A, B here", "C")

        c.close()
        a.expect(f"* {c.id} left", "A")
        b.expect(f"* {c.id} left", "B")

        # A line over 4096 bytes: an error line for its sender, then end of
        # stream; the others hear that it left.
        d = ChatClient(server.port)
        a.expect(f"* {d.id} joined", "A")
        b.expect(f"* {d.id} joined", "B")
        d.send("x" * 5000)
        err = d.line()
        if not err.startswith("* error"):
            fail(f"an overlong line got {err!r}, want '* error...'")
        rest, how = recv_to_eof(d.sock)
        if rest.strip():
            fail(f"after the error line the long-line client got {rest[:80]!r}")
        d.close()
        for who, cl in (("A", a), ("B", b)):
            got = cl.line()
            if not got.startswith(f"* {d.id} left"):
                fail(f"{who} got {got!r}, want '* {d.id} left...'")

        # A client that never reads while A chats at full speed: its queue
        # fills and it is disconnected; B, which reads, gets every line in
        # order meanwhile. A sends a batch, B reads it, A sends the next: the
        # server is never asked to hold more than a batch for B.
        slow = ChatClient(server.port, rcvbuf=4096)
        a.expect(f"* {slow.id} joined", "A")
        b.expect(f"* {slow.id} joined", "B")
        pad = "y" * 200
        seq, dropped, start = 0, False, time.monotonic()
        while not dropped:
            if seq > 400_000:
                fail(f"{seq} lines ({seq * 210 >> 20} MiB) went to a client that never reads, and it is still there")
            if time.monotonic() - start > 60:
                fail("the slow client was not disconnected within 60 s")
            batch = range(seq, seq + 200)
            a.send("".join(f"{n:07d} {pad}\n" for n in batch))
            for n in batch:
                got = b.line()
                while got.startswith(f"* {slow.id} left"):
                    dropped = got
                    got = b.line()
                if got != f"{a.id}: {n:07d} {pad}":
                    fail(f"during the flood B got {got[:60]!r}, want line {n} from {a.id}")
            seq += 200
        if "too slow" not in dropped:
            print(f"note: the slow client left with {dropped!r}", file=sys.stderr)
        # A hears about it too (its only incoming line meanwhile), and the
        # slow client's connection ends after whatever was already in flight.
        got = a.line()
        if not got.startswith(f"* {slow.id} left"):
            fail(f"A got {got!r}, want '* {slow.id} left...'")
        flooded, how = recv_to_eof(slow.sock)
        slow.close()
        if len(flooded) > 64 << 20:
            fail(f"the slow client got {len(flooded)} bytes before it was dropped")

        # The others chat on.
        a.send("still here\n")
        b.expect(f"{a.id}: still here", "B")
        b.send("me too\n")
        a.expect(f"{b.id}: me too", "A")
    except BaseException:
        server.kill()
        raise
    out = server.stop()
    for who, cl in (("A", a), ("B", b)):
        rest, how = recv_to_eof(cl.sock)
        if rest:
            fail(f"{who} got {rest[:80]!r} at SIGTERM, want only end of stream")
        cl.close()
    if "served 5 clients" not in out:
        fail(f"want 'served 5 clients' at exit, got:\n{out}")
    if "left (too slow)" not in out:
        fail(f"the log does not say the slow client was dropped:\n{out}")
    print(f"chat_server: greetings, joins, broadcast to the others only, leaves, overlong line, slow client "
          f"dropped after {seq} lines while the others got every line, arguments and SIGTERM OK")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "echo":
        check_echo(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "chat":
        check_chat(sys.argv[2])
    else:
        fail(__doc__)
