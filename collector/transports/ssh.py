"""Remote Linux nodes over the system's OpenSSH client (`collect --ssh [USER@]HOST[:PORT]`;
the options become an SshTarget and a transport in collector/remote.py).

No Python SSH library: every operation is one `ssh` client process multiplexed over a single
ControlMaster connection (its socket in a private 0700 temp dir), so the catalogue's hundreds
of items cost one TCP connection and one authentication. BatchMode is always on (no prompt can
hang the run) and host keys are checked against known_hosts (StrictHostKeyChecking=yes) unless
the caller opts in to accept-new.

The remote side only ever runs fixed `sh -c` scripts defined here; paths, patterns and argv
reach them as positional arguments, each shlex-quoted, never spliced into the script. Commands
run under `nice -n 10 ionice -c3` and `timeout` where the node has them; the local side also
enforces the timeout (it kills the ssh client) and the size cap while streaming, through the
local transport's subprocess loop, so output is never held whole in memory.

With --root other than "/" (a mounted disk on the remote machine), paths are resolved below
that root on the remote side, symlinks included, the same way as the local transport does.
"""
from __future__ import annotations

import base64
import os
import re
import selectors
import shlex
import signal
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

from k8s_bundle.collector.stream import PartialLine, cap_chunks
from k8s_bundle.collector.transports.base import GeneratorStream, Interrupted, NotSupported, Stream
from k8s_bundle.collector.transports.local import ROOT_BIN_DIRS, LocalTransport
from k8s_bundle.errors import EXIT_BAD_INPUT, UserError

# ssh -o options a user may pass through: connection and key-checking knobs only. Anything
# that runs local commands (ProxyCommand, LocalCommand, KnownHostsCommand), forwards
# (agent, X11, ports), or that this module owns (ControlPath, BatchMode, StrictHostKeyChecking,
# RemoteCommand) is refused.
SAFE_OPTIONS = {o.lower(): o for o in (
    "UserKnownHostsFile", "GlobalKnownHostsFile", "HostKeyAlias", "HostKeyAlgorithms",
    "ConnectTimeout", "ConnectionAttempts", "ServerAliveInterval", "ServerAliveCountMax",
    "ProxyJump", "Port", "User", "IdentitiesOnly", "IdentityAgent", "CertificateFile",
    "PubkeyAcceptedAlgorithms", "PubkeyAcceptedKeyTypes", "KexAlgorithms", "Ciphers", "MACs",
    "Compression", "AddressFamily", "BindAddress", "CheckHostIP", "VerifyHostKeyDNS",
    "UpdateHostKeys", "HashKnownHosts", "PreferredAuthentications", "GSSAPIAuthentication",
    "GSSAPIDelegateCredentials", "LogLevel", "IPQoS", "TCPKeepAlive",
)}
CONNECT_TIMEOUT = 15          # seconds for the TCP connection and authentication
FILE_TIMEOUT = 120.0          # a remote file read (read_file has no per-item timeout)
META_TIMEOUT = 30.0           # stat, glob, listdir, readlink, which
SCRIPT_NAME = "k8s-bundle"    # $0 of the remote scripts
HEADER_MAX = 64              # the size line in front of a file's bytes
# Sessions open at once on the one connection: sshd allows 10 by default (MaxSessions), so
# helpers and command sessions stay below that whatever --workers says.
MAX_HELPERS = 4
MAX_COMMANDS = 5
# Exit codes the remote scripts use for what a local open() would raise.
X_NOT_FOUND, X_DENIED, X_NOT_REGULAR = 3, 4, 5
# Where a remote non-login PATH often lacks the admin tools.
_PATH_SETUP = 'PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"; export PATH; '

