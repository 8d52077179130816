"""Remote Windows over WinRM with the PowerShell Remoting Protocol (pypsrp).

Why pypsrp and not pywinrm (docs/windows.md): pywinrm's `run_ps` puts the script on a command
line (it fails past about 3,000 characters; our HCN and reservation scripts are longer), keeps
all output in memory and defaults to basic auth. PSRP sends the script as data of any length,
returns output objects as they are produced (we write each one on as it arrives, so a 200 MB
event log streams through the redactor into the bundle) and keeps stdout and errors apart.

Files are fetched with a small script that opens them with shared read access (so logs held
open by services are copied) and emits base64 chunks; each chunk is decoded and passed on as
it arrives: nothing is held whole in memory.

One runspace pool per host; PSRP calls are serialised by a lock (the engine's worker threads
wait on it), which keeps one pipeline at a time on the wire.
"""
from __future__ import annotations

import base64
import os
import stat as statmod
import threading
import time
from typing import Any, Iterator

from k8s_bundle.collector.stream import cap_chunks
from k8s_bundle.collector.transports.base import GeneratorStream, Interrupted, NotSupported, Stream
from k8s_bundle.collector.windows import script as build_script
from k8s_bundle.collector.windows.paths import ps_quote, to_node, to_windows
from k8s_bundle.errors import EXIT_BAD_INPUT, UserError

STDERR_KEEP = 4096
FILE_CHUNK = 256 * 1024          # bytes per base64 output object (fits one PSRP message)
AUTH_METHODS = ("negotiate", "ntlm", "kerberos", "certificate")
SEARCH_DIRS = ("C:\\k", "C:\\Program Files\\containerd", "C:\\flannel", "C:\\opt\\cni\\bin")


