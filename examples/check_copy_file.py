#!/usr/bin/env python3
"""Checks examples/copy_file: copies are byte-for-byte, errors are clear.

    check_copy_file.py build/examples/copy_file

In a temporary directory (removed at the end): a file of a few MiB that is
not a multiple of the chunk size, an empty file and a one-byte file are
copied and compared with the source; the summary line must give the byte
count. A missing SRC and a DST in a missing directory must each exit
non-zero with a message on stderr naming the path and the reason, and
leave nothing behind.
"""

import os
import re
import subprocess
import sys
import tempfile

SUMMARY = re.compile(r"^copied (\d+) bytes in [0-9.]+ s \([0-9.]+ MiB/s\)\n$")


def run(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)


def check_copy(exe, tmp, name, size):
    src, dst = os.path.join(tmp, name), os.path.join(tmp, name + ".copy")
    data = os.urandom(size)
    with open(src, "wb") as f:
        f.write(data)
    p = run(exe, src, dst)
    if p.returncode != 0 or p.stderr:
        return f"{name}: exit {p.returncode}, stderr {p.stderr!r}"
    m = SUMMARY.match(p.stdout)
    if not m or int(m.group(1)) != size:
        return f"{name}: summary {p.stdout!r} does not say 'copied {size} bytes in ...'"
    with open(dst, "rb") as f:
        copy = f.read()
    if copy != data:
        return f"{name}: the copy differs ({len(copy)} bytes, {size} expected)"
    # A second copy over an existing, longer DST truncates it.
    with open(dst, "ab") as f:
        f.write(b"stale tail")
    p = run(exe, src, dst)
    with open(dst, "rb") as f:
        if p.returncode != 0 or f.read() != data:
            return f"{name}: copying over a longer DST did not truncate it"
    return None


def check_error(exe, src, dst, path, reason):
    p = run(exe, src, dst)
    if p.returncode == 0:
        return f"{src} -> {dst}: exit status 0, expected a failure"
    if path not in p.stderr or reason not in p.stderr:
        return f"{src} -> {dst}: stderr {p.stderr!r} should name {path!r} and say {reason!r}"
    if p.stdout:
        return f"{src} -> {dst}: a failure printed {p.stdout!r} on stdout"
    return None


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    exe = argv[1]
    failures = []
    with tempfile.TemporaryDirectory(prefix="vow-copy-file-") as tmp:
        for name, size in [("big", 5 * 1024 * 1024 + 12345), ("empty", 0), ("one", 1), ("chunk", 65536)]:
            failures.append(check_copy(exe, tmp, name, size))
        src = os.path.join(tmp, "one")
        missing = os.path.join(tmp, "no-such-file")
        failures.append(check_error(exe, missing, os.path.join(tmp, "out"), missing, "No such file or directory"))
        bad_dst = os.path.join(tmp, "no-such-dir", "out")
        failures.append(check_error(exe, src, bad_dst, bad_dst, "No such file or directory"))
        if os.path.exists(os.path.join(tmp, "out")):
            failures.append("a failed copy created its DST")
        p = run(exe, src)
        if p.returncode == 0 or "usage" not in p.stderr:
            failures.append(f"one argument: exit {p.returncode}, stderr {p.stderr!r}: expected a usage message")
    failures = [f for f in failures if f]
    for f in failures:
        print("FAIL:", f)
    print("copy_file:", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
