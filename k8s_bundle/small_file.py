"""Reading a small input file the user names (a rules file, an obfuscation map) safely.

`Path.read_bytes()` on /dev/zero reads until memory runs out, and on a FIFO it waits for a
writer forever. These files are small by nature, so only a regular file is read, opened
non-blocking (a FIFO does not hang the open), and no more than `cap` bytes of it.
"""
from __future__ import annotations

import os
import stat

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class SmallFileError(ValueError):
    """The file cannot be used; the message says why (without the file's name)."""


def read_small_file(path: str | os.PathLike[str], cap: int) -> bytes:
    """The whole of the regular file at `path` (links followed: the user named it), at most `cap`
    bytes; SmallFileError for a device, FIFO, socket or directory, or a file past the cap;
    OSError when it cannot be opened."""
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise SmallFileError("not a regular file (a device, FIFO, socket or directory)")
        data = fh.read(cap + 1)      # the size may grow while we read: the cap holds anyway
    if len(data) > cap:
        raise SmallFileError(f"larger than the {cap // (1 << 20)} MiB cap")
    return data
