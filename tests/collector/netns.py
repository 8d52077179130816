"""A fleet of simulated nodes on this machine, each in its own network namespace with its own
sshd: the real fan-out targets of `collect --ssh/--hosts` (tests/collector/test_fanout_netns.py,
bench/collect_fanout_bench.py).

    with Fleet(base_dir, 24, hang={21}, refuse={22}, slow={23}) as fleet:
        fleet.hosts[0].target            # "root@10.213.0.2"
        fleet.ssh_args()                 # --ssh-identity, --root, --live, known_hosts options

Host i is the namespace PREFIX-hNNN. A veth pair joins it to the root namespace, one /24 per
host from 10.213.0.0/16 (root side .1, host side .2; nothing else on the machine may route
10.213/16: checked at start). Inside, /usr/sbin/sshd listens on port 22 of the host's address
and its sessions run as root on this machine, with the simulated node's fake tools first on
PATH (tests/simnode). One simulated node tree serves every host: the sshd runs in the mount
namespace `ip netns exec` creates, where the host's own /etc/hostname file is bind-mounted
over the tree's, so each host reports its own name (nodeNNN) and the bundle holds one node per
host, while the tree (PKI, logs) is built once.

Special hosts:
- hang: the key is accepted and the connection probe answers, then every other session the
  collector opens (helpers, commands) sleeps forever: neither ssh's ConnectTimeout nor the
  per-command --timeout ends the host (the helpers' file reads wait 120 s), only a per-host
  deadline does.
- refuse: its authorized_keys holds another key: "Permission denied (publickey)".
- slow: both ends of its veth shaped by tc tbf to SLOW_RATE (this kernel has no sch_netem, so
  the slowness is bandwidth, not latency; the transfer of every file and output is slow).

Teardown (close(), also run by a finalizer at exit) kills every process in each namespace
(`ip netns pids`), deletes the veths and namespaces. A run killed before it could clean up
leaves namespaces and veths named PREFIX-*: the next Fleet with that prefix removes them first,
under a flock so a live run of the same prefix is never torn down by another.
"""
from __future__ import annotations

import fcntl
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sshd_helpers  # noqa: E402
from collect_helpers import simnode  # noqa: E402

NETWORK = ipaddress.ip_network("10.213.0.0/16")
SLOW_RATE = "64kbit"
# The hang host's forced command: the connection probe (recognised by the file it reads
# first) runs; anything else sleeps until the namespace is torn down.
HANG_COMMAND = ('case $SSH_ORIGINAL_COMMAND in *kernel/ostype*) exec /bin/sh -c '
                '\\"$SSH_ORIGINAL_COMMAND\\";; *) exec sleep 86400;; esac')