# resolve ROOT PATH: the remote path of PATH below ROOT, following symlinks the way the node
# would but never leaving ROOT (the shell twin of local.resolve_in_root). ROOT "" means "/".
_RESOLVE = r'''
resolve() {
  r=$1 rest=$2 cur= hops=0
  while [ -n "$rest" ]; do
    case $rest in /*) rest=${rest#/}; continue;; esac
    part=${rest%%/*}
    case $rest in */*) rest=${rest#*/};; *) rest=;; esac
    case $part in ''|.) continue;; ..) cur=${cur%/*}; continue;; esac
    if [ -n "$r" ] && [ -L "$r$cur/$part" ]; then
      hops=$((hops + 1)); [ "$hops" -gt 40 ] && return 1
      t=$(readlink -- "$r$cur/$part") || return 1
      case $t in /*) cur=;; esac
      rest=$t/$rest
    else
      cur=$cur/$part
    fi
  done
  printf '%s\n' "$r${cur:-/}"
}
'''
# $1 root, $2 path, $3 head|tail, $4 cap. A header line with the file's size first; then at
# most cap+1 bytes (head: the local side sees the overflow and marks the item truncated) or
# the last cap bytes (tail).
_READ = r'''
f=$(resolve "$1" "$2") || exit 3
[ -e "$f" ] || exit 3
[ -f "$f" ] || exit 5
[ -r "$f" ] || exit 4
size=$(wc -c < "$f") || exit 4
size=$((size))
echo "k8s-bundle-size $size"
if [ "$3" = tail ] && [ "$size" -gt "$4" ]; then exec tail -c "$4" -- "$f"; fi
exec head -c "$(($4 + 1))" -- "$f"
'''
_STAT = r'''
f=$(resolve "$1" "$2") || exit 3
exec stat -L -c '%f %i %d %h %u %g %s %X %Y %Z' -- "$f"
'''
# The pattern is globbed by the shell with field splitting off (IFS empty), relative to root.
_GLOB = r'''
cd -- "${1:-/}" 2>/dev/null || exit 0
IFS=
for f in ${2#/}; do
  if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
done
'''
_LISTDIR = r'''
f=$(resolve "$1" "$2") || exit 0
cd -- "$f" 2>/dev/null || exit 0
for n in .* *; do
  case $n in .|..) continue;; esac
  if [ -e "$n" ] || [ -L "$n" ]; then printf '%s\0' "$n"; fi
done
'''
_READLINK = 'exec readlink -- "$1$2"'
_WHICH = 'command -v -- "$1"'
# The metadata and file operations run in a long-lived helper shell per worker (one ssh session
# each instead of one per call: a session costs ~150 ms, a helper request ~1 ms). Each request
# is one base64 line holding `op_NAME 'arg' ...` (shlex-quoted); the answer is the op's stdout
# in base64 lines, then `#K8SB# <exit code>` (base64 never contains '#', so file bytes can
# never fake the end marker).
_HELPER = (_RESOLVE
           + "".join(f"op_{name}() (\n{body}\n)\n" for name, body in (
               ("read", _READ), ("stat", _STAT), ("glob", _GLOB), ("listdir", _LISTDIR),
               ("readlink", _READLINK), ("which", _WHICH), ("resolve", 'resolve "$1" "$2"')))
           + r'''
exec 4>&1
while IFS= read -r req; do
  req=$(printf '%s' "$req" | base64 -d) || exit 1
  rc=$( { { eval "$req" </dev/null 2>/dev/null; echo $? >&3; } | base64 >&4; } 3>&1 )
  printf '#K8SB# %s\n' "$rc"
done
''')
_RUN = 'export LC_ALL=C.UTF-8 LANG=C.UTF-8 SYSTEMD_PAGER= PAGER=cat SYSTEMD_COLORS=0 NO_COLOR=1 TERM=dumb; exec "$@"'
# One round trip at connect: the node's OS, name, uid and which helpers it has.
_PROBE = r'''
# /proc first: the node's PATH may hold wrappers; uname where /proc is not mounted.
cat /proc/sys/kernel/ostype 2>/dev/null || uname -s
cat /proc/sys/kernel/hostname 2>/dev/null || uname -n
id -u
for t in timeout nice ionice sudo; do
  if command -v "$t" >/dev/null 2>&1; then printf '%s ' "$t"; fi
done
echo
if ionice -c3 -t true 2>/dev/null; then echo ionice-ok; else echo; fi
'''


