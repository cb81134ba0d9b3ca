#!/usr/bin/env python3
"""bench/net/idle_https.py - holds N idle HTTPS connections open, for the
memory benchmark (run.py's idle-https group), as loadgen --hold does for TCP.

  python3 idle_https.py --port 8443 --cafile ca.pem --connections 2000 --hold 1

Opens N TLS connections to 127.0.0.1:PORT (server name "localhost", the
certificate checked against --cafile), at most --concurrency (100)
handshaking at a time so the server's listen backlog never overflows. On
each: the handshake, then one keep-alive GET / whose answer must be 200
"hello world". Once all are open it prints "idle N" (N: connections held)
and flushes, holds them for --hold seconds while the harness reads the
server's memory, closes them, and prints one JSON line:
{"connections": N, "errors": E, "error_detail": "..."}. Exit status 1 if
any connection failed.
"""

import argparse
import asyncio
import json
import ssl
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"


async def open_one(args, ctx, gate, held, errors):
    async with gate:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port, ssl=ctx, server_hostname="localhost"), 30)
            writer.write(REQUEST)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = await asyncio.wait_for(reader.readexactly(length), 30)
            if not head.startswith(b"HTTP/1.1 200") or body != b"hello world":
                raise RuntimeError(f"answered {head[:40]!r} {body[:40]!r}")
            held.append(writer)
        except Exception as e:  # every failure counts; the first few are shown
            errors.append(f"{type(e).__name__}: {e}")


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--hold", type=float, default=1.0)
    ap.add_argument("--concurrency", type=int, default=100)
    args = ap.parse_args()

    ctx = ssl.create_default_context(cafile=args.cafile)
    gate = asyncio.Semaphore(args.concurrency)
    held, errors = [], []
    await asyncio.gather(*(open_one(args, ctx, gate, held, errors) for _ in range(args.connections)))
    print(f"idle {len(held)}", flush=True)
    await asyncio.sleep(args.hold)
    for w in held:
        w.transport.abort()  # no close_notify round trip: the server's memory is already read
    print(json.dumps({"connections": len(held), "errors": len(errors),
                      "error_detail": "; ".join(errors[:3])}), flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
