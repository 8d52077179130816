"""`collect` fan-out over WinRM: four recorded PSRP servers (psrp_server.FakeWinRM, each on its
own loopback port, answering with the recorded Windows node of tests/windows) collected in ONE
run, next to a WinRM host that rejects our credentials and one that accepts the TCP connection
and never answers (its TLS handshake waits: only the per-host deadline ends it).

With root, a mixed run adds four Linux hosts, each a network namespace with its own sshd
(tests/collector/netns.py), to the four WinRM servers in one Ansible inventory.

Every run is a real `python -m k8s_bundle.cli collect` subprocess.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from psrp_server import FakeWinRM

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collector"))
import netns  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ci_guard  # noqa: E402

ONLY = ["--only", "ports,os"]
HOST_TIMEOUT = "10s"     # the silent host's TLS handshake would wait 30 s (read_timeout)


class Fleet:
    def __init__(self, tmp: Path, rec: str, drive: str) -> None:
        self.servers: list[FakeWinRM] = []
        for i in range(4):
            d = tmp / f"win{i}"
            d.mkdir()
            # the first asks for the client certificate (WinRM's HTTPS mutual profile)
            self.servers.append(FakeWinRM(d, rec, drive, require_client_cert=(i == 0), hostname=f"WIN-{i}"))
        d = tmp / "reject"
        d.mkdir()
        self.reject = FakeWinRM(d, rec, drive, reject_auth=True, hostname="WIN-REJECT")
        self.silent = socket.socket()          # listens, never accepts: connections hang in TLS
        self.silent.bind(("127.0.0.1", 0))
        self.silent.listen(16)
        self.silent_port = self.silent.getsockname()[1]
        self.cas = tmp / "cas.pem"
        self.cas.write_text("".join(Path(s.ca_file).read_text() for s in [*self.servers, self.reject]))

    def __enter__(self) -> "Fleet":
        for s in [*self.servers, self.reject]:
            s.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        for s in [*self.servers, self.reject]:
            s.__exit__(*exc)
        self.silent.close()

    def auth_args(self) -> list[str]:
        a = self.servers[0]
        return ["--winrm-auth", "certificate", "--winrm-cert", a.client_cert, "--winrm-key", a.client_key,
                "--winrm-ca-cert", str(self.cas)]


@pytest.fixture
def fleet(tmp_path: Path, recorded_node) -> Iterator[Fleet]:
    rec, drive = recorded_node
    with Fleet(tmp_path, str(rec), str(drive)) as f:
        yield f


def collect(args: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "collect", *args],
                          capture_output=True, text=True, timeout=timeout)


def read(out: Path) -> tuple[dict[str, Any], list[str]]:
    import tarfile

    with tarfile.open(out) as tf:
        members = tf.getmembers()
        names = [m.name.split("/", 1)[1] for m in members]
        f = tf.extractfile([m for m in members if m.name.endswith("/manifest.json")][0])
        assert f is not None
        return json.load(f), names


def host_events(stderr: str) -> list[dict[str, Any]]:
    return [o for o in (json.loads(ln) for ln in stderr.splitlines() if ln.startswith("{"))
            if o.get("event") == "host"]


def test_four_winrm_servers_one_run_with_a_rejecting_and_a_silent_host(fleet: Fleet, tmp_path: Path) -> None:
    out = tmp_path / "win.tgz"
    targets = [f"127.0.0.1:{s.port}" for s in fleet.servers]
    reject, silent = f"127.0.0.1:{fleet.reject.port}", f"127.0.0.1:{fleet.silent_port}"
    args = [a for t in [silent, *targets, reject] for a in ("--winrm", t)]
    proc = collect([*args, *fleet.auth_args(), *ONLY, "--parallel", "8", "--host-timeout", HOST_TIMEOUT,
                    "--progress", "json", "-o", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    manifest, names = read(out)
    nodes = {n["name"]: n for n in manifest["nodes"]}
    assert set(nodes) == {f"win-{i}" for i in range(4)}
    assert all(n["os"] == "windows" and n["transport"] == "psrp" for n in nodes.values())
    for i in range(4):
        # the recorded node's answers, over each server's own connection
        assert f"nodes/win-{i}/windows/reservedports.txt" in names
        assert any(v == "Create" for v, _ in fleet.servers[i].requests)
    failed = {f["host"]: f for f in manifest["failed_hosts"]}
    assert set(failed) == {reject, silent}, failed
    assert failed[silent]["state"] == "timed_out" and failed[silent]["transport"] == "winrm"
    assert "--host-timeout" in failed[silent]["error"]
    assert failed[reject]["state"] == "failed" and "authentication failed" in failed[reject]["error"]
    # one stderr line each, the silent host's too (it hangs in its TLS handshake: its own thread
    # never returns, the coordinator says it)
    said = [ln for ln in proc.stderr.splitlines() if ln.endswith("(the other hosts are still collected)")]
    assert len(said) == 2, proc.stderr
    assert any(ln.startswith(f"k8s-bundle: {silent}: host deadline passed") for ln in said), said
    # the four servers were collected at once: one was collecting before another was done
    events = host_events(proc.stderr)
    order = [(e["host"], e["state"]) for e in events]
    first_done = min(i for i, (_, s) in enumerate(order) if s == "done")
    collecting_before = {h for h, s in order[:first_done] if s == "collecting"}
    assert len(collecting_before) >= 2, order
    last = {e["host"]: e["state"] for e in events}
    assert last == {**{t: "done" for t in targets}, reject: "failed", silent: "timed_out"}


def test_winrm_hosts_of_a_yaml_inventory_group(fleet: Fleet, tmp_path: Path) -> None:
    s = fleet.servers
    inv = tmp_path / "inventory.yml"
    inv.write_text(f"""# an Ansible YAML inventory
