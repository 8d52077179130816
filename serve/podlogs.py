"""Logs read from the bundle on request and streamed out: `kubectl logs` options applied.

A log member is found again by reading the bundle forward to it (`open_bundle`: the same
hostile-input checks as the analyzer); its bytes are never written to disk nor held whole.
`--tail N` keeps a ring of the last N lines (and at most TAIL_BYTES of them), so a huge log
costs time, not memory. `--since`/`--since-time` compare each line's own time: CRI and docker
json-file lines, journal `short-iso-precise`, klog (the year taken from the collection time),
Windows event log JSON lines; a line without a time (a stack trace) goes with the line before.
"""
from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator

from k8s_bundle.bundle.reader import open_bundle
from k8s_bundle.serve.loader import LogSource, parse_time

MAX_LINE = 1024 * 1024          # a longer line is cut there (the rest up to its newline is skipped)
TAIL_BYTES = 64 * 1024 * 1024   # what a --tail ring may hold in all
_CHUNK = 1024 * 1024
_ISO = re.compile(rb"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s")
_KLOG = re.compile(rb"^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\s")


@dataclass(frozen=True)
class LogOptions:
    tail: int | None = None
    since: datetime | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


class MemberGone(Exception):
    """The member was indexed at start but is not in the bundle any more (the file changed)."""

    def __str__(self) -> str:
        return f"{self.args[0]} is no longer in the bundle"


def member_chunks(src: LogSource) -> Iterator[bytes]:
    """The bytes of one member, read forward through its bundle."""
    reader = open_bundle(src.bundle)
    for member in reader:
        if member.path == src.member:
            yield from member.chunks(_CHUNK)
            return
    raise MemberGone(src.member)


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines without their newline; a line past MAX_LINE is cut there."""
    buf = b""
    skipping = False
    for chunk in chunks:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl == -1:
                if not skipping:
                    buf += chunk[start:]
                    if len(buf) > MAX_LINE:
                        yield buf[:MAX_LINE]
                        buf, skipping = b"", True
                break
            if skipping:
                skipping = False
            else:
                yield (buf + chunk[start:nl])[:MAX_LINE]
            buf = b""
            start = nl + 1
    if buf and not skipping:
        yield buf


def _fmt_time(t: datetime) -> bytes:
    """RFC 3339 with nanoseconds in UTC, as the API server writes `--timestamps`."""
    return t.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds").encode() + b"000Z"


def _time(text: str) -> datetime | None:
    """A log line's time: datetime.fromisoformat first (about 10x faster than parse_time's
    regex, and it takes Z, offsets and up to nanoseconds); no offset means UTC."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return parse_time(text)
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def _pod_lines(lines: Iterable[bytes], timed: bool) -> Iterator[tuple[datetime | None, bytes, bytes]]:
    """(time, time as written, message) of CRI lines (`TIME STREAM P|F MESSAGE`, partial lines
    joined) and docker json-file lines (`{"log": ..., "time": ...}`)."""
    partial = b""
    for line in lines:
        if line.startswith(b"{"):
            try:
                doc = json.loads(line)
                msg = str(doc.get("log", "")).encode("utf-8", "replace")
                stamp = str(doc.get("time", ""))
                yield _time(stamp) if timed else None, stamp.encode(), msg[:-1] if msg.endswith(b"\n") else msg
                continue
            except (ValueError, AttributeError):
                pass
        parts = line.split(b" ", 3)
        if len(parts) >= 3 and parts[1] in (b"stdout", b"stderr") and parts[2][:1] in (b"P", b"F"):
            msg = parts[3] if len(parts) == 4 else b""
            if parts[2].startswith(b"P"):
                partial += msg
                continue
            t = _time(parts[0].decode("ascii", "replace")) if timed else None
            yield t, parts[0], partial + msg
            partial = b""
        else:
            yield None, b"", line
    if partial:
        yield None, b"", partial


def _text_lines(lines: Iterable[bytes], year: int, timed: bool) -> Iterator[tuple[datetime | None, bytes, bytes]]:
    for line in lines:
        t: datetime | None = None
        if not timed:       # neither --since nor --timestamps: no need to read the times
            yield None, b"", line
            continue
        m = _ISO.match(line)
        if m:
            t = _time(m.group(1).decode())
        else:
            k = _KLOG.match(line)
            if k:
                mo, d, h, mi, s, frac = k.groups()
                try:
                    t = datetime(year, int(mo), int(d), int(h), int(mi), int(s),
                                 int((frac or b"0").ljust(6, b"0")), tzinfo=timezone.utc)
                except ValueError:
                    t = None
            elif line.startswith(b'{"') and b"TimeCreated" in line[:200]:
                try:
                    t = parse_time(json.loads(line).get("TimeCreated"))
                except (ValueError, AttributeError):
                    t = None
        yield t, b"", line          # the time is written out only for --timestamps (kept())


Entry = tuple[datetime | None, bytes, bytes]      # (time, time as written, message)


def stream(sources: list[LogSource], opts: LogOptions, year: int) -> Iterator[bytes]:
    """The log as `kubectl logs` shows it, in pieces, the sources one after the other."""
    timed = opts.since is not None or opts.timestamps

    def entries() -> Iterator[Entry]:
        for src in sources:
            lines = _lines(member_chunks(src))
            yield from _pod_lines(lines, timed) if src.fmt == "pod" else _text_lines(lines, year, timed)

    def kept() -> Iterator[Entry]:
        keep = opts.since is None
        for entry in entries():
            if opts.since is not None and entry[0] is not None:
                keep = entry[0] >= opts.since
            if keep:
                yield entry

    out: Iterable[Entry] = kept()
    if opts.tail is not None:
        out = _tail(out, opts.tail)      # before the times are written out: only N lines need it
    left = opts.limit_bytes
    pending: list[bytes] = []
    size = 0
    for t, stamp, msg in out:
        if opts.timestamps:
            if not stamp and t is not None:
                stamp = _fmt_time(t)
            if stamp:
                msg = stamp + b" " + msg
        line = msg + b"\n"
        if left is not None:
            if left <= 0:
                break
            line = line[:left]
            left -= len(line)
        pending.append(line)
        size += len(line)
        if size >= 64 * 1024:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def _tail(entries: Iterable[Entry], n: int) -> list[Entry]:
    """The last `n` entries, holding at most TAIL_BYTES of messages while reading."""
    if n <= 0:
        for _ in entries:
            pass
        return []
    ring: deque[Entry] = deque(maxlen=n)
    held = 0
    for entry in entries:
        if len(ring) == n:
            held -= len(ring[0][2])
        ring.append(entry)
        held += len(entry[2])
        while held > TAIL_BYTES and len(ring) > 1:
            held -= len(ring.popleft()[2])
    return list(ring)
