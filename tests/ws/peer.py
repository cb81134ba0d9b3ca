#!/usr/bin/python3
"""A WebSocket peer made with Python's websockets, for vow's interop tests.

    peer.py client URL [--compression deflate|none] [--subprotocols A,B] [--origin O]
    peer.py serve [--compression deflate|none] [--subprotocols A,B]

client: connects to URL and prints "open subprotocol=S extensions=E" (E:
the Sec-WebSocket-Extensions of the server's 101, "-" for none), then obeys
the commands below until the connection closes, prints how it closed
and exits 0. A refused handshake prints "refused STATUS" and exits 0 too.

serve: listens on 127.0.0.1, on a port the kernel picks, prints
"listening on PORT", and obeys every connection the same way, printing
"open PATH subprotocol=S extensions=E x-vow-test=V origin=O" when one
opens (V and O: the request's X-Vow-Test and Origin). The path /forbidden is refused with
403 and the body "no entry\\n" (process_request); on /greet, the server
sends "hello from websockets" as soon as the connection opens. Runs until
it is killed.

Both sides use websockets' defaults except: messages of any size
(max_size=None), permessage-deflate as --compression says (websockets'
default: deflate), the subprotocols given (none by default).

Once open, every message is echoed back as it came (text as text, binary
as binary), except a text message that starts with "!", a command:

    !describe           the next message is answered with a text saying what
                        arrived ("text \\"hi\\" in 1 frame", "binary 1048576
                        bytes = pattern 1 in 17 frames, compressed"), then
                        echoed
    !fragments KIND     sends a fragmented message, one frame per piece:
                        text "frag" "mented " "t\u00ebxt", binary 000102 0304 05,
                        or (KIND ping) text "frag" "mented" with a ping
                        between the two, answered before the second is sent
    !pattern N SEED     sends N bytes of tests/support/net_fixture.hpp's
                        pattern(N, SEED) as a binary message
    !text N             sends N times "a" as a text message (compressed, a
                        thousandth of that: a small decompression bomb)
    !ping PAYLOAD       pings with PAYLOAD, waits for its pong (10 s), then
                        sends the text "pong PAYLOAD"
    !pings              sends "pings: " and the payloads of the pings received
                        so far (Python reprs, comma-separated; "-" for none)
    !close CODE REASON  closes with CODE and REASON (the rest of the line)

When the connection closes, the line "closed: received CODE 'REASON'"
(the peer closed first) or "closed: sent CODE 'REASON', received CODE
'REASON'" (after !close) is printed, with the codes and reasons of the close
frames as websockets reports them (1006 if none arrived).

The frames are seen by wrapping websockets' frame reader and its
permessage-deflate decoder (to tell a compressed message): one connection at
a time, which is how the tests use it. Any other failure prints
"error: ..." and exits 1.
"""
import argparse
import asyncio
import collections
import http
import json
import logging
import sys

from websockets.exceptions import ConnectionClosed, InvalidStatusCode
from websockets.extensions import permessage_deflate
from websockets.frames import Opcode
from websockets.legacy.client import connect
from websockets.legacy.protocol import WebSocketCommonProtocol
from websockets.legacy.server import serve


def pattern(n, seed):
    """net_fixture.hpp's pattern(): n bytes from a small LCG seeded by seed."""
    out = bytearray(n)
    x = (seed * 2654435761 + 12345) & 0xFFFFFFFF
    for i in range(n):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = x >> 24
    return bytes(out)


class FrameRecorder:
    """Keeps the data frames received (whether each was compressed, grouped
    by message: a frame with FIN ends one) and the payloads of the pings."""

    def __init__(self):
        self.current = []           # frames of the message being received
        self.messages = collections.deque()   # frame lists of whole messages, oldest first
        self.pings = []
        self.compressed = False     # RSV1 of the frame being read, noted by the deflate decoder

    def record(self, frame):
        compressed, self.compressed = self.compressed, False
        if frame.opcode == Opcode.PING:
            self.pings.append(repr(frame.data.decode(errors="backslashreplace")))
        elif frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            self.current.append(compressed)
            if frame.fin:
                self.messages.append(self.current)
                self.current = []

    def take_message(self):
        return self.messages.popleft() if self.messages else []


FRAMES = FrameRecorder()


def watch_frames():
    """Shows FRAMES every frame websockets reads, and whether its deflate
    extension found it compressed (RSV1), by wrapping the two. (Not through
    websockets' debug log: in 10.4 that decodes each text frame on its own,
    and fails a character split between two fragments with 1007.)"""
    read_frame = WebSocketCommonProtocol.read_frame
    decode = permessage_deflate.PerMessageDeflate.decode

    async def recording_read_frame(self, *args, **kwargs):
        frame = await read_frame(self, *args, **kwargs)
        FRAMES.record(frame)
        return frame

    def noting_decode(self, frame, *args, **kwargs):
        FRAMES.compressed = bool(frame.rsv1)
        return decode(self, frame, *args, **kwargs)

    WebSocketCommonProtocol.read_frame = recording_read_frame
    permessage_deflate.PerMessageDeflate.decode = noting_decode


