"""A finding's log evidence as the page shows it (report_templates/evidence.html.j2).

Times are shown in UTC and, when the bundle says the node's zone (node facts `timezone` and
`utc_offset_seconds`, from manifest `nodes[]` or node.json), in the node's local time too: the
same fixed offset the log index used to read zone-less lines, so the local time matches what
the log file says. Without a known offset nothing local is shown.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from k8s_bundle.analyzer.evaluate_logs import MAX_CONTEXT_ANCHORS, SHOWN_FIRST
from k8s_bundle.analyzer.model import Evidence, Finding, LogEvidence

_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT", "Universal", "Z"}
MAX_ZONE_CHARS = 64   # a zone name from the bundle is shown, never longer than this


def node_zone(facts: dict[str, Any] | None) -> tuple[int, str] | None:
    """(offset seconds east of UTC, zone name or "") of a node, or None when unknown."""
    if not isinstance(facts, dict):
        return None
    offset = facts.get("utc_offset_seconds")
    if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > 18 * 3600:
        return None
    name = facts.get("timezone")
    name = name[:MAX_ZONE_CHARS] if isinstance(name, str) else ""
    return offset, name


def _clock(t: dt.datetime) -> str:
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"   # year 1 as 0001
    if t.microsecond:
        text += f".{t.microsecond // 1000:03d}"
    return text


def _offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    h, m = divmod(abs(seconds) // 60, 60)
    return f"{sign}{h:02d}:{m:02d}"


def zone_label(zone: tuple[int, str] | None) -> str:
    """"+08:00 Asia/Shanghai"; empty when the zone is unknown or is UTC itself (nothing to add)."""
    if zone is None:
        return ""
    offset, name = zone
    if not offset and (not name or name in _UTC_NAMES):
        return ""
    return _offset(offset) + (f" {name}" if name else "")


def time_view(timestamp: str | None, zone: tuple[int, str] | None) -> dict[str, str] | None:
    """{"utc": "2026-11-22 09:10:00 UTC", "local": "2026-11-22 17:10:00", "zone": "+08:00 Asia/Shanghai"}:
    `local` and `zone` are empty when the zone is unknown or is UTC itself."""
    if not timestamp:
        return None
    try:
        t = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return {"utc": timestamp, "local": "", "zone": ""}
    label = zone_label(zone)
    local = _clock(t + dt.timedelta(seconds=zone[0])) if label and zone is not None else ""
    return {"utc": f"{_clock(t)} UTC", "local": local, "zone": label}


def _rows(line: LogEvidence, zones: dict[str, tuple[int, str] | None]) -> list[dict[str, Any]]:
    """A kept line and its context as table rows (line number order)."""
    ctx = lambda c: {"line": c.line, "message": c.message, "hit": False, "time": None}  # noqa: E731
    return ([ctx(c) for c in getattr(line, "before", [])]
            + [{"line": line.line, "message": line.message, "hit": True,
                "time": time_view(line.timestamp, zones.get(line.node))}]
            + [ctx(c) for c in getattr(line, "after", [])])


def blocks(lines: list[LogEvidence], zones: dict[str, tuple[int, str] | None]) -> list[dict[str, Any]]:
    """Kept lines as blocks of one file: a line whose rows touch or overlap the previous
    block's (same file) joins it, so neighbouring matches share their context instead of
    repeating it; a context row that is itself a kept line is shown as the match. Lines the
    report's context budget left without context (MatchedLine.has_context false) join the
    previous block of their file whatever the distance: a plain list of matches. A row whose
    number does not follow the previous one is marked `gap` (the page draws the break)."""
    out: list[dict[str, Any]] = []
    for line in lines:
        rows = _rows(line, zones)
        bare = not getattr(line, "has_context", False)
        last = out[-1] if out else None
        touching = last is not None and rows[0]["line"] <= last["rows"][-1]["line"] + 1 \
            and rows[-1]["line"] >= last["rows"][0]["line"]
        if last is not None and last["file"] == line.file and (touching or (bare and last["bare"])):
            by_line = {r["line"]: r for r in last["rows"]}
            for r in rows:
                if r["hit"] or r["line"] not in by_line:
                    by_line[r["line"]] = r
            last["rows"] = [by_line[n] for n in sorted(by_line)]
            last["bare"] = last["bare"] and bare
        else:
            # one file is one node's: the zone is said once, in the block's header
            out.append({"file": line.file, "rows": rows, "bare": bare, "zone": zone_label(zones.get(line.node))})
    for b in out:
        prev = None
        for r in b["rows"]:
            r["gap"] = prev is not None and r["line"] != prev + 1
            prev = r["line"]
    return out


def evidence_view(f: Finding, evidence: Evidence) -> dict[str, Any]:
    """The first SHOWN_FIRST kept lines, the others (behind the page's toggle), and per file
    what was not kept."""
    names = {ln.node for ln in f.log_lines}
    zones = {n: node_zone((evidence.nodes or {}).get(n)) for n in names}
    more = f.log_lines[SHOWN_FIRST:]
    return {
        "shown": blocks(f.log_lines[:SHOWN_FIRST], zones),
        "more": blocks(more, zones),
        "more_count": len(more),
        "left_out": [c for c in f.log_files if c.left_out],
        "files": f.log_files,
        "count": f.log_count,
        "kept": len(f.log_lines),
        # kept lines the report's context budget left without context (said on the page)
        "bare": sum(1 for ln in f.log_lines if not getattr(ln, "has_context", False)),
        "budget": MAX_CONTEXT_ANCHORS,
    }
