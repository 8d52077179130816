"""The time certificate and clock checks treat as "now".

A bundle is judged as of its collection, not as of its analysis: a certificate that expired
the day after collection was valid on the node the bundle describes. The collection time is
the manifest's `created_at`; when the manifest is missing, unreadable or has no usable
`created_at`, the checks fall back to the time of analysis, and the report says so
(analyzer/coverage.py, "What was checked").

Everything that compares against "now" reads it from here, through the bundle facts
`bundle.reference_time` (RFC 3339 UTC with `Z`, comparable as a string with the certificates'
`not_before`/`not_after`) and `bundle.reference_time_source` (`manifest` | `today`); the
certificates' `days_left` (parsers/kubernetes.py) is computed from the same value.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

SOURCES = ("manifest", "today")


def parse_rfc3339(value: Any) -> dt.datetime | None:
    """An RFC 3339 / ISO 8601 time as an aware datetime (naive times are read as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def format_utc(t: dt.datetime) -> str:
    """`2026-11-22T11:30:00Z`: second precision, UTC, the form the manifest and certs.json use."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def reference_time(manifest: dict[str, Any] | None,
                   today: dt.datetime | None = None) -> tuple[dt.datetime, str, str | None]:
    """(the time, its source `manifest` | `today`, why today was used: None, `no-manifest`
    or `no-created-at`). `today` is for tests; by default the current time."""
    created = parse_rfc3339((manifest or {}).get("created_at"))
    if created is not None:
        return created.astimezone(dt.timezone.utc), "manifest", None
    now = today or dt.datetime.now(dt.timezone.utc)
    return now, "today", ("no-manifest" if not manifest else "no-created-at")