def unsupported() -> str | None:
    """Why namespace hosts cannot be built here (not root, no `ip netns`, no sshd), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "`ip` is missing (Debian package iproute2)"
    if sshd_helpers.missing():
        return sshd_helpers.missing()
    probe = f"kbprobe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"`ip netns add` failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


@dataclass
class Host:
    index: int
    netns: str
    veth: str               # the root namespace's end
    addr: str               # the host's address (port 22)
    hostname: str
    kind: str = "good"      # good | hang | refuse | slow
    proc: subprocess.Popen | None = None

    @property
    def target(self) -> str:
        return f"root@{self.addr}"


@dataclass
class _State:
    """What teardown needs; kept apart from Fleet so the finalizer holds no reference to it."""
    prefix: str
    hosts: list[Host] = field(default_factory=list)
    lock_fd: int | None = None


def _remove(netns: str, veth: str | None, proc: subprocess.Popen | None) -> None:
    pids = _ip("netns", "pids", netns, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    if proc is not None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
    if veth:
        _ip("link", "del", veth, check=False)   # deletes its peer in the namespace too
    # `ip netns del` fails while a process still holds the namespace: wait for the kills.
    deadline = time.monotonic() + 10
    while _ip("netns", "pids", netns, check=False).stdout.split() and time.monotonic() < deadline:
        time.sleep(0.05)
    _ip("netns", "del", netns, check=False)


def _teardown(state: _State) -> None:
    # A Ctrl-C during teardown would leave the rest of the fleet behind: finish, then raise it.
    interrupted: KeyboardInterrupt | None = None
    for host in state.hosts:
        while True:
            try:
                _remove(host.netns, host.veth, host.proc)
                break
            except KeyboardInterrupt as exc:
                interrupted = exc
    state.hosts.clear()
    if state.lock_fd is not None:
        os.close(state.lock_fd)
        state.lock_fd = None
    if interrupted is not None:
        raise interrupted


def remove_stale(prefix: str) -> list[str]:
    """Remove namespaces PREFIX-* and links PREFIX-* left by a killed run (call under the lock)."""
    gone = []
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(f"{prefix}-"):
            _remove(name, None, None)
            gone.append(name)
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(f"{prefix}-"):
            _ip("link", "del", name, check=False)
            gone.append(name)
    return gone


class Fleet:
    """N namespace hosts with their sshds; a context manager (see the module's docstring)."""

    def __init__(self, base: Path, n: int, *, prefix: str = "kbt", subnet: int = 0,
                 hang: Iterable[int] = (), refuse: Iterable[int] = (), slow: Iterable[int] = (),
                 journal_bytes: int = 0) -> None:
        if not (0 <= subnet and subnet + n <= 256):
            raise ValueError("hosts beyond 10.213.255.0/24")
        self.base = Path(base)
        self.n = n
        self.subnet = subnet
        self.kinds = {**{i: "hang" for i in hang}, **{i: "refuse" for i in refuse},
                      **{i: "slow" for i in slow}}
        self.journal_bytes = journal_bytes
        self._state = _State(prefix)
        self._finalizer = weakref.finalize(self, _teardown, self._state)
        self.node: simnode.SimNode | None = None

    @property
    def hosts(self) -> list[Host]:
        return self._state.hosts

    @property
    def key(self) -> Path:
        return self.base / "client"

    @property
    def known_hosts(self) -> Path:
        return self.base / "known_hosts"

    def __enter__(self) -> "Fleet":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._finalizer()

    def start(self) -> None:
        prefix = self._state.prefix
        os.makedirs("/run/lock", exist_ok=True)
        lock = os.open(f"/run/lock/k8s-bundle-netns-{prefix}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        self._state.lock_fd = lock
        fcntl.flock(lock, fcntl.LOCK_EX)   # another live run of this prefix: wait for its end
        remove_stale(prefix)
        self._check_addresses_free()
        self.base.mkdir(parents=True, exist_ok=True)
        self.node = simnode.build(self.base / "sim")
        for name in ("hostkey", "client", "other"):
            sshd_helpers.keygen(self.base / name)
        known = []
        for i in range(self.n):
            host = Host(i, f"{prefix}-h{i:03d}", f"{prefix}-{i:03d}",
                        str(NETWORK.network_address + ((self.subnet + i) << 8) + 2),
                        f"node{i:03d}", self.kinds.get(i, "good"))
            self.hosts.append(host)   # before it exists: teardown removes whatever was made
            self._make_host(host)
            known.append(sshd_helpers.known_hosts_line(host.addr, 22, self.base / "hostkey.pub"))
        self.known_hosts.write_text("".join(known))
        for host in self.hosts:
            assert host.proc is not None
            sshd_helpers.wait_listening(host.addr, 22, host.proc, self.base / f"{host.netns}.log")

    def _check_addresses_free(self) -> None:
        """Refuse to start when a route of this machine overlaps the /24s this fleet takes."""
        first = ipaddress.ip_address(int(NETWORK.network_address) + (self.subnet << 8))
        ours = list(ipaddress.summarize_address_range(first, first + (self.n << 8) - 1))
        for line in _ip("-o", "-4", "route", "show", "table", "all", check=False).stdout.splitlines():
            words = line.split()
            dest = words[1] if words[0] in ("broadcast", "local", "unicast") and len(words) > 1 else words[0]
            try:
                net = ipaddress.ip_network(dest, strict=False)
            except ValueError:
                continue   # default, multicast, ...
            if any(net.overlaps(o) for o in ours) and not net.is_loopback:
                raise RuntimeError(f"{ours[0]}.. is in use on this machine ({line.strip()}); "
                                   "the namespace hosts need it")

    def _make_host(self, host: Host) -> None:
        assert self.node is not None
        d = self.base / host.netns
        d.mkdir()
        root_addr = str(ipaddress.ip_address(host.addr) - 1)
        _ip("netns", "add", host.netns)
        _ip("link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
        _ip("addr", "add", f"{root_addr}/24", "dev", host.veth)
        _ip("link", "set", host.veth, "up")
        for args in (("addr", "add", f"{host.addr}/24", "dev", "eth0"), ("link", "set", "eth0", "up"),
                     ("link", "set", "lo", "up")):
            _ip("-n", host.netns, *args)
        if host.kind == "slow":
            shape = ["root", "tbf", "rate", SLOW_RATE, "burst", "1600", "latency", "5s"]
            for ns in ([], ["ip", "netns", "exec", host.netns]):
                subprocess.run([*ns, "tc", "qdisc", "add", "dev", host.veth if not ns else "eth0", *shape],
                               check=True, capture_output=True)
        (d / "hostname").write_text(f"{host.hostname}\n")
        env = {"PATH": self.node.path, "SIMNODE_HOSTNAME": host.hostname}
        if self.journal_bytes:
            env["SIMNODE_JOURNAL_BYTES"] = str(self.journal_bytes)
        pub = self.base / ("other.pub" if host.kind == "refuse" else "client.pub")
        (d / "authorized_keys").write_text(sshd_helpers.authorized_key(
            pub, env, HANG_COMMAND if host.kind == "hang" else None))
        (d / "sshd_config").write_text(sshd_helpers.config(
            port=22, listen=host.addr, host_key=self.base / "hostkey",
            authorized_keys=d / "authorized_keys", pid_file=d / "sshd.pid"))
        # `ip netns exec` runs the command in a new mount namespace (slave of ours): the bind
        # mount of the host's name is seen by its sshd and sessions only.
        script = 'mount --bind "$1" "$2" && exec "$3" -D -e -f "$4"'
        with open(self.base / f"{host.netns}.log", "wb") as log:
            host.proc = subprocess.Popen(
                ["ip", "netns", "exec", host.netns, "sh", "-c", script, "sh", str(d / "hostname"),
                 str(self.node.root / "etc/hostname"), sshd_helpers.SSHD, str(d / "sshd_config")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)

    # -- what the collector is given ------------------------------------------------------
    def ssh_args(self) -> list[str]:
        """The options every fan-out run over this fleet passes (not the hosts)."""
        assert self.node is not None
        return ["--ssh-identity", str(self.key), "--root", str(self.node.root), "--live",
                "--ssh-option", f"UserKnownHostsFile={self.known_hosts}",
                "--ssh-option", "GlobalKnownHostsFile=/dev/null"]

    def of_kind(self, kind: str) -> list[Host]:
        return [h for h in self.hosts if h.kind == kind]

    def leftovers(self) -> list[str]:
        """Namespaces and links of this prefix that still exist (after close(): none)."""
        prefix = self._state.prefix
        names = [ln.split()[0] for ln in _ip("netns", "list", check=False).stdout.splitlines() if ln.split()]
        links = [ln.split(":")[1].strip().split("@")[0]
                 for ln in _ip("-o", "link", "show", check=False).stdout.splitlines() if ":" in ln]
        return [n for n in names + links if n.startswith(f"{prefix}-")]
