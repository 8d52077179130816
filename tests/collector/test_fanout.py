"""`collect` fanning out to several remote hosts (collector/fanout.py), end to end on loopback.

Two REAL sshd servers on 127.0.0.1 (tests/collector/sshd_helpers.py), each serving its own
simulated node: `fast` answers everything, `hung` has a docker daemon that never answers (its
`docker info` hangs). A third "host" accepts TCP and never says a word (an sshd wedged before its
banner). Hosts are aliases and ports of these (127.0.0.1, localhost), given by --ssh and by
--hosts files; every run is a real `python -m k8s_bundle.cli collect` subprocess.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psutil
import pytest

import sshd_helpers
from collect_helpers import read_bundle, run_collect, simnode

sshd_helpers.require_sshd()


@dataclass
class Sshd:
    port: int
    node: simnode.SimNode
    proc: subprocess.Popen


@dataclass
class Servers:
    fast: Sshd
    hung: Sshd
    key: Path
    known_hosts: Path
    silent_port: int        # accepts TCP, never answers

    def common(self) -> list[str]:
        # both simulated nodes have the same tree layout; --root points at fast's copy for
        # fast and hung alike would be wrong, so each sshd's session PATH/env selects its node
        # and --root is the shared layout path below (see _start)
        return ["--ssh-identity", str(self.key), "--live",
                "--ssh-option", f"UserKnownHostsFile={self.known_hosts}",
                "--ssh-option", "GlobalKnownHostsFile=/dev/null"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(base: Path, name: str, hang: tuple[str, ...], client_pub: Path, host_key: Path,
           **extra_env: str) -> Sshd:
    d = base / name
    d.mkdir()
    node = simnode.build(d / "sim", hang=hang)
    env = {"PATH": node.path, **extra_env}
    if hang:
        env["SIMNODE_HANG"] = ",".join(hang)
    (d / "authorized_keys").write_text(sshd_helpers.authorized_key(client_pub, env))
    port = _free_port()
    (d / "sshd_config").write_text(sshd_helpers.config(
        port=port, listen="127.0.0.1", host_key=host_key, authorized_keys=d / "authorized_keys",
        pid_file=d / "sshd.pid"))
    log = d / "sshd.log"
    proc = subprocess.Popen([sshd_helpers.SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    sshd_helpers.wait_listening("127.0.0.1", port, proc, log)
    return Sshd(port, node, proc)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    base = tmp_path_factory.mktemp("fanout")
    for name in ("hostkey", "client"):
        sshd_helpers.keygen(base / name)
    # fast's API server answers: every host of it could store the cluster objects
    fast = _start(base, "fast", (), base / "client.pub", base / "hostkey", SIMNODE_API_UP="1")
    hung = _start(base, "hung", ("docker-info",), base / "client.pub", base / "hostkey")
    known = base / "known_hosts"
    known.write_text("".join(sshd_helpers.known_hosts_line(h, s.port, base / "hostkey.pub")
                             for s in (fast, hung) for h in ("127.0.0.1", "localhost")))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:      # accept and never answer (the ssh client waits for a banner)
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                pass
    t = threading.Thread(target=hold, daemon=True)
    t.start()
    yield Servers(fast, hung, base / "client", known, silent.getsockname()[1])
    stop.set()
    t.join(timeout=5)
    for c in accepted:
        c.close()
    silent.close()
    for s in (fast, hung):
        for child in psutil.Process(s.proc.pid).children(recursive=True):
            child.kill()
        s.proc.terminate()
        s.proc.wait(timeout=10)


@pytest.fixture
def reap(servers: Servers) -> Iterator[None]:
    """After a test that left the hung node's `docker info` waiting: a stopped host's remote
    commands live on until the node's `timeout` (--timeout) ends them, as on a real node; the
    test ends them now (found by the session PATH sshd gave them), so that nothing outlives it."""
    yield
    mine = []
    for p in psutil.process_iter():
        try:
            if str(servers.hung.node.bin) in p.environ().get("PATH", "").split(":"):
                mine.append(p)
        except (psutil.Error, OSError):
            pass
    for p in mine:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(mine, timeout=10)


@pytest.fixture
def tmp() -> Iterator[Path]:
    """A short TMPDIR for the run (ssh control socket paths have a length limit), removed after."""
    d = Path(tempfile.mkdtemp(prefix="kb-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _root_args(servers: Servers) -> list[str]:
    # Both simulated nodes were built from the same generator: their trees are identical, and
    # the remote side resolves --root on "the node" (this machine), so fast's tree serves both.
    return ["--root", str(servers.fast.node.root)]


def _json_lines(stderr: str) -> list[dict]:
    return [json.loads(ln) for ln in stderr.splitlines() if ln.startswith("{")]


def _no_ssh_left(tmp: Path) -> list[str]:
    return [" ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])
            if any(str(tmp) in a for a in (p.info["cmdline"] or []))]


def test_hosts_file_fans_out_into_one_bundle_with_json_progress(
        servers: Servers, tmp_path: Path, tmp: Path) -> None:
    closed = _free_port()
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"# three nodes and one that is down\n\nroot@127.0.0.1:{servers.fast.port}\n"
                     f"root@localhost:{servers.fast.port}   # same node, another name\n"
                     f"root@127.0.0.1:{closed}\n")
    out = tmp_path / "multi.tgz"
    proc = run_collect(["--hosts", str(hosts), "--ssh", f"root@127.0.0.1:{servers.fast.port}",
                        *servers.common(), *_root_args(servers), "-o", str(out), "--only", "network,cluster",
                        "--parallel", "2", "--progress", "json"], env=dict(os.environ, TMPDIR=str(tmp)))
    assert proc.returncode == 0, proc.stderr
    bundle = read_bundle(out)
    m = bundle.manifest
    # --ssh and the file's first line are one host: collected once
    assert [n["name"] for n in m["nodes"]] == ["cp1", "cp1-2"]
    assert all("complete" not in n for n in m["nodes"])
    assert {r["node"] for r in bundle.items(id="hosts")} == {"cp1", "cp1-2"}
    assert "nodes/cp1/files/etc/hosts" in bundle.members and "nodes/cp1-2/files/etc/hosts" in bundle.members
    # one gzip stream of members: no part archive inside or beside it
    assert all(name.startswith(("nodes/", "cluster/")) or name in ("manifest.json", "redaction.json")
               for name in bundle.members)
    # the cluster is one: its objects stored once, by whichever node asked first; the other
    # node did not query the API for them and says where they are
    assert bundle.json("cluster/nodes.json")["kind"] == "NodeList"
    recs = {r["node"]: r for r in bundle.items(id="nodes")}
    holder = next(n for n, r in recs.items() if r["status"] == "ok")
    other = next(n for n in recs if n != holder)
    assert recs[holder]["path"] == "cluster/nodes.json"
    assert recs[other]["status"] == "skipped" and recs[other]["path"] is None
    assert recs[other]["error"] == f"cluster/nodes.json: already in the bundle (collected from node {holder})"
    assert not [p for p in tmp_path.iterdir() if p.name not in ("hosts.txt", "multi.tgz")]
    failed = m["failed_hosts"]
    assert len(failed) == 1 and failed[0]["host"] == f"root@127.0.0.1:{closed}"
    assert failed[0]["state"] == "failed" and failed[0]["partial"] is False and failed[0]["node"] is None
    assert "unreachable" in failed[0]["error"] and m["partial"] is False

    events = _json_lines(proc.stderr)
    by_host: dict[str, list[dict]] = {}
    for e in events:
        if e["event"] == "host":
            by_host.setdefault(e["host"], []).append(e)
    assert set(by_host) == {f"root@127.0.0.1:{servers.fast.port}", f"root@localhost:{servers.fast.port}",
                            f"root@127.0.0.1:{closed}"}
    for host, lines in by_host.items():
        states = [e["state"] for e in lines]
        assert states[0] == "connecting", (host, states)
        if host.endswith(str(closed)):
            assert states[-1] == "failed" and "unreachable" in lines[-1]["error"]
            continue
        assert "collecting" in states and states[-1] == "done", (host, states)
        last = lines[-1]
        assert last["done"] == last["total"] > 0 and last["bytes"] > 0 and last["node"] in ("cp1", "cp1-2")
    finish = events[-1]
    assert finish["event"] == "finish" and finish["output"] == str(out) and finish["partial"] is False
    assert finish["hosts"] == {"done": 2, "failed": 1}
    assert not _no_ssh_left(tmp)


def test_host_deadline_stops_hung_hosts_and_keeps_the_rest(
        servers: Servers, tmp_path: Path, reap: None, tmp: Path) -> None:
    out = tmp_path / "b.tgz"
    proc = run_collect(["--ssh", f"root@127.0.0.1:{servers.fast.port}",
                        "--ssh", f"root@127.0.0.1:{servers.hung.port}",
                        "--ssh", f"root@127.0.0.1:{servers.silent_port}",
                        *servers.common(), *_root_args(servers), "-o", str(out),
                        "--only", "runtime", "--timeout", "120", "--host-timeout", "30s",
                        # the silent host must meet the deadline, not ssh's own connect timeout
                        "--ssh-option", "ConnectTimeout=90",
                        "--progress", "json"], env=dict(os.environ, TMPDIR=str(tmp)))
    assert proc.returncode == 0, proc.stderr
    bundle = read_bundle(out)
    m = bundle.manifest
    nodes = {n["name"]: n for n in m["nodes"]}
    assert set(nodes) == {"cp1", "cp1-2"}
    failed = {f["host"]: f for f in m["failed_hosts"]}
    hung = failed[f"root@127.0.0.1:{servers.hung.port}"]
    silent = failed[f"root@127.0.0.1:{servers.silent_port}"]
    assert hung["state"] == "timed_out" and hung["partial"] is True and "deadline" in hung["error"]
    assert silent["state"] == "timed_out" and silent["partial"] is False and silent["node"] is None
    fast_node = next(n for n in nodes if n != hung["node"])
    assert "complete" not in nodes[fast_node]
    assert nodes[hung["node"]]["complete"] is False and "deadline" in nodes[hung["node"]]["incomplete_reason"]
    # what the hung host finished is kept; what it was doing is recorded as not run
    kept = [r for r in bundle.items(node=hung["node"], status="ok") if r["path"]]
    assert kept and all(r["path"] in bundle.members for r in kept)
    assert any(r["id"].startswith("docker-service:") for r in kept)
    stuck = bundle.items(node=hung["node"], id="docker-info")[0]
    assert stuck["status"] == "skipped" and "deadline" in stuck["error"], stuck
    assert bundle.items(node=fast_node, id="docker-info")[0]["status"] == "ok"
    # one stderr line per host that failed or timed out, whether it got as far as collecting
    said = [ln for ln in proc.stderr.splitlines() if ln.endswith("(the other hosts are still collected)")]
    assert len(said) == 2, proc.stderr
    assert any(ln.startswith(f"k8s-bundle: root@127.0.0.1:{servers.hung.port}: host deadline passed")
               and "items finished and kept" in ln for ln in said), said
    assert any(ln.startswith(f"k8s-bundle: root@127.0.0.1:{servers.silent_port}: host deadline passed")
               for ln in said), said
    assert not _no_ssh_left(tmp)
    # the analyzer reads both back from this real bundle: report keys and findings
    ana = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(out), "--format", "json", "-o", "-"],
                         capture_output=True, text=True, timeout=300)
    assert ana.returncode in (1, 3), ana.stderr
    doc = json.loads(ana.stdout)
    assert {h["host"]: h["state"] for h in doc["failed_hosts"]} == {
        f"root@127.0.0.1:{servers.hung.port}": "timed_out", f"root@127.0.0.1:{servers.silent_port}": "timed_out"}
    assert [n["node"] for n in doc["incomplete_nodes"]] == [hung["node"]]
    fired = {(f["rule_id"], f["node"]) for f in doc["findings"]}
    assert ("bundle-hosts-failed", None) in fired and ("bundle-node-incomplete", hung["node"]) in fired


def test_every_host_timed_out_after_storing_items_gives_a_bundle_exit_0(
        servers: Servers, tmp_path: Path, reap: None, tmp: Path) -> None:
    # docs/collector.md: exit 4 and no bundle only when no host stored anything; hosts cut short
    # at their deadline with items kept are collected in part: a bundle, exit 0, and the
    # manifest (failed_hosts, nodes[].complete false) says what is missing
    out = tmp_path / "b.tgz"
    hosts = [f"root@127.0.0.1:{servers.hung.port}", f"root@localhost:{servers.hung.port}"]
    proc = run_collect([*(a for h in hosts for a in ("--ssh", h)), *servers.common(), *_root_args(servers),
                        "-o", str(out), "--only", "runtime", "--timeout", "120", "--host-timeout", "30s",
                        "--progress", "json"], env=dict(os.environ, TMPDIR=str(tmp)))
    assert proc.returncode == 0, proc.stderr
    m = read_bundle(out).manifest
    assert m["partial"] is False
    failed = {f["host"]: f for f in m["failed_hosts"]}
    assert set(failed) == set(hosts)
    assert all(f["state"] == "timed_out" and f["partial"] is True for f in failed.values()), failed
    assert all(n["complete"] is False for n in m["nodes"]) and len(m["nodes"]) == 2
    said = [ln for ln in proc.stderr.splitlines() if ln.endswith("(the other hosts are still collected)")]
    assert len(said) == 2, proc.stderr
    assert not _no_ssh_left(tmp)


def test_sigint_finishes_a_valid_partial_bundle(
        servers: Servers, tmp_path: Path, reap: None, tmp: Path) -> None:
    out = tmp_path / "b.tgz"
    fast, hung = f"root@127.0.0.1:{servers.fast.port}", f"root@127.0.0.1:{servers.hung.port}"
    later = f"root@localhost:{servers.fast.port}"
    proc = subprocess.Popen([sys.executable, "-m", "k8s_bundle.cli", "collect", "--ssh", fast, "--ssh", hung,
                             "--ssh", later, *servers.common(), *_root_args(servers), "-o", str(out),
                             "--only", "runtime", "--timeout", "120", "--parallel", "2",
                             "--progress", "json"],
                            env=dict(os.environ, TMPDIR=str(tmp)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen: list[dict] = []
    state: dict[str, str] = {}
    deadline = time.monotonic() + 90
    # Wait until the fast host is done and the hung one is stuck collecting, then Ctrl-C.
    while not (state.get(fast) == "done" and state.get(hung) == "collecting"):
        line = proc.stderr.readline()
        assert line and time.monotonic() < deadline, (seen, proc.poll())
        if line.startswith("{"):
            e = json.loads(line)
            seen.append(e)
            if e["event"] == "host":
                state[e["host"]] = e["state"]
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    bundle = read_bundle(out)
    m = bundle.manifest
    assert m["partial"] is True and m["partial_reason"] == "interrupted"
    nodes = {n["name"]: n for n in m["nodes"]}
    failed = {f["host"]: f for f in m["failed_hosts"]}
    assert failed[hung]["state"] == "interrupted" and failed[hung]["partial"] is True
    assert nodes[failed[hung]["node"]]["complete"] is False
    assert fast not in failed
    done_node = next(n for n in nodes if n != failed[hung]["node"] and "complete" not in nodes[n])
    assert bundle.items(node=done_node, id="docker-info")[0]["status"] == "ok"
    # every host accounted for: the third either finished (a node, not failed), was cut short
    # or never started (failed_hosts, as its last progress line says)
    for e in _json_lines(rest):
        if e["event"] == "host":
            state[e["host"]] = e["state"]
    assert (state.get(later) == "done" and later not in failed) or \
        failed[later]["state"] in ("not_started", "interrupted"), (state, failed)
    assert len(nodes) == 3 - sum(1 for f in failed.values() if f["node"] is None)
    assert not list(tmp_path.glob(".*.part"))
    assert not _no_ssh_left(tmp)


def test_fanout_flags_are_checked_before_any_connection(tmp_path: Path) -> None:
    for args, code, needle in (
        (["--ssh", "a", "--ssh", "b", "--parallel", "0"], 2, "--parallel must be between 1 and 256"),
        (["--ssh", "a", "--parallel", "257"], 2, "--parallel"),
        (["--ssh", "a", "--host-timeout", "soon"], 2, "bad duration"),
        (["--ssh", "a", "--hosts-group", "web"], 2, "--hosts-group needs --hosts"),
        (["--hosts", str(tmp_path / "nope.ini")], 4, "no such file"),
    ):
        proc = run_collect([*args, "-o", str(tmp_path / "b.tgz")])
        assert proc.returncode == code, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    bad = tmp_path / "inv.ini"
    bad.write_text("[web]\nnode[05:01].example\n")
    proc = run_collect(["--hosts", str(bad), "-o", str(tmp_path / "b.tgz")])
    assert proc.returncode == 4 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"--hosts {bad}:2: range" in proc.stderr
    good = tmp_path / "inv.yaml"
    good.write_text("all:\n  children:\n    web:\n      hosts:\n        node1.example:\n")
    proc = run_collect(["--hosts", str(good), "--hosts-group", "db", "-o", str(tmp_path / "b.tgz")])
    assert proc.returncode == 4 and proc.stderr.count("\n") == 1, proc.stderr
    assert "--hosts-group db: no such group" in proc.stderr
    assert not (tmp_path / "b.tgz").exists()


def test_a_host_whose_connection_drops_mid_way_fails_and_keeps_what_it_stored(
        servers: Servers, tmp_path: Path, reap: None, tmp: Path) -> None:
    out = tmp_path / "b.tgz"
    down, hung = f"root@127.0.0.1:{_free_port()}", f"root@127.0.0.1:{servers.hung.port}"
    proc = subprocess.Popen([sys.executable, "-m", "k8s_bundle.cli", "collect", "--ssh", down, "--ssh", hung,
                             *servers.common(), *_root_args(servers), "-o", str(out), "--only", "runtime",
                             "--timeout", "120", "--host-timeout", "5m", "--progress", "json"],
                            env=dict(os.environ, TMPDIR=str(tmp)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 180
    while True:      # the hung node is collecting and has stored something
        line = proc.stderr.readline()
        assert line and time.monotonic() < deadline, proc.poll()
        if line.startswith("{"):
            e = json.loads(line)
            if e.get("host") == hung and e["state"] == "collecting" and e["bytes"] > 0:
                break
    # the node drops the connection: every sshd session process of that server dies
    sessions = psutil.Process(servers.hung.proc.pid).children(recursive=True)
    for p in sessions:
        p.kill()
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, rest
    m = read_bundle(out).manifest
    failed = {f["host"]: f for f in m["failed_hosts"]}
    assert set(failed) == {hung, down} and failed[down]["partial"] is False
    f = failed[hung]
    assert f["state"] == "failed" and f["partial"] is True and "lost mid-way" in f["error"], f
    nodes = {n["name"]: n for n in m["nodes"]}
    assert nodes[f["node"]]["complete"] is False and "lost mid-way" in nodes[f["node"]]["incomplete_reason"]
    mine = [r for r in m["items"] if r["node"] == f["node"]]
    assert [r for r in mine if r["status"] == "ok" and r["path"]]
    # the hung command died with the connection (not at its 120 s timeout); whatever was not
    # run after the drop says why
    stuck = next(r for r in mine if r["id"] == "docker-info")
    assert stuck["status"] in ("failed", "skipped"), stuck      # a 120 s wait would be "timeout"
    assert all("lost mid-way" in r["error"] for r in mine if (r["error"] or "").startswith("not run"))
    assert "lost mid-way" in rest and not _no_ssh_left(tmp)


def test_one_silent_host_meets_its_deadline_exit_4_no_bundle(servers: Servers, tmp_path: Path) -> None:
    out = tmp_path / "b.tgz"
    proc = run_collect(["--ssh", f"root@127.0.0.1:{servers.silent_port}", *servers.common(),
                        "--ssh-option", "ConnectTimeout=90", "--host-timeout", "2s", "-o", str(out)])
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and "host deadline passed (--host-timeout 2s)" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_several_hosts_off_a_terminal_report_json_lines_by_default(tmp_path: Path) -> None:
    a, b = _free_port(), _free_port()
    proc = run_collect(["--ssh", f"127.0.0.1:{a}", "--ssh", f"localhost:{b}", "-o", str(tmp_path / "b.tgz")])
    assert proc.returncode == 4
    lines = _json_lines(proc.stderr)
    last = {e["host"]: e["state"] for e in lines if e["event"] == "host"}
    assert last == {f"127.0.0.1:{a}": "failed", f"localhost:{b}": "failed"}
    assert "no host could be collected" in proc.stderr.strip().splitlines()[-1]


def test_the_open_file_limit_is_raised_for_many_hosts() -> None:
    # --parallel 256 holds thousands of pipes: a soft limit of 1024 is raised toward the hard one
    code = ("import resource\n"
            "from k8s_bundle.collector.fanout import _raise_fd_limit\n"
            "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))\n"
            "_raise_fd_limit(4096)\n"
            "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    soft, hard = (int(x) for x in out.split())
    assert soft == (4096 if hard == -1 or hard >= 4096 else hard)