def describe(msg, frames):
    if isinstance(msg, str):
        size = len(msg.encode())
        what = "text " + (json.dumps(msg, ensure_ascii=False) if size <= 64 else f"{size} bytes")
    elif len(msg) <= 64:
        what = "binary " + (msg.hex() or "(empty)")
    else:
        what = f"binary {len(msg)} bytes"
        for seed in range(4):
            if msg[:16] == pattern(16, seed) and msg == pattern(len(msg), seed):
                what += f" = pattern {seed}"
                break
    what += f" in {len(frames)} frame{'' if len(frames) == 1 else 's'}"
    if frames and frames[0]:
        what += ", compressed"
    return what


def handshake_report(ws):
    """What the handshake agreed: the subprotocol, and the extensions as the
    server's answer named them (with their parameters), if websockets
    accepted them."""
    agreed = ws.response_headers.get("Sec-WebSocket-Extensions") if ws.extensions else None
    return f"subprotocol={ws.subprotocol or '-'} extensions={agreed or '-'}"


async def pinging_between(ws):
    """The fragments of "fragmented", with a ping between them whose pong
    must come back before the second goes out."""
    yield "frag"
    waiter = await ws.ping("between")
    await asyncio.wait_for(waiter, 10)
    yield "mented"


async def session(ws):
    """Echoes and obeys commands until the connection closes."""
    FRAMES.__init__()   # what an earlier connection left is not this one's
    describe_next = False
    try:
        while True:
            msg = await ws.recv()
            frames = FRAMES.take_message()
            if describe_next:
                describe_next = False
                await ws.send(describe(msg, frames))
                await ws.send(msg)
            elif isinstance(msg, str) and msg.startswith("!"):
                name, _, arg = msg[1:].partition(" ")
                if name == "describe":
                    describe_next = True
                elif name == "fragments":
                    if arg == "text":
                        await ws.send(["frag", "mented ", "t\u00ebxt"])
                    elif arg == "binary":
                        await ws.send([b"\x00\x01\x02", b"\x03\x04", b"\x05"])
                    else:
                        await ws.send(pinging_between(ws))
                elif name == "pattern":
                    n, seed = arg.split()
                    await ws.send(pattern(int(n), int(seed)))
                elif name == "text":
                    await ws.send("a" * int(arg))
                elif name == "ping":
                    waiter = await ws.ping(arg)
                    await asyncio.wait_for(waiter, 10)
                    await ws.send(f"pong {arg}")
                elif name == "pings":
                    await ws.send("pings: " + (", ".join(FRAMES.pings) or "-"))
                elif name == "close":
                    code, _, reason = arg.partition(" ")
                    await ws.close(int(code), reason)
                    print(f"closed: sent {code} {reason!r}, "
                          f"received {ws.close_code} {ws.close_reason!r}", flush=True)
                    return
                else:
                    raise ValueError(f"unknown command {msg!r}")
            else:
                await ws.send(msg)
    except ConnectionClosed:
        print(f"closed: received {ws.close_code} {ws.close_reason!r}", flush=True)


def options(args):
    return {
        "compression": None if args.compression == "none" else "deflate",
        "subprotocols": args.subprotocols.split(",") if args.subprotocols else None,
        "max_size": None,
    }


async def run_client(args):
    try:
        ws = await connect(args.url, origin=args.origin, **options(args))
    except InvalidStatusCode as e:
        print(f"refused {e.status_code}", flush=True)
        return
    print(f"open {handshake_report(ws)}", flush=True)
    await session(ws)
    await ws.close()


async def run_server(args):
    async def handler(ws, path):
        headers = ws.request_headers
        print(f"open {path} {handshake_report(ws)} x-vow-test={headers.get('X-Vow-Test', '-')} "
              f"origin={headers.get('Origin', '-')}", flush=True)
        if path == "/greet":
            await ws.send("hello from websockets")   # likely in the same TCP segment as the 101
        await session(ws)

    async def refuse_forbidden(path, request_headers):
        if path == "/forbidden":
            return http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")], b"no entry\n"
        return None

    async with serve(handler, "127.0.0.1", 0, process_request=refuse_forbidden,
                     **options(args)) as server:
        print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Future()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["client", "serve"])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--subprotocols", default="")
    parser.add_argument("--origin", default=None)
    args = parser.parse_args(argv[1:])
    # websockets' own reports of failures (a handler that raised), for the
    # test's log.
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="websockets: %(message)s")
    watch_frames()
    try:
        asyncio.run(run_client(args) if args.mode == "client" else run_server(args))
    except Exception as e:  # noqa: BLE001 - any failure is the test's to report
        print(f"error: {type(e).__name__}: {e}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
