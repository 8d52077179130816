"""`collect --hosts` fan-out against 24 REAL hosts: one network namespace each, with its own
sshd and the simulated node (tests/collector/netns.py builds and removes them).

Hosts 0-20 are good, 21 hangs after its connection probe (only the per-host deadline ends it),
22 refuses our key, 23 sits behind a slow link (tc tbf). One namespace set serves the module.
Every run is a real `python -m k8s_bundle.cli collect` subprocess. The fleet run collects
--only kubernetes (files, globs, a derived item); the inventory run --only network (commands
too) of 3 hosts: every simulated node's CPU is this machine's, and a full catalogue over ssh
costs several CPU-seconds per host (bench/collect_fanout_bench.py prints both sides' CPU).
The whole file: 29.9 s measured (load average falling from 78, 2 cores).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest

import netns
from collect_helpers import collect_cmd, read_bundle, run_collect

N_HOSTS, HANG, REFUSE, SLOW = 24, 21, 22, 23
# The deadline must be long enough for a good host on a loaded 2-core machine (8 hosts at once)
# and is what the hang host waits for: it is listed first so its wait overlaps the others' work.
HOST_TIMEOUT = 20
FLEET_ARGS = ["--only", "kubernetes", "--timeout", "20"]
BASE_ARGS = ["--only", "network", "--timeout", "20"]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ci_guard  # noqa: E402

_why = netns.unsupported()
ci_guard.require(f"the fan-out tests need network namespaces: {_why}" if _why else None, _why)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[netns.Fleet]:
    with netns.Fleet(tmp_path_factory.mktemp("fleet"), N_HOSTS, prefix="kbt",
                     hang={HANG}, refuse={REFUSE}, slow={SLOW}) as f:
        yield f
    assert f.leftovers() == []


def progress_lines(stderr: str) -> list[dict[str, Any]]:
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def last_states(lines: list[dict[str, Any]]) -> dict[str, str]:
    """host label -> the last state its progress lines gave."""
    states: dict[str, str] = {}
    for obj in lines:
        if "host" in obj and "state" in obj:
            states[obj["host"]] = obj["state"]
    return states


@pytest.fixture(scope="module")
def fanout(fleet: netns.Fleet, tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("fanout")
    hosts = d / "hosts.txt"
    first = [fleet.hosts[i] for i in (HANG, REFUSE, SLOW)]
    hosts.write_text("# the whole fleet, one host a line\n"
                     + "".join(f"{h.target}\n" for h in first + fleet.of_kind("good")))
    out = d / "fleet.tgz"
    proc = run_collect(["--hosts", str(hosts), "--parallel", "8", "--host-timeout", f"{HOST_TIMEOUT}s",
                        "--progress", "json", *FLEET_ARGS, *fleet.ssh_args(), "-o", str(out)],
                       timeout=300)
    return proc, out


def test_one_bundle_one_node_per_good_host(fleet: netns.Fleet, fanout) -> None:
    proc, out = fanout
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    bundle = read_bundle(out)
    collected = [h for h in fleet.hosts if h.kind in ("good", "slow")]
    names = sorted(n["name"] for n in bundle.manifest["nodes"])
    assert names == sorted(h.hostname for h in collected)
    assert all(n["transport"] == "ssh" for n in bundle.manifest["nodes"])
    for h in collected:
        # the node's name is its own /etc/hostname (bind-mounted in its namespace); its files
        # were read over its own connection and redacted like a local run's
        assert {r["status"] for r in bundle.items(node=h.hostname, id="kubelet-config")} == {"ok"}
        admin = bundle.members[f"nodes/{h.hostname}/files/etc/kubernetes/admin.conf"]
        assert b"server: https://192.168.1.10:6443" in admin
        for secret in fleet.node.secrets:
            assert secret.encode() not in admin
    assert bundle.manifest.get("partial") in (False, None)
    # the slow host was collected whole, not cut by the deadline
    slow = fleet.hosts[SLOW]
    assert not [r for r in bundle.items(node=slow.hostname) if r["status"] in ("timeout", "not_run")]


def test_hanging_host_timed_out_refusing_host_failed(fleet: netns.Fleet, fanout) -> None:
    proc, out = fanout
    failed = {f["host"]: f for f in read_bundle(out).manifest["failed_hosts"]}
    hang, refuse = fleet.hosts[HANG], fleet.hosts[REFUSE]
    assert set(failed) == {hang.target, refuse.target}, failed
    assert failed[hang.target]["state"] == "timed_out", failed[hang.target]
    assert failed[hang.target]["transport"] == "ssh"
    assert failed[refuse.target]["state"] == "failed"
    assert "authentication failed" in failed[refuse.target]["error"]
    # one line each on stderr, and the others went on
    text = [ln for ln in proc.stderr.splitlines() if not ln.startswith("{")]
    assert any(refuse.target in ln and "authentication failed" in ln for ln in text), proc.stderr[-2000:]
    # the hung sessions were closed: no ssh client of the run is left on this machine
    assert ssh_clients_of(hang) == []


def ssh_clients_of(host: netns.Host, wait: float = 5) -> list[str]:
    """Command lines of this machine's ssh clients still connected to `host` (after `wait`)."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for p in psutil.process_iter(["cmdline"]):
            cmd = p.info["cmdline"] or []
            if cmd and os.path.basename(cmd[0]) == "ssh" and host.addr in cmd:
                found.append(f"{p.pid} ppid={p.ppid()}: {' '.join(cmd)}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_progress_json_lines_per_host(fleet: netns.Fleet, fanout) -> None:
    proc, _ = fanout
    lines = progress_lines(proc.stderr)
    states = last_states(lines)
    want = {h.target: {"hang": "timed_out", "refuse": "failed"}.get(h.kind, "done") for h in fleet.hosts}
    assert states == want
    # every good host was seen connecting and collecting before it was done
    seen: dict[str, list[str]] = {}
    for obj in lines:
        if "host" in obj and "state" in obj:
            seen.setdefault(obj["host"], []).append(obj["state"])
    for h in fleet.of_kind("good"):
        s = seen[h.target]
        assert s.index("connecting") < s.index("collecting") < s.index("done"), s


def test_the_fleet_bundle_analyses(fanout, tmp_path: Path) -> None:
    _, out = fanout
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(out), "-o", str(report),
                           "--format", "json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode not in (4, 5), proc.stderr[-2000:]
    data = json.loads(report.read_text())
    assert len(data["nodes"]) == N_HOSTS - 2


def test_ansible_ini_group_selects_its_hosts(fleet: netns.Fleet, tmp_path: Path) -> None:
    h = fleet.hosts
    inv = tmp_path / "inventory.ini"
    inv.write_text(f"""# an Ansible INI inventory
[control]
cp-a ansible_host={h[0].addr} ansible_user=root

[workers]
{h[1].addr} ansible_user=root ansible_port=22
w2 ansible_host={h[2].addr}

[workers:vars]
ansible_user=root

[k8s:children]
control
workers

[broken]
{h[REFUSE].addr} ansible_user=root
{h[HANG].addr} ansible_user=root

[db]
db1 ansible_host={h[3].addr} ansible_user=root
""")
    out = tmp_path / "k8s.tgz"
    proc = run_collect(["--hosts", str(inv), "--hosts-group", "k8s", "--progress", "none",
                        "--host-timeout", f"{HOST_TIMEOUT}s", *BASE_ARGS, *fleet.ssh_args(),
                        "-o", str(out)], timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    bundle = read_bundle(out)
    assert sorted(n["name"] for n in bundle.manifest["nodes"]) == [h[0].hostname, h[1].hostname, h[2].hostname]
    assert not bundle.manifest.get("failed_hosts")
    for host in h[:3]:
        # the commands ran in its own sshd's sessions (its environment names it)
        assert bundle.members[f"nodes/{host.hostname}/commands/hostname-fqdn.txt"] == \
            f"{host.hostname}.example.internal\n".encode()
        assert len(bundle.items(node=host.hostname, kind="command", status="ok")) >= 3
    # a group the file does not have: one line, exit 4, no bundle
    out2 = tmp_path / "none.tgz"
    proc = run_collect(["--hosts", str(inv), "--hosts-group", "nosuch", *BASE_ARGS, *fleet.ssh_args(),
                        "-o", str(out2)])
    assert proc.returncode == 4 and not out2.exists(), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_sigint_mid_run_leaves_a_valid_partial_bundle(fleet: netns.Fleet, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.txt"
    good = fleet.of_kind("good")
    hosts.write_text("".join(f"{h.target}\n" for h in good))
    out = tmp_path / "partial.tgz"
    proc = subprocess.Popen(collect_cmd("--hosts", str(hosts), "--parallel", "2", "--progress", "json",
                                        *FLEET_ARGS, *fleet.ssh_args(), "-o", str(out)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines: list[dict[str, Any]] = []
    done: set[str] = set()
    deadline = time.monotonic() + 120
    try:
        for line in proc.stderr:   # the run's progress, as it comes
            if line.startswith("{"):
                obj = json.loads(line)
                lines.append(obj)
                if obj.get("state") == "done":
                    done.add(obj["host"])
            if len(done) >= 2 or time.monotonic() > deadline:
                break
        assert len(done) >= 2, lines[-5:]
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 130, rest[-2000:]
    assert "Traceback" not in rest
    with tarfile.open(out, "r:gz") as tar:    # a complete gzip stream and tar
        tar.getmembers()
    bundle = read_bundle(out)
    manifest = bundle.manifest
    assert manifest["partial"] is True
    names = {n["name"] for n in manifest["nodes"]}
    by_target = {h.target: h.hostname for h in good}
    assert {by_target[t] for t in done} <= names     # every host reported done is in it
    assert len(names) < len(good)                    # and the run did stop early
    for t in done:
        assert f"nodes/{by_target[t]}/files/etc/kubernetes/admin.conf" in bundle.members


def test_a_killed_runs_namespaces_are_removed_by_the_next(tmp_path: Path) -> None:
    """The harness itself: a run killed with SIGKILL (no finalizer) leaves its namespaces, veths
    and sshds; the next Fleet of that prefix removes them before it starts."""
    script = (f"import sys, time; sys.path.insert(0, {str(Path(__file__).parent)!r}); import netns\n"
              f"f = netns.Fleet({str(tmp_path / 'killed')!r}, 2, prefix='kbk', subnet=240).__enter__()\n"
              "print('up', flush=True); time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
    finally:
        proc.kill()
        proc.wait()
    left = netns.Fleet(tmp_path / "probe", 0, prefix="kbk", subnet=240)
    assert sorted(left.leftovers()) == ["kbk-000", "kbk-001", "kbk-h000", "kbk-h001"]
    sshds = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path / "killed") in " ".join(p.info["cmdline"] or [])]
    assert sshds                                   # the killed run's sshds outlived it
    with netns.Fleet(tmp_path / "next", 1, prefix="kbk", subnet=240) as f:
        assert [h.netns for h in f.hosts] == ["kbk-h000"]
        assert [p.pid for p in sshds if alive(p)] == []
    assert left.leftovers() == []


def alive(p: psutil.Process) -> bool:
    """Running and not a zombie (a killed orphan waits for init to reap it)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
