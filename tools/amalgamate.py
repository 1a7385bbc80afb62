#!/usr/bin/env python3
"""Generate the single-header distribution of spore.

    python3 tools/amalgamate.py            # (re)write single_include/spore/spore.hpp
    python3 tools/amalgamate.py --check    # exit 1 if the checked-in file is stale

Starting from include/spore/spore.hpp, every `#include <spore/...>` and every
`#include "..."` that resolves inside include/ is inlined recursively, each
header exactly once, depth-first at its first inclusion (i.e. in dependency
order). `#pragma once` of inlined headers is dropped. Other (system) includes,
e.g. <xsimd/...>, <boost/...>, <vector>, are kept; each distinct one is
emitted only once -- except includes inside #if/#ifdef blocks, which are
always kept verbatim because dropping them could change meaning.

Standard library only; output is deterministic.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCLUDE_DIR = ROOT / "include"
ENTRY = INCLUDE_DIR / "spore" / "spore.hpp"
OUTPUT = ROOT / "single_include" / "spore" / "spore.hpp"

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
PRAGMA_ONCE_RE = re.compile(r"^\s*#\s*pragma\s+once\b")
IF_RE = re.compile(r"^\s*#\s*if(n?def)?\b")
GUARD_IFNDEF_RE = re.compile(r"^\s*#\s*ifndef\s+(\w+)\s*$")
DEFINE_RE = re.compile(r"^\s*#\s*define\s+(\w+)\s*$")
ENDIF_RE = re.compile(r"^\s*#\s*endif\b")
VERSION_RE = re.compile(r"project\s*\(\s*spore\b[^)]*?\bVERSION\s+([0-9][0-9.]*)", re.S)

LICENSE_TEXT = """\
MIT License

Copyright (c) 2026 the spore developers

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE."""


class AmalgamateError(Exception):
    pass


def project_version() -> str:
    cmakelists = ROOT / "CMakeLists.txt"
    try:
        m = VERSION_RE.search(cmakelists.read_text(encoding="utf-8"))
    except OSError:
        m = None
    return m.group(1) if m else "unknown"


def rel(path: Path) -> str:
    """Path relative to include/ with forward slashes (stable across OSes)."""
    return path.relative_to(INCLUDE_DIR).as_posix()


def inside_include_dir(path: Path) -> bool:
    try:
        path.relative_to(INCLUDE_DIR)
        return True
    except ValueError:
        return False


class Amalgamator:
    def __init__(self) -> None:
        self.seen_headers: set[Path] = set()
        self.seen_system: set[str] = set()
        self.out: list[str] = []
        self.warnings: list[str] = []

    def resolve(self, kind: str, name: str, current: Path) -> Path | None:
        """Return the header inside include/ this directive refers to, if any."""
        candidates = []
        if kind == '"':
            candidates.append(current.parent / name)
        candidates.append(INCLUDE_DIR / name)
        for cand in candidates:
            cand = cand.resolve()
            if cand.is_file() and inside_include_dir(cand):
                return cand
        if kind == '"':
            raise AmalgamateError(
                f'{rel(current)}: cannot resolve #include "{name}" inside include/')
        if name.startswith("spore/"):
            raise AmalgamateError(f"{rel(current)}: #include <{name}> not found in include/")
        return None

    def process(self, path: Path) -> None:
        path = path.resolve()
        if path in self.seen_headers:
            return
        self.seen_headers.add(path)
        name = rel(path)
        self.out.append(f"// ---- begin {name} ----\n")
        # Preprocessor-conditional nesting inside this file; include guards
        # (#ifndef X / #define X) do not count as conditionals.
        cond_stack: list[bool] = []  # True = include guard
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        for lineno, line in enumerate(lines, 1):
            if IF_RE.match(line):
                guard = False
                g = GUARD_IFNDEF_RE.match(line)
                if g and not any(not x for x in cond_stack):
                    nxt = next((l for l in lines[lineno:] if l.strip()), "")
                    d = DEFINE_RE.match(nxt)
                    guard = bool(d and d.group(1) == g.group(1))
                cond_stack.append(guard)
            elif ENDIF_RE.match(line) and cond_stack:
                cond_stack.pop()
            depth = sum(1 for x in cond_stack if not x)
            if PRAGMA_ONCE_RE.match(line):
                continue
            m = INCLUDE_RE.match(line)
            if m:
                kind, inc = m.group(1), m.group(2).strip()
                target = self.resolve(kind, inc, path)
                if target is not None:
                    if depth > 0 and target not in self.seen_headers:
                        self.warnings.append(
                            f"{name}:{lineno}: conditional include of {rel(target)}; "
                            "it is inlined here, inside the #if block")
                    self.process(target)
                    continue
                if depth == 0:
                    if inc in self.seen_system:
                        continue
                    self.seen_system.add(inc)
                self.out.append(line.rstrip() + "\n")
                continue
            self.out.append(line.rstrip() + "\n")
        # Drop the trailing empty line produced by the final newline.
        if self.out and self.out[-1] == "\n":
            self.out.pop()
        self.out.append(f"// ---- end {name} ----\n")

    def run(self) -> str:
        if not ENTRY.is_file():
            raise AmalgamateError(f"entry header {ENTRY} does not exist")
        self.process(ENTRY)
        banner = ["// spore.hpp -- single-header distribution of spore "
                  f"v{project_version()}\n",
                  "//\n",
                  "// GENERATED FILE -- DO NOT EDIT.\n",
                  "// Generated by tools/amalgamate.py from include/spore/spore.hpp;\n",
                  "// edit the headers under include/ and re-run the script instead.\n",
                  "//\n"]
        banner += [("// " + l).rstrip() + "\n" for l in LICENSE_TEXT.split("\n")]
        banner += ["\n", "#pragma once\n", "\n"]
        body = "".join(self.out)
        body = re.sub(r"\n{3,}", "\n\n", body)  # collapse runs of blank lines
        return "".join(banner) + body


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the output file is out of date")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT,
                        help=f"output file (default: {OUTPUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)

    amalgamator = Amalgamator()
    try:
        generated = amalgamator.run()
    except AmalgamateError as e:
        print(f"amalgamate.py: error: {e}", file=sys.stderr)
        return 2
    for w in amalgamator.warnings:
        print(f"amalgamate.py: warning: {w}", file=sys.stderr)

    out: Path = args.output
    try:
        shown = out.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        shown = str(out)

    if args.check:
        if not out.is_file():
            print(f"amalgamate.py: {shown} does not exist; run: python3 tools/amalgamate.py",
                  file=sys.stderr)
            return 1
        current = out.read_text(encoding="utf-8")
        if current == generated:
            print(f"amalgamate.py: {shown} is up to date "
                  f"({len(amalgamator.seen_headers)} headers)")
            return 0
        diff = list(difflib.unified_diff(
            current.splitlines(keepends=True), generated.splitlines(keepends=True),
            fromfile=f"{shown} (checked in)", tofile=f"{shown} (generated)", n=2))
        print(f"amalgamate.py: {shown} is OUT OF DATE; "
              "run: python3 tools/amalgamate.py", file=sys.stderr)
        head = 40
        sys.stderr.write("".join(diff[:head]))
        if len(diff) > head:
            print(f"... ({len(diff) - head} more diff lines)", file=sys.stderr)
        return 1

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_file() and out.read_text(encoding="utf-8") == generated:
        print(f"amalgamate.py: {shown} unchanged ({len(amalgamator.seen_headers)} headers)")
        return 0
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(generated)
    print(f"amalgamate.py: wrote {shown} ({len(amalgamator.seen_headers)} headers)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
