#!/usr/bin/env python3
"""bench/net/ws_loadgen_check.py - checks that ws_loadgen, the yardstick of
the ws groups, accepts a correct WebSocket echo server and rejects wrong
ones: it runs ws_loadgen against small servers written here, on 127.0.0.1,
each wrong in one way.

  python3 bench/net/ws_loadgen_check.py build-bench/bench/ws_loadgen

Each case runs ws_loadgen for a fraction of a second (2 connections, 64 B
messages, 16 KiB for the fragmenting server) and checks its exit status and the
first error it names. The servers compute Sec-WebSocket-Accept with
Python's hashlib, independently of ws_loadgen's own SHA-1. Ends with
"N passed, N failed"; exit status 1 if any case failed. Not run by CI (the
bench directory is built only with -Dbench=true); run it after changing
ws_loadgen.cpp.
"""

import base64
import hashlib
import json
import socket
import struct
import subprocess
import sys
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_frame(conn):
    """One client frame: (fin, opcode, unmasked payload)."""
    b0, b1 = read_exact(conn, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", read_exact(conn, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", read_exact(conn, 8))[0]
    if not b1 & 0x80:
        raise ValueError("client frame not masked")
    mask = read_exact(conn, 4)
    data = bytes(b ^ mask[i & 3] for i, b in enumerate(read_exact(conn, n)))
    return bool(b0 & 0x80), b0 & 0x0F, data


def frame(opcode, payload, fin=True, mask=None, rsv=0):
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if mask:
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        head += mask
    return head + payload


def serve_one(conn, case):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            return
        head += chunk
    key = b""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = accept_for(key)
    status = b"HTTP/1.1 101 Switching Protocols"
    extra = b""
    if case == "bad accept":
        accept = accept_for(key + b"x")
    elif case == "400":
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return
    elif case == "extension":
        extra = b"Sec-WebSocket-Extensions: permessage-deflate\r\n"
    elif case == "no upgrade header":
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        return
    conn.sendall(status + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + extra +
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    rounds = 0
    while True:
        fin, op, data = read_frame(conn)
        if op == 0xA:  # the pong to our ping
            if data != b"hi":
                raise ValueError("the pong does not carry the ping's payload")
            continue
        rounds += 1
        if case == "text":
            conn.sendall(frame(0x1, data))
        elif case == "corrupt" and rounds == 3:
            conn.sendall(frame(0x2, data[:10] + bytes([data[10] ^ 1]) + data[11:]))
        elif case == "stale" and rounds == 2:
            conn.sendall(frame(0x2, previous))
        elif case == "masked":
            conn.sendall(frame(0x2, data, mask=b"\x01\x02\x03\x04"))
        elif case == "rsv":
            conn.sendall(frame(0x2, data, rsv=0x40))
        elif case == "short":
            conn.sendall(frame(0x2, data[:-1]))
        elif case == "twice":
            conn.sendall(frame(0x2, data) + frame(0x2, data))
        elif case == "close":
            conn.sendall(frame(0x8, struct.pack("!H", 1011) + b"going"))
        elif case == "fragments and ping":
            # A ping first (it must be answered), then the echo in 3 pieces
            # with a pong between them.
            third = len(data) // 3
            conn.sendall(frame(0x9, b"hi") + frame(0x2, data[:third], fin=False) +
                         frame(0xA, b"") + frame(0x0, data[third:2 * third], fin=False))
            conn.sendall(frame(0x0, data[2 * third:]))
        else:
            conn.sendall(frame(0x2, data))
        previous = data


def server(case):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)

    def accept_loop():
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return

            def run(conn=conn):
                try:
                    serve_one(conn, case)
                except (EOFError, OSError, ValueError):
                    pass
                finally:
                    conn.close()

            threading.Thread(target=run, daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    return lsock


# case -> (expected exit status, a fragment of error_detail, message size)
CASES = {
    "good": (0, "", 64),
    "fragments and ping": (0, "", 16384),
    "bad accept": (1, "Sec-WebSocket-Accept is", 64),
    "400": (1, "not 101", 64),
    "no upgrade header": (1, "no 'Upgrade: websocket'", 64),
    "extension": (1, "none was offered", 64),
    "text": (1, "text message", 64),
    "corrupt": (1, "differs from what was sent", 64),
    "stale": (1, "differs from what was sent", 64),
    "masked": (1, "masked frame", 64),
    "rsv": (1, "RSV bits", 64),
    "short": (1, "has 63 bytes; 64 were sent", 64),
    "twice": (1, "differs from what was sent", 64),
    "close": (1, "code 1011 'going'", 64),
}


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    loadgen = sys.argv[1]
    passed = failed = 0
    for case, (want_status, want_detail, size) in CASES.items():
        lsock = server(case)
        port = lsock.getsockname()[1]
        argv = [loadgen, "--port", str(port), "--connections", "2", "--size", str(size),
                "--seconds", "0.3", "--warmup", "0"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        lsock.close()
        try:
            res = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            res = {"errors": None, "error_detail": proc.stderr.strip()}
        ok = proc.returncode == want_status and want_detail in res["error_detail"]
        if want_status == 0:
            ok = ok and res["errors"] == 0 and res["round_trips"] > 0
        print(f"{'ok  ' if ok else 'FAIL'} {case}: status {proc.returncode}, "
              f"{res.get('round_trips', 0)} round trips, {res['error_detail'] or 'no error'}")
        passed += ok
        failed += not ok
    # --hold: one checked round trip each, "idle N", then the JSON line.
    lsock = server("good")
    proc = subprocess.run([loadgen, "--port", str(lsock.getsockname()[1]), "--connections", "50",
                           "--size", "64", "--seconds", "5", "--hold", "0.2"],
                          capture_output=True, text=True, timeout=30)
    lsock.close()
    ok = proc.returncode == 0 and proc.stdout.startswith("idle 50\n")
    print(f"{'ok  ' if ok else 'FAIL'} hold: status {proc.returncode}, "
          f"{proc.stdout.splitlines()[:1]}")
    passed += ok
    failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
