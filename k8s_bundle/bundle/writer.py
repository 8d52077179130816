"""The one way bundles are written (collector, `redact`, samples, rule fixtures, tests).

A bundle is a gzip tar whose members live under one top directory (docs/bundle-format.md).
The archive is written to a fresh hidden part beside the output (k8s_bundle/safe_output.py:
created with O_EXCL|O_NOFOLLOW, locked while we live, removed by the next run if we are killed)
and renamed into place by `finish()`, so a reader never sees a half-written bundle under the
final name and no link planted there is followed; leaving the `with` block without `finish()`
removes the part.

Only data that has already been redacted may be handed to the writer: `add_stream` spools to
memory first and to an anonymous temporary file past `spool_bytes`, and that is safe only
because the bytes are redacted.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import orjson

from k8s_bundle.bundle.layout import MANIFEST_NAME, REDACTION_NAME

if TYPE_CHECKING:
    from k8s_bundle.bundle.manifest import Manifest
from k8s_bundle.safe_output import PartFile, check_output, output_error



@dataclass(frozen=True)
class StoredMember:
    path: str
    bytes: int
    sha256: str


class BundleWriter:
    def __init__(
        self,
        output: str | os.PathLike[str],
        top_dir: str,
        *,
        overwrite: bool = False,
        compresslevel: int = 6,
        spool_bytes: int = 8 * 1024 * 1024,
        mtime: int | None = None,
    ) -> None:
        if "/" in top_dir or top_dir in ("", ".", ".."):
            raise ValueError(f"bad top directory name {top_dir!r}")
        # One-line UserError (exit 4) for a missing directory, a directory at the output's
        # name, an unwritable place, or an existing output without `overwrite`.
        self.output = check_output(output, force=overwrite)
        self.top_dir = top_dir
        self._spool_bytes = spool_bytes
        self._lock = threading.Lock()
        self._names: set[str] = set()
        self._claimed: dict[str, str] = {}
        self._closed = False
        self._mtime = int(time.time()) if mtime is None else int(mtime)
        self._gz: gzip.GzipFile | None = None
        self._part = PartFile(self.output)     # raises the one-line error itself
        self._raw = self._part.file
        self.part_path = self._part.path
        try:
            # No file name in the gzip header (it would be the hidden part's name); a fixed
            # mtime (samples, fixtures) also fixes the header, so rebuilding gives
            # byte-identical archives.
            self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=compresslevel,
                                     mtime=None if mtime is None else self._mtime)
            self._tar = tarfile.open(fileobj=self._gz, mode="w", format=tarfile.PAX_FORMAT)
        except OSError as exc:
            self._cleanup()
            raise output_error(exc, self.output) from None
        except BaseException:   # Ctrl-C before the caller's `with` began: no part is left
            self._cleanup()
            raise

    # -- adding members -------------------------------------------------------------------
    def add_bytes(self, path: str, data: bytes) -> StoredMember:
        digest = hashlib.sha256(data).hexdigest()
        self._add(path, io.BytesIO(data), len(data))
        return StoredMember(path, len(data), digest)

    def add_text(self, path: str, text: str) -> StoredMember:
        return self.add_bytes(path, text.encode("utf-8"))

    def add_json(self, path: str, value: Any) -> StoredMember:
        return self.add_bytes(path, orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))

    def add_stream(self, path: str, chunks: Iterable[bytes]) -> StoredMember:
        """Store already-redacted chunks; size need not be known in advance."""
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=self._spool_bytes) as spool:
            for chunk in chunks:
                if chunk:
                    spool.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            spool.seek(0)
            self._add(path, spool, size)
        return StoredMember(path, size, digest.hexdigest())

    def claim(self, path: str, owner: str) -> str:
        """Reserve a member name for `owner`; returns who holds it (the caller's own name when it
        got it, or already had it). Hosts collected in parallel that would store the same
        bundle-level member (cluster/ objects) ask first: one of them stores it."""
        rel = _check_member_path(path)
        with self._lock:
            holder = self._claimed.setdefault(rel, owner if rel not in self._names else "")
            return holder

    def has(self, path: str) -> bool:
        return _check_member_path(path) in self._names

    def _add(self, path: str, fileobj: Any, size: int) -> None:
        rel = _check_member_path(path)
        info = tarfile.TarInfo(f"{self.top_dir}/{rel}")
        info.size = size
        info.mode = 0o644
        info.mtime = self._mtime
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        with self._lock:
            if self._closed:
                raise RuntimeError("bundle already finished")
            if rel in self._names:
                raise ValueError(f"duplicate bundle member {rel}")
            try:
                self._tar.addfile(info, fileobj)
            except OSError as exc:
                self._closed = True
                self._cleanup()
                raise output_error(exc, self.output) from None
            self._names.add(rel)

    # -- finishing --------------------------------------------------------------------------
    def finish(self, manifest: "Manifest | dict[str, Any]", redaction: dict[str, Any] | None = None) -> Path:
        """Write redaction.json and manifest.json last, flush, and rename into place."""
        if not isinstance(manifest, dict):
            manifest = manifest.to_dict()
        if redaction is not None:
            self.add_json(REDACTION_NAME, redaction)
        self.add_json(MANIFEST_NAME, manifest)
        with self._lock:
            self._closed = True
            try:
                self._tar.close()
                if self._gz is not None:
                    self._gz.close()
            except OSError as exc:
                self._cleanup()
                raise output_error(exc, self.output) from None
            self._part.commit()                # fsync, rename; cleans up and raises on failure
        return self.output

    def abort(self) -> None:
        with self._lock:
            self._closed = True
            self._cleanup()

    def _cleanup(self) -> None:
        """Close and remove the part; never raises (the first error is the one reported)."""
        for closer in (getattr(self, "_tar", None), getattr(self, "_gz", None)):
            try:
                if closer is not None:
                    closer.close()
            except Exception:  # noqa: BLE001 - best effort while failing already
                pass
        self._part.discard()

    def __enter__(self) -> "BundleWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._closed:
            self.abort()


def _check_member_path(path: str) -> str:
    rel = path.replace("\\", "/").lstrip("/")
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad bundle member path {path!r}")
    return rel
