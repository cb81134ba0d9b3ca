#!/usr/bin/env python3
"""bench/net/echo_asyncio.py - the Python peer of vow's TCP echo server.

An asyncio Protocol that writes back every chunk it receives, on asyncio's
own event loop or on uvloop's:

  python3 echo_asyncio.py --port 0 --loop uvloop   # "listening on 127.0.0.1:<port>"

Protocol rather than streams: it is the fastest asyncio API (no reader or
writer objects, no coroutine per read), so the figure is Python at its best.
TCP_NODELAY is set on each connection (asyncio sets it on TCP transports
already; it is set again so the peer does not depend on that). Listens on
127.0.0.1 only; SIGTERM or SIGINT end it. Exit status 2 if the requested
loop cannot be imported.
"""

import argparse
import asyncio
import signal
import socket
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def data_received(self, data):
        self.transport.write(data)


async def serve(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{bound}", flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    await stop
    server.close()


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
            print("echo_asyncio: uvloop is not installed (apt-get install python3-uvloop)",
                  file=sys.stderr)
            sys.exit(2)
        uvloop.install()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
