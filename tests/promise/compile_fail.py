#!/usr/bin/env python3
"""Checks that a misuse of the promise API is a short, readable compile error.

    compile_fail.py SNIPPET.cpp --include DIR --cxx COMPILER [ARGS...] [-- FLAGS...]

SNIPPET.cpp holds a wrong use under `#ifdef VOW_COMPILE_FAIL` and the right
one in the `#else` branch, and names the text its error must contain on a
first line `// expect: <text>` (the wording of the static_assert that guards
that misuse). The snippet is compiled twice with -fsyntax-only and the
project's flags:

  1. as is: it must compile, so the failure below cannot come from a typo,
     a missing include or a flag;
  2. with -DVOW_COMPILE_FAIL: it must fail, its first error must be the
     one with the expected text, and the output must be short (at most --max-lines lines): a
     readable error is part of the contract, not a wall of template
     instantiations.
"""

import argparse
import subprocess
import sys


def compile_snippet(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("snippet")
    ap.add_argument("--include", action="append", default=[])
    ap.add_argument("--cxx", nargs="+", required=True)
    ap.add_argument("--max-lines", type=int, default=60)
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    args = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    with open(args.snippet, encoding="utf-8") as f:
        first = f.readline()
    if not first.startswith("// expect: "):
        print(f"{args.snippet}: the first line must be '// expect: <text of the error>'")
        return 1
    expected = first[len("// expect: "):].strip()

    base = args.cxx + ["-std=c++20", "-fsyntax-only", "-fdiagnostics-color=never"]
    base += ["-I" + d for d in args.include] + flags

    rc, out = compile_snippet(base + [args.snippet])
    if rc != 0:
        print("the correct variant of the snippet does not compile, so the test proves nothing:")
        print(out)
        return 1

    cmd = base + ["-DVOW_COMPILE_FAIL", args.snippet]
    rc, out = compile_snippet(cmd)
    print("$ " + " ".join(cmd))
    print(out)
    lines = out.count("\n")
    if rc == 0:
        print("FAIL: the wrong use compiled")
        return 1
    if expected not in out:
        print(f"FAIL: the error does not contain the static_assert's text: {expected!r}")
        return 1
    first_error = next((line for line in out.splitlines() if "error:" in line), "")
    if expected not in first_error:
        print("FAIL: the first error is not the static_assert, but: " + first_error)
        return 1
    if lines > args.max_lines:
        print(f"FAIL: the error is {lines} lines long (at most {args.max_lines})")
        return 1
    print(f"ok: rejected with the expected message, {lines} lines of output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
