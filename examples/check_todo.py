#!/usr/bin/env python3
"""examples/check_todo.py - drives examples/todo_api against the PostgreSQL
server in VOW_TEST_PG_DSN (scripts/pg_cluster starts one).

    check_todo.py TODO_API

Starts todo_api on a free port, then with http.client: adds todos (201,
the row back), lists them (the new ones, in order), completes one (done),
deletes one (204, then 404), and sends bad input (not JSON, no title, a
long title, a bad id: 400 with an "error"). Ends it with SIGTERM and checks
the graceful exit. Without VOW_TEST_PG_DSN it exits 77 (meson: skipped).
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys


def main():
    exe = sys.argv[1]
    dsn = os.environ.get("VOW_TEST_PG_DSN")
    if not dsn:
        print("skipped: no PostgreSQL server: VOW_TEST_PG_DSN is not set")
        return 77
    proc = subprocess.Popen([exe, "--dsn", dsn, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    failures = []
    try:
        line = proc.stdout.readline()
        m = re.match(r"listening on http://([\d.]+):(\d+)", line)
        if not m:
            print("FAIL: no 'listening on' line:", repr(line), proc.stderr.read() if proc.poll() is not None else "")
            return 1
        conn = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=20)

        def call(method, path, body=None):
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
            return res.status, (json.loads(data) if data else None)

        def expect(cond, what):
            if not cond:
                failures.append(what)

        status, a = call("POST", "/todos", json.dumps({"title": "buy milk ü"}))
        expect(status == 201 and a["title"] == "buy milk ü" and a["done"] is False, f"add: {status} {a}")
        status, b = call("POST", "/todos", json.dumps({"title": "write tests"}))
        expect(status == 201 and b["id"] > a["id"], f"add second: {status} {b}")
        status, todos = call("GET", "/todos")
        ids = [t["id"] for t in todos] if status == 200 else []
        expect(a["id"] in ids and b["id"] in ids and ids == sorted(ids), f"list: {status} {todos}")
        status, done = call("POST", f"/todos/{a['id']}/complete")
        expect(status == 200 and done["done"] is True and done["id"] == a["id"], f"complete: {status} {done}")
        status, _ = call("DELETE", f"/todos/{b['id']}")
        expect(status == 204, f"delete: {status}")
        status, err = call("DELETE", f"/todos/{b['id']}")
        expect(status == 404 and "error" in err, f"delete again: {status} {err}")
        status, err = call("POST", "/todos/999999999/complete")
        expect(status == 404 and "error" in err, f"complete missing: {status} {err}")
        for body, why in [("not json", "not JSON"), ("{}", "no title"), (json.dumps({"title": 5}), "title not a string"),
                          (json.dumps({"title": "x" * 201}), "title too long"), ("[1]", "not an object")]:
            status, err = call("POST", "/todos", body)
            expect(status == 400 and "error" in err, f"bad input ({why}): {status} {err}")
        status, err = call("POST", "/todos/abc/complete")
        expect(status == 400 and "error" in err, f"bad id: {status} {err}")
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, errs = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, errs = proc.communicate()
            failures.append("no exit within 20 s of SIGTERM")
    if proc.returncode != 0 or "shut down after" not in out:
        failures.append(f"graceful exit: status {proc.returncode}, stdout {out!r}, stderr {errs!r}")
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
