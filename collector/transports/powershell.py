"""The local Windows transport: the collector runs on the Windows node itself.

Commands run as subprocesses (no shell) with a timeout and a cap; PowerShell scripts run through
`powershell.exe` (Windows PowerShell 5.1, always present) or `pwsh` with `-EncodedCommand`, so
nothing is written to disk and no quoting can break the script. Output is streamed: a reader
thread hands chunks over a bounded queue, so a 200 MB event log never sits in memory.
Files are read with Python's open(), which on Windows shares read and write access: logs that
running services hold open are copied too.

Node paths are POSIX-style with the drive first (`/C/k/config`); `drives` maps a drive letter to
where it lives (the real `C:\\` on Windows; a directory in the tests, which run on Linux).
"""
from __future__ import annotations

import glob as globmod
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from typing import Any, Iterator

from k8s_bundle.collector.stream import cap_chunks
from k8s_bundle.collector.transports.base import GeneratorStream, Interrupted, Stream
from k8s_bundle.collector.windows.paths import encode_command

CHUNK = 256 * 1024
STDERR_KEEP = 4096
# CreateProcess limits a command line to 32767 characters; past this the script goes to a
# temporary .ps1 (the scripts hold no secrets) and runs with -File.
MAX_ENCODED = 30000
IS_WINDOWS = sys.platform == "win32"


def default_powershell() -> str | None:
    """K8S_BUNDLE_POWERSHELL, else Windows PowerShell 5.1 (always there), else pwsh."""
    return os.environ.get("K8S_BUNDLE_POWERSHELL") or shutil.which("powershell") or shutil.which("pwsh")


