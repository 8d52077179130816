"""Shared fixtures of the analyzer tests (reader/parsers/log index and engine).

`make_tar` builds real tarballs with tarfile, including members no honest writer produces
(links, devices, escaping paths), so that the reader is tested against the real format.
"""
from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Callable, Iterable, Union

import pytest

# (name, data) for a regular file; a TarInfo for anything else (its data, if any, must be empty)
TarEntry = Union[tuple[str, bytes], tarfile.TarInfo]


def write_tar(path: Path, entries: Iterable[TarEntry], *, gz: bool = True, fmt: int = tarfile.PAX_FORMAT) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w", format=fmt) as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def make_tar(tmp_path: Path) -> Callable[..., Path]:
    """make_tar(entries, name="b.tgz", gz=True) -> path of a real tarball."""

    def make(entries: Iterable[TarEntry], name: str = "bundle.tgz", **kw: object) -> Path:
        return write_tar(tmp_path / name, entries, **kw)  # type: ignore[arg-type]

    return make
