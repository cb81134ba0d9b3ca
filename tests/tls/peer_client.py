#!/usr/bin/env python3
"""A TLS client made with Python's ssl module, for the interop tests.

    peer_client.py PORT CA_FILE [CERT KEY]

Connects to 127.0.0.1:PORT as "localhost" (SNI and verification against
CA_FILE), offers ALPN http/1.1, shows CERT/KEY if given, sends "ping\\n" and
prints one line: what came back, the TLS version and the ALPN protocol
("pong TLSv1.3 http/1.1"). Exit status 1 with the error on any failure.
"""
import socket
import ssl
import sys


def main(argv):
    port, ca = int(argv[1]), argv[2]
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["http/1.1"])
    if len(argv) > 4:
        ctx.load_cert_chain(argv[3], argv[4])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"ping\n")
                reply = b""
                while not reply.endswith(b"\n"):
                    chunk = s.recv(100)
                    if not chunk:
                        break
                    reply += chunk
                print(reply.decode().strip(), s.version(), s.selected_alpn_protocol(), flush=True)
    except (OSError, ssl.SSLError) as e:
        print(f"error: {e}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
