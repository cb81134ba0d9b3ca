#!/usr/bin/env python3
"""Runs the HTTP examples on loopback and checks what they do.

  check_http.py server HTTP_SERVER
      starts `HTTP_SERVER --port 0`, waits for "listening on http://H:P",
      checks every route, a malformed request, pipelining and keep-alive,
      the access log, then SIGTERM: a graceful exit with status 0.
  check_http.py threads HTTP_SERVER
      starts `HTTP_SERVER --port 0 --threads 2 --quiet`, opens connections
      until /spin?us=N has been answered by both reactors, checks /spin's
      400 for a bad or too large N, then SIGTERM: the summed count of
      requests in the shutdown line is the number sent.
  check_http.py fetch FETCH HTTP_SERVER
      runs FETCH with no URL (its own server) for 3,000 requests, then
      against HTTP_SERVER --quiet with --url; both must succeed with every
      request answered 200 and print the summary lines.
  check_http.py stream FETCH
      starts a Python http.server on loopback and checks FETCH's streamed
      bodies against it: --output of a 24 MiB body (Content-Length) and of
      a chunked one with a trailer, compared by SHA-256, and --method PUT
      --body-file of a 20 MiB file (over the stream's 16 MiB write limit,
      which a buffered body could not pass), which the server hashes.
  check_http.py https FETCH HTTP_SERVER MAKE_CERTS
      makes test certificates with MAKE_CERTS (tests/tls/make_certs.sh) into
      a temporary directory, starts HTTP_SERVER --tls-cert --tls-key, and
      checks FETCH against it: with --cafile every request is answered; with
      the system's CAs only, every request fails with a certificate error;
      with --insecure they are answered and fetch says verification is off.
"""
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import time


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def start_server(exe, *args, scheme="http"):
    proc = subprocess.Popen([exe, "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.match(scheme + r"://([\d.]+):(\d+)", line.removeprefix("listening on "))
    if not m:
        proc.kill()
        fail(f"no listening line, got {line!r}")
    return proc, m.group(1), int(m.group(2))


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("the server did not exit within 20 s of SIGTERM")
    if proc.returncode != 0:
        fail(f"the server exited with {proc.returncode}")
    return out


def raw_exchange(host, port, data, timeout=5):
    """Sends bytes, returns everything the server sends until it closes."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)


def check_server(exe):
    proc, host, port = start_server(exe)
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/")
        r = conn.getresponse()
        body = r.read()
        if r.status != 200 or body != b"hello world":
            fail(f"GET / gave {r.status} {body!r}")
        # The same connection is kept alive for the next requests.
        conn.request("GET", "/users/7")
        r = conn.getresponse()
        data = json.loads(r.read())
        if r.status != 200 or data != {"id": 7, "name": "user 7"}:
            fail(f"GET /users/7 gave {r.status} {data}")
        if r.getheader("Content-Type") != "application/json":
            fail(f"GET /users/7 Content-Type {r.getheader('Content-Type')}")
        conn.request("GET", "/users/abc")
        r = conn.getresponse()
        r.read()
        if r.status != 404:
            fail(f"GET /users/abc gave {r.status}, not 404")
        payload = bytes(range(256)) * 1000
        conn.request("POST", "/echo", body=payload, headers={"Content-Type": "application/x-test"})
        r = conn.getresponse()
        if r.status != 200 or r.read() != payload or r.getheader("Content-Type") != "application/x-test":
            fail("POST /echo did not echo the body and its type")
        conn.request("GET", "/slow")
        r = conn.getresponse()
        if r.read() != b"done":
            fail("GET /slow")
        conn.request("DELETE", "/")
        r = conn.getresponse()
        r.read()
        if r.status != 405 or "GET" not in (r.getheader("Allow") or ""):
            fail(f"DELETE / gave {r.status} Allow={r.getheader('Allow')}")
        conn.request("GET", "/nowhere")
        r = conn.getresponse()
        r.read()
        if r.status != 404:
            fail(f"GET /nowhere gave {r.status}")
        conn.close()

        # Two requests in one packet: two responses, in order.
        out = raw_exchange(host, port, b"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                       b"GET /users/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        first, second = out.find(b'"id": 1'), out.find(b'"id": 2')
        if first < 0 or second < first:
            fail(f"pipelined responses out of order: {out!r}")
        # Ambiguous framing: 400 and the connection closed.
        out = raw_exchange(host, port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                       b"Content-Length: 4\r\n\r\nabcd")
        if not out.startswith(b"HTTP/1.1 400"):
            fail(f"two Content-Length headers gave {out[:40]!r}")
        out = raw_exchange(host, port, b"GET / HTTP/1.1\r\n\r\n")
        if not out.startswith(b"HTTP/1.1 400"):
            fail(f"a request without Host gave {out[:40]!r}")
    except BaseException:
        proc.kill()
        raise
    log = stop_server(proc)
    for want in ["GET / 200 11", "GET /users/7 200", "POST /echo 200 256000", "GET /users/abc 404"]:
        if want not in log:
            fail(f"access log lacks {want!r}:\n{log}")
    if not re.search(r"shut down after \d+ requests", log):
        fail(f"no shutdown line:\n{log}")
    print("http_server: routes, keep-alive, pipelining, 400s, access log and graceful shutdown OK")


def check_threads(exe):
    proc, host, port = start_server(exe, "--threads", "2", "--quiet")
    sent = 0
    try:
        seen = set()
        for _ in range(1000):
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", "/spin?us=200")
            r = conn.getresponse()
            body = r.read().decode()
            sent += 1
            m = re.fullmatch(r"spun 200 us on reactor (\d)\n", body)
            if r.status != 200 or not m:
                fail(f"GET /spin?us=200 gave {r.status} {body!r}")
            seen.add(int(m.group(1)))
            conn.close()
            if seen == {0, 1}:
                break
        if seen != {0, 1}:
            fail(f"1000 connections were all served by reactor(s) {seen}")
        conn = http.client.HTTPConnection(host, port, timeout=10)
        for target in ["/spin", "/spin?us=x", "/spin?us=1000001", "/spin?n=5"]:
            conn.request("GET", target)
            r = conn.getresponse()
            r.read()
            sent += 1
            if r.status != 400:
                fail(f"GET {target} gave {r.status}, not 400")
        conn.close()
    except BaseException:
        proc.kill()
        raise
    log = stop_server(proc)
    m = re.search(r"shut down after (\d+) requests", log)
    if not m or int(m.group(1)) != sent:
        fail(f"the shutdown line should count {sent} requests over both reactors:\n{log}")
    print(f"http_server --threads 2: both reactors serve /spin, 400s, {sent} requests summed at shutdown OK")


def check_summary(out, count):
    if f"requests: {count} ok, 0 errors, 0 not 200" not in out:
        fail(f"fetch summary is not all-ok for {count}:\n{out}")
    for want in ["requests/s: ", "latency ms: p50 "]:
        if want not in out:
            fail(f"fetch output lacks {want!r}:\n{out}")


def check_fetch(fetch, server_exe):
    r = subprocess.run([fetch, "--count", "3000", "--concurrency", "50"], capture_output=True, text=True,
                       timeout=240)
    if r.returncode != 0:
        fail(f"fetch (own server) exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    check_summary(r.stdout, 3000)
    if "unhandled" in r.stderr:
        fail(f"fetch reported unhandled rejections:\n{r.stderr}")
    if "progress: 3000/3000" not in r.stderr:
        fail(f"no final progress line:\n{r.stderr}")
    proc, host, port = start_server(server_exe, "--quiet")
    try:
        r = subprocess.run([fetch, "--url", f"http://{host}:{port}/users/5", "--count", "500",
                            "--concurrency", "20", "--quiet"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail(f"fetch --url exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        check_summary(r.stdout, 500)
        # A port nobody listens on: every request fails, exit status 1.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = s.getsockname()[1]
        r = subprocess.run([fetch, "--url", f"http://127.0.0.1:{dead}/", "--count", "5", "--quiet"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or "5 errors" not in r.stdout or "refused" not in r.stdout:
            fail(f"fetch against a closed port: exit {r.returncode}:\n{r.stdout}")
    except BaseException:
        proc.kill()
        raise
    stop_server(proc)
    # A URL it cannot use: one line on stderr and exit status 2, not an abort.
    for bad, why in (("not-a-url", "no scheme"), ("ftp://127.0.0.1/", "unsupported scheme")):
        r = subprocess.run([fetch, "--url", bad, "--count", "1", "--quiet"], capture_output=True, text=True,
                           timeout=60)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(lines) != 1 or not lines[0].startswith("fetch: ") or why not in lines[0]:
            fail(f"fetch --url {bad!r}: exit {r.returncode}, stderr:\n{r.stderr}")
    print("fetch: own server, --url, a refused port and bad URLs OK")


def check_stream(fetch):
    import hashlib
    import http.server
    import os
    import tempfile
    import threading

    block = bytes(i % 251 for i in range(1 << 20))
    big = 24  # MiB

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            if self.path == "/big":
                self.send_header("Content-Length", str(big * len(block)))
                self.end_headers()
                for _ in range(big):
                    self.wfile.write(block)
            else:  # /chunked: 3 MiB in 64 KiB chunks, then a trailer
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(48):
                    part = block[i * 65536:(i + 1) * 65536]
                    self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                self.wfile.write(b"0\r\nX-Done: yes\r\n\r\n")

        def do_PUT(self):
            left = int(self.headers["Content-Length"])
            h, n = hashlib.sha256(), 0
            while left > 0:
                data = self.rfile.read(min(left, 1 << 20))
                if not data:
                    break
                h.update(data)
                n += len(data)
                left -= len(data)
            answer = f"{n} {h.hexdigest()}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def run(*args):
        r = subprocess.run([fetch, "--quiet", *args], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail(f"fetch {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        check_summary(r.stdout, 1)
        return r.stdout

    def sha_of(path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    try:
        with tempfile.TemporaryDirectory(prefix="vow-fetch-") as tmp:
            out = os.path.join(tmp, "out")
            said = run("--url", base + "/big", "--output", out)
            if f"body: {big << 20} bytes written to {out}" not in said:
                fail(f"fetch --output did not report the body:\n{said}")
            if sha_of(out) != hashlib.sha256(block * big).hexdigest():
                fail("fetch --output wrote other bytes than the server sent")
            run("--url", base + "/chunked", "--output", out)
            if sha_of(out) != hashlib.sha256(block[:48 * 65536]).hexdigest():
                fail("fetch --output of a chunked body wrote other bytes than the server sent")
            upload = os.path.join(tmp, "upload")
            with open(upload, "wb") as f:
                for i in range(20):
                    f.write(block[i:] + block[:i])
            run("--url", base + "/sha", "--method", "PUT", "--body-file", upload, "--output", out)
            with open(out) as f:
                answer = f.read()
            if answer != f"{20 << 20} {sha_of(upload)}":
                fail(f"the server hashed another upload than the file: {answer!r}")
            r = subprocess.run([fetch, "--url", base + "/big", "--output", out, "--count", "2"], capture_output=True,
                               text=True, timeout=30)
            if r.returncode != 2 or "--count 1" not in r.stderr:
                fail(f"fetch --output --count 2: exit {r.returncode}:\n{r.stderr}")
    finally:
        server.shutdown()
    print("stream: fetch --output (length and chunked) and --body-file OK")


def check_https(fetch, server_exe, make_certs):
    import tempfile
    with tempfile.TemporaryDirectory(prefix="vow-https-") as certs:
        subprocess.run(["sh", make_certs, certs], check=True, capture_output=True, timeout=60)
        # A key without its certificate: one clear line, exit status 2.
        r = subprocess.run([server_exe, "--port", "0", "--tls-key", f"{certs}/server.key"], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 2 or "go together" not in r.stderr:
            fail(f"http_server --tls-key alone: exit {r.returncode}:\n{r.stderr}")
        r = subprocess.run([server_exe, "--port", "0", "--tls-cert", f"{certs}/server.pem", "--tls-key",
                            f"{certs}/other.key"], capture_output=True, text=True, timeout=30)
        if r.returncode != 2 or len(r.stderr.strip().splitlines()) != 1:
            fail(f"http_server with a key that is not the certificate's: exit {r.returncode}:\n{r.stderr}")
        proc, _, port = start_server(server_exe, "--quiet", "--tls-cert", f"{certs}/server.pem", "--tls-key",
                                     f"{certs}/server.key", scheme="https")
        url = f"https://localhost:{port}/users/5"
        try:
            r = subprocess.run([fetch, "--url", url, "--count", "300", "--concurrency", "20", "--quiet", "--cafile",
                                f"{certs}/ca.pem"], capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                fail(f"fetch --cafile exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
            check_summary(r.stdout, 300)
            if "connections opened: 20" not in r.stdout:
                fail(f"fetch over https did not keep its 20 connections alive:\n{r.stdout}")
            r = subprocess.run([fetch, "--url", url, "--count", "3", "--quiet"], capture_output=True, text=True,
                               timeout=60)
            if r.returncode != 1 or "3 errors" not in r.stdout or "certificate" not in r.stdout:
                fail(f"fetch without the test CA: exit {r.returncode}:\n{r.stdout}\n{r.stderr}")
            r = subprocess.run([fetch, "--url", url, "--count", "50", "--quiet", "--insecure"], capture_output=True,
                               text=True, timeout=60)
            if r.returncode != 0 or "verification is off" not in r.stderr:
                fail(f"fetch --insecure: exit {r.returncode}:\n{r.stdout}\n{r.stderr}")
            check_summary(r.stdout, 50)
            r = subprocess.run([fetch, "--url", url, "--cafile", f"{certs}/missing.pem"], capture_output=True,
                               text=True, timeout=30)
            lines = r.stderr.strip().splitlines()
            if r.returncode != 2 or len(lines) != 1 or "missing.pem" not in lines[0]:
                fail(f"fetch --cafile missing.pem: exit {r.returncode}:\n{r.stderr}")
        except BaseException:
            proc.kill()
            raise
        stop_server(proc)
    print("https: fetch --cafile, the system store, --insecure and bad files OK")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "server":
        check_server(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "threads":
        check_threads(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "fetch":
        check_fetch(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "stream":
        check_stream(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "https":
        check_https(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        fail(__doc__)