@dataclass(frozen=True)
class SshTarget:
    label: str              # as given on the command line (error messages, failed_hosts)
    host: str
    user: str | None = None
    port: int | None = None


class SshTransport:
    name = "ssh"
    os = "linux"
    remote = True        # the engine skips items that read this machine's process table

    def __init__(self, target: SshTarget, *, root: str = "/", live: bool = True,
                 identity: str | None = None, accept_new_host_key: bool = False,
                 options: list[tuple[str, str]] | None = None, sudo: bool = False) -> None:
        self.target = target
        self.root = root
        self.live = live
        self.sudo = sudo
        self.hostname: str | None = None      # the node's name (engine.detect_hostname)
        self.is_admin: bool | None = None
        self._identity = identity
        self._accept_new = accept_new_host_key
        self._options = options or []
        self._dir: str | None = None
        self._closed = False
        self._master: subprocess.Popen[bytes] | None = None
        self._prefix: list[str] = []
        self._has_timeout = False
        self._which: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._idle: list[_Helper] = []                 # helper shells not in use
        self._helper_slots = threading.BoundedSemaphore(MAX_HELPERS)
        self._command_slots = threading.BoundedSemaphore(MAX_COMMANDS)
        self._local = LocalTransport("/", live=True)   # runs the ssh clients, caps and timeouts

    # -- connection ---------------------------------------------------------------------------
    def _ssh_argv(self) -> list[str]:
        assert self._dir is not None
        argv = ["ssh"]
        # User options first: for each option ssh keeps the first value it is given.
        for key, value in self._options:
            argv += ["-o", f"{key}={value}"]
        argv += ["-o", "BatchMode=yes",
                 "-o", f"StrictHostKeyChecking={'accept-new' if self._accept_new else 'yes'}",
                 "-o", f"ControlPath={self._dir}/cm", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
                 "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
                 "-o", "LogLevel=ERROR", "-T", "-x", "-a"]
        if self.target.port:
            argv += ["-p", str(self.target.port)]
        if self.target.user:
            argv += ["-l", self.target.user]
        if self._identity:
            argv += ["-i", self._identity, "-o", "IdentitiesOnly=yes"]
        return argv

    def connect(self) -> "SshTransport":
        """Open the master connection and probe the node; any failure is a one-line UserError
        (exit 4) naming the host and what to check. Returns self."""
        base = tempfile.gettempdir()
        self._dir = tempfile.mkdtemp(prefix="k8s-bundle-ssh-", dir=base if len(base) < 60 else "/tmp")
        errlog = os.path.join(self._dir, "master.err")
        with open(errlog, "wb") as err:
            self._master = subprocess.Popen(
                self._ssh_argv() + ["-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-N",
                                    "--", self.target.host],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True, close_fds=True, env=self._local._env,
                preexec_fn=_die_with_parent)
        # A --ssh-option ConnectTimeout (ssh keeps the first value: the user's) is waited for too.
        wait = max([CONNECT_TIMEOUT] + [int(v) for k, v in self._options
                                        if k == "ConnectTimeout" and v.isdigit()]) + 10
        deadline = time.monotonic() + wait
        socket_path = os.path.join(self._dir, "cm")
        while not os.path.exists(socket_path):
            master = self._master
            if master is None or self._closed:   # closed by another thread (a host deadline)
                raise UserError(f"--ssh {self.target.label}: closed while connecting", EXIT_BAD_INPUT)
            if master.poll() is not None or time.monotonic() > deadline:
                try:
                    with open(errlog, "rb") as f:
                        message = f.read(4096).decode("utf-8", "replace")
                except OSError:
                    message = ""
                self.close()
                raise self._connect_error(message or "no connection within "
                                          f"{wait}s")
            time.sleep(0.02)
        try:
            self._probe()
        except BaseException:
            self.close()
            raise
        return self

    def _connect_error(self, stderr: str) -> UserError:
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        last = lines[-1] if lines else "ssh failed"
        who = self.target.label
        if "IDENTIFICATION HAS CHANGED" in stderr:
            why = "the host key CHANGED since it was recorded in known_hosts; refusing (check the node, then fix known_hosts)"
        elif "Host key verification failed" in stderr or "No matching host key" in stderr:
            why = ("the host key is not known (not in known_hosts); check its fingerprint and add it "
                   "(ssh-keyscan), or pass --ssh-accept-new-host-key to trust it on first use")
        elif "Permission denied" in stderr or "Too many authentication failures" in stderr:
            why = f"authentication failed ({last}); check the user, --ssh-identity or the ssh agent"
        elif any(s in stderr for s in ("Connection refused", "timed out", "No route to host",
                                       "Could not resolve", "Name or service not known",
                                       "Network is unreachable", "Connection closed")):
            why = f"unreachable ({last})"
        else:
            why = f"ssh failed ({last})"
        return UserError(f"--ssh {who}: {why}", EXIT_BAD_INPUT)

    def _probe(self) -> None:
        code, out, err = self._call(_PROBE, [], META_TIMEOUT, use_prefix=False)
        lines = out.decode("utf-8", "replace").splitlines()
        if code != 0 or len(lines) < 4:
            raise UserError(f"--ssh {self.target.label}: the node did not answer a simple probe "
                            f"({err.decode('utf-8', 'replace').strip()[:200] or f'exit {code}'})",
                            EXIT_BAD_INPUT)
        system, nodename, uid, tools = lines[0].strip(), lines[1].strip(), lines[2].strip(), lines[3].split()
        if system != "Linux":
            raise UserError(f"--ssh {self.target.label}: not a Linux node ({system}); "
                            "Windows nodes use --winrm", EXIT_BAD_INPUT)
        prefix: list[str] = []
        if self.sudo:
            if "sudo" not in tools:
                raise UserError(f"--ssh {self.target.label}: --ssh-sudo, but the node has no sudo", EXIT_BAD_INPUT)
            code, _, err = self._call("exec sudo -n true", [], META_TIMEOUT, use_prefix=False)
            if code != 0:
                raise UserError(f"--ssh {self.target.label}: --ssh-sudo needs passwordless sudo "
                                f"(`sudo -n true` failed: {err.decode('utf-8', 'replace').strip()[:200]})",
                                EXIT_BAD_INPUT)
            prefix += ["sudo", "-n"]
        # Never harm the node: the remote work runs at low CPU and I/O priority.
        if "nice" in tools:
            prefix += ["nice", "-n", "10"]
        if len(lines) > 4 and lines[4].strip() == "ionice-ok":
            prefix += ["ionice", "-c3", "-t"]
        self._prefix = prefix
        self._has_timeout = "timeout" in tools
        self.is_admin = self.sudo or uid == "0"
        # With a mounted root the name comes from its /etc/hostname (engine.detect_hostname).
        self.hostname = nodename if self.root == "/" else None

    def connection_lost(self) -> str | None:
        """Why the connection is gone while it should be open (the master ssh exited: the node
        rebooted, the network dropped, sshd was restarted), or None."""
        master = self._master
        if master is None or self._closed or master.poll() is None:
            return None
        return f"the ssh connection was lost mid-way (the master ssh exited with {master.returncode})"

    def close(self) -> None:
        """End the session; safe from another thread while items run (the fan-out closes a
        host at its deadline): what still runs on the connection dies with the master, and
        nothing new starts (without the master an ssh client would dial the host again)."""
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for helper in idle:
            helper.kill()
        master, self._master = self._master, None
        if master is not None and master.poll() is None:
            master.terminate()
            try:
                master.wait(timeout=5)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait(timeout=5)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # -- the one way anything runs remotely ---------------------------------------------------
    def _remote_command(self, script: str, args: list[str], timeout: float | None,
                        use_prefix: bool = True) -> list[str]:
        if self._closed or self.connection_lost():
            # (without the master an ssh client would dial the host again, item after item)
            raise Interrupted()
        words = list(self._prefix) if use_prefix else []
        if timeout is not None and self._has_timeout and use_prefix:
            words += ["timeout", "-k", "2", f"{timeout:g}"]
        words += ["sh", "-c", _PATH_SETUP + script, SCRIPT_NAME, *args]
        # ssh hands the remote login shell one string: every word quoted, nothing interpolated.
        return [*self._ssh_argv(), "-o", "ControlMaster=no", "--", self.target.host, shlex.join(words)]

    def _stream(self, script: str, args: list[str], *, timeout: float, cap: int, tail: bool,
                stop: threading.Event, remote_timeout: float | None = None) -> Stream:
        """One ssh session for one command (its client starts when the stream is read)."""
        return self._local.run(self._remote_command(script, args, remote_timeout), timeout=timeout,
                               cap=cap, tail=tail, stop=stop)

    def _call(self, script: str, args: list[str], timeout: float, cap: int = 1 << 20,
              use_prefix: bool = True) -> tuple[int | None, bytes, bytes]:
        """A short remote script: (exit code or None on timeout, stdout, stderr)."""
        stream = self._local.run(self._remote_command(script, args, timeout, use_prefix),
                                 timeout=timeout + 5, cap=cap, stop=threading.Event())
        with self._command_slots:
            out = b"".join(stream)
        return (None if stream.timed_out else stream.exit_code), out, stream.stderr

    def _ask_stream(self, op: str, args: list[str], timeout: float, outcome: dict[str, Any],
                    stop: threading.Event | None = None) -> Iterator[bytes]:
        """Run op_<op> in an idle helper shell (a new one when none is idle) and yield its
        output; outcome["rc"] is its exit code once complete. A helper left mid-answer
        (timeout, interrupt, the caller stopped reading) is killed, never reused."""
        self._helper_slots.acquire()
        try:
            with self._lock:
                helper = self._idle.pop() if self._idle else None
            if helper is None or not helper.alive:
                helper = _Helper(self._remote_command(_HELPER, [], None), self._local._env)
            done = False
            try:
                yield from helper.request([f"op_{op}", *args], timeout, stop)
                outcome["rc"] = helper.rc
                done = True
            finally:
                if done and helper.alive:
                    with self._lock:
                        self._idle.append(helper)
                else:
                    helper.kill()
        finally:
            self._helper_slots.release()

    def _ask(self, op: str, args: list[str], timeout: float = META_TIMEOUT,
             cap: int = 4 << 20) -> tuple[int | None, bytes]:
        """(exit code, stdout) of a short helper op: (None, what came) when it timed out or
        passed the cap."""
        out = bytearray()
        outcome: dict[str, Any] = {}
        it = self._ask_stream(op, args, timeout, outcome)
        try:
            for chunk in it:
                out += chunk
                if len(out) > cap:
                    break
        except _HelperGone:
            return None, b""
        finally:
            _close(it)
        return outcome.get("rc"), bytes(out[:cap])

    @property
    def _root_arg(self) -> str:
        return "" if self.root == "/" else self.root.rstrip("/")

    # -- commands -----------------------------------------------------------------------------
    def run(self, argv: list[str], *, timeout: float, cap: int, tail: bool = False,
            stop: threading.Event, allow_dead_root: bool = False) -> Stream:
        if not self.live:
            # A dead root's tools would run on the remote machine against its own system.
            raise NotSupported("--root: not the running node")
        inner = self._stream(_RUN, list(argv), timeout=timeout + 3, cap=cap, tail=tail, stop=stop,
                             remote_timeout=timeout)
        return GeneratorStream(self._run, inner)

    def run_powershell(self, script: str, *, timeout: float, cap: int,
                       stop: threading.Event) -> Stream:
        raise NotSupported("PowerShell: not on this OS")

    def _run(self, s: Stream, inner: Stream) -> Iterator[bytes]:
        it = iter(inner)
        try:
            with self._command_slots:
                yield from it
        finally:
            _close(it)
            _copy_outcome(inner, s)
        if inner.exit_code == 124 and self._has_timeout:
            s.timed_out, s.exit_code = True, None        # the remote `timeout` stopped it
        elif inner.exit_code == 127:
            s.not_found, s.exit_code = True, None        # no such command on the node
        elif inner.exit_code == 126:
            s.permission_denied, s.exit_code = True, None

    # -- files ----------------------------------------------------------------------------------
    def read_file(self, path: str, *, cap: int, tail: bool, stop: threading.Event,
                  refuse_private_keys: bool = False) -> Stream:
        return GeneratorStream(self._read_file, path, cap, tail, stop, refuse_private_keys)

    def _read_file(self, s: Stream, path: str, cap: int, tail: bool, stop: threading.Event,
                   refuse_keys: bool) -> Iterator[bytes]:
        outcome: dict[str, Any] = {}
        it = self._ask_stream("read", [self._root_arg, path, "tail" if tail else "head", str(cap)],
                              FILE_TIMEOUT, outcome, stop)

        def body() -> Iterator[bytes]:
            """The file's bytes: what follows the size header line. A tail read of a bigger
            file starts mid-file (`tail -c` on the node): its partial first line is dropped."""
            head = b""
            size: int | None = None
            partial: PartialLine | None = None
            for chunk in it:
                if size is None:
                    head += chunk
                    nl = head.find(b"\n")
                    if nl < 0:
                        continue
                    m = _SIZE_RE.match(head[:nl])
                    size = int(m.group(1)) if m else 0
                    chunk = head[nl + 1:]
                    if tail and size > cap:
                        s.truncated = True
                        partial = PartialLine()
                if partial is not None:
                    chunk = partial.cut(chunk)
                yield chunk

        chunks = body()
        try:
            yield from cap_chunks(s, chunks, cap, refuse_keys=refuse_keys, what=path)
            for _ in chunks:
                pass    # what is left past the cap (one byte): the helper answers whole, stays reusable
        except _HelperGone:
            s.timed_out = True
            s.note = f"no answer within {FILE_TIMEOUT:g}s"
            return
        finally:
            _close(it)
        code = outcome.get("rc")
        if code == X_NOT_FOUND:
            s.not_found = True
        elif code == X_DENIED:
            s.permission_denied = True
        elif code == X_NOT_REGULAR:
            s.skipped_reason = "not a regular file"
        elif code not in (0, None):
            s.exit_code = code

    def read_small(self, path: str, cap: int) -> bytes:
        """A whole small file (derived items); raises OSError like open()."""
        code, out = self._ask("read", [self._root_arg, path, "head", str(cap)], FILE_TIMEOUT,
                              cap=cap + HEADER_MAX)
        if code == X_NOT_FOUND:
            raise FileNotFoundError(2, "not found", path)
        if code == X_DENIED:
            raise PermissionError(13, "permission denied", path)
        if code == X_NOT_REGULAR:
            raise OSError(22, "not a regular file", path)
        if code != 0 and not (code is None and len(out) >= cap):   # None: cut at the cap
            raise OSError(5, "remote read failed or timed out", path)
        return out.partition(b"\n")[2][:cap]

    # -- metadata -------------------------------------------------------------------------------
    def stat(self, path: str) -> os.stat_result | None:
        code, out = self._ask("stat", [self._root_arg, path])
        fields = out.split()
        if code != 0 or len(fields) != 10:
            return None
        try:
            mode = int(fields[0], 16)
            rest = [int(f) for f in fields[1:]]
        except ValueError:
            return None
        return os.stat_result((mode, *rest))

    def glob(self, pattern: str) -> list[str]:
        _, out = self._ask("glob", [self._root_arg, pattern])
        return sorted("/" + p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p)

    def listdir(self, path: str) -> list[str]:
        _, out = self._ask("listdir", [self._root_arg, path])
        return sorted(p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p)

    def readlink(self, path: str) -> str | None:
        code, out = self._ask("readlink", [self._root_arg, path])
        return out.decode("utf-8", "surrogateescape").rstrip("\n") if code == 0 and out else None

    def host_path(self, path: str) -> str | None:
        """The path on the remote machine (below --root); kubectl --kubeconfig gets this."""
        if self.root == "/":
            return path
        code, out = self._ask("resolve", [self._root_arg, path])
        return out.decode("utf-8", "surrogateescape").rstrip("\n") if code == 0 and out else None

    def which(self, name: str) -> str | None:
        if not self.live:
            for d in ROOT_BIN_DIRS:
                st = self.stat(f"{d}/{name}")
                if st is not None and (st.st_mode & 0o170000) == 0o100000 and st.st_mode & 0o111:
                    return f"{d}/{name}"
            return None
        with self._lock:
            if name in self._which:
                return self._which[name]
        code, out = self._ask("which", [name])
        found = out.decode("utf-8", "replace").strip() if code == 0 else ""
        result = found.splitlines()[0] if found else None
        with self._lock:
            self._which[name] = result
        return result


