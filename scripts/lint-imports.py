#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks the crate's one import style, which stable rustfmt cannot enforce
(its imports_granularity and group_imports options are nightly-only; their
settings are in rustfmt.toml for whoever formats with a nightly rustfmt):

- one `use` statement per crate root in a block of imports (std, each
  external crate, crate, super, self): `use std::{fs, io};`, not two;
- blocks in three groups, in this order: std/core/alloc, external crates,
  then crate/super/self; each group separated from the next by a blank
  line.

usage: scripts/lint-imports.py [FILE|DIR ...]   (default: src tests benches
examples fuzz/fuzz_targets build.rs)
Prints each violation as FILE:LINE: message; exit status 1 if any.
"""

import os
import re
import sys

STD = {"std", "core", "alloc"}
LOCAL = {"crate", "super", "self"}
USE = re.compile(r"^(\s*)(?:pub(?:\([^)]*\))?\s+)?use\s+(?:::)?([A-Za-z_][A-Za-z0-9_]*)")


def group(root):
    if root in STD:
        return 0
    if root in LOCAL:
        return 2
    return 1


def statements(lines):
    """Yields (start line index, end line index, indent, root) per use."""
    i = 0
    while i < len(lines):
        m = USE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        while ";" not in lines[i]:
            i += 1
            if i == len(lines):
                return
        yield start, i, m.group(1), m.group(2)
        i += 1


def check(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    errors = []
    stmts = list(statements(lines))
    blocks = []
    for s in stmts:
        start, end, indent, root = s
        if blocks:
            pstart, pend, pindent, _ = blocks[-1][-1]
            between = lines[pend + 1:start]
            if pindent == indent and all(
                not l.strip() or l.strip().startswith("//") or l.strip().startswith("#[")
                for l in between
            ):
                blocks[-1].append(s)
                continue
        blocks.append([s])
    for block in blocks:
        seen = {}
        last_group = -1
        prev_end = None
        for start, end, _, root in block:
            g = group(root)
            if root in seen:
                errors.append(f"{path}:{start + 1}: a second `use {root}::...` in this block "
                              f"(merge it into the one at line {seen[root] + 1})")
            seen.setdefault(root, start)
            if g < last_group:
                errors.append(f"{path}:{start + 1}: `use {root}` comes after a later group "
                              "(order: std, external crates, crate/super/self)")
            elif g > last_group and last_group >= 0 and prev_end is not None:
                if all(l.strip() for l in lines[prev_end + 1:start]):
                    errors.append(f"{path}:{start + 1}: no blank line before the group of `use {root}`")
            elif g == last_group and prev_end is not None:
                if any(not l.strip() for l in lines[prev_end + 1:start]):
                    errors.append(f"{path}:{start + 1}: a blank line inside a group of imports")
            last_group = max(last_group, g)
            prev_end = end
    return errors


def files(args):
    for a in args:
        if os.path.isdir(a):
            for d, _, names in os.walk(a):
                if "/target" in d:
                    continue
                for n in sorted(names):
                    if n.endswith(".rs"):
                        yield os.path.join(d, n)
        elif os.path.exists(a):
            yield a


def main():
    args = sys.argv[1:] or ["src", "tests", "benches", "examples", "fuzz/fuzz_targets", "build.rs"]
    errors = [e for f in files(args) for e in check(f)]
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
