"""`collect --ssh` against a REAL OpenSSH server on loopback.

The test starts its own /usr/sbin/sshd (temp host key, temp authorized_keys for a generated
client key, a free high port on 127.0.0.1) and stops it in teardown. The remote side is this
machine: authorized_keys puts the simulated node's fake tools first on the remote PATH
(PermitUserEnvironment), and --root/--live point the collector at the simulated node's tree.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psutil
import pytest

import sshd_helpers
from collect_helpers import read_bundle, run_collect, simnode
from sshd_helpers import keygen as _keygen

sshd_helpers.require_sshd()


@dataclass
class Server:
    port: int
    dir: Path
    key: Path               # the authorized client key
    wrong_key: Path         # a key the server does not know
    known_hosts: Path       # holds the server's key for 127.0.0.1 and localhost
    node: "simnode.SimNode"
    proc: subprocess.Popen

    def args(self, *hosts: str, known_hosts: Path | None = None) -> list[str]:
        out: list[str] = []
        for h in hosts or ("127.0.0.1",):
            out += ["--ssh", f"root@{h}:{self.port}"]
        return out + ["--ssh-identity", str(self.key), "--root", str(self.node.root), "--live",
                      "--ssh-option", f"UserKnownHostsFile={known_hosts or self.known_hosts}",
                      "--ssh-option", "GlobalKnownHostsFile=/dev/null"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("sshd")
    node = simnode.build(base / "sim", hang=("docker-info",))
    for name in ("hostkey", "client", "wrong"):
        _keygen(base / name)
    (base / "authorized_keys").write_text(sshd_helpers.authorized_key(
        base / "client.pub", {"PATH": node.path, "SIMNODE_HANG": "docker-info"}))
    port = _free_port()
    (base / "sshd_config").write_text(sshd_helpers.config(
        port=port, listen="127.0.0.1", host_key=base / "hostkey",
        authorized_keys=base / "authorized_keys", pid_file=base / "sshd.pid"))
    proc = subprocess.Popen([sshd_helpers.SSHD, "-D", "-e", "-f", str(base / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=open(base / "sshd.log", "wb"))
    try:
        sshd_helpers.wait_listening("127.0.0.1", port, proc, base / "sshd.log")
    except RuntimeError as exc:
        proc.kill()
        pytest.fail(str(exc))
    known = base / "known_hosts"
    known.write_text("".join(sshd_helpers.known_hosts_line(h, port, base / "hostkey.pub")
                             for h in ("127.0.0.1", "localhost")))
    yield Server(port, base, base / "client", base / "wrong", known, node, proc)
    # teardown: sshd and every session it still has (none should be left)
    for child in psutil.Process(proc.pid).children(recursive=True):
        child.kill()
    proc.terminate()
    proc.wait(timeout=10)


def _leftovers(node: "simnode.SimNode") -> list[str]:
    """Processes still running THIS simulated node's fake tools: the wrapper execs fake.py, so
    a fake is recognised by its PATH (another test's simulated node, running at the same
    time, has its own)."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if str(node.bin) in cmd:
            out.append(cmd)
        elif "fake.py" in cmd:
            try:
                if str(node.bin) in p.environ().get("PATH", ""):
                    out.append(cmd)
            except psutil.Error:
                pass
    return out


