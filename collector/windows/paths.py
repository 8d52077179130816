"""What the Windows transports share: node paths <-> Windows paths, and capping a chunk stream.

Node paths are POSIX-style with the drive letter as the first segment (`/C/k/config`) so that the
engine stores them as `files/C/k/config`; Windows sees `C:\\k\\config`.
"""
from __future__ import annotations

import base64
import re
from typing import Iterable, Iterator

from k8s_bundle.collector.transports.base import Interrupted, KeyGuard, Stream

_NODE_PATH = re.compile(r"^/([A-Za-z])(/.*)?$")
_WIN_PATH = re.compile(r"^([A-Za-z]):[\\/]?(.*)$")


def to_windows(path: str) -> str:
    """'/C/k/config' -> 'C:\\k\\config' (a path already in Windows form is returned as is)."""
    m = _NODE_PATH.match(path)
    if not m:
        if _WIN_PATH.match(path):
            return path
        raise ValueError(f"not a Windows node path: {path!r} (expected /<drive>/...)")
    rest = (m.group(2) or "/").lstrip("/")
    return f"{m.group(1).upper()}:\\" + rest.replace("/", "\\")


def to_node(path: str) -> str:
    """'C:\\k\\config' -> '/C/k/config'."""
    m = _WIN_PATH.match(path)
    if not m:
        raise ValueError(f"not an absolute Windows path: {path!r}")
    rest = m.group(2).replace("\\", "/").strip("/")
    return f"/{m.group(1).upper()}" + (f"/{rest}" if rest else "")


def ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def encode_command(script: str) -> str:
    """powershell.exe -EncodedCommand takes base64 of the UTF-16LE script."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def cap_chunks(s: Stream, chunks: Iterable[bytes], cap: int, *, tail: bool = False,
               refuse_keys: bool = False, stop: object = None) -> Iterator[bytes]:
    """Apply the size cap to a chunk stream: head mode stops at the cap, tail mode keeps the
    newest `cap` bytes (a bounded buffer) and drops the partial first line. Sets
    `s.truncated` and `s.bytes_read`; raises PrivateKeyFound (the engine drops the item) when
    asked to refuse keys."""
    ring = bytearray()
    guard = KeyGuard(s, "private key") if refuse_keys else None
    dropped = False
    for chunk in chunks:
        if stop is not None and stop.is_set():  # type: ignore[attr-defined]
            raise Interrupted()
        if not chunk:
            continue
        if guard is not None:
            guard.check(chunk)
        if tail:
            ring += chunk
            if len(ring) > 2 * cap:
                del ring[: len(ring) - cap]
                dropped = True
            continue
        room = cap - s.bytes_read
        if len(chunk) > room:
            chunk = chunk[:room]
            s.truncated = True
        if chunk:
            s.bytes_read += len(chunk)
            yield chunk
        if s.truncated:
            return
    if tail:
        if len(ring) > cap:
            del ring[: len(ring) - cap]
            dropped = True
        if dropped:
            s.truncated = True
            nl = ring.find(b"\n")
            if nl >= 0:
                del ring[: nl + 1]
        s.bytes_read = len(ring)
        if ring:
            yield bytes(ring)
