"""Windows ephemeral port facts: netsh port ranges, the port reservation test, TCP usage.

netsh translates its labels on non-English Windows ("Start Port", "Startport", "Port de
début", "起始端口"), so these parsers read numbers only and use the protocol word (`tcp` /
`udp`, never translated: it is the command's own argument) to split the sections that
collectlogs.ps1 concatenates into one file.
"""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers.windows_common import as_list, get_ci, json_items

_PROTO_RE = re.compile(r"\b(tcp|udp)\b", re.IGNORECASE)
_NUM_AFTER_COLON = re.compile(r"[:：]\s*(\d+)\s*$")
_RANGE_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s*(\*)?\s*$")

# The two sentences of Microsoft's port reservation test (portReservationTest.ps1), which
# collectlogs.ps1 appends to reservedports.txt and our own test prints the same way.
_RESERVED_OK = re.compile(r"Successfully reserved (\d+) ranges of (\d+) ports")
_RESERVED_FAIL = re.compile(r"Couldn't reserve more than (\d+) ranges of (\d+) ports")
# collectlogs.ps1 (current form) first writes a rough estimate from the excluded ranges.
_ESTIMATE = re.compile(r"up to (\d+) allocations of (\d+) contiguous")
_ESTIMATE_NONE = re.compile(r"Running out of ephemeral ports")

RANGES_REQUESTED = 10


