"""Write hostile bundles without writing their bulk: a tarball as concatenated gzip members.

A gzip file may hold several members one after another (RFC 1952, section 2.2); every reader
(gzip, tar, ours) inflates them as one stream. So a member of 2 GiB of `a\\n` is one 8 MiB
block compressed once and written 256 times: a 2 MB file on disk, generated in a second, that
inflates to exactly what an attacker would send.

Headers come from the standard library (`TarInfo.tobuf`), or are written by hand where the
attack is a header no honest writer produces (negative sizes, sparse maps).
"""
from __future__ import annotations

import gzip
import tarfile
from pathlib import Path
from typing import Any

import orjson

from k8s_bundle.bundle.layout import FORMAT_VERSION
from k8s_bundle import __version__

TOP = "k8s-bundle-hostile-20261201T000000Z"
CREATED_AT = "2026-12-01T00:00:00Z"
BLOCK = 512
UNIT = 8 * 1024 * 1024


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def node_json(name: str = "n1") -> dict[str, Any]:
    return {
        "name": name, "hostname": name, "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
        "kernel": "5.15.0-105-generic", "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0,
        "cpus": 4, "memory_bytes": 8254720000,
        "versions": {"kubelet": "v1.29.3", "kubeadm": "v1.29.3", "containerd": "1.7.13"},
        "roles": ["worker"], "runtime": "containerd", "init": "systemd",
    }


def manifest(nodes: list[Any] | None = None, items: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format_version": FORMAT_VERSION, "tool": {"name": "k8s-bundle", "version": __version__},
        "created_at": CREATED_AT, "finished_at": CREATED_AT, "partial": False, "partial_reason": None,
        "collection": {"argv": ["collect"], "since": "72h", "root": "/", "user": "root", "is_root": True},
        "nodes": [{"name": "n1", "os": "linux", "transport": "local", "timezone": "UTC", "utc_offset_seconds": 0}]
        if nodes is None else nodes,
        "items": items or [],
    }
    out.update(extra)
    return out


class TarStream:
    """A .tgz written member by member; `top` is prefixed to every relative name."""

    def __init__(self, path: Path, top: str | None = TOP) -> None:
        self.path = path
        self.top = top
        self._out = open(path, "wb")  # noqa: SIM115 - closed in close()

    def _name(self, name: str) -> str:
        return f"{self.top}/{name}" if self.top and not name.startswith("/") else name

    def raw(self, data: bytes) -> None:
        """Bytes of the tar stream as they are (headers written by hand)."""
        self._out.write(_gz(data))

    def header(self, name: str, size: int, *, typ: bytes = tarfile.REGTYPE,
               pax: dict[str, str] | None = None, fmt: int = tarfile.PAX_FORMAT) -> None:
        """A header; `fmt=tarfile.GNU_FORMAT` stores a name's surrogate escapes as raw bytes."""
        info = tarfile.TarInfo(self._name(name))
        info.size, info.type, info.mtime = size, typ, 1764547200
        info.mode = 0o755 if typ == tarfile.DIRTYPE else 0o644
        if pax:
            info.pax_headers = pax
        self.raw(info.tobuf(format=fmt, encoding="utf-8", errors="surrogateescape"))

    def file(self, name: str, data: bytes, fmt: int = tarfile.PAX_FORMAT) -> None:
        self.header(name, len(data), fmt=fmt)
        self.raw(data + b"\0" * (-len(data) % BLOCK))

    def json(self, name: str, value: Any) -> None:
        self.file(name, orjson.dumps(value))

    def directory(self, name: str) -> None:
        self.header(name.rstrip("/") + "/", 0, typ=tarfile.DIRTYPE)

    def repeated(self, name: str, head: bytes, unit: bytes, repeats: int, tail: bytes = b"") -> None:
        """A member of `head`, then `unit` `repeats` times, then `tail`: compressed once."""
        size = len(head) + len(unit) * repeats + len(tail)
        self.header(name, size)
        self.raw(head)
        packed = _gz(unit)
        for _ in range(repeats):
            self._out.write(packed)
        self.raw(tail + b"\0" * (-size % BLOCK))

    def sparse(self, name: str, data: bytes, real_size: int) -> None:
        """A GNU sparse 1.0 member (PAX): `data` at offset 0, then holes up to `real_size`.

        The format GNU tar writes with `--sparse --format=posix`: the PAX header names the real
        file and size, the member's data starts with the map (count, then offset/size pairs, one
        number a line, padded to a block) followed by the data blocks.
        """
        sparse_map = f"1\n0\n{len(data)}\n".encode()
        sparse_map += b"\0" * (-len(sparse_map) % BLOCK)
        body = sparse_map + data + b"\0" * (-len(data) % BLOCK)
        folder, _, base = name.rpartition("/")
        self.header(f"{folder}/GNUSparseFile.0/{base}" if folder else f"GNUSparseFile.0/{base}", len(body), pax={
            "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": self._name(name),
            "GNU.sparse.realsize": str(real_size),
        })
        self.raw(body)

    def close(self) -> Path:
        self.raw(b"\0" * (2 * BLOCK))
        self._out.close()
        return self.path

    def __enter__(self) -> "TarStream":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._out.closed:
            self.close()


def bare_header(name: str, size_field: bytes) -> bytes:
    """A ustar header whose size field holds `size_field` as given (for absurd values)."""
    buf = bytearray(tarfile.TarInfo(name).tobuf(format=tarfile.USTAR_FORMAT))
    buf[124:136] = size_field.ljust(12, b"\0")[:12]
    buf[148:156] = b" " * 8
    buf[148:156] = b"%06o\0 " % sum(buf)
    return bytes(buf)