class _HelperGone(Exception):
    """The helper shell timed out or ended mid-answer; it has been killed."""


class _Helper:
    """One long-lived remote shell (an ssh session over the master) answering requests."""

    MARK = b"#K8SB# "

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     close_fds=True, env=env)
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        self._buf = b""
        self.rc: int | None = None

    def request(self, words: list[str], timeout: float, stop: threading.Event | None = None) -> Iterator[bytes]:
        """The op's stdout, decoded as it arrives; self.rc is set once it is complete."""
        assert self.proc.stdin is not None
        self.rc = None
        line = base64.b64encode(shlex.join(words).encode("utf-8", "surrogateescape")) + b"\n"
        deadline = time.monotonic() + timeout
        try:
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except OSError:
            self.kill()
            raise _HelperGone() from None
        with selectors.DefaultSelector() as sel:
            sel.register(self._fd, selectors.EVENT_READ)
            while True:
                nl = self._buf.find(b"\n")
                if nl >= 0:
                    text, self._buf = self._buf[:nl], self._buf[nl + 1:]
                    if text.startswith(self.MARK):
                        self.rc = int(text[len(self.MARK):] or b"1")
                        return
                    yield base64.b64decode(text)
                    continue
                if stop is not None and stop.is_set():
                    self.kill()
                    raise Interrupted()
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise _HelperGone()
                if sel.select(min(left, 0.25)):
                    data = os.read(self._fd, 1 << 16)
                    if not data:
                        self.kill()
                        raise _HelperGone()
                    self._buf += data

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()  # type: ignore[union-attr]
            except OSError:
                pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


def _die_with_parent() -> None:
    """In the master's child process: end it when the collector dies (even by SIGKILL), so no
    connection to the node outlives the run. Linux prctl(PR_SET_PDEATHSIG); best effort."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def _close(it: Iterator[bytes]) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()    # a generator's finally kills its ssh client


def _copy_outcome(inner: Stream, s: Stream) -> None:
    s.exit_code = inner.exit_code
    s.timed_out = inner.timed_out
    s.truncated = inner.truncated
    s.not_found = inner.not_found
    s.permission_denied = inner.permission_denied
    s.stderr = inner.stderr
    s.note = inner.note
    s.bytes_read = inner.bytes_read


_SIZE_RE = re.compile(rb"k8s-bundle-size (\d+)")