def split_by_protocol(text: str) -> dict[str, list[str]]:
    """Lines grouped by the protocol named in each section header; text before any header
    (a single-protocol file) goes under "" ."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        has_digits = any(ch.isdigit() for ch in line)
        m = _PROTO_RE.search(line)
        if m and not has_digits:
            current = m.group(1).lower()
            sections.setdefault(current, [])
            continue
        sections[current].append(line)
    return sections


def parse_dynamic_range_lines(lines: list[str]) -> dict[str, int] | None:
    numbers = [int(m.group(1)) for m in (_NUM_AFTER_COLON.search(l) for l in lines) if m]
    if len(numbers) < 2:
        return None
    start, count = numbers[0], numbers[1]
    return {"start": start, "count": count, "end": start + count - 1}


def parse_dynamic_range(text: str, protocol: str | None = None) -> dict[str, int]:
    """`netsh int ipv4 show dynamicportrange protocol=tcp` -> {start, count, end}."""
    sections = split_by_protocol(text)
    lines = sections.get(protocol or "", []) or sections[""] or next(
        (v for v in sections.values() if v), []
    )
    value = parse_dynamic_range_lines(lines)
    if value is None:
        raise ValueError("no start port / number of ports found")
    return value


def parse_dynamic_ranges_all(text: str) -> dict[str, dict[str, int]]:
    """collectlogs dynamicportrange.txt: TCP then UDP in one file."""
    out: dict[str, dict[str, int]] = {}
    for proto, lines in split_by_protocol(text).items():
        value = parse_dynamic_range_lines(lines)
        if value is not None:
            out[proto or "tcp"] = value
    return out


def parse_excluded_range_lines(lines: list[str]) -> list[dict[str, Any]]:
    ranges = []
    for line in lines:
        m = _RANGE_ROW.match(line)
        if m:
            ranges.append(
                {"start": int(m.group(1)), "end": int(m.group(2)), "administered": bool(m.group(3))}
            )
    return ranges


def parse_excluded_ranges(text: str, protocol: str | None = None) -> list[dict[str, Any]]:
    """`netsh int ipv4 show excludedportrange protocol=tcp` -> [{start, end, administered}]
    (an empty table gives [])."""
    sections = split_by_protocol(text)
    if protocol and protocol in sections:
        return parse_excluded_range_lines(sections[protocol])
    return parse_excluded_range_lines([l for v in sections.values() for l in v])


def parse_excluded_ranges_all(text: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for proto, lines in split_by_protocol(text).items():
        rows = parse_excluded_range_lines(lines)
        if proto or rows:  # a file without headers is one TCP table
            out.setdefault(proto or "tcp", []).extend(rows)
    return out


def parse_reservation(text: str) -> dict[str, Any]:
    """The port reservation test output, old form (the test's sentence alone) or current
    collectlogs form (an estimate line first). `ok` is false when fewer than 10 ranges of 64
    ports could be reserved: the ephemeral pool is exhausted."""
    estimate: int | None = None
    form = "old"
    m = _ESTIMATE.search(text)
    if m:
        estimate, form = int(m.group(1)), "current"
    elif _ESTIMATE_NONE.search(text):
        estimate, form = 0, "current"
    ok_m = _RESERVED_OK.search(text)
    fail_m = _RESERVED_FAIL.search(text)
    if fail_m:
        reserved, size = int(fail_m.group(1)), int(fail_m.group(2))
    elif ok_m:
        reserved, size = int(ok_m.group(1)), int(ok_m.group(2))
    elif estimate is not None:
        # Only the estimate is there (the test script was missing): report it, no verdict.
        return {
            "ranges_reserved": None, "ranges_requested": RANGES_REQUESTED, "range_size": 64,
            "ok": False if estimate == 0 else None, "estimate": estimate, "form": form,
        }
    else:
        raise ValueError("no port reservation test result found")
    return {
        "ranges_reserved": reserved,
        "ranges_requested": RANGES_REQUESTED,
        "range_size": size,
        "ok": reserved >= RANGES_REQUESTED,
        "estimate": estimate,
        "form": form,
    }


def parse_tcp_connections(text: str) -> dict[str, Any]:
    """tcp-connections.json as the collector writes it: one row per (state, process) with the
    count of connections whose local port is in the dynamic range and the total."""
    rows = json_items(text)
    by_state: dict[str, int] = {}
    by_process: dict[str, int] = {}
    total = in_dynamic = 0
    for row in rows:
        count = int(get_ci(row, "Count", default=0) or 0)
        dyn = int(get_ci(row, "InDynamicRange", default=count) or 0)
        state = str(get_ci(row, "State", default="unknown"))
        process = str(get_ci(row, "ProcessName", "OwningProcess", default="unknown"))
        by_state[state] = by_state.get(state, 0) + count
        by_process[process] = by_process.get(process, 0) + dyn
        total += count
        in_dynamic += dyn
    top = sorted(by_process.items(), key=lambda kv: -kv[1])[:10]
    return {
        "total": total,
        "in_dynamic_range": in_dynamic,
        "by_state": by_state,
        "top_processes": [{"process": p, "count": c} for p, c in top],
    }


def excluded_in_range(excluded: list[dict[str, Any]], dynamic: dict[str, int]) -> int:
    """How many ports of the dynamic range the exclusions take (overlaps counted once)."""
    lo, hi = dynamic["start"], dynamic["end"]
    taken: set[int] = set()
    for r in as_list(excluded):
        s, e = max(lo, r["start"]), min(hi, r["end"])
        if s <= e:
            taken.update(range(s, e + 1))
    return len(taken)


# -- registration (analyzer/parsers/__init__.py) -------------------------------------------
from k8s_bundle.analyzer.parsers import parser  # noqa: E402  (after the pure functions on purpose)
from k8s_bundle.bundle.specs import S  # noqa: E402


@parser(S.dynamic_ports_tcp, fact="windows.dynamic_ports.tcp")
def _dynamic_tcp(text: str) -> dict[str, int]:
    return parse_dynamic_range(text, "tcp")


@parser(S.dynamic_ports_udp, fact="windows.dynamic_ports.udp")
def _dynamic_udp(text: str) -> dict[str, int]:
    return parse_dynamic_range(text, "udp")


@parser(S.excluded_ports_tcp, fact="windows.excluded_ports.tcp")
def _excluded_tcp(text: str) -> list[dict[str, Any]]:
    return parse_excluded_ranges(text, "tcp")


@parser(S.excluded_ports_udp, fact="windows.excluded_ports.udp")
def _excluded_udp(text: str) -> list[dict[str, Any]]:
    return parse_excluded_ranges(text, "udp")


@parser(S.reserved_ports, fact="windows.reservation")
def _reservation(text: str) -> dict[str, Any]:
    return parse_reservation(text)


@parser(S.tcp_connections, fact="windows.tcp_connections")
def _tcp_connections(text: str) -> dict[str, Any]:
    return parse_tcp_connections(text)
