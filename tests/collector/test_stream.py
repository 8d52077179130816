"""collector/stream.py: the cap, the tail ring, the partial first line and the private-key
guard that every transport applies (their own tests read real files and run real commands;
these pin the shared rules on chunk boundaries, where the transports used to differ)."""
from __future__ import annotations

import threading

import pytest

from k8s_bundle.collector.stream import TailRing, cap_chunks
from k8s_bundle.collector.transports.base import Interrupted, PrivateKeyFound, Stream


def _run(chunks: list[bytes], cap: int, **kw: object) -> tuple[bytes, Stream]:
    s = Stream()
    return b"".join(cap_chunks(s, iter(chunks), cap, **kw)), s  # type: ignore[arg-type]


def test_head_keeps_the_first_cap_bytes() -> None:
    data, s = _run([b"abc", b"defg", b"hij"], 5)
    assert data == b"abcde" and s.truncated and s.bytes_read == 5
    data, s = _run([b"abc", b"de"], 5)            # exactly the cap: nothing was cut
    assert data == b"abcde" and not s.truncated and s.bytes_read == 5


def test_head_stops_reading_at_the_cap() -> None:
    read = []

    def chunks():
        for c in (b"aaaa", b"bbbb", b"cccc", b"dddd"):
            read.append(c)
            yield c

    s = Stream()
    assert b"".join(cap_chunks(s, chunks(), 6)) == b"aaaabb"
    assert read == [b"aaaa", b"bbbb"]             # a producer past the cap is not drained


def test_tail_keeps_the_newest_whole_lines() -> None:
    lines = [b"line %03d\n" % i for i in range(100)]   # 9 bytes each
    data, s = _run(lines, 50, tail=True)
    assert data == b"".join(lines[-5:]) and s.truncated and s.bytes_read == 45
    data, s = _run(lines[:3], 50, tail=True)       # all of it fits: nothing dropped
    assert data == b"".join(lines[:3]) and not s.truncated


def test_a_tail_window_inside_one_long_line_keeps_nothing() -> None:
    data, s = _run([b"x" * 40, b"y" * 40], 50, tail=True)
    assert data == b"" and s.truncated and s.bytes_read == 0


def test_from_middle_drops_a_partial_line_spread_over_chunks() -> None:
    # a tail read that seeked: the first line is partial and longer than a chunk
    chunks = [b"tail of a ", b"long line ", b"that ends\nline 1\n", b"line 2\n"]
    data, s = _run(chunks, 1000, from_middle=True)
    assert data == b"line 1\nline 2\n" and s.bytes_read == len(data)


def test_a_private_key_header_split_across_chunks_is_refused() -> None:
    s = Stream()
    chunks = [b"apiVersion: v1\n-----BEGIN RSA PRI", b"VATE KEY-----\nMIIE\n"]
    with pytest.raises(PrivateKeyFound):
        b"".join(cap_chunks(s, iter(chunks), 1000, refuse_keys=True))
    assert s.skipped_reason == "holds a private key: never collected"
    # the same bytes without the guard pass (a key in a log is redaction's to handle)
    assert _run(chunks, 1000)[0] == b"".join(chunks)


def test_a_stop_interrupts_the_stream() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted):
        _run([b"a"], 10, stop=stop)


def test_ring_trims_the_oldest_chunk_to_the_cap() -> None:
    ring = TailRing(10)
    for c in (b"0123456", b"789ab", b"cdef"):
        ring.add(c)
    assert b"".join(ring.chunks) == b"6789abcdef" and ring.size == 10 and ring.dropped