class PowerShellTransport:
    name = "local-windows"
    os = "windows"
    live = True
    root = "/"

    def __init__(self, powershell: str | None = None, drives: dict[str, str] | None = None) -> None:
        self.powershell = powershell or default_powershell()
        self.drives = {k.upper(): v for k, v in (drives or {}).items()}
        self.is_admin = _is_admin()

    # -- paths ----------------------------------------------------------------------------
    def host_path(self, path: str) -> str | None:
        parts = [p for p in path.split("/") if p]
        if not parts or len(parts[0]) != 1 or ".." in parts:
            return None
        drive = parts[0].upper()
        base = self.drives.get(drive, f"{drive}:\\" if IS_WINDOWS else None)
        if base is None:
            return None
        return os.path.join(base, *parts[1:])

    def _node_path(self, host: str) -> str | None:
        for drive, base in self.drives.items():
            if host.startswith(base.rstrip("/\\")):
                rest = host[len(base.rstrip("/\\")):].replace("\\", "/").strip("/")
                return f"/{drive}/{rest}" if rest else f"/{drive}"
        if IS_WINDOWS and len(host) > 2 and host[1] == ":":
            rest = host[2:].replace("\\", "/").strip("/")
            return f"/{host[0].upper()}/{rest}"
        return None

    def stat(self, path: str) -> os.stat_result | None:
        host = self.host_path(path)
        try:
            return os.stat(host) if host else None
        except OSError:
            return None

    def glob(self, pattern: str) -> list[str]:
        host = self.host_path(pattern)
        if host is None:
            return []
        out = [self._node_path(p) for p in globmod.glob(host)]
        return sorted(p for p in out if p)

    def listdir(self, path: str) -> list[str]:
        host = self.host_path(path)
        try:
            return sorted(os.listdir(host)) if host else []
        except OSError:
            return []

    def readlink(self, path: str) -> str | None:
        return None  # links are followed by Windows itself

    def which(self, name: str) -> str | None:
        found = shutil.which(name)
        if found:
            return found
        for d in ("/C/k", "/C/Program Files/containerd", "/C/flannel"):
            host = self.host_path(f"{d}/{name}.exe")
            if host and os.path.isfile(host):
                return host
        return None

    def read_small(self, path: str, cap: int) -> bytes:
        host = self.host_path(path)
        if host is None:
            raise FileNotFoundError(path)
        with open(host, "rb") as f:
            return f.read(cap)

    # -- files ------------------------------------------------------------------------------
    def read_file(self, path: str, *, cap: int, tail: bool, stop: threading.Event,
                  refuse_private_keys: bool = False) -> Stream:
        return GeneratorStream(self._read_file, path, cap, tail, stop, refuse_private_keys)

    def _read_file(self, s: Stream, path: str, cap: int, tail: bool, stop: threading.Event,
                   refuse_keys: bool) -> Iterator[bytes]:
        host = self.host_path(path)
        if host is None or not os.path.exists(host):
            s.not_found = True
            return
        if not os.path.isfile(host):
            s.skipped_reason = "not a regular file"
            return
        try:
            f = open_shared(host)
        except PermissionError:
            s.permission_denied = True
            return
        except OSError as exc:
            s.skipped_reason = f"cannot open: {exc.strerror or exc}"
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            start = size - cap if tail and size > cap else 0
            if start:
                f.seek(start)

            def chunks() -> Iterator[bytes]:
                left = size - start  # never past the size seen at open: a growing log cannot hold us
                while left > 0:
                    data = f.read(min(CHUNK, left))
                    if not data:
                        return
                    left -= len(data)
                    yield data

            # started mid-file (tail): the partial first line is dropped, as on Linux
            yield from cap_chunks(s, chunks(), cap, from_middle=bool(start), refuse_keys=refuse_keys, stop=stop)
            if size > cap:
                s.truncated = True

    # -- commands ---------------------------------------------------------------------------
    def run(self, argv: list[str], *, timeout: float, cap: int, tail: bool = False,
            stop: threading.Event, **_: object) -> Stream:
        exe = self.which(argv[0]) if not os.path.isabs(argv[0]) else argv[0]
        return GeneratorStream(self._run, [exe, *argv[1:]] if exe else None, timeout, cap, tail, stop)

    def powershell_argv(self, script: str) -> tuple[list[str], str | None]:
        """The argv that runs `script`, and a temporary file to remove afterwards (or None)."""
        base = [self.powershell or "powershell", "-NoLogo", "-NoProfile", "-NonInteractive",
                "-ExecutionPolicy", "Bypass"]
        encoded = encode_command(script)
        if len(encoded) <= MAX_ENCODED:
            return base + ["-EncodedCommand", encoded], None
        import tempfile

        fd, path = tempfile.mkstemp(prefix="k8s-bundle-", suffix=".ps1")
        with os.fdopen(fd, "w", encoding="utf-8-sig") as f:
            f.write(script)
        return base + ["-File", path], path

    def run_powershell(self, script: str, *, timeout: float, cap: int, stop: threading.Event) -> Stream:
        if not self.powershell:
            return GeneratorStream(self._run, None, timeout, cap, False, stop)
        argv, temp = self.powershell_argv(script)
        return GeneratorStream(self._run, argv, timeout, cap, False, stop, temp)

    def _run(self, s: Stream, argv: list[str] | None, timeout: float, cap: int, tail: bool,
             stop: threading.Event, temp: str | None = None) -> Iterator[bytes]:
        if argv is None:
            s.not_found = True
            return
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, creationflags=flags,
                                    start_new_session=not IS_WINDOWS)
        except FileNotFoundError:
            s.not_found = True
            _remove(temp)
            return
        except PermissionError:
            s.permission_denied = True
            _remove(temp)
            return
        out_q: queue.Queue[bytes | None] = queue.Queue(maxsize=16)  # bounded: back-pressure
        done = threading.Event()

        def pump_out() -> None:
            assert proc.stdout is not None
            try:
                while not done.is_set():
                    data = proc.stdout.read1(CHUNK) if hasattr(proc.stdout, "read1") else proc.stdout.read(CHUNK)
                    if not data:
                        break
                    while not done.is_set():
                        try:
                            out_q.put(data, timeout=0.2)
                            break
                        except queue.Full:
                            continue
            finally:
                try:
                    out_q.put(None, timeout=1)
                except queue.Full:
                    pass

        def pump_err() -> None:
            assert proc.stderr is not None
            for data in iter(lambda: proc.stderr.read(4096), b""):
                if len(s.stderr) < STDERR_KEEP:
                    s.stderr += data[: STDERR_KEEP - len(s.stderr)]

        threads = [threading.Thread(target=pump_out, daemon=True), threading.Thread(target=pump_err, daemon=True)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + timeout

        def chunks() -> Iterator[bytes]:
            while True:
                if stop.is_set():
                    raise Interrupted()
                left = deadline - time.monotonic()
                if left <= 0:
                    s.timed_out = True
                    return
                try:
                    data = out_q.get(timeout=min(left, 0.25))
                except queue.Empty:
                    continue
                if data is None:
                    return
                yield data

        try:
            yield from cap_chunks(s, chunks(), cap, tail=tail, stop=stop)
            if not s.timed_out and not s.truncated:
                try:
                    proc.wait(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
                except subprocess.TimeoutExpired:
                    s.timed_out = True
        finally:
            done.set()
            if proc.poll() is None:
                _kill_tree(proc)
            for t in threads:
                t.join(timeout=2)
            for f in (proc.stdout, proc.stderr):
                try:
                    f.close()  # type: ignore[union-attr]
                except OSError:
                    pass
            _remove(temp)
            s.exit_code = None if s.timed_out else proc.returncode


def open_shared(host: str) -> Any:
    """Open for reading while letting others read, write, delete and rename (logs a running
    service holds open and rotates). Python's open() on Windows does not share delete access."""
    if not IS_WINDOWS:
        return open(host, "rb")
    import ctypes
    import msvcrt
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    create = kernel32.CreateFileW
    create.restype = wintypes.HANDLE
    create.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, wintypes.LPVOID,
                       wintypes.DWORD, wintypes.DWORD, wintypes.HANDLE]
    generic_read, share_all, open_existing, normal = 0x80000000, 0x1 | 0x2 | 0x4, 3, 0x80
    handle = create(host, generic_read, share_all, None, open_existing, normal, None)
    if handle in (None, wintypes.HANDLE(-1).value):
        code = ctypes.get_last_error()  # type: ignore[attr-defined]
        if code in (2, 3):
            raise FileNotFoundError(host)
        if code == 5:
            raise PermissionError(host)
        raise ctypes.WinError(code)  # type: ignore[attr-defined]
    fd = msvcrt.open_osfhandle(handle, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # type: ignore[attr-defined]
    return os.fdopen(fd, "rb")


def _kill_tree(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Kill the process and everything it started (PowerShell's children: netsh, hnsdiag)."""
    if IS_WINDOWS:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, timeout=10)
    else:
        import signal

        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def _remove(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def _is_admin() -> bool:
    if IS_WINDOWS:
        try:
            import ctypes

            return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - unknown: report as not admin
            return False
    return hasattr(os, "geteuid") and os.geteuid() == 0
