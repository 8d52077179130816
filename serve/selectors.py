"""labelSelector and fieldSelector as the API server reads them.

Labels: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, comma-separated (all
must hold). Fields: `path=v`, `path==v`, `path!=v`, where path is any dotted path into the
object (`metadata.name`, `spec.nodeName`, `status.phase`, `involvedObject.uid`, `spec.severity`):
a real API server allows only a few paths per kind; allowing every one answers the same for
those and more for the rest. A field the object lacks reads as "".
"""
from __future__ import annotations

import re
from typing import Any, Callable

Match = Callable[[dict], bool]


class SelectorError(ValueError):
    """A selector that does not parse (answered with a 400 Status)."""


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


_SET = re.compile(r"^([^\s!=(),]+)\s+(in|notin)\s*\(([^()]*)\)$")
_EQ = re.compile(r"^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$")
_EXISTS = re.compile(r"^(!?)\s*([^\s!=(),]+)$")


def label_matcher(text: str | None) -> Match:
    if not text:
        return lambda obj: True
    tests: list[Callable[[dict], bool]] = []
    for req in _split(text):
        m = _SET.match(req)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                tests.append(lambda l, k=key, vs=values: k in l and l[k] in vs)
            else:
                tests.append(lambda l, k=key, vs=values: k not in l or l[k] not in vs)
            continue
        m = _EQ.match(req)
        if m:
            key, op, value = m.groups()
            if op == "!=":
                tests.append(lambda l, k=key, v=value: l.get(k) != v)
            else:
                tests.append(lambda l, k=key, v=value: k in l and l[k] == v)
            continue
        m = _EXISTS.match(req)
        if m:
            neg, key = m.groups()
            tests.append((lambda l, k=key: k not in l) if neg else (lambda l, k=key: k in l))
            continue
        raise SelectorError(f"unable to parse requirement: {req!r}")

    def match(obj: dict) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not isinstance(labels, dict):
            labels = {}
        return all(t(labels) for t in tests)
    return match


def field_value(obj: Any, path: str) -> str:
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return ""
        cur = cur[part]
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return cur if isinstance(cur, str) else str(cur)


def field_matcher(text: str | None) -> Match:
    if not text:
        return lambda obj: True
    tests: list[Callable[[dict], bool]] = []
    for req in _split(text):
        m = re.match(r"^([A-Za-z0-9_.-]+)\s*(==|=|!=)\s*(.*)$", req)
        if not m:
            raise SelectorError(f"invalid selector: {req!r}; can't understand {req!r}")
        path, op, value = m.group(1), m.group(2), m.group(3).strip()
        if op == "!=":
            tests.append(lambda o, p=path, v=value: field_value(o, p) != v)
        else:
            tests.append(lambda o, p=path, v=value: field_value(o, p) == v)
    return lambda obj: all(t(obj) for t in tests)
