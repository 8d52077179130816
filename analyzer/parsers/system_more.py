"""Host outputs the collector stores that no other parser reads: `/proc/sys/fs/file-nr` and
the pressure stall information of /proc/pressure (docs/facts.md: node.file_nr, node.pressure).

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
