"""Globs over `/`-separated bundle paths, the one translation every part uses (parser
registry, rule sources and file conditions, redaction rules' file globs).

`*` and `?` stay within a folder, `**` crosses folders (`**/` also matches no folder at all),
`[...]` is a character class (`[!...]` negated). The result is regex source without anchors:
callers anchor it as they need.
"""
from __future__ import annotations

import re


def glob_to_regex(pattern: str) -> str:
    """Translate a bundle glob (`*`, `?`, `**`, `[...]`) to a regex matching a whole path."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
