"""Compressed members (rotated logs: .gz, .bz2, .xz): which codec, and inflating in bounded pieces.

Shared by redaction (redactor.py decompresses a rotated log to redact it and compresses it again)
and by verify's scanner (secretscan.py). Every decompress call is capped at STEP bytes of output,
so a bomb (one 1 MiB chunk of gzip that inflates to 1 GiB) never lands in memory at once; the
callers cap the total. Concatenated members (`gzip -c a b > c.gz`, pigz, logrotate appends) are
one stream.
"""
from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Any, Iterator

STEP = 1 << 20
_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00"}


def compression(head: bytes) -> str | None:
    """The codec of a member from its first bytes; zstd and zip are named but not inflated
    (no standard-library decoder)."""
    if head.startswith(_MAGIC["gzip"]):
        return "gzip"
    if head.startswith(_MAGIC["bzip2"]) and head[3:4].isdigit():
        return "bzip2"
    if head.startswith(_MAGIC["xz"]):
        return "xz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _decompressor(codec: str) -> Any:
    if codec == "gzip":
        return zlib.decompressobj(wbits=31)
    if codec == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


def inflate(codec: str, stream: Iterator[bytes]) -> Iterator[bytes]:
    """Decompressed pieces of at most STEP bytes each. Raises EOFError when the input ends inside
    a compressed member, and zlib.error, OSError or lzma.LZMAError on damaged data."""
    if codec not in _MAGIC:
        raise ValueError(f"cannot inflate {codec}")
    dec = _decompressor(codec)
    for chunk in stream:
        data = chunk
        while data or (codec != "gzip" and not dec.eof and not dec.needs_input):
            out = dec.decompress(data, STEP)
            # zlib hands back the input it did not use; bz2 and lzma keep it inside
            data = dec.unconsumed_tail if codec == "gzip" else b""
            if out:
                yield out
            if dec.eof:
                rest = dec.unused_data
                if not rest.startswith(_MAGIC[codec]):
                    return          # the last member ended; trailing bytes are not ours to read
                dec, data = _decompressor(codec), rest
    if not dec.eof:
        raise EOFError("the compressed stream ends early")
