#!/usr/bin/env python3
"""Checks that the Markdown files quote the examples exactly.

A line such as `<!-- quote: examples/hello.cpp -->` must be followed, after at most
a caption line and blank lines, by a fenced code block whose text is that
file's text. The README quotes its examples this way; this test fails
when the example changes and the quote does not (docs include the examples,
they never drift from them).

    check_quotes.py SOURCE_ROOT README.md [more.md ...]
"""

import pathlib
import re
import sys

QUOTE = re.compile(r"^<!-- quote: (\S+) -->$")


def check(root: pathlib.Path, doc: pathlib.Path) -> list[str]:
    problems, quotes = [], 0
    lines = doc.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        m = QUOTE.match(line.strip())
        if not m:
            continue
        quotes += 1
        path = m.group(1)
        start = next((j for j in range(i + 1, min(i + 5, len(lines)))
                      if lines[j].startswith("```")), None)
        end = None if start is None else next(
            (j for j in range(start + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            problems.append(f"{doc.name}:{i + 1}: no fenced block after the quote of {path}")
            continue
        quoted = "\n".join(lines[start + 1:end]).rstrip()
        actual = (root / path).read_text(encoding="utf-8").rstrip()
        if quoted != actual:
            problems.append(f"{doc.name}:{i + 1}: the quote of {path} differs from the file; "
                            "copy the file into the block again")
    print(f"{doc.name}: {quotes} quote(s) checked")
    return problems


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    problems = [p for doc in sys.argv[2:] for p in check(root, pathlib.Path(doc))]
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
