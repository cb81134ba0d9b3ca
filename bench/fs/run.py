#!/usr/bin/env python3
"""bench/fs/run.py - copy a 512 MiB file in 64 KiB chunks: vow::fs
(examples/copy_file, on its default engine, io_uring where the kernel
allows it, and again with VOW_FS_ENGINE=thread_pool) against Python's
aiofiles, Node.js fs.promises and `cp` (a kernel copy:
copy_file_range(2), the physical limit).

  python3 bench/fs/run.py --copy-file build-release/examples/copy_file
  python3 bench/fs/run.py --copy-file ... --reps 5 --size-mib 512 --json out.json

How it measures:

- One source file of random bytes in a temporary directory under /tmp
  (removed at the end). Nothing is dropped from the page cache: after the
  first copy the source is cached, and every program reads it from memory;
  each writes its own destination file, truncated first (cp replaces it).
- Every program runs --reps times (5), the programs taking turns in a
  rotating order so they share the machine's noise. The copy programs time
  themselves, from the first open to the close of the destination, and
  print "copied N bytes in S s"; that figure is the one compared. `cp` is
  timed from outside (its process: its start-up is a few ms). The process
  wall time of every run is shown too (interpreter start-up included).
- The first repetition's destination files are compared with the source
  byte for byte.
- The table shows the median with min and max; the ratio in brackets is
  vow's advantage, the peer's median time divided by vow's.

The peers (bench/fs/copy_aiofiles.py, bench/fs/copy_node.js) run the same
loop as examples/copy_file: read 64 KiB, write it, until the end. aiofiles
runs on Debian's /usr/bin/python3 (python3-aiofiles).
"""
import argparse
import filecmp
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = re.compile(r"copied (\d+) bytes in ([0-9.]+) s")


def make_source(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n


def run_once(cmd, expect_bytes, env=None):
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, **env) if env else None)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    m = SUMMARY.search(p.stdout)
    if m:
        if int(m.group(1)) != expect_bytes:
            sys.exit(f"{' '.join(cmd)}: copied {m.group(1)} bytes, expected {expect_bytes}")
        return float(m.group(2)), wall
    return wall, wall


def fmt_s(x):
    return f"{x:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copy-file", required=True, help="examples/copy_file, built with --buildtype=release")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--python", default="/usr/bin/python3", help="a Python with aiofiles")
    ap.add_argument("--node", default=shutil.which("node") or "node")
    ap.add_argument("--json", help="also save every measurement here")
    args = ap.parse_args()

    size = args.size_mib << 20
    tmp = tempfile.mkdtemp(prefix="vow-bench-copy-", dir="/tmp")
    try:
        src = os.path.join(tmp, "src")
        make_source(src, size)
        programs = {
            "vow (examples/copy_file)": lambda dst: [args.copy_file, src, dst],
            "vow on the thread pool": lambda dst: [args.copy_file, src, dst],
            "aiofiles": lambda dst: [args.python, os.path.join(HERE, "copy_aiofiles.py"), src, dst],
            "Node.js fs.promises": lambda dst: [args.node, os.path.join(HERE, "copy_node.js"), src, dst],
            "cp": lambda dst: ["cp", src, dst],
        }
        names = list(programs)
        envs = {"vow on the thread pool": {"VOW_FS_ENGINE": "thread_pool"}}
        times = {n: [] for n in names}
        walls = {n: [] for n in names}
        load_start = os.getloadavg()
        for rep in range(args.reps):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for name in order:
                dst = os.path.join(tmp, f"dst-{names.index(name)}")
                t, w = run_once(programs[name](dst), size, envs.get(name))
                times[name].append(t)
                walls[name].append(w)
                if rep == 0 and not filecmp.cmp(src, dst, shallow=False):
                    sys.exit(f"{name}: the copy differs from the source")
                os.unlink(dst)
        load_end = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    vow = statistics.median(times[names[0]])
    print(f"Copy of a {args.size_mib} MiB file in 64 KiB chunks, {args.reps} repetitions "
          f"(load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end).")
    print()
    print("| Program | copy time, s: median (min–max) | vow's advantage | MiB/s | process wall time, s: median |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        med = statistics.median(times[name])
        ratio = "—" if name == names[0] else f"{med / vow:.2f}×"
        print(f"| {name} | {fmt_s(med)} ({fmt_s(min(times[name]))}–{fmt_s(max(times[name]))}) | {ratio} | "
              f"{args.size_mib / med:.0f} | {fmt_s(statistics.median(walls[name]))} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size_mib": args.size_mib, "times": times, "walls": walls,
                       "load": [load_start, load_end]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
