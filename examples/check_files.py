#!/usr/bin/env python3
"""Runs examples/file_server on loopback and checks what it serves.

  check_files.py FILE_SERVER

Makes a temporary directory with a 5 MiB file, an index.html, a
subdirectory and a symlink that leads out of it, starts
`FILE_SERVER --root DIR --port 0`, and checks with Python's http.client
and with curl (a real client, when it is installed): the bytes of a whole
file and of ranges (sha256), HEAD, 304 for ETag and Last-Modified, 416,
index.html for "/", 404 for a traversal or the symlink, then SIGTERM: a
graceful exit with status 0 and an access log line per request. Bad
arguments exit with status 2 and a missing root with status 1.
"""
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile

from check_http import fail, start_server, stop_server


def get(host, port, path, headers=None, method="GET"):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, headers=headers or {})
    res = conn.getresponse()
    body = res.read()
    conn.close()
    return res, body


def raw_status(host, port, target):
    """The status of a request sent byte for byte (no client normalizes it)."""
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def expect(cond, msg):
    if not cond:
        fail(msg)


def main():
    if len(sys.argv) != 2:
        fail("usage: check_files.py FILE_SERVER")
    exe = sys.argv[1]

    for bad in ([], ["--root"], ["--port", "x", "--root", "."], ["--bogus"]):
        r = subprocess.run([exe, *bad], capture_output=True, text=True, timeout=10)
        expect(r.returncode == 2 and "usage" in r.stderr, f"{bad}: exit {r.returncode}, stderr {r.stderr!r}")

    with tempfile.TemporaryDirectory(prefix="vow-files-") as tmp:
        r = subprocess.run([exe, "--root", os.path.join(tmp, "missing"), "--port", "0"],
                           capture_output=True, text=True, timeout=10)
        expect(r.returncode == 1 and "missing" in r.stderr, f"missing root: exit {r.returncode}, {r.stderr!r}")

        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "sub"))
        big = os.urandom(5 << 20)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(big)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<h1>home</h1>\n")
        with open(os.path.join(root, "sub", "note.txt"), "w") as f:
            f.write("a note\n")
        with open(os.path.join(tmp, "secret.txt"), "w") as f:
            f.write("outside the root\n")
        os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(root, "leak.txt"))

        proc, host, port = start_server(exe, "--root", root)
        try:
            res, body = get(host, port, "/big.bin")
            expect(res.status == 200, f"/big.bin: {res.status}")
            expect(hashlib.sha256(body).digest() == hashlib.sha256(big).digest(), "/big.bin: wrong bytes")
            etag, modified = res.getheader("ETag"), res.getheader("Last-Modified")
            expect(etag and modified, "/big.bin: no ETag or Last-Modified")
            expect(res.getheader("Accept-Ranges") == "bytes", "/big.bin: no Accept-Ranges")

            res, body = get(host, port, "/big.bin", method="HEAD")
            expect(res.status == 200 and body == b"" and res.getheader("Content-Length") == str(len(big)),
                   f"HEAD /big.bin: {res.status} {res.getheader('Content-Length')}")

            res, body = get(host, port, "/big.bin", {"Range": "bytes=1000-1999999"})
            expect(res.status == 206 and body == big[1000:2000000], f"range: {res.status}, {len(body)} bytes")
            expect(res.getheader("Content-Range") == f"bytes 1000-1999999/{len(big)}",
                   f"range: Content-Range {res.getheader('Content-Range')}")
            res, body = get(host, port, "/big.bin", {"Range": "bytes=-10"})
            expect(res.status == 206 and body == big[-10:], f"suffix range: {res.status}")
            res, _ = get(host, port, "/big.bin", {"Range": f"bytes={len(big)}-"})
            expect(res.status == 416, f"unsatisfiable range: {res.status}")

            res, body = get(host, port, "/big.bin", {"If-None-Match": etag})
            expect(res.status == 304 and body == b"", f"If-None-Match: {res.status}")
            res, _ = get(host, port, "/big.bin", {"If-Modified-Since": modified})
            expect(res.status == 304, f"If-Modified-Since: {res.status}")

            res, body = get(host, port, "/")
            expect(res.status == 200 and body == b"<h1>home</h1>\n", f"/: {res.status} {body!r}")
            expect(res.getheader("Content-Type", "").startswith("text/html"), "/: not text/html")
            res, body = get(host, port, "/sub/note.txt")
            expect(res.status == 200 and body == b"a note\n", f"/sub/note.txt: {res.status}")
            res, _ = get(host, port, "/sub/")
            expect(res.status == 404, f"/sub/ (no index, no listing): {res.status}")

            for target in ("/../secret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt",
                           "/sub/%252e%252e/note.txt", "/..%5csecret.txt", "/leak.txt", "/big.bin%00.txt"):
                status = raw_status(host, port, target)
                expect(status in (400, 404), f"{target}: {status}, not refused")

            curl = shutil.which("curl")
            if curl:
                out = subprocess.run([curl, "-sS", "--fail", f"http://{host}:{port}/big.bin"],
                                     capture_output=True, timeout=30)
                expect(out.returncode == 0 and out.stdout == big, f"curl: exit {out.returncode}")
                out = subprocess.run([curl, "-sS", "--fail", "-r", "5-14", f"http://{host}:{port}/big.bin"],
                                     capture_output=True, timeout=30)
                expect(out.returncode == 0 and out.stdout == big[5:15], f"curl -r: exit {out.returncode}")
            else:
                print("curl is not installed: its part is skipped")
        except BaseException:
            proc.kill()
            raise
        log = stop_server(proc)
        expect("GET /big.bin 200 " + str(len(big)) in log, f"no access log line for /big.bin in {log!r}")
        expect("shut down after" in log, "no shutdown line")
    print("file_server: ok")


if __name__ == "__main__":
    main()
