"""What every transport does to the bytes it streams: the size cap, the tail ring, the partial
first line of a read that starts mid-file, and the private-key guard. One implementation for
the local Linux, SSH, local PowerShell and PSRP transports (collector/transports/).

- head: the first `cap` bytes; the stream is marked truncated when more came (`keep_head`);
- tail: the newest `cap` bytes, held as a bounded queue of chunks (`TailRing`), without the
  partial first line when anything in front was dropped;
- a read that starts mid-file (a tail read that seeked) drops its partial first line, across
  chunks (`PartialLine`);
- `KeyGuard` refuses a stream as soon as a PEM private-key header appears, even split across
  chunks, before a byte of it reaches the redactor or the writer.

`cap_chunks` puts them together over any iterator of chunks.
"""
from __future__ import annotations

import collections
from typing import Iterable, Iterator

from k8s_bundle.collector.transports.base import Interrupted, PrivateKeyFound, Stream

# The tail of every PEM private-key header ("-----BEGIN ... PRIVATE KEY-----").
PRIVATE_KEY_MARK = b"PRIVATE KEY-----"


class KeyGuard:
    """Refuses a stream as soon as a private-key header appears, even split across chunks.

    Every transport's file reader checks each chunk before yielding it, so a key never reaches
    the redactor or the writer (redaction is the second line of defence).
    """

    def __init__(self, stream: Stream, what: str) -> None:
        self._stream = stream
        self._what = what
        self._carry = b""

    def check(self, chunk: bytes) -> None:
        if PRIVATE_KEY_MARK in self._carry + chunk:
            self._stream.skipped_reason = "holds a private key: never collected"
            raise PrivateKeyFound(self._what)
        self._carry = chunk[-len(PRIVATE_KEY_MARK):]


def keep_head(s: Stream, chunk: bytes, cap: int) -> bytes:
    """The part of `chunk` that fits below the cap; counts it in `s.bytes_read` and marks
    `s.truncated` when some of it did not fit."""
    room = cap - s.bytes_read
    if len(chunk) > room:
        chunk = chunk[:max(room, 0)]
        s.truncated = True
    s.bytes_read += len(chunk)
    return chunk


class PartialLine:
    """Drops everything up to and including the first newline of a stream that starts
    mid-file; a chunk without a newline is dropped whole and the next one is looked at."""

    def __init__(self) -> None:
        self.done = False

    def cut(self, chunk: bytes) -> bytes:
        if self.done:
            return chunk
        nl = chunk.find(b"\n")
        if nl < 0:
            return b""
        self.done = True
        return chunk[nl + 1:]


class TailRing:
    """The newest `cap` bytes of a stream, held as a queue of chunks (no big copies)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.dropped = False

    def add(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        while self.size - len(self.chunks[0]) >= self.cap:
            self.size -= len(self.chunks.popleft())
            self.dropped = True
        if self.size > self.cap:               # trim the oldest chunk to the cap exactly
            extra = self.size - self.cap
            self.chunks[0] = self.chunks[0][extra:]
            self.size -= extra
            self.dropped = True

    def cut_partial_first_line(self) -> None:
        partial = PartialLine()
        kept = (partial.cut(c) for c in self.chunks)
        self.chunks = collections.deque(c for c in kept if c)
        self.size = sum(len(c) for c in self.chunks)

    def cut_partial_last_line(self) -> None:
        while self.chunks:
            nl = self.chunks[-1].rfind(b"\n")
            if nl >= 0:
                self.size -= len(self.chunks[-1]) - nl - 1
                self.chunks[-1] = self.chunks[-1][: nl + 1]
                return
            self.size -= len(self.chunks.pop())

    def finish(self, s: Stream) -> Iterator[bytes]:
        """The kept bytes; `s` marked truncated (and the partial first line dropped) when
        anything in front was dropped."""
        if self.dropped:
            s.truncated = True
            self.cut_partial_first_line()
        s.bytes_read = self.size
        yield from self.chunks


def cap_chunks(s: Stream, chunks: Iterable[bytes], cap: int, *, tail: bool = False,
               from_middle: bool = False, refuse_keys: bool = False, what: str = "private key",
               stop: object = None) -> Iterator[bytes]:
    """Apply the cap to a chunk stream: head mode stops at the cap, tail mode keeps the newest
    `cap` bytes. `from_middle`: the stream starts mid-file, its partial first line is dropped.
    Sets `s.truncated` and `s.bytes_read`; raises PrivateKeyFound (the engine drops the item)
    when asked to refuse keys, and Interrupted when `stop` is set."""
    guard = KeyGuard(s, what) if refuse_keys else None
    partial = PartialLine() if from_middle else None
    ring = TailRing(cap) if tail else None
    for chunk in chunks:
        if stop is not None and stop.is_set():  # type: ignore[attr-defined]
            raise Interrupted()
        if partial is not None:
            chunk = partial.cut(chunk)
        if not chunk:
            continue
        if guard is not None:
            guard.check(chunk)
        if ring is not None:
            ring.add(chunk)
            continue
        kept = keep_head(s, chunk, cap)
        if kept:
            yield kept
        if len(kept) < len(chunk):
            return
    if ring is not None:
        yield from ring.finish(s)