@pytest.fixture(scope="module")
def collected(server: Server, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sshout") / "b.tgz"
    # the areas the assertions need (speed: each command is one ssh session)
    proc = run_collect([*server.args(), "-o", str(out), "--timeout", "2", "--progress", "none",
                        "--only", "system,network,logs,runtime"])
    return proc, out


def test_collects_the_node_over_ssh(server: Server, collected) -> None:
    proc, out = collected
    assert proc.returncode == 0, proc.stderr
    bundle = read_bundle(out)
    manifest = bundle.manifest
    assert [(n["name"], n["os"], n["transport"]) for n in manifest["nodes"]] == [("cp1", "linux", "ssh")]
    # files read with a remote cat/head, byte for byte
    assert bundle.members["nodes/cp1/files/etc/hosts"] == (server.node.root / "etc/hosts").read_bytes()
    assert bundle.item("hosts")["status"] == "ok"
    # the absolute symlink /etc/resolv.conf was resolved inside the root on the remote side
    resolv = server.node.root / "run/systemd/resolve/stub-resolv.conf"
    if resolv.exists():
        assert bundle.members["nodes/cp1/files/etc/resolv.conf"] == resolv.read_bytes()
    # commands ran remotely with the node's PATH (the fake tools) and were stored
    cmd_items = bundle.items(kind="command", status="ok")
    assert len(cmd_items) > 10, [r["id"] for r in bundle.items(kind="command")]
    # the journal came through journalctl over ssh
    assert any(m.startswith("nodes/cp1/logs/journal/kubelet") for m in bundle.members)
    # private keys never leave the node, secrets are redacted as in a local run
    for member, data in bundle.members.items():
        for secret in server.node.secrets:
            assert secret.encode() not in data, member
    # items that read this machine's process table are not passed off as the node's
    assert bundle.item("processes")["status"] == "skipped"
    node = bundle.json("nodes/cp1/node.json")
    assert node["hostname"] == "cp1" and node["memory_bytes"] is None   # not this machine's


def test_hanging_remote_command_times_out_and_the_run_goes_on(server: Server, collected) -> None:
    proc, out = collected
    bundle = read_bundle(out)
    rec = bundle.item("docker-info")
    assert rec["status"] == "timeout", rec
    assert bundle.item("hosts")["status"] == "ok"   # collected after/alongside the hang
    # the remote `timeout` (and the killed ssh client) left nothing running on the node
    deadline = time.monotonic() + 5
    while _leftovers(server.node) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _leftovers(server.node) == []


def test_the_bundle_is_analyzable(collected) -> None:
    from k8s_bundle.analyzer.evidence import load_evidence

    _, out = collected
    evidence = load_evidence(str(out))
    assert list(evidence.nodes) == ["cp1"]
    assert evidence.log_index.height > 0


def test_unknown_host_key_is_refused_unless_accept_new(server: Server, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    out = tmp_path / "b.tgz"
    proc = run_collect([*server.args(known_hosts=known), "-o", str(out), "--only", "network"])
    assert proc.returncode == 4, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "host key is not known" in lines[0], proc.stderr
    assert not out.exists() and known.read_text() == ""
    proc = run_collect([*server.args(known_hosts=known), "-o", str(out), "--only", "network",
                        "--ssh-accept-new-host-key", "--progress", "none", "--obfuscate", "hostnames"])
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and "ssh-ed25519" in known.read_text()
    # --obfuscate over ssh: the node's name is nowhere in the bundle, the map is beside it
    bundle = read_bundle(out)
    assert all("cp1" not in m for m in bundle.members) and "cp1" not in bundle.top
    assert all(b"cp1" not in data for data in bundle.members.values())
    map_path = out.with_name(out.name + ".obfuscation-map.json")
    assert (map_path.stat().st_mode & 0o777) == 0o600
    assert "cp1" in json.loads(map_path.read_text())["hostnames"]


def test_wrong_key_is_an_auth_failure_exit_4(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "b.tgz"
    args = server.args()
    args[args.index("--ssh-identity") + 1] = str(server.wrong_key)
    proc = run_collect([*args, "-o", str(out), "--only", "network"])
    assert proc.returncode == 4, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "authentication failed" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_two_hosts_one_bundle_two_nodes_and_fail_forward(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "multi.tgz"
    closed = _free_port()
    args = [*server.args("127.0.0.1", "localhost"), "--ssh", f"root@127.0.0.1:{closed}"]
    proc = run_collect([*args, "-o", str(out), "--only", "network", "--progress", "none"])
    assert proc.returncode == 0, proc.stderr
    assert f"127.0.0.1:{closed}: unreachable" in proc.stderr
    bundle = read_bundle(out)
    names = [n["name"] for n in bundle.manifest["nodes"]]
    assert names == ["cp1", "cp1-2"]
    for name in names:
        assert f"nodes/{name}/files/etc/hosts" in bundle.members
        assert {r["node"] for r in bundle.items(id="hosts")} == set(names)
    failed = bundle.manifest["failed_hosts"]
    assert [f["host"] for f in failed] == [f"root@127.0.0.1:{closed}"] and failed[0]["transport"] == "ssh"
    assert not list(tmp_path.glob("*.part*"))
    # a port nobody listens on alone: nothing to collect, exit 4, no bundle
    out2 = tmp_path / "none.tgz"
    proc = run_collect(["--ssh", f"127.0.0.1:{closed}", "--ssh", f"localhost:{closed}", "-o", str(out2)])
    assert proc.returncode == 4 and not out2.exists(), proc.stderr
    assert "no host could be collected" in proc.stderr.strip().splitlines()[-1]


# -- the transport itself, in-process ----------------------------------------------------------
@pytest.fixture
def transport(server: Server):
    from k8s_bundle.collector.remote import parse_target
    from k8s_bundle.collector.transports.ssh import SshTransport

    t = SshTransport(parse_target(f"root@127.0.0.1:{server.port}"), root=str(server.node.root),
                     identity=str(server.key),
                     options=[("UserKnownHostsFile", str(server.known_hosts)),
                              ("GlobalKnownHostsFile", "/dev/null")]).connect()
    yield t
    t.close()


def test_paths_are_quoted_never_interpolated(server: Server, transport) -> None:
    odd_dir = server.node.root / "etc/odd dir"
    odd_dir.mkdir(exist_ok=True)
    canary = "k8s-bundle-injected"   # no "/" in a file name: relative to wherever it would run
    name = f"a 'b' \"c\" $(touch {canary}) `touch {canary}`;*.conf"
    (odd_dir / name).write_bytes(b"odd content\n")
    stop = threading.Event()
    data = b"".join(transport.read_file(f"/etc/odd dir/{name}", cap=1024, tail=False, stop=stop))
    assert data == b"odd content\n"
    assert transport.glob("/etc/odd dir/*.conf") == [f"/etc/odd dir/{name}"]
    assert name in transport.listdir("/etc/odd dir")
    assert transport.stat(f"/etc/odd dir/{name}").st_size == len(b"odd content\n")
    out = b"".join(transport.run(["echo", name], timeout=5, cap=1024, stop=stop))
    assert out == name.encode() + b"\n"
    for where in (Path.home(), Path("/"), server.node.root, odd_dir, server.node.root / "etc"):
        assert not (where / canary).exists(), where


def test_tail_drops_a_partial_first_line_longer_than_a_chunk(server: Server, transport) -> None:
    # the helper's answer arrives in base64 lines of 57 bytes: the partial first line of the
    # tail window (100 bytes) spans several chunks, and none of it is kept (collector/stream.py)
    lines = [b"%05d " % i + b"x" * 293 + b"\n" for i in range(200)]     # 300 bytes each
    (server.node.root / "var/log/long.log").write_bytes(b"".join(lines))
    s = transport.read_file("/var/log/long.log", cap=1000, tail=True, stop=threading.Event())
    assert b"".join(s) == b"".join(lines[-3:]) and s.truncated


def test_caps_and_tail_are_enforced_while_streaming(server: Server, transport) -> None:
    big = server.node.root / "var/log/big.log"
    big.write_bytes(b"".join(b"line %06d\n" % i for i in range(100_000)))   # 1.2 MB
    stop = threading.Event()
    s = transport.read_file("/var/log/big.log", cap=64 * 1024, tail=False, stop=stop)
    head = b"".join(s)
    assert s.truncated and len(head) == 64 * 1024 and head.startswith(b"line 000000\n")
    s = transport.read_file("/var/log/big.log", cap=64 * 1024, tail=True, stop=stop)
    tail = b"".join(s)
    assert s.truncated and tail.endswith(b"line 099999\n") and tail.startswith(b"line ")
    assert len(tail) <= 64 * 1024
    s = transport.run(["cat", str(big)], timeout=10, cap=1000, stop=stop)
    assert len(b"".join(s)) == 1000 and s.truncated
    missing = transport.read_file("/etc/nope", cap=10, tail=False, stop=stop)
    assert b"".join(missing) == b"" and missing.not_found
    s = transport.run(["no-such-tool-xyz"], timeout=5, cap=100, stop=stop)
    b"".join(s)
    assert s.not_found


def test_bad_ssh_options_are_usage_errors(server: Server, tmp_path: Path) -> None:
    proc = run_collect([*server.args(), "--ssh-option", "ProxyCommand=touch /tmp/x", "-o", str(tmp_path / "b.tgz")])
    assert proc.returncode == 2 and "not allowed" in proc.stderr
    proc = run_collect(["--ssh", "root@host:99999", "-o", str(tmp_path / "b.tgz")])
    assert proc.returncode == 2 and "port" in proc.stderr


def test_no_connection_outlives_a_killed_collector(server: Server, tmp_path: Path) -> None:
    import signal
    import sys

    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="kb-", dir="/tmp"))   # short: the socket path has a limit
    env = dict(os.environ, TMPDIR=str(tmp))
    proc = subprocess.Popen([sys.executable, "-m", "k8s_bundle.cli", "collect", *server.args(),
                             "-o", str(tmp_path / "b.tgz"), "--progress", "none"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not list(tmp.glob("k8s-bundle-ssh-*/cm")):
        assert proc.poll() is None and time.monotonic() < deadline, "no ssh master appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    def masters() -> list[int]:
        return [p.pid for p in psutil.process_iter(["cmdline"])
                if any(str(tmp) in a for a in (p.info["cmdline"] or []))]

    deadline = time.monotonic() + 10
    while masters() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert masters() == []
    shutil.rmtree(tmp, ignore_errors=True)