class PsrpTransport:
    name = "psrp"
    os = "windows"
    live = True
    root = "/"

    def __init__(self, host: str, *, port: int | None = None, ssl: bool = True, auth: str = "negotiate",
                 username: str | None = None, password: str | None = None, ca_cert: str | None = None,
                 insecure: bool = False, cert_pem: str | None = None, key_pem: str | None = None,
                 operation_timeout: int = 20, read_timeout: int = 30) -> None:
        if auth not in AUTH_METHODS:
            raise UserError(f"--winrm-auth {auth}: use one of {', '.join(AUTH_METHODS)}", 2)
        if auth == "certificate" and not (cert_pem and key_pem):
            raise UserError("--winrm-auth certificate needs --winrm-cert and --winrm-key", 2)
        if auth == "certificate" and not ssl:
            raise UserError("--winrm-auth certificate works over HTTPS only", 2)
        self.host = host
        self.port = port or (5986 if ssl else 5985)
        self.auth = auth
        self.username = username
        self._lock = threading.Lock()
        self._stats: dict[str, os.stat_result] = {}
        self.hostname: str | None = None
        self.is_admin: bool | None = None
        from pypsrp.wsman import WSMan

        kwargs: dict[str, Any] = {}
        if auth == "certificate":
            kwargs.update(certificate_pem=cert_pem, certificate_key_pem=key_pem)
        # Certificate validation is on unless the user said --winrm-insecure; a CA file replaces
        # the system store. Over plain HTTP, NTLM/Kerberos message encryption is mandatory.
        self._wsman = WSMan(host, port=self.port, ssl=ssl, auth=auth, username=username, password=password,
                            cert_validation=False if insecure else (ca_cert or True),
                            encryption="auto" if ssl else "always", operation_timeout=operation_timeout,
                            read_timeout=read_timeout, reconnection_retries=0, no_proxy=True,
                            **kwargs)
        self._pool: Any = None

    # -- connection -----------------------------------------------------------------------
    def connect(self) -> "PsrpTransport":
        """Open the runspace pool and learn the node's name and whether we are administrator;
        any failure becomes a one-line UserError naming the host and what to check."""
        from pypsrp.powershell import RunspacePool

        try:
            self._pool = RunspacePool(self._wsman)
            self._pool.open()
            out = self._call("$env:COMPUTERNAME; ([Security.Principal.WindowsPrincipal]"
                             "[Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole("
                             "[Security.Principal.WindowsBuiltInRole]::Administrator)")
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure here is the user's to fix
            raise self._user_error(exc) from None
        self.hostname = str(out[0]).strip() if out else self.host
        self.is_admin = len(out) > 1 and str(out[1]).strip().lower() == "true"
        return self

    def close(self) -> None:
        if self._pool is not None:
            try:
                with self._lock:
                    self._pool.close()
            except Exception:  # noqa: BLE001 - closing a broken session: nothing to do
                pass
            self._pool = None

    def _user_error(self, exc: BaseException) -> UserError:
        import requests
        from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError

        where = f"WinRM {self.host}:{self.port}"
        if isinstance(exc, AuthenticationError) or (isinstance(exc, WinRMTransportError) and exc.code == 401):
            who = f"user {self.username}" if self.username else "no user given"
            return UserError(f"{where}: authentication failed (HTTP 401, {self.auth}, {who}); check --winrm-user, "
                             "the password (K8S_BUNDLE_WINRM_PASSWORD or the prompt) and --winrm-auth", EXIT_BAD_INPUT)
        if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" not in str(exc):
            reason = str(exc).split("SSLError(", 1)[-1].split(")", 1)[0][:160]
            return UserError(f"{where}: TLS handshake failed ({reason}); with --winrm-auth certificate check "
                             "--winrm-cert/--winrm-key", EXIT_BAD_INPUT)
        if isinstance(exc, requests.exceptions.SSLError):
            return UserError(f"{where}: TLS certificate not trusted; pass the CA with --winrm-ca-cert FILE "
                             "(or --winrm-insecure to skip verification)", EXIT_BAD_INPUT)
        if isinstance(exc, requests.exceptions.ConnectionError):
            return UserError(f"{where}: cannot connect (is WinRM listening on HTTPS {self.port}? "
                             "`winrm quickconfig -transport:https` on the node)", EXIT_BAD_INPUT)
        if isinstance(exc, WinRMTransportError):
            return UserError(f"{where}: HTTP {exc.code} from the WinRM service", EXIT_BAD_INPUT)
        if isinstance(exc, ImportError) and "gssapi" in str(exc):
            return UserError(f"{where}: Kerberos needs the Python gssapi package and the system Kerberos libraries "
                             "on this host (pip install 'pyspnego[kerberos]'; built in on Windows); or use "
                             "--winrm-auth ntlm", EXIT_BAD_INPUT)
        if isinstance(exc, WSManFaultError):
            return UserError(f"{where}: WS-Management fault {exc.code}: {exc.reason}", EXIT_BAD_INPUT)
        return UserError(f"{where}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                         EXIT_BAD_INPUT)

    def _call(self, text: str) -> list[Any]:
        """A short script, all output at once (connection probes, glob, which)."""
        from pypsrp.powershell import PowerShell

        with self._lock:
            ps = PowerShell(self._pool)
            ps.add_script(text)
            return list(ps.invoke())

    # -- streaming pipelines ------------------------------------------------------------------
    def _objects(self, s: Stream, text: str, timeout: float, stop: threading.Event) -> Iterator[Any]:
        """Run a script and yield its output objects as each receive brings them."""
        from pypsrp.complex_objects import PSInvocationState
        from pypsrp.powershell import PowerShell

        if self._pool is None:
            raise NotSupported("WinRM session not open")
        with self._lock:
            ps = PowerShell(self._pool)
            ps.add_script(text)
            deadline = time.monotonic() + timeout
            finished = False
            try:
                ps.begin_invoke()
                while True:
                    while ps.output:
                        yield ps.output.pop(0)
                    if ps.state != PSInvocationState.RUNNING:
                        finished = True
                        break
                    if stop.is_set():
                        raise Interrupted()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        s.timed_out = True
                        break
                    ps.poll_invoke(timeout=max(1, min(int(left), self._wsman.operation_timeout)))
            finally:
                errors = [str(e) for e in ps.streams.error]
                if errors:
                    s.stderr = "\n".join(errors).encode("utf-8", "replace")[:STDERR_KEEP]
                if not finished and ps.state == PSInvocationState.RUNNING:
                    try:
                        ps.stop()
                    except Exception:  # noqa: BLE001 - the session may already be gone
                        pass
                if not s.timed_out:
                    # like PowerShell's HadErrors: any error record, or a failed pipeline
                    s.exit_code = 1 if (errors or ps.had_errors or ps.state == PSInvocationState.FAILED) else 0

    def run_powershell(self, script: str, *, timeout: float, cap: int, stop: threading.Event,
                       tail: bool = False) -> Stream:
        return GeneratorStream(self._run_script, script, timeout, cap, tail, stop)

    def _run_script(self, s: Stream, text: str, timeout: float, cap: int, tail: bool,
                    stop: threading.Event) -> Iterator[bytes]:
        def lines() -> Iterator[bytes]:
            for obj in self._objects(s, text, timeout, stop):
                yield (str(obj) + "\n").encode("utf-8")

        try:
            yield from cap_chunks(s, lines(), cap, tail=tail, stop=stop)
        except (UserError, Interrupted, NotSupported):
            raise
        except Exception as exc:  # noqa: BLE001 - a broken pipeline fails this item only
            s.stderr = f"{type(exc).__name__}: {exc}".encode()[:STDERR_KEEP]
            s.exit_code = s.exit_code if s.exit_code is not None else 1

    # -- commands -------------------------------------------------------------------------------
    def run(self, argv: list[str], *, timeout: float, cap: int, tail: bool = False,
            stop: threading.Event, **_: object) -> Stream:
        exe = argv[0] if ("\\" in argv[0] or ":" in argv[0]) else (self.which(argv[0]) or argv[0])
        text = _exe_script(exe, argv[1:])
        return GeneratorStream(self._run_script, text, timeout, cap, tail, stop)

    def which(self, name: str) -> str | None:
        dirs = ",".join(ps_quote(d) for d in SEARCH_DIRS)
        out = self._call(
            f"$c = Get-Command {ps_quote(name)} -CommandType Application -ErrorAction SilentlyContinue | "
            f"Select-Object -First 1; if ($c) {{ $c.Source }} else {{ foreach ($d in @({dirs})) {{ "
            f"$p = Join-Path $d {ps_quote(name + '.exe')}; if (Test-Path $p) {{ $p; break }} }} }}")
        return str(out[0]) if out else None

    # -- files -----------------------------------------------------------------------------------
    def glob(self, pattern: str) -> list[str]:
        win = to_windows(pattern)
        out = self._call(
            f"Get-ChildItem -Path {ps_quote(win)} -Force -File -ErrorAction SilentlyContinue | ForEach-Object {{ "
            "'{0}|{1}|{2}' -f $_.FullName, $_.Length, "
            "[int64]($_.LastWriteTimeUtc - [datetime]'1970-01-01').TotalSeconds }")
        paths = []
        for line in out:
            full, size, mtime = str(line).rsplit("|", 2)
            node = to_node(full)
            self._stats[node] = _stat(int(size), float(mtime))
            paths.append(node)
        return sorted(paths)

    def stat(self, path: str) -> os.stat_result | None:
        if path in self._stats:
            return self._stats[path]
        out = self._call(f"$i = Get-Item -LiteralPath {ps_quote(to_windows(path))} -Force -ErrorAction "
                         "SilentlyContinue; if ($i -and -not $i.PSIsContainer) { '{0}|{1}' -f $i.Length, "
                         "[int64]($i.LastWriteTimeUtc - [datetime]'1970-01-01').TotalSeconds }")
        if not out:
            return None
        size, mtime = str(out[0]).split("|")
        return _stat(int(size), float(mtime))

    def listdir(self, path: str) -> list[str]:
        out = self._call(f"Get-ChildItem -LiteralPath {ps_quote(to_windows(path))} -Force -ErrorAction "
                         "SilentlyContinue | ForEach-Object Name")
        return sorted(str(o) for o in out)

    def readlink(self, path: str) -> str | None:
        return None

    def read_small(self, path: str, cap: int) -> bytes:
        s = self.read_file(path, cap=cap, tail=False, stop=threading.Event())
        data = b"".join(s)
        if s.not_found:
            raise FileNotFoundError(path)
        if s.permission_denied:
            raise PermissionError(path)
        return data

    def read_file(self, path: str, *, cap: int, tail: bool, stop: threading.Event,
                  refuse_private_keys: bool = False) -> Stream:
        text = build_script("readfile", Path=to_windows(path), Cap=cap, Tail=bool(tail), Chunk=FILE_CHUNK)
        return GeneratorStream(self._read_file, text, cap, tail, stop, refuse_private_keys)

    def _read_file(self, s: Stream, text: str, cap: int, tail: bool, stop: threading.Event,
                   refuse_keys: bool) -> Iterator[bytes]:
        length: list[int] = []

        def chunks() -> Iterator[bytes]:
            for obj in self._objects(s, text, 3600, stop):
                value = str(obj)
                if value.startswith("#length="):
                    length.append(int(value.split("=", 1)[1]))
                    continue
                yield base64.b64decode(value)

        # The script already cut the file to the cap (the newest part in tail mode), so the
        # chunks pass straight through; cap_chunks enforces the cap and the key refusal again.
        yield from cap_chunks(s, chunks(), cap, tail=False, refuse_keys=refuse_keys, stop=stop)
        if length and length[0] > cap:
            s.truncated = True
            s.note = f"{length[0]} bytes, {'newest' if tail else 'first'} {cap} kept"
        err = s.stderr.decode("utf-8", "replace")
        if not length:
            if "Could not find" in err or "FileNotFound" in err or "DirectoryNotFound" in err:
                s.not_found = True
            elif "denied" in err.lower():
                s.permission_denied = True
            s.exit_code = None if (s.not_found or s.permission_denied) else s.exit_code
        else:
            s.exit_code = 0


def _exe_script(exe: str, args: list[str]) -> str:
    """Run a native program with arguments passed as data (no command line to quote); a
    non-zero exit code becomes an error so the item is marked failed with its output kept."""
    arg_list = ", ".join(ps_quote(a) for a in args)
    # stderr lines arrive as ErrorRecords: keep them apart, and report them only with a
    # non-zero exit code (crictl and docker print warnings on stderr on success).
    return (f"$ProgressPreference = 'SilentlyContinue'\n$errs = New-Object System.Collections.ArrayList\n"
            f"& {ps_quote(exe)} @({arg_list}) 2>&1 | ForEach-Object {{ "
            "if ($_ -is [System.Management.Automation.ErrorRecord]) { [void]$errs.Add([string]$_) } else { [string]$_ } }\n"
            "if ($LASTEXITCODE) { Write-Error (\"exit code $LASTEXITCODE`n\" + ($errs -join \"`n\")) }")


def _stat(size: int, mtime: float) -> os.stat_result:
    return os.stat_result((statmod.S_IFREG | 0o644, 0, 0, 1, 0, 0, size, int(mtime), int(mtime), int(mtime)))
