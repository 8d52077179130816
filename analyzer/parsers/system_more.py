"""Host outputs the collector stores that no other parser reads: `/proc/sys/fs/file-nr`, the
pressure stall information of /proc/pressure and the time daemon's own view of the clock
(docs/facts.md: node.file_nr, node.pressure, node.timesync).

Not parsed, on purpose: `findmnt -J` and `swapon --show` print what /proc/self/mountinfo and
/proc/swaps already give `node.mounts` and `node.swaps` (findmnt and swapon read those very
files), so a second parser would only be a second copy of the same facts.
"""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers import parser

# `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` (avgN: percent of wall time stalled over
# the last N seconds; total: microseconds stalled since boot).
_PSI = re.compile(r"^(some|full)\s+avg10=([\d.]+)\s+avg60=([\d.]+)\s+avg300=([\d.]+)\s+total=(\d+)")
# The collector runs `cat /proc/pressure/cpu /proc/pressure/memory /proc/pressure/io`: three
# files without headers, so the resource is told by position: each file starts with `some`.
_RESOURCES = ("cpu", "memory", "io")


@parser("commands/pressure.txt", fact="pressure")
def parse_pressure(text: str) -> dict[str, Any]:
    """`{cpu|memory|io: {some: {avg10, avg60, avg300, total}, full: {...}}}` (percentages as
    floats; cpu has no `full` line before Linux 5.13)."""
    out: dict[str, Any] = {}
    index = -1
    for line in text.splitlines():
        m = _PSI.match(line.strip())
        if not m:
            continue
        if m[1] == "some":
            index += 1
            if index >= len(_RESOURCES):
                raise ValueError("more than three `some` lines (expected cpu, memory and io)")
            out[_RESOURCES[index]] = {}
        elif index < 0:
            raise ValueError("a `full` line before any `some` line")
        out[_RESOURCES[index]][m[1]] = {"avg10": float(m[2]), "avg60": float(m[3]),
                                        "avg300": float(m[4]), "total": int(m[5])}
    if not out:
        raise ValueError("no `some avg10=...` lines (expected /proc/pressure/* contents)")
    return out


@parser("commands/file-nr.txt", fact="file_nr")
def parse_file_nr(text: str) -> dict[str, Any]:
    """/proc/sys/fs/file-nr then /proc/sys/fs/inode-nr: `{allocated, unused, max, used_pct,
    inodes, free_inodes}`. `allocated` is the system-wide count of open file handles and `max`
    is fs.file-max (9223372036854775807 on kernels that no longer limit it)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or len(lines[0]) != 3 or not all(w.isdigit() for w in lines[0]):
        raise ValueError("first line is not `allocated unused max` (expected /proc/sys/fs/file-nr)")
    allocated, unused, maximum = (int(w) for w in lines[0])
    out: dict[str, Any] = {"allocated": allocated, "unused": unused, "max": maximum,
                           "used_pct": round(100.0 * allocated / maximum, 2) if maximum else None,
                           "inodes": None, "free_inodes": None}
    if len(lines) > 1 and len(lines[1]) >= 2 and all(w.isdigit() for w in lines[1][:2]):
        out["inodes"], out["free_inodes"] = int(lines[1][0]), int(lines[1][1])
    return out


# -- timesync: `chronyc tracking`, else `timedatectl timesync-status`, else `ntpq -pn` ----------

_CHRONY_SYSTEM_TIME = re.compile(r"([\d.]+) seconds (fast|slow) of NTP time")
_DURATION = re.compile(r"([+-]?[\d.]+)(us|ms|s|min)\b")
_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0}


def _key_values(text: str, sep: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, found, value = line.partition(sep)
        if found and key.strip():
            out[key.strip().lower()] = value.strip()
    return out


def _seconds(value: str | None) -> float | None:
    m = _DURATION.search(value or "")
    return round(float(m[1]) * _DURATION_UNITS[m[2]], 9) if m else None


def _chrony(text: str) -> dict[str, Any]:
    kv = _key_values(text, " : ")
    system_time = _CHRONY_SYSTEM_TIME.search(kv.get("system time", ""))
    offset = None
    if system_time:
        # "fast of NTP time": the local clock is ahead, a positive offset.
        offset = float(system_time[1]) * (1 if system_time[2] == "fast" else -1)
    leap = kv.get("leap status")
    stratum = int(kv["stratum"]) if kv.get("stratum", "").isdigit() else None
    ref = kv.get("reference id", "")
    server = ref[ref.find("(") + 1:ref.rfind(")")] if "(" in ref else None
    return {"source": "chrony", "synchronized": None if leap is None else leap.lower() != "not synchronised",
            "offset_seconds": offset, "stratum": stratum, "server": server or None, "leap": leap}


def _timesyncd(text: str) -> dict[str, Any]:
    kv = _key_values(text, ": ")
    leap = kv.get("leap")
    stratum = int(kv["stratum"]) if kv.get("stratum", "").isdigit() else None
    server = kv.get("server", "").split(" ")[0]
    server = None if server in ("", "n/a") else server
    return {"source": "timesyncd", "synchronized": (leap is not None and leap != "not synchronized" and bool(stratum)),
            "offset_seconds": _seconds(kv.get("offset")), "stratum": stratum, "server": server, "leap": leap}


def _ntpq(text: str) -> dict[str, Any]:
    # The peer marked `*` is the system peer; its offset column is in milliseconds.
    for line in text.splitlines():
        if line.startswith("*"):
            words = line[1:].split()
            if len(words) >= 9:
                return {"source": "ntpd", "synchronized": True, "offset_seconds": round(float(words[8]) / 1000.0, 9),
                        "stratum": int(words[2]) if words[2].isdigit() else None, "server": words[0], "leap": None}
    return {"source": "ntpd", "synchronized": False, "offset_seconds": None, "stratum": None,
            "server": None, "leap": None}


@parser("commands/timesync.txt", fact="timesync")
def parse_timesync(text: str) -> dict[str, Any]:
    """Whichever of `chronyc tracking`, `timedatectl timesync-status` and `ntpq -pn` ran:
    `{source: chrony|timesyncd|ntpd, synchronized: bool|null, offset_seconds: float|null
    (positive: the local clock is ahead), stratum, server, leap}`."""
    if "Reference ID" in text and "Leap status" in text:
        return _chrony(text)
    if re.search(r"^\s*(Server|Leap|Packet count):", text, re.MULTILINE):
        return _timesyncd(text)
    if ("remote" in text and "refid" in text) or "No association ID's returned" in text:
        return _ntpq(text)    # ntpd up without peers prints only the "No association" line
    raise ValueError("neither chronyc tracking, timedatectl timesync-status nor ntpq -pn output")
