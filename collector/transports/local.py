"""The local Linux transport: subprocesses with a timeout and a cap, files below a root.

Commands get no shell, no stdin and their own process group, so a timeout kills the command
and anything it started. Files are opened non-blocking and only read when they are regular
files, up to the size seen at open time, so a FIFO or a file that grows while read cannot keep
the collector busy. With a --root other than "/", symlinks are resolved inside that root.
"""
from __future__ import annotations

import errno
import glob as globmod
import os
import selectors
import shutil
import signal
import stat
import subprocess
import threading
import time
from typing import Iterator

from k8s_bundle.collector.stream import TailRing, cap_chunks, keep_head
from k8s_bundle.collector.transports.base import GeneratorStream, Interrupted, NotSupported, Stream

CHUNK = 256 * 1024
STDERR_KEEP = 4096
# A tail stream whose producer ignores its own limits (journalctl without -n) is cut off after
# this many times the cap (at least TAIL_READ_MIN bytes): the newest part of what was read is
# kept and marked truncated.
TAIL_READ_FACTOR = 8
TAIL_READ_MIN = 64 * 1024 * 1024
# Where binaries live on a dead root (no PATH to inherit from it).
ROOT_BIN_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
                 "/opt/bin", "/var/lib/rancher/rke2/bin")


def command_env() -> dict[str, str]:
    """The inherited environment (PATH included: tests prepend their fake binaries) made
    predictable: no pager, no colours, UTF-8 so journalctl keeps Chinese text."""
    env = dict(os.environ)
    env.update({"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "PAGER": "cat",
                "SYSTEMD_COLORS": "0", "NO_COLOR": "1", "TERM": "dumb"})
    return env


