#!/usr/bin/env python3
"""bench/net/client_aiohttp.py - the Python peer of vow's HTTP client
benchmark (examples/fetch): COUNT GETs of one URL, CONCURRENCY at a time,
with aiohttp's ClientSession.

  python3 client_aiohttp.py --url http://127.0.0.1:8080/ --count 10000 --concurrency 100
  {"client": "aiohttp", "requests": 10000, "seconds": 2.345, "requests_per_s": 4264.4, "errors": 0}

CONCURRENCY workers share one session, whose connector keeps up to
CONCURRENCY keep-alive connections open, and take requests from a shared
count until COUNT have been sent. Each answer must be status 200 with the
body given by --expect (default "hello world"); anything else, or an
exception, counts as an error. Exit status 1 if any request failed, 2 if
aiohttp (or the requested loop) cannot be imported.
"""

import argparse
import asyncio
import json
import sys
import time

try:
    import aiohttp
except ImportError:
    print("client_aiohttp: aiohttp is not installed (apt-get install python3-aiohttp)",
          file=sys.stderr)
    sys.exit(2)


async def run(url, count, concurrency, expect):
    remaining = count
    errors = 0
    first_error = ""
    done = 0

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker():
            nonlocal remaining, errors, first_error, done
            while remaining > 0:
                remaining -= 1
                try:
                    async with session.get(url) as resp:
                        body = await resp.read()
                        if resp.status != 200 or body != expect:
                            raise ValueError(f"status {resp.status}, body {body[:40]!r}")
                    done += 1
                except Exception as e:  # every failure is counted, none is fatal
                    errors += 1
                    if not first_error:
                        first_error = f"{type(e).__name__}: {e}"

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    return done, errors, first_error, seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--expect", default="hello world")
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = ap.parse_args()
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("client_aiohttp: uvloop is not installed", file=sys.stderr)
            sys.exit(2)
        uvloop.install()
    done, errors, first_error, seconds = asyncio.run(
        run(args.url, args.count, args.concurrency, args.expect.encode()))
    print(json.dumps({
        "client": "aiohttp" + ("+uvloop" if args.loop == "uvloop" else ""),
        "requests": done,
        "seconds": round(seconds, 3),
        "requests_per_s": round(done / seconds, 1) if seconds > 0 else 0.0,
        "errors": errors,
        "error_detail": first_error,
    }), flush=True)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
