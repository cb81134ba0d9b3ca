#!/usr/bin/env python3
"""bench/net/ws_echo_websockets.py - the Python peer of vow's WebSocket echo
server (examples/ws_echo): the `websockets` library (Debian's
python3-websockets, 10.4 on bookworm) echoing every message at `/`, text as
text and binary as binary, on asyncio's own event loop or on uvloop's:

  python3 ws_echo_websockets.py --port 0              # "listening on 127.0.0.1:<port>"
  python3 ws_echo_websockets.py --port 0 --loop uvloop

As bench/net/echo_asyncio.py, asyncio's default loop unless --loop uvloop
says otherwise; run.py's ws group runs the default. websockets' defaults
are kept except two: compression=None (its default negotiates
permessage-deflate, which Node.js ws's server does not, so the peers would
not do the same work) and max_size, stated as 1 MiB (its default, well above
the 16 KiB messages). Its keepalive stays on (a ping every 20 s, a task per
connection): no run lasts that long, and the task is part of what an idle
connection costs it. asyncio sets TCP_NODELAY on its TCP transports.
Listens on 127.0.0.1 only, backlog 1024; SIGTERM or SIGINT end it. Exit
status 2 if websockets or the requested loop cannot be imported.
"""

import argparse
import asyncio
import signal
import sys

try:
    import websockets
except ImportError:
    print("ws_echo_websockets: websockets is not installed (apt-get install python3-websockets)",
          file=sys.stderr)
    sys.exit(2)


async def echo(ws):
    # A client that goes without a closing handshake (the load generators
    # close their sockets) ends the loop with ConnectionClosedError; left
    # alone, websockets would log each as a failed handler.
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def serve(port):
    loop = asyncio.get_running_loop()
    async with websockets.serve(echo, "127.0.0.1", port, compression=None, max_size=1 << 20,
                                backlog=1024) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"listening on 127.0.0.1:{bound}", flush=True)
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set_result, None)
        await stop


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
            print("ws_echo_websockets: uvloop is not installed (apt-get install python3-uvloop)",
                  file=sys.stderr)
            sys.exit(2)
        uvloop.install()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
