"""What the Windows transports share: node paths <-> Windows paths, PowerShell quoting and
encoding (capping a chunk stream: collector/stream.py).

Node paths are POSIX-style with the drive letter as the first segment (`/C/k/config`) so that the
engine stores them as `files/C/k/config`; Windows sees `C:\\k\\config`.
"""
from __future__ import annotations

import base64
import re

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
