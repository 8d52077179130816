"""Clock synchronisation from `timedatectl show` (the rule pack's `clock-not-synchronized`).

`timedatectl show` prints key=value lines (`NTP=yes`, `NTPSynchronized=no`, `Timezone=...`).
No other parser reads this command; certificates and etcd both depend on a sane clock, and
offline sites often have no time source at all.
"""
from __future__ import annotations

from typing import Any

from k8s_bundle.analyzer.parsers import parser


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"yes": True, "no": False}.get(value.strip().lower())


@parser("commands/timedatectl.txt", fact="time_sync")
def parse_timedatectl(text: str) -> dict[str, Any]:
    pairs = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if not pairs:
        raise ValueError("no key=value lines (expected `timedatectl show` output)")
    return {
        "timezone": pairs.get("Timezone") or None,
        "ntp_enabled": _yes_no(pairs.get("NTP")),
        "ntp_synchronized": _yes_no(pairs.get("NTPSynchronized")),
        "can_ntp": _yes_no(pairs.get("CanNTP")),
    }
