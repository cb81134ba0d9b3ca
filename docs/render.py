#!/usr/bin/env python3
"""Renders docs/*.src.md into docs/*.md, replacing each line

    <!-- include: examples/hello.cpp -->

with that file's text in a fenced code block, so the docs show the example
programs the build compiles and the tests run, never stale copies. A part
of a file is named after '#':

    <!-- include: examples/loops.cpp#consumer -->

and is the lines between `// ANCHOR: consumer` and `// ANCHOR_END: consumer`
in the file (mdBook's markers), dedented. Marker lines never appear in the
output, of a whole file or of a part.

    docs/render.py            rewrite every docs/X.md from docs/X.src.md
    docs/render.py --check    exit 1 (and say which) if any X.md is stale
"""

import pathlib
import re
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE = re.compile(r"^<!-- include: ([^\s#]+)(?:#(\S+))? -->$")
ANCHOR = re.compile(r"^\s*// ANCHOR(?:_END)?: \S+\s*$")
BANNER = "<!-- Generated from {src} by docs/render.py: edit that file, not this one. -->\n\n"


def part(path: pathlib.Path, name: str | None) -> str:
    """The file's text, or its part `name`, without marker lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if name is not None:
        marks = [i for i, line in enumerate(lines)
                 if line.strip() in (f"// ANCHOR: {name}", f"// ANCHOR_END: {name}")]
        if len(marks) != 2 or not lines[marks[0]].strip().startswith("// ANCHOR: "):
            raise SystemExit(f"{path.relative_to(ROOT)}: no part '{name}' "
                             f"(want one '// ANCHOR: {name}' line, then one '// ANCHOR_END: {name}')")
        lines = lines[marks[0] + 1:marks[1]]
    text = "\n".join(line for line in lines if not ANCHOR.match(line))
    return textwrap.dedent(text).strip("\n")


def render(src: pathlib.Path) -> str:
    out = [BANNER.format(src=src.relative_to(ROOT))]
    for line in src.read_text(encoding="utf-8").splitlines(keepends=True):
        m = INCLUDE.match(line.strip())
        if not m:
            out.append(line)
            continue
        file, name = m.group(1), m.group(2)
        path = ROOT / file
        lang = {"cpp": "cpp", "py": "python", "sh": "sh", "build": "meson"}.get(path.suffix.lstrip("."), "")
        caption = f"`{file}`:" if name is None else f"From `{file}`:"
        out.append(f"{caption}\n\n```{lang}\n{part(path, name).rstrip()}\n```\n")
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
