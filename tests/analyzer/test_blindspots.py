"""Blind spots (analyzer/blindspots.py): a kubelet, runtime or kernel log the bundle lacks is
reported per node with the rules it silenced and the collector items that came back empty.

Real bundles: the shipped samples, bundles the fixture builder writes through BundleWriter, and
a real `collect --root --live` of the simulated node whose journal is empty."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from k8s_bundle.analyzer.blindspots import RULE_ID, blind_spots, coverage
from k8s_bundle.analyzer.evaluate import evaluate, load_rules
from k8s_bundle.analyzer.evidence import load_evidence
from k8s_bundle.analyzer.fixtures import build_fixture_bundle

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
sys.path.insert(0, str(REPO / "tests" / "collector"))
sys.path.insert(0, str(REPO / "tests" / "simnode"))

KUBELET = ('2026-11-22T09:00:01.000001+00:00 node1 kubelet[812]: I1122 09:00:01.000001     812 '
           'kubelet.go:2430] "SyncLoop ADD" source="api" pods=["kube-system/kube-proxy-x7k2p"]\n')
CONTAINERD = ('2026-11-22T09:00:00.000001+00:00 node1 containerd[702]: time="2026-11-22T09:00:00.000001000Z" '
              'level=info msg="containerd successfully booted in 0.041510s"\n')
KERNEL = "2026-11-22T08:59:58.000001+00:00 node1 kernel: Linux version 5.15.0-105-generic (buildd@lcy02-amd64-007)\n"
K3S = ('2026-11-22T09:00:01.000001+00:00 node1 k3s[1043]: I1122 09:00:01.000001    1043 '
       'kubelet.go:2430] "SyncLoop ADD" source="api" pods=["kube-system/coredns-6799fbcd5-x2k9p"]\n')
K3S_CONTAINERD = ('time="2026-11-22T09:00:00.000001000Z" level=info msg="starting containerd" '
                  'revision= version=v1.7.11-k3s2\n')


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _spots(rules, path: Path) -> list:
    evidence = load_evidence(str(path))
    evaluate(rules, evidence)          # sets node.kubernetes, as `analyze` does
    return blind_spots(rules, evidence)


def _bundle(tmp_path: Path, name: str, files: dict[str, str], **extra) -> Path:
    return build_fixture_bundle({"files": files, **extra}, tmp_path / name)


def test_healthy_sample_has_no_blind_spot(rules) -> None:
    evidence = load_evidence(str(SAMPLES / "healthy-node.tgz"))
    evaluate(rules, evidence)
    assert blind_spots(rules, evidence) == []
    cov = coverage(evidence)["cp-1"]
    assert cov["kubelet"]["files"] == ["journal/kubelet.log"]
    assert cov["runtime"] == {"component": "containerd", "files": ["journal/containerd.log"], "lines": cov["runtime"]["lines"]}
    assert cov["kernel"]["files"] == ["kernel.log"] and cov["kernel"]["lines"] > 0


def test_windows_worker_without_a_runtime_log(rules) -> None:
    """The Windows sample holds C:\\k\\kubelet.log but no containerd line (no Application event
    log, no containerd.log): the runtime is a blind spot, info only (containerd as a Windows
    service logs to ETW unless given --log-file); the kernel is not looked for."""
    spots = _spots(rules, SAMPLES / "broken-windows-worker.tgz")
    assert [(f.node, f.severity, f.components) for f in spots] == [("win-worker-1", "info", ["containerd"])]
    n = int(spots[0].message["en"].split("; ")[1].split()[0])
    assert n >= 5 and spots[0].message["en"] == f"no containerd log in this bundle; {n} rules could not check it"
    assert "容器" not in spots[0].title["zh"] and "containerd" in spots[0].title["zh"]


def test_plain_host_gets_no_kubelet_or_runtime_blind_spot(rules, tmp_path) -> None:
    """No kubelet, kubeconfig, runtime or binaries: not a Kubernetes node (the engine says so);
    only the missing kernel log is noted (info)."""
    b = _bundle(tmp_path, "plain.tgz", {"nodes/node1/logs/var/log/syslog":
                                        "Nov 22 09:00:01 node1 systemd[1]: Started Daily apt download activities.\n"},
                node={"versions": {}, "runtime": None, "roles": []})
    spots = _spots(rules, b)
    assert [(f.components, f.severity) for f in spots] == [(["kernel"], "info")]


def test_k3s_node_reads_embedded_kubelet_and_file_runtime(rules, tmp_path) -> None:
    files = {"nodes/node1/logs/journal/k3s.log": K3S, "nodes/node1/logs/kernel.log": KERNEL,
             "nodes/node1/logs/var/lib/rancher/k3s/agent/containerd/containerd.log": K3S_CONTAINERD}
    node = {"versions": {"kubelet": "v1.28.5+k3s1", "containerd": "1.7.11-k3s2"}, "runtime": "containerd"}
    assert _spots(rules, _bundle(tmp_path, "k3s.tgz", files, node=node)) == []
    # k3s' own unit holds no containerd line: without containerd.log the runtime is a blind spot
    del files["nodes/node1/logs/var/lib/rancher/k3s/agent/containerd/containerd.log"]
    spots = _spots(rules, _bundle(tmp_path, "k3s-no-ctr.tgz", files, node=node))
    assert [(f.components, f.severity) for f in spots] == [(["containerd"], "warning")]


def test_other_runtime_is_not_a_blind_spot_and_syslog_counts(rules, tmp_path) -> None:
    """A containerd node lacks a docker log: fine. A syslog-only host: kubelet and containerd
    lines under their own ident in /var/log/messages count."""
    messages = ("Nov 22 09:00:00 node1 containerd[702]: time=\"2026-11-22T09:00:00.000001000Z\" level=info "
                "msg=\"containerd successfully booted in 0.041510s\"\n"
                "Nov 22 09:00:01 node1 kubelet[812]: I1122 09:00:01.000001     812 kubelet.go:2430] \"SyncLoop ADD\" "
                "source=\"api\" pods=[\"kube-system/kube-proxy-x7k2p\"]\n"
                "Nov 22 09:00:02 node1 kernel: [    0.000000] Linux version 5.15.0-105-generic\n")
    b = _bundle(tmp_path, "syslog.tgz", {"nodes/node1/logs/var/log/messages": messages})
    evidence = load_evidence(str(b))
    evaluate(rules, evidence)
    assert blind_spots(rules, evidence) == []
    assert {k: v["files"] for k, v in coverage(evidence)["node1"].items()} == {
        "kubelet": ["var/log/messages"], "runtime": ["var/log/messages"], "kernel": ["var/log/messages"]}
    # the same file without the kubelet's lines: the kubelet is a blind spot (warning)
    only_systemd = "Nov 22 09:00:01 node1 systemd[1]: kubelet.service: Scheduled restart job, restart counter is at 7.\n"
    b2 = _bundle(tmp_path, "syslog2.tgz", {"nodes/node1/logs/var/log/messages": only_systemd,
                                           "nodes/node1/logs/journal/containerd.log": CONTAINERD,
                                           "nodes/node1/logs/kernel.log": KERNEL})
    assert [(f.components, f.severity) for f in _spots(rules, b2)] == [(["kubelet"], "warning")]


def test_empty_journal_on_the_simulated_node_end_to_end(tmp_path) -> None:
    """collect (journal empty, no syslog, dmesg refused) -> analyze: the kubelet, docker and kernel
    blind spots in JSON, HTML and the terminal summary, naming the empty journal items."""
    import simnode
    from collect_helpers import run_collect

    sim = simnode.build(tmp_path / "sim")
    (sim.root / "var/log/syslog").unlink()
    # kernel.dmesg_restrict=1 and no root: what util-linux dmesg prints then
    (sim.bin / "dmesg").write_text("#!/bin/sh\necho 'dmesg: read kernel buffer failed: Operation not permitted' >&2\nexit 1\n")
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(sim.root), "--live", "--only", "logs,system,kubernetes,runtime",
                        "-o", str(out), "--timeout", "2"], env=sim.env(SIMNODE_JOURNAL_EMPTY="1"))
    assert proc.returncode == 0, proc.stderr
    cli = [sys.executable, "-m", "k8s_bundle.cli", "analyze", str(out)]
    doc = orjson.loads(subprocess.run([*cli, "--format", "json", "-o", "-"], capture_output=True, check=False).stdout)
    spots = {f["components"][0]: f for f in doc["findings"] if f["rule_id"] == RULE_ID}
    assert set(spots) == {"kubelet", "docker", "kernel"}
    assert spots["kubelet"]["severity"] == "warning" and spots["docker"]["severity"] == "warning"
    assert spots["kernel"]["severity"] == "info"
    kubelet_items = {i["id"]: i for i in spots["kubelet"]["evidence"]["items"]}
    assert kubelet_items["journal-kubelet"]["error"] == "no lines"
    assert kubelet_items["journal-kubelet"]["fallback"]["from"].startswith("journalctl -u kubelet.service")
    assert kubelet_items["journal-kubelet"]["fallback"]["to"] == []      # no syslog file either
    assert kubelet_items["log-var-log-syslog"]["status"] == "not_found"
    kernel_items = {i["id"] for i in spots["kernel"]["evidence"]["items"]}
    assert {"journal-kernel", "log-var-log-kern.log"} <= kernel_items
    assert "rules could not check it" in spots["kubelet"]["message"]["en"]
    node = doc["nodes"][0]
    assert node["logs"]["kubelet"]["files"] == [] and node["logs"]["runtime"]["component"] == "docker"
    html = tmp_path / "r.html"
    text = subprocess.run([*cli, "-o", str(html)], capture_output=True, text=True, check=False).stdout
    assert "log-blind-spot: no kubelet log in this bundle" in text
    assert "logs checked (nodes with lines): kubelet 0/1, runtime 0/1, kernel 0/1" in text
    page = html.read_text()
    assert 'id="logs-checked"' in page and page.count('class="blind-spot"') == 3


def test_collectlogs_folder_is_info_only(rules, tmp_path) -> None:
    """collectlogs.ps1 gathers HNS and network state, never a component log: the blind spots
    are said (info), not raised as warnings against the node."""
    sys.path.insert(0, str(REPO / "tests" / "windows"))
    from test_windows_collectlogs import RESERVED_CURRENT_FAIL, make_folder

    folder = make_folder(tmp_path, "[]", RESERVED_CURRENT_FAIL)
    spots = _spots(rules, folder)
    assert {tuple(f.components) for f in spots} == {("kubelet",), ("runtime",)}
    assert {f.severity for f in spots} == {"info"}
    assert all("made by collectlogs.ps1" in f.fact_lines[0] for f in spots)
