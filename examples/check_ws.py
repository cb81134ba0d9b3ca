#!/usr/bin/python3
"""Runs the WebSocket examples on loopback and checks what they do.

  check_ws.py echo WS_ECHO
      starts `WS_ECHO --port 0`, waits for "listening on ws://H:P", then
      with Python's websockets: text comes back as text and binary as
      binary, 1 MiB of each, two clients at once; a client offering
      permessage-deflate gets none; SIGTERM with a client open: it gets
      1001 "going away", the server logs its close and exits 0. Then the
      same with --deflate and a client that offers it: deflate agreed, the
      same echoes (compressible and not).
  check_ws.py chat WS_CHAT
      GET / is the page (200, text/html, its script opens /chat); three
      clients: greetings with their names (a name taken or not given:
      guest-N), join announcements, a message from A reaches B and C as
      "alice: text" and never A, a message of exactly 4096 bytes passes; a
      longer one closes its sender with 1009 and a binary one with 1003,
      each announced as a leave; a client that never reads while A sends at
      full speed is dropped (1008 "too slow", "* slow left (too slow)")
      while B and C go on receiving every message in order; a leave;
      SIGTERM: the clients get 1001, the server exits 0 saying how many
      clients it served.
  check_ws.py browser WS_CHAT
      the page in a real headless Chromium, driven over the DevTools
      protocol, as two clients (two pages), beside a websockets client:
      bob's page joins, then alice's says hello, which shows in bob's page
      and reaches the Python client as "alice: ..."; the Python client's
      answer appears in both pages; the server logged that both pages'
      connections agreed to permessage-deflate; SIGTERM: both pages show
      "closed 1001" and the server exits 0.

echo and chat also check that --help exits 0 and a bad argument exits 2.
Every operation has a timeout, so a broken server fails the check, never
hangs it. Where websockets (or, for browser, Chromium) is missing, it is
installed with apt-get if we are root; where it cannot be, the check
exits 77, meson's "skipped", saying why.
"""
import asyncio
import http.client
import importlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from check_tcp import check_arguments  # --help exits 0, bad arguments exit 2

TIMEOUT = 15  # seconds for any one operation; sanitized builds are slow
NAME = "check_ws.py"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def skip(msg):
    print(f"SKIP {NAME}: {msg}")
    sys.exit(77)


def apt_install(package):
    """apt-get install `package` if we may; returns why not, or None."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "only root can apt-get install it"
    print(f"installing {package} with apt-get", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "-qq", "-o", "DPkg::Lock::Timeout=60", "install", "-y", package]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            r = subprocess.run(["apt-get", "-qq", "update"], env=env, capture_output=True, timeout=300)
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return f"apt-get install {package} timed out"
    if r.returncode != 0:
        return f"apt-get install {package} failed: {r.stderr.strip()[-300:]}"
    return None


def need_websockets():
    """Imports websockets (the legacy asyncio API of websockets 10), or skips."""
    global websockets, connect, ConnectionClosed
    try:
        import websockets
    except ImportError:
        why = apt_install("python3-websockets")
        if why:
            skip(f"{sys.executable} cannot import websockets, and {why}")
        importlib.invalidate_caches()
        try:
            import websockets
        except ImportError:
            skip(f"apt-get install python3-websockets did not make websockets importable by {sys.executable}")
    from websockets.exceptions import ConnectionClosed
    from websockets.legacy.client import connect


class Server:
    """The program under test, started with --port 0. A thread collects its
    stdout, so a chatty server can never block on a full pipe."""

    def __init__(self, exe, scheme, *args):
        self.proc = subprocess.Popen([exe, "--port", "0", *args], stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.changed = threading.Condition()
        self.done = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        first = self.wait_line(r".*")
        m = re.fullmatch(rf"listening on {scheme}://127\.0\.0\.1:(\d+)", first or "")
        if not m:
            self.kill()
            fail(f"no 'listening on {scheme}://127.0.0.1:PORT' first line, got {first!r}")
        self.port = int(m.group(1))

    def _read(self):
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.done = True
            self.changed.notify_all()

    def wait_line(self, pattern, timeout=TIMEOUT):
        """The first line of stdout that matches `pattern` (waiting for it),
        or None at end of output or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    if re.fullmatch(pattern, line):
                        return line
                left = deadline - time.monotonic()
                if self.done or left <= 0:
                    return None
                self.changed.wait(left)

    def output(self):
        with self.changed:
            return "\n".join(self.lines)

    def finish(self):
        """Waits for the exit after SIGTERM; the output, if it exited 0."""
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            fail(f"the server did not exit within 20 s of SIGTERM; its output:\n{self.output()}")
        self.reader.join(TIMEOUT)
        if self.proc.returncode != 0:
            fail(f"the server exited with {self.proc.returncode} after SIGTERM:\n{self.output()}")
        return self.output()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def open_ws(url, **kwargs):
    """A websockets client with no keepalive pings of its own and no message
    size limit; any other connect() argument as given."""
    kwargs = {"ping_interval": None, "max_size": None, "open_timeout": TIMEOUT, "close_timeout": TIMEOUT,
              **kwargs}
    try:
        return await asyncio.wait_for(connect(url, **kwargs), TIMEOUT)
    except asyncio.TimeoutError:
        fail(f"connecting to {url} took over {TIMEOUT} s")


