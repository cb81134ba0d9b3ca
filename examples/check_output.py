#!/usr/bin/env python3
"""Runs an example program and compares its stdout with an expected-output file.

    check_output.py --expected expected/timers.txt [--late-ms 250] -- build/examples/timers

The comparison is line by line and exact, with one allowance for timing:
with --late-ms, a line that starts with a time in milliseconds ("  150 ms  text")
matches an expected line with the same text whose time is at most 10 ms later
(the examples round to tens) and at most --late-ms earlier. Order is never
relaxed. The test fails if the program exits non-zero, writes to stderr
(the reactor reports escaped exceptions there) unless --allow-stderr is given,
or runs for less than --min-seconds.
"""

import argparse
import difflib
import re
import subprocess
import sys
import time

TIMED = re.compile(r"^\s*(\d+) ms  (.*)$")


def lines_match(expected, actual, late_ms):
    if expected == actual:
        return True
    if late_ms is None:
        return False
    e, a = TIMED.match(expected), TIMED.match(actual)
    if not e or not a or e.group(2) != a.group(2):
        return False
    due, seen = int(e.group(1)), int(a.group(1))
    return due - 10 <= seen <= due + late_ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expected", required=True, help="file with the expected stdout")
    parser.add_argument("--late-ms", type=int, default=None,
                        help="accept timed lines up to this many ms late")
    parser.add_argument("--min-seconds", type=float, default=0.0,
                        help="fail if the program finishes sooner")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--allow-stderr", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no program to run")

    with open(args.expected, encoding="utf-8") as f:
        expected = f.read().splitlines()

    began = time.monotonic()
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        print(f"FAIL: {command[0]} still running after {args.timeout} s")
        return 1
    elapsed = time.monotonic() - began
    actual = run.stdout.splitlines()

    failures = []
    if run.returncode != 0:
        failures.append(f"exit status {run.returncode}")
    if run.stderr and not args.allow_stderr:
        failures.append("output on stderr")
    if elapsed < args.min_seconds:
        failures.append(f"finished after {elapsed:.3f} s, expected at least {args.min_seconds} s")
    if len(expected) != len(actual) or not all(
            lines_match(e, a, args.late_ms) for e, a in zip(expected, actual)):
        failures.append("stdout differs from " + args.expected)

    print(run.stdout, end="")
    if run.stderr:
        print("--- stderr ---\n" + run.stderr, end="")
    print(f"--- {elapsed:.3f} s")
    if failures:
        print("FAIL: " + "; ".join(failures))
        if "stdout" in failures[-1]:
            sys.stdout.writelines(difflib.unified_diff(
                [l + "\n" for l in expected], [l + "\n" for l in actual],
                "expected", "actual"))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