class LocalTransport:
    name = "local"
    os = "linux"

    def __init__(self, root: str = "/", live: bool = True) -> None:
        self.root = os.path.abspath(root)
        self.live = live
        self._env = command_env()

    # -- paths ----------------------------------------------------------------------------
    def host_path(self, path: str) -> str | None:
        """Where a node path lives on this machine; symlinks never leave the root."""
        if self.root == "/":
            return path
        return resolve_in_root(self.root, path)

    def stat(self, path: str) -> os.stat_result | None:
        host = self.host_path(path)
        if host is None:
            return None
        try:
            return os.stat(host)
        except OSError:
            return None

    def glob(self, pattern: str) -> list[str]:
        if self.root == "/":
            return sorted(globmod.glob(pattern))
        found = globmod.glob(self.root + pattern)
        return sorted(p[len(self.root):] for p in found)

    def listdir(self, path: str) -> list[str]:
        host = self.host_path(path)
        try:
            return sorted(os.listdir(host)) if host else []
        except OSError:
            return []

    def readlink(self, path: str) -> str | None:
        host = path if self.root == "/" else self.root + path
        try:
            return os.readlink(host)
        except OSError:
            return None

    def which(self, name: str) -> str | None:
        if self.live:
            return shutil.which(name, path=self._env.get("PATH"))
        for d in ROOT_BIN_DIRS:
            st = self.stat(f"{d}/{name}")
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
                return f"{d}/{name}"
        return None

    def read_small(self, path: str, cap: int) -> bytes:
        """A whole small file (derived items); raises OSError like open()."""
        host = self.host_path(path)
        if host is None:
            raise FileNotFoundError(errno.ENOENT, "not found", path)
        fd = os.open(host, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            with os.fdopen(fd, "rb", closefd=False) as f:
                return f.read(cap)
        finally:
            os.close(fd)

    # -- files ------------------------------------------------------------------------------
    def read_file(self, path: str, *, cap: int, tail: bool, stop: threading.Event,
                  refuse_private_keys: bool = False) -> Stream:
        return GeneratorStream(self._read_file, path, cap, tail, stop, refuse_private_keys)

    def _read_file(self, s: Stream, path: str, cap: int, tail: bool, stop: threading.Event,
                   refuse_keys: bool) -> Iterator[bytes]:
        host = self.host_path(path)
        if host is None:
            s.not_found = True
            return
        try:
            fd = os.open(host, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except FileNotFoundError:
            s.not_found = True
            return
        except PermissionError:
            s.permission_denied = True
            return
        except OSError as exc:
            s.skipped_reason = f"cannot open: {exc.strerror}"
            return
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                s.skipped_reason = "not a regular file"
                return
            size = st.st_size
            # Read no further than the size seen at open: a growing file cannot hold us.
            # procfs/sysfs files report 0 and are read to EOF (up to the cap: one byte more
            # tells the cap it was passed).
            start = 0
            if size == 0:
                remaining = cap + 1
            elif tail and size > cap:
                start, remaining = size - cap, cap
                os.lseek(fd, start, os.SEEK_SET)
            else:
                remaining = min(size, cap)

            def chunks() -> Iterator[bytes]:
                left = remaining
                while left > 0:
                    if stop.is_set():
                        raise Interrupted()
                    try:
                        chunk = os.read(fd, min(CHUNK, left))
                    except BlockingIOError:
                        time.sleep(0.01)
                        continue
                    if not chunk:
                        return
                    left -= len(chunk)
                    yield chunk

            # started mid-file (tail): the partial first line is dropped
            yield from cap_chunks(s, chunks(), cap, from_middle=bool(start), refuse_keys=refuse_keys,
                                  what=path, stop=stop)
            if size > cap:
                s.truncated = True
        finally:
            os.close(fd)

    # -- commands ---------------------------------------------------------------------------
    def run(self, argv: list[str], *, timeout: float, cap: int, tail: bool = False,
            stop: threading.Event, allow_dead_root: bool = False) -> Stream:
        # allow_dead_root: a local tool reading the mounted root's files (journalctl -D).
        if not self.live and not allow_dead_root:
            raise NotSupported("--root: not the running node")
        return GeneratorStream(self._run, list(argv), timeout, cap, tail, stop)

    def run_powershell(self, script: str, *, timeout: float, cap: int,
                       stop: threading.Event) -> Stream:
        raise NotSupported("PowerShell: not on this OS")

    def _run(self, s: Stream, argv: list[str], timeout: float, cap: int, tail: bool,
             stop: threading.Event) -> Iterator[bytes]:
        exe = shutil.which(argv[0], path=self._env.get("PATH")) if "/" not in argv[0] else argv[0]
        if exe is None:
            s.not_found = True
            return
        try:
            proc = subprocess.Popen(
                [exe, *argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True, close_fds=True, env=self._env,
                cwd="/",
            )
        except FileNotFoundError:
            s.not_found = True
            return
        except PermissionError:
            s.permission_denied = True
            return
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        assert proc.stdout is not None and proc.stderr is not None
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        ring = TailRing(cap)        # tail mode: the newest bytes
        read_total = 0
        outputs_closed = False       # both pipes reached EOF: the command is ending by itself
        killed = False
        try:
            while sel.get_map():
                if stop.is_set():
                    raise Interrupted()
                left = deadline - time.monotonic()
                if left <= 0:
                    s.timed_out = True
                    break
                for key, _ in sel.select(timeout=min(left, 0.25)):
                    data = os.read(key.fileobj.fileno(), CHUNK)  # type: ignore[union-attr]
                    if not data:
                        sel.unregister(key.fileobj)
                        continue
                    if key.data == "err":
                        if len(s.stderr) < STDERR_KEEP:
                            s.stderr += data[: STDERR_KEEP - len(s.stderr)]
                        continue
                    read_total += len(data)
                    if tail:
                        ring.add(data)
                        if read_total > max(TAIL_READ_FACTOR * cap, TAIL_READ_MIN):
                            s.truncated = True
                            s.note = f"output passed {read_total} bytes; reading stopped"
                            ring.cut_partial_last_line()
                            sel = _close_all(sel)
                            break
                        continue
                    data = keep_head(s, data, cap)
                    if data:
                        yield data
                    if s.truncated:
                        sel = _close_all(sel)
                        break
            outputs_closed = not (s.timed_out or s.truncated)
            if tail:
                yield from ring.finish(s)
        finally:
            sel.close()
            if proc.poll() is None:
                if outputs_closed:
                    # Output closed but the process still runs: give it a moment to exit.
                    try:
                        proc.wait(timeout=max(0.0, min(2.0, deadline - time.monotonic())))
                    except subprocess.TimeoutExpired:
                        s.timed_out = True
                if proc.poll() is None:
                    _kill_group(proc)
                    killed = True
            for f in (proc.stdout, proc.stderr):
                try:
                    f.close()
                except OSError:
                    pass
            # Killed by us (timeout, cap, interrupt): its exit status says nothing about it.
            s.exit_code = None if (s.timed_out or killed) else proc.returncode


def _close_all(sel: selectors.BaseSelector) -> selectors.BaseSelector:
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
    return sel


def _kill_group(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass  # stuck in the kernel (D state): leave it rather than hang the run


def resolve_in_root(root: str, path: str, _depth: int = 0) -> str | None:
    """Resolve `path` (absolute, as seen on the node) below `root`, following symlinks the way
    the node would, but never leaving `root`. Returns the host path or None (not found/loop)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    current: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if current:
                current.pop()
            continue
        candidate = root + "/" + "/".join(current + [part])
        try:
            st = os.lstat(candidate)
        except OSError:
            if parts:
                return None
            return candidate  # let the caller's open() report the exact error
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > 40:
                return None
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        current.append(part)
    return root + "/" + "/".join(current)
