#!/usr/bin/env python3
"""bench/net/http_aiohttp.py - the Python peer of vow's HTTP hello-world
server: an aiohttp web application.

  python3 http_aiohttp.py --port 0 [--loop asyncio|uvloop]
  # prints "listening on 127.0.0.1:<port>"

`GET /` answers 200 "hello world" (text/plain); other paths 404 (aiohttp's
router). The access log is off, as it would be in a benchmark of any server.
Listens on 127.0.0.1 only; SIGTERM or SIGINT end it. Exit status 2 if aiohttp
(or the requested loop) cannot be imported: `apt-get install python3-aiohttp`.
"""

import argparse
import asyncio
import signal
import sys

try:
    from aiohttp import web
except ImportError:
    print("http_aiohttp: aiohttp is not installed (apt-get install python3-aiohttp)",
          file=sys.stderr)
    sys.exit(2)


async def hello(request):
    return web.Response(text="hello world")


async def serve(port):
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{bound}", flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    await stop
    await runner.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    ap.add_argument("--quiet", action="store_true", help="accepted; always quiet")
    args = ap.parse_args()
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("http_aiohttp: uvloop is not installed (apt-get install python3-uvloop)",
                  file=sys.stderr)
            sys.exit(2)
        uvloop.install()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