async def recv(ws, who):
    try:
        return await asyncio.wait_for(ws.recv(), TIMEOUT)
    except asyncio.TimeoutError:
        fail(f"{who} received nothing within {TIMEOUT} s")
    except ConnectionClosed:
        fail(f"{who} was closed ({ws.close_code} {ws.close_reason!r}) while waiting for a message")


async def expect(ws, want, who):
    got = await recv(ws, who)
    if got != want:
        fail(f"{who} got {str(got)[:100]!r}, want {str(want)[:100]!r}")


async def send(ws, message, who):
    try:
        await asyncio.wait_for(ws.send(message), TIMEOUT)
    except asyncio.TimeoutError:
        fail(f"{who} could not send within {TIMEOUT} s")


async def closed_with(ws, who):
    """Waits for the close handshake; (code, reason) of the server's frame."""
    try:
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    except asyncio.TimeoutError:
        fail(f"{who} was not closed within {TIMEOUT} s")
    return ws.close_code, ws.close_reason


# ------------------------------------------------------------------ echo

async def echo_round(url, compression):
    ws = await open_ws(url, compression=compression)
    rng = random.Random(7)
    messages = ["hello", "", "h\u00e9llo w\u00f6rld \u2603", b"\x00\x01\x02\xff", b"",
                rng.randbytes(1 << 20),                              # 1 MiB, incompressible
                "abc" * ((1 << 20) // 3) + "x",                      # about 1 MiB of text
                bytes(1 << 20)]                                      # 1 MiB of zeros
    for m in messages:
        await send(ws, m, "the echo client")
        got = await recv(ws, "the echo client")
        if type(got) is not type(m) or got != m:
            fail(f"sent {type(m).__name__} of {len(m)}, got back {type(got).__name__} of {len(got)}"
                 f"{' (different)' if len(got) == len(m) else ''}")
    return ws, len(messages)


async def echo_checks(exe, deflate):
    server = Server(exe, "ws", *(["--deflate"] if deflate else []))
    try:
        url = f"ws://127.0.0.1:{server.port}/"
        # Two clients at once, each offering deflate (websockets' default).
        (a, n), (b, _) = await asyncio.gather(echo_round(url, "deflate"), echo_round(url, "deflate"))
        for ws in (a, b):
            agreed = ws.response_headers.get("Sec-WebSocket-Extensions")
            if deflate and not (agreed or "").startswith("permessage-deflate"):
                fail(f"with --deflate the server agreed to {agreed!r}, want permessage-deflate")
            if not deflate and agreed:
                fail(f"without --deflate the server agreed to {agreed!r}, want no extension")
        await asyncio.wait_for(b.close(), TIMEOUT)
        if b.close_code != 1000:
            fail(f"a client's close got {b.close_code} back, want 1000")
        if not await asyncio.to_thread(server.wait_line, r"127\.0\.0\.1:\d+: \d+ messages echoed, closed with 1000"):
            fail(f"no log line for the closed client:\n{server.output()}")
        # SIGTERM with a client open: a close frame with 1001 for it.
        server.proc.send_signal(signal.SIGTERM)
        code, reason = await closed_with(a, "the client open at SIGTERM")
        if code != 1001:
            fail(f"the client open at SIGTERM was closed with {code} {reason!r}, want 1001")
        out = await asyncio.to_thread(server.finish)
        if not re.search(rf"127\.0\.0\.1:\d+: {n} messages echoed, closed with 1001", out):
            fail(f"no log line for the client closed at SIGTERM with its {n} messages:\n{out}")
    finally:
        server.kill()


def check_echo(exe):
    check_arguments(exe, [["--tls-cert", "x.pem"]])
    need_websockets()
    asyncio.run(echo_checks(exe, deflate=False))
    asyncio.run(echo_checks(exe, deflate=True))
    print("ws_echo: text and binary echoes up to 1 MiB, two clients at once, deflate only with --deflate, "
          "arguments and SIGTERM (1001, exit 0) OK")


# ------------------------------------------------------------------ chat

def get_page(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        c.request("GET", "/")
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read().decode()
    finally:
        c.close()


class ChatClient:
    """A chat client: open() reads its greeting and keeps its name."""

    @classmethod
    async def open(cls, port, name=None, **kwargs):
        self = cls()
        query = f"?name={name}" if name is not None else ""
        self.ws = await open_ws(f"ws://127.0.0.1:{port}/chat{query}", **kwargs)
        greeting = await recv(self.ws, f"the client that asked for {name}")
        m = re.fullmatch(r"\* you are (\S+)", greeting)
        if not m:
            fail(f"the greeting is {greeting!r}, want '* you are <name>'")
        self.name = m.group(1)
        return self

    async def expect(self, want):
        await expect(self.ws, want, self.name)

    async def recv(self):
        return await recv(self.ws, self.name)

    async def send(self, text):
        await send(self.ws, text, self.name)


async def chat_checks(exe):
    max_queue = 64
    server = Server(exe, "http", "--max-queue", str(max_queue))
    try:
        port = server.port
        status, ctype, body = await asyncio.to_thread(get_page, port)
        if status != 200 or not ctype.startswith("text/html") or "<!doctype html>" not in body.lower() \
                or "new WebSocket(" not in body or '"/chat"' not in body:
            fail(f"GET / answered {status} {ctype!r} with {body[:100]!r}, want 200 text/html, the page")

        a = await ChatClient.open(port, "alice")
        b = await ChatClient.open(port, "bob")
        await a.expect("* bob joined")
        c = await ChatClient.open(port, "alice")  # taken: a guest name instead
        if not re.fullmatch(r"guest-\d+", c.name) or (a.name, b.name) != ("alice", "bob"):
            fail(f"names are {a.name}, {b.name}, {c.name}; want alice, bob, guest-N")
        for cl in (a, b):
            await cl.expect(f"* {c.name} joined")

        await a.send("hello from alice")
        await b.expect("alice: hello from alice")
        await c.expect("alice: hello from alice")
        # A must not get its own message: the next thing A reads is B's.
        await b.send("hi alice, bob here")
        await a.expect("bob: hi alice, bob here")
        await c.expect("bob: hi alice, bob here")
        big = "\u00e9" * 2048  # 4096 bytes of UTF-8: the largest message taken
        await c.send(big)
        await a.expect(f"{c.name}: {big}")
        await b.expect(f"{c.name}: {big}")

        # One byte more closes its sender with 1009; a binary message, with
        # 1003. The others hear that it left.
        for name, message, code in (("dave", "x" * 4097, 1009), ("eve", b"\x01\x02", 1003)):
            d = await ChatClient.open(port, name)
            for cl in (a, b, c):
                await cl.expect(f"* {name} joined")
            await d.send(message)
            got, reason = await closed_with(d.ws, name)
            if got != code:
                fail(f"{name}'s {type(message).__name__} message of {len(message)} got it closed with "
                     f"{got} {reason!r}, want {code}")
            for cl in (a, b, c):
                await cl.expect(f"* {name} left (closed with {code})")

        # A client that never reads while A chats at full speed: its sends
        # stop settling, and at max_queue of them it is dropped; B and C,
        # which read, get every message in order meanwhile. A sends a batch,
        # B and C read it, A sends the next: the server is never asked to
        # hold more than a batch for them. The slow client takes no deflate
        # (so what piles up for it is not compressed away), has a small
        # receive buffer, and websockets keeps at most one message for it.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        slow = await ChatClient.open(port, "slow", sock=sock, compression=None, max_queue=1, read_limit=4096)
        for cl in (a, b, c):
            await cl.expect("* slow joined")
        pad = "y" * 1000
        batch = 32
        seq, dropped, start = 0, {}, time.monotonic()
        while len(dropped) < 2:
            if seq > 100_000:
                fail(f"{seq} messages ({seq * 1010 >> 20} MiB) went to a client that never reads, "
                     f"and it is still there")
            if time.monotonic() - start > 60:
                fail("the slow client was not dropped within 60 s")
            for n in range(seq, seq + batch):
                await a.send(f"{n:07d} {pad}")
            for cl in (b, c):
                n = seq
                while n < seq + batch:
                    got = await cl.recv()
                    if got.startswith("* slow left"):
                        dropped[cl.name] = got
                    elif got != f"alice: {n:07d} {pad}":
                        fail(f"during the flood {cl.name} got {got[:60]!r}, want message {n} from alice")
                    else:
                        n += 1
            seq += batch
        for who, got in dropped.items():
            if got != "* slow left (too slow)":
                fail(f"{who} got {got!r}, want '* slow left (too slow)'")
        # A hears it too (its only incoming message meanwhile). The slow
        # client, reading at last, gets part of the flood, in order, then
        # the close frame: 1008 "too slow".
        await a.expect("* slow left (too slow)")
        flooded = 0
        try:
            while True:
                got = await asyncio.wait_for(slow.ws.recv(), TIMEOUT)
                if got != f"alice: {flooded:07d} {pad}":
                    fail(f"the slow client got {got[:60]!r}, want message {flooded} of the flood")
                flooded += 1
        except ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            fail(f"the slow client got no close frame within {TIMEOUT} s of its last message")
        if (slow.ws.close_code, slow.ws.close_reason) != (1008, "too slow"):
            fail(f"the slow client was closed with {slow.ws.close_code} {slow.ws.close_reason!r}, "
                 f"want 1008 'too slow'")
        if flooded >= seq:
            fail(f"the slow client got all {seq} messages: it was not dropped in time")

        # The others chat on; C leaves.
        await a.send("still here")
        await b.expect("alice: still here")
        await c.expect("alice: still here")
        await asyncio.wait_for(c.ws.close(), TIMEOUT)
        await a.expect(f"* {c.name} left")
        await b.expect(f"* {c.name} left")

        # SIGTERM: 1001 for everyone left, then the exit.
        server.proc.send_signal(signal.SIGTERM)
        for cl in (a, b):
            code, reason = await closed_with(cl.ws, cl.name)
            if code != 1001:
                fail(f"{cl.name} was closed with {code} {reason!r} at SIGTERM, want 1001")
        out = await asyncio.to_thread(server.finish)
    finally:
        server.kill()
    for want in (r"alice joined from 127\.0\.0\.1:\d+ \(deflate\)", r"slow joined from 127\.0\.0\.1:\d+",
                 r"slow left \(too slow\)", r"dave left \(closed with 1009\)", r"served 6 clients"):
        if not re.search(rf"^{want}$", out, re.M):
            fail(f"the log has no line {want!r}:\n{out}")
    return seq


def check_chat(exe):
    check_arguments(exe, [["--max-queue", "0"], ["--max-queue", "x"]])
    need_websockets()
    seq = asyncio.run(chat_checks(exe))
    print(f"ws_chat: the page, greetings and names, joins, broadcast to the others only, 4096-byte limit "
          f"(1009), binary (1003), slow client dropped (1008) after {seq} messages while the others got "
          f"every one, leaves, arguments and SIGTERM (1001, exit 0) OK")


# ------------------------------------------------------------------ browser

class Browser:
    """Headless Chromium in its own process group and a fresh profile,
    driven over the DevTools protocol (one websocket to the browser, one
    flattened session per page). Call close() in a finally."""

    def __init__(self, exe):
        self.profile = tempfile.mkdtemp(prefix="vow-chromium-")
        self.log = open(os.path.join(self.profile, "stderr.log"), "w+")
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-sync", "--no-proxy-server",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True)
        self.ws = None
        self.next_id = 0

    def stderr(self):
        self.log.seek(0)
        return self.log.read()[-2000:]

    async def start(self):
        """Connects to the browser's DevTools endpoint, which Chromium names
        in <profile>/DevToolsActivePort (port, then path) once it listens."""
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                return f"chromium exited with {self.proc.returncode}: {self.stderr()}"
            try:
                with open(path) as f:
                    port, endpoint = f.read().split()[:2]
                break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                return f"chromium did not open its DevTools port within 30 s: {self.stderr()}"
            await asyncio.sleep(0.1)
        self.ws = await open_ws(f"ws://127.0.0.1:{port}{endpoint}", compression=None)
        return None

    async def call(self, method, session=None, **params):
        """One DevTools command; its result (events that arrive meanwhile
        are ignored)."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        await send(self.ws, json.dumps(msg), "DevTools")
        while True:
            reply = json.loads(await recv(self.ws, f"DevTools, waiting for {method}"))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    fail(f"DevTools {method}: {reply['error']}")
                return reply["result"]

    async def open_page(self, url):
        target = (await self.call("Target.createTarget", url=url))["targetId"]
        return (await self.call("Target.attachToTarget", targetId=target, flatten=True))["sessionId"]

    async def evaluate(self, session, expression):
        r = await self.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            fail(f"in the page, {expression!r} threw: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def close(self):
        """Asks Chromium to quit (so that it reaps its own children), then
        kills whatever is left of its process group, and removes the profile."""
        if self.ws:
            try:
                await asyncio.wait_for(self.ws.send(json.dumps({"id": 0, "method": "Browser.close"})), 2)
                await asyncio.to_thread(self.proc.wait, 5)
            except Exception:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            await asyncio.to_thread(self.proc.wait, TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# What the page shows: #status, and the text of each line of #log.
PAGE_STATE = """JSON.stringify({
  status: document.getElementById("status")?.textContent ?? "",
  lines: Array.from(document.querySelectorAll("#log .line"), (d) => d.textContent)})"""


async def page_until(browser, session, what, test):
    """Polls the page until test(state) holds; the state."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        state = json.loads(await browser.evaluate(session, PAGE_STATE) or '{"status": "", "lines": []}')
        if test(state):
            return state
        if time.monotonic() > deadline:
            fail(f"the page did not show {what} within {TIMEOUT} s; it shows {state}")
        await asyncio.sleep(0.1)


def find_chromium():
    """Chromium's executable, installed with apt-get if missing; or skips."""
    def found():
        for exe in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
            if exe and os.access(exe, os.X_OK):
                return exe
        return None
    if exe := found():
        return exe
    why = apt_install("chromium")
    if why:
        skip(f"no chromium, and {why}")
    return found() or skip("apt-get install chromium installed no chromium executable")


async def browser_checks(exe, chromium):
    server = Server(exe, "http")
    browser = Browser(chromium)
    try:
        port = server.port
        py = await ChatClient.open(port, "py")
        why = await browser.start()
        if why:
            skip(f"headless chromium cannot run here: {why}")
        # Two pages in the browser, as two clients: bob listens, alice talks.
        bob = await browser.open_page(f"http://127.0.0.1:{port}/?name=bob")
        await py.expect("* bob joined")
        await page_until(browser, bob, "'open'", lambda s: s["status"] == "open")
        session = await browser.open_page(f"http://127.0.0.1:{port}/?name=alice&say=hello%20from%20chromium")
        await py.expect("* alice joined")
        await py.expect("alice: hello from chromium")
        await page_until(browser, bob, "alice's message, from the other page",
                         lambda s: s["lines"][-2:] == ["* alice joined", "alice: hello from chromium"])
        await py.send("hi alice, py here")
        await page_until(browser, session, "the Python client's message",
                         lambda s: "py: hi alice, py here" in s["lines"])
        await page_until(browser, bob, "the Python client's message",
                         lambda s: "py: hi alice, py here" in s["lines"])
        state = await page_until(browser, session, "its own lines", lambda s: s["status"] == "open")
        if state["lines"][:2] != ["* you are alice", "me: hello from chromium"]:
            fail(f"the page does not start with its greeting, then what it said: {state}")
        for name in ("bob", "alice"):
            joined = await asyncio.to_thread(server.wait_line, name + r" joined from 127\.0\.0\.1:\d+.*")
            if not joined or not joined.endswith(" (deflate)"):
                fail(f"{name}'s page did not agree to permessage-deflate: the log says {joined!r}:\n"
                     f"{server.output()}")
        # SIGTERM: the page sees the close frame, 1001.
        server.proc.send_signal(signal.SIGTERM)
        for page in (bob, session):
            await page_until(browser, page, "'closed 1001'", lambda s: s["status"].startswith("closed 1001"))
        code, reason = await closed_with(py.ws, "py")
        if code != 1001:
            fail(f"the Python client was closed with {code} {reason!r} at SIGTERM, want 1001")
        out = await asyncio.to_thread(server.finish)
        if not re.search(r"^served 3 clients$", out, re.M):
            fail(f"want 'served 3 clients' at exit:\n{out}")
    finally:
        await browser.close()
        server.kill()


def check_browser(exe):
    need_websockets()
    chromium = find_chromium()
    asyncio.run(browser_checks(exe, chromium))
    print("ws_chat in headless chromium: one page's message reached the other page and a websockets "
          "client, whose answer appeared in both pages, permessage-deflate agreed, SIGTERM showed 'closed 1001' in the page OK")


if __name__ == "__main__":
    modes = {"echo": check_echo, "chat": check_chat, "browser": check_browser}
    if len(sys.argv) != 3 or sys.argv[1] not in modes:
        fail(__doc__)
    NAME = f"check_ws.py {sys.argv[1]}"
    modes[sys.argv[1]](sys.argv[2])
