"""The transport interface and the Stream every transport returns (docs/collector.md).

A transport only moves bytes: it runs a command or reads a file with a timeout and a cap and
hands the chunks back as they come. It never stores anything; the engine redacts every chunk
and gives it to the bundle writer.
"""
from __future__ import annotations

import os
import threading
from typing import Iterator, Protocol


class NotSupported(Exception):
    """The transport cannot do this (PowerShell on Linux, commands on a dead root, ...)."""


class Interrupted(Exception):
    """The run was asked to stop (SIGINT/SIGTERM) while this item was being read."""


class Stream:
    """An iterator of capped byte chunks; the outcome attributes are final once exhausted.

    Transports subclass this or pass a generator function that receives the Stream and sets
    the attributes as it learns them.
    """

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.timed_out = False
        self.truncated = False
        self.not_found = False
        self.permission_denied = False
        self.skipped_reason: str | None = None   # e.g. "not a regular file", "private key"
        self.stderr = b""
        self.note: str | None = None              # extra text for the manifest's error field
        self.bytes_read = 0

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks()

    def _chunks(self) -> Iterator[bytes]:  # pragma: no cover - overridden
        return iter(())


class GeneratorStream(Stream):
    def __init__(self, gen_func, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self._gen_func = gen_func
        self._args = args
        self._kwargs = kwargs

    def _chunks(self) -> Iterator[bytes]:
        return self._gen_func(self, *self._args, **self._kwargs)


class Transport(Protocol):
    name: str
    os: str
    live: bool
    root: str

    def run(self, argv: list[str], *, timeout: float, cap: int, tail: bool = False,
            stop: threading.Event) -> Stream: ...

    def run_powershell(self, script: str, *, timeout: float, cap: int,
                       stop: threading.Event) -> Stream: ...

    def read_file(self, path: str, *, cap: int, tail: bool, stop: threading.Event,
                  refuse_private_keys: bool = False) -> Stream: ...

    def glob(self, pattern: str) -> list[str]: ...

    def which(self, name: str) -> str | None: ...

    def stat(self, path: str) -> os.stat_result | None: ...

    def read_small(self, path: str, cap: int) -> bytes: ...

    def listdir(self, path: str) -> list[str]: ...

    def readlink(self, path: str) -> str | None: ...


class PrivateKeyFound(Exception):
    """A file about to be stored holds a private key; it is dropped, never stored (raised by
    collector/stream.py's KeyGuard, which every transport's file reader runs)."""