all:
  children:
    windows:
      vars:
        ansible_connection: winrm
      hosts:
        w0:
          ansible_host: 127.0.0.1
          ansible_port: {s[0].port}
        w1:
          ansible_host: localhost
          ansible_port: {s[1].port}
      children:
        windows_psrp:
          hosts:
            w2:
              ansible_host: 127.0.0.1
              ansible_port: {s[2].port}
              ansible_connection: psrp
    broken:
      hosts:
        bad:
          ansible_host: 127.0.0.1
          ansible_port: {fleet.reject.port}
          ansible_connection: winrm
        w3:
          ansible_host: 127.0.0.1
          ansible_port: {s[3].port}
          ansible_connection: winrm
""")
    out = tmp_path / "group.tgz"
    proc = collect(["--hosts", str(inv), "--hosts-group", "windows", *fleet.auth_args(), *ONLY,
                    "--progress", "none", "-o", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest, names = read(out)
    assert sorted(n["name"] for n in manifest["nodes"]) == ["win-0", "win-1", "win-2"]
    assert "failed_hosts" not in manifest
    # the hosts of the other group were never contacted
    assert not fleet.reject.requests and not fleet.servers[3].requests


def test_linux_namespace_hosts_and_windows_hosts_of_one_inventory(fleet: Fleet, tmp_path: Path) -> None:
    """Four Linux hosts, each a network namespace with its own sshd (tests/collector/netns.py),
    and the four WinRM servers, from one Ansible INI inventory, in one run: one bundle, each
    host its own catalogue."""
    why = netns.unsupported()
    ci_guard.require(f"network namespaces: {why}" if why else None, why)
    with netns.Fleet(tmp_path / "linux", 4, prefix="kbw", subnet=64) as linux:
        inv = tmp_path / "inventory.ini"
        inv.write_text("[linux]\n" + "".join(f"{h.hostname} ansible_host={h.addr} ansible_user=root\n"
                                             for h in linux.hosts)
                       + "\n[windows]\n" + "".join(f"win{i} ansible_host=127.0.0.1 ansible_port={s.port}\n"
                                                   for i, s in enumerate(fleet.servers))
                       + "\n[windows:vars]\nansible_connection=winrm\n\n[k8s:children]\nlinux\nwindows\n")
        out = tmp_path / "mixed.tgz"
        proc = collect(["--hosts", str(inv), "--hosts-group", "k8s", "--parallel", "8", *linux.ssh_args(),
                        *fleet.auth_args(), "--only", "network,ports,os", "--progress", "none", "-o", str(out)])
        linux_names = [h.hostname for h in linux.hosts]
    assert linux.leftovers() == []
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest, names = read(out)
    nodes = {n["name"]: n for n in manifest["nodes"]}
    assert set(nodes) == set(linux_names) | {f"win-{i}" for i in range(4)}
    assert "failed_hosts" not in manifest
    for name in linux_names:
        assert nodes[name]["os"] == "linux" and nodes[name]["transport"] == "ssh"
        assert f"nodes/{name}/files/etc/hosts" in names
        assert not any(n.startswith(f"nodes/{name}/windows/") for n in names)
    for i in range(4):
        assert nodes[f"win-{i}"]["os"] == "windows"
        assert f"nodes/win-{i}/windows/reservedports.txt" in names
