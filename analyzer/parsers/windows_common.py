"""Helpers shared by the Windows parsers: JSON as PowerShell writes it, text sections, CIDRs.

PowerShell's `ConvertTo-Json` gives an object for one item and an array for several (and
nothing at all for none); Windows PowerShell 5.1 writes `>` redirections as UTF-16LE with a
BOM. Text arrives here already decoded (analyzer/decode.py), so only the JSON shapes, dates
and the `/Date(...)/` wrapper are handled here.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from k8s_bundle.analyzer.parsers import _util

_DATE_RE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")


def json_items(text: str) -> list[Any]:
    """Parse PowerShell JSON into a list: one object -> [obj], array -> array, empty -> []."""
    body = text.strip().lstrip("\ufeff")
    if not body:
        return []
    value = json.loads(body)
    return as_list(value)


def first_json_value(text: str) -> Any:
    """The first JSON value in `text`, skipping any leading table or prose.

    collectlogs.ps1 writes `network.txt` as a Format-Table listing followed by the JSON of the
    same objects; the JSON starts at the first line that begins with `[` or `{`.
    """
    decoder = json.JSONDecoder()
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith(("[", "{")):
            start = offset + (len(line) - len(stripped))
            value, _ = decoder.raw_decode(text, start)
            return value
        offset += len(line)
    raise ValueError("no JSON value found")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    return [value]


def get_ci(obj: Any, *names: str, default: Any = None) -> Any:
    """Case-insensitive key lookup: HNS V1 writes `ID`, V2 `ID`, some modules `Id` or `id`."""
    if not isinstance(obj, dict):
        return default
    for name in names:
        if name in obj:
            return obj[name]
    lowered = {k.lower(): v for k, v in obj.items() if isinstance(k, str)}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return default


def ps_date(value: Any) -> str | None:
    """A PowerShell date as JSON: `"/Date(1700000000000)/"`, `{"value": ..., "DateTime": ...}`
    (5.1) or an ISO string (7). Returned as RFC 3339 UTC when it can be read."""
    import datetime as dt

    if isinstance(value, dict):
        value = get_ci(value, "value", "DateTime")
    if not isinstance(value, str):
        return None
    m = _DATE_RE.search(value)
    if m:
        stamp = dt.datetime.fromtimestamp(int(m.group(1)) / 1000, tz=dt.timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        return parsed.strftime("%Y-%m-%dT%H:%M:%S")
    return parsed.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def network_of(cidr_or_ip: str, prefixlen: int | None = None) -> str | None:
    """'10.244.4.1/24' -> '10.244.4.0/24' (None when it is not an address)."""
    try:
        text = cidr_or_ip.strip()
        if prefixlen is not None and "/" not in text:
            text = f"{text}/{prefixlen}"
        return str(ipaddress.ip_interface(text).network)
    except (ValueError, AttributeError):
        return None


def cidr_contains(cidr: str, address: str) -> bool:
    try:
        return ipaddress.ip_interface(address).ip in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


_FLAG_RE = re.compile(r"""--?([A-Za-z0-9][\w.-]*)(?:[=\s]+("[^"]*"|'[^']*'|[^\s"'-][^\s]*))?""")


def parse_flags(command_line: str) -> dict[str, str]:
    """`--a=b --c d --flag` -> {"a": "b", "c": "d", "flag": "true"} (quotes removed)."""
    return _util.parse_flags(_split_command_line(command_line))


def _split_command_line(command_line: str) -> list[str]:
    """Windows-ish splitting: whitespace separates, double or single quotes group."""
    tokens: list[str] = []
    for m in re.finditer(r'"([^"]*)"|\'([^\']*)\'|(\S+)', command_line):
        raw = m.group(0)
        if m.group(3) is not None and ('="' in raw or "='" in raw):
            # --flag="a b": the regex stopped at the space; rejoin up to the closing quote
            tokens.append(raw)
            continue
        tokens.append(next(g for g in m.groups() if g is not None))
    # second pass: join `--x="a` + `b"` split by the simple regex above
    joined: list[str] = []
    buf: str | None = None
    for tok in tokens:
        if buf is not None:
            buf += " " + tok
            if tok.endswith('"') or tok.endswith("'"):
                joined.append(buf.replace('="', "=").replace("='", "=").rstrip("\"'"))
                buf = None
            continue
        if re.search(r"""=["']""", tok) and not re.search(r"""=(["']).*\1$""", tok):
            buf = tok
            continue
        joined.append(re.sub(r"""=(["'])(.*)\1$""", r"=\2", tok))
    if buf is not None:
        joined.append(buf)
    return joined


def to_int(text: str) -> int | None:
    digits = re.sub(r"[^\d]", "", text)
    return int(digits) if digits else None
