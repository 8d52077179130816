"""Time: the node's clock and its synchronisation (docs/facts.md: node.timedatectl,
node.timesync, node.time_sync).

Three artifacts tell about the clock, each read by one parser here:
- `timedatectl show` (commands/timedatectl.txt): systemd's view, `NTP=yes`,
  `NTPSynchronized=no`, `Timezone=...` -> node.timedatectl (the key=value pairs as written);
- the time daemon's own view (commands/timesync.txt): `chronyc tracking`, else
  `timedatectl timesync-status`, else `ntpq -pn`, whichever ran -> node.timesync.
The combiner `time_sync` merges them into node.time_sync, the one fact rules read.
Certificates and etcd both depend on a sane clock, and offline sites often have no time
source at all.
"""
from __future__ import annotations

import re
from typing import Any

from k8s_bundle.analyzer.parsers import FinalizeContext, finalizer, parser
from k8s_bundle.bundle.specs import S


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"yes": True, "no": False}.get(value.strip().lower())


@parser(S.timedatectl, fact="timedatectl")
def parse_timedatectl(text: str) -> dict[str, str]:
    """`timedatectl show`: its key=value lines as written (`NTPSynchronized=no`,
    `Timezone=Asia/Shanghai`, ...); the combiner reads the flags from them."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and " " not in key:
            out[key] = value
    if not out:
        raise ValueError("no key=value lines (not `timedatectl show` output)")
    return out


# -- the time daemon: `chronyc tracking`, else `timedatectl timesync-status`, else `ntpq -pn` --


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


@parser(S.timesync, fact="timesync")
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


# What the daemon's view adds to node.time_sync (timedatectl adds its flags).
_DAEMON_KEYS = ("source", "synchronized", "offset_seconds", "stratum", "server", "leap")


@finalizer(order=0, builds="time_sync", reads=("timedatectl", "timesync"))
def time_sync(node: dict[str, Any], ctx: FinalizeContext) -> None:
    """node.time_sync: `{timezone, ntp_enabled, ntp_synchronized, can_ntp}` from timedatectl
    and `{source, synchronized, offset_seconds, stratum, server, leap}` from the time daemon,
    each group present only when its artifact was parsed (so a rule that needs the daemon's
    offset cannot be evaluated on a node without it, rather than reading null), and
    `sources`: the artifacts it was built from."""
    out: dict[str, Any] = {}
    sources: list[str] = []
    shown = node.get("timedatectl")
    if isinstance(shown, dict):
        out.update({"timezone": shown.get("Timezone") or None, "ntp_enabled": _yes_no(shown.get("NTP")),
                    "ntp_synchronized": _yes_no(shown.get("NTPSynchronized")), "can_ntp": _yes_no(shown.get("CanNTP"))})
        sources.append("timedatectl")
    daemon = node.get("timesync")
    if isinstance(daemon, dict):
        out.update({key: daemon.get(key) for key in _DAEMON_KEYS})
        sources.append("timesync")
    if sources:
        out["sources"] = sources
        node["time_sync"] = out
    else:
        node.pop("time_sync", None)   # node.json may not set it (reserved)
