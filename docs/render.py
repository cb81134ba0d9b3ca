#!/usr/bin/env python3
"""Renders docs/*.src.md into docs/*.md, replacing each line

    <!-- include: examples/hello.cpp -->

with that file's text in a fenced code block, so the docs show the example
programs the build compiles and the tests run, never stale copies.

    docs/render.py            rewrite every docs/X.md from docs/X.src.md
    docs/render.py --check    exit 1 (and say which) if any X.md is stale
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE = re.compile(r"^<!-- include: (\S+) -->$")
BANNER = "<!-- Generated from {src} by docs/render.py: edit that file, not this one. -->\n\n"


def render(src: pathlib.Path) -> str:
    out = [BANNER.format(src=src.relative_to(ROOT))]
    for line in src.read_text(encoding="utf-8").splitlines(keepends=True):
        m = INCLUDE.match(line.strip())
        if not m:
            out.append(line)
            continue
        path = ROOT / m.group(1)
        lang = {"cpp": "cpp", "py": "python", "sh": "sh", "build": "meson"}.get(path.suffix.lstrip("."), "")
        out.append(f"`{m.group(1)}`:\n\n```{lang}\n{path.read_text(encoding='utf-8').rstrip()}\n```\n")
    return "".join(out)


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for src in sorted((ROOT / "docs").glob("*.src.md")):
        dst = src.with_name(src.name.replace(".src.md", ".md"))
        text = render(src)
        if check:
            if not dst.exists() or dst.read_text(encoding="utf-8") != text:
                stale.append(dst.relative_to(ROOT))
        else:
            dst.write_text(text, encoding="utf-8")
    if stale:
        print("stale (run docs/render.py):", ", ".join(map(str, stale)))
        return 1
    print("docs up to date" if check else "docs rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
