#!/usr/bin/env python3
"""Keeps docs/design.md's layer picture true: libevent is the reactor's.

    check_layering.py SOURCE_ROOT

Fails (exit status 1, one line per finding) if a library file - anything
under reactor/, promise/, fs/, net/ or include/ - outside reactor/ and the DNS
adapter net/dns/resolve.cpp

  * includes a libevent header (<event2/...>), or
  * calls libevent directly (event_add(...), bufferevent_*(...), ...),

or if a public header under include/ includes a libevent header at all, or
if net/, fs/ or pg/ includes a detail/ header of the layers below
(vow/promise/detail/, vow/reactor/detail/): they use their public API
only; or if a file outside pg/ includes libpq (vow-pg's private
dependency); or if any file but fs/uring.cpp includes liburing (the
io_uring engine is libvow's private dependency, and fs/uring.hpp keeps it
from the rest; no public header may include it); or if fs/ (or
include/vow/fs/) includes a vow/net header: net may use fs, never the
other way round. bench/ (whose raw
libevent peers are not library files) and tests/ are not looked at.

The TLS work must keep to this: no bufferevent_openssl in net/.
"""
import pathlib
import re
import sys

LIBRARY_DIRS = ("reactor", "promise", "fs", "net", "pg", "include")
SUFFIXES = {".cpp", ".hpp", ".h", ".cc", ".ipp", ".in"}
# Where libevent may appear: the reactor, and the evdns adapter.
ALLOWED_DIRS = ("reactor/",)
ALLOWED_FILES = ("net/dns/resolve.cpp",)

INCLUDE_EVENT2 = re.compile(r'^\s*#\s*include\s*[<"]event2/', re.M)
INCLUDE_NET = re.compile(r'^\s*#\s*include\s*[<"](vow/net[/.][^>"]*)', re.M)
INCLUDE_LIBURING = re.compile(r'^\s*#\s*include\s*[<"]liburing', re.M)
# Where liburing may appear: the io_uring engine alone.
LIBURING_FILES = ("fs/uring.cpp",)
INCLUDE_LIBPQ = re.compile(r'^\s*#\s*include\s*[<"](?:postgresql/)?libpq', re.M)
INCLUDE_DETAIL = re.compile(r'^\s*#\s*include\s*[<"](vow/(?:promise|reactor)/detail/[^>"]*)', re.M)
LIBEVENT_CALL = re.compile(
    r"\b(event_(?:assign|add|del|new|free|active|pending|base_\w+|config_\w+|set\w*|get_\w+|self_cbarg)"
    r"|evutil_\w+|evthread_\w+|bufferevent_\w+|evbuffer_\w+|evhttp_\w+|evdns_\w+|evconnlistener_\w+)\s*\(")


def strip_comments(text):
    """The code of a C++ file without its comments and string literals
    (replaced by spaces, so that line numbers stay right)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(argv[1]).resolve()
    findings = []
    seen_in_reactor = False
    files = 0
    for top in LIBRARY_DIRS:
        for path in sorted((root / top).rglob("*")):
            if not path.is_file() or path.suffix not in SUFFIXES:
                continue
            files += 1
            rel = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8", errors="replace")
            allowed = rel.startswith(ALLOWED_DIRS) or rel in ALLOWED_FILES
            for m in INCLUDE_EVENT2.finditer(text):
                if rel.startswith("reactor/"):
                    seen_in_reactor = True
                if rel.startswith("include/"):
                    findings.append(f"{rel}:{line_of(text, m.start())}: a public header includes a libevent "
                                    f"header; libevent stays inside the library (forward declarations, "
                                    f"opaque storage)")
                elif not allowed:
                    findings.append(f"{rel}:{line_of(text, m.start())}: includes a libevent header outside "
                                    f"reactor/; use the reactor's public API (vow::fd_watcher, timers, "
                                    f"call_soon)")
            if not allowed:
                code = strip_comments(text)
                for m in LIBEVENT_CALL.finditer(code):
                    findings.append(f"{rel}:{line_of(code, m.start())}: calls libevent ({m.group(1)}) outside "
                                    f"reactor/; use the reactor's public API")
            for m in INCLUDE_LIBPQ.finditer(text):
                if not rel.startswith("pg/"):
                    findings.append(f"{rel}:{line_of(text, m.start())}: includes libpq outside pg/; libpq is "
                                    f"vow-pg's private dependency (public headers keep PGresult opaque)")
            for m in INCLUDE_LIBURING.finditer(text):
                if rel not in LIBURING_FILES:
                    findings.append(f"{rel}:{line_of(text, m.start())}: includes liburing outside fs/uring.cpp; "
                                    f"the io_uring engine is private to it (fs/uring.hpp is its interface)")
            if rel.startswith(("net/", "fs/", "pg/")):
                for m in INCLUDE_DETAIL.finditer(text):
                    findings.append(f"{rel}:{line_of(text, m.start())}: includes {m.group(1)}; "
                                    f"{rel.split('/')[0]}/ uses the public API of the layers below")
            if rel.startswith(("fs/", "include/vow/fs/")) or rel == "include/vow/fs.hpp":
                for m in INCLUDE_NET.finditer(text):
                    findings.append(f"{rel}:{line_of(text, m.start())}: includes {m.group(1)}; fs/ is below "
                                    f"net/ and uses nothing of it")
    if files == 0 or not seen_in_reactor:
        findings.append(f"{root}: found {files} library files and no libevent include in reactor/: "
                        f"is SOURCE_ROOT right, or is this check broken?")
    for f in findings:
        print(f)
    print(f"checked {files} library files: {'FAILED' if findings else 'ok'}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
