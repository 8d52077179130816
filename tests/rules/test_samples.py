"""The sample bundles: rebuilt byte for byte by samples/build.py, and analyzed as expected."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from k8s_bundle.analyzer.evaluate import evaluate, load_rules
from k8s_bundle.analyzer.evidence import load_evidence

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
RULES = load_rules()


def _build_module():
    spec = importlib.util.spec_from_file_location("samples_build", SAMPLES / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _findings(name: str) -> list:
    return evaluate(RULES, load_evidence(str(SAMPLES / name)))


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    built = _build_module().build_all(tmp_path)
    assert {p.name for p in built} >= {"healthy-node.tgz", "broken-kubeadm.tgz", "multi-node.tgz"}
    for p in built:
        committed = SAMPLES / p.name
        assert committed.read_bytes() == p.read_bytes(), f"{p.name} is stale: run python3 samples/build.py"
        assert p.stat().st_size < 300 * 1024


@pytest.mark.parametrize("name", ["healthy-node.tgz", "broken-kubeadm.tgz", "multi-node.tgz"])
def test_samples_read_cleanly(name: str) -> None:
    """Every member is read and parsed: a parse problem would hide facts the rules need."""
    evidence = load_evidence(str(SAMPLES / name))
    assert [(p.kind, p.path, p.message) for p in evidence.problems] == []


def test_healthy_node_raises_no_warning_or_critical() -> None:
    bad = [(f.rule_id, f.node) for f in _findings("healthy-node.tgz") if f.severity in ("critical", "warning")]
    assert bad == []


BROKEN_EXPECTED = {
    # seed scenario -> the rule that must recognise it on k8s-master-1
    "containerd-cgroup-driver-mismatch", "kubelet-swap-on", "kubelet-service-not-active",
    "kubelet-client-cert-expired", "cert-expiring-soon", "coredns-loop-detected",
    "kubelet-resolv-conf-loopback", "disk-full", "eviction-threshold-crossed", "kubelet-evicting-pods",
    "kubelet-image-gc-failed", "image-pull-failing", "conntrack-table-full",
    "control-plane-container-crashloop", "apiserver-connection-refused", "clock-not-synchronized",
}
BROKEN_CLUSTER = {"node-not-ready", "node-pressure-condition", "pods-crashloopbackoff", "pods-evicted",
                  "pods-image-pull-backoff"}


def test_broken_kubeadm_raises_the_seed_scenarios() -> None:
    findings = _findings("broken-kubeadm.tgz")
    on_node = {f.rule_id for f in findings if f.node == "k8s-master-1"}
    cluster = {f.rule_id for f in findings if f.node is None}
    assert BROKEN_EXPECTED <= on_node, sorted(BROKEN_EXPECTED - on_node)
    assert BROKEN_CLUSTER <= cluster, sorted(BROKEN_CLUSTER - cluster)
    by_id = {f.rule_id: f for f in findings if f.node == "k8s-master-1"}
    # correlation: the full disk is the root cause of the evictions and the image pull failures
    assert by_id["disk-full"].root_cause
    assert "disk-full" in by_id["image-pull-failing"].explained_by
    assert "disk-full" in by_id["kubelet-evicting-pods"].explained_by
    assert "containerd-cgroup-driver-mismatch" in by_id["control-plane-container-crashloop"].explained_by
    # the certificate findings carry the days left
    assert any("expired 2 days ago" in line for line in by_id["kubelet-client-cert-expired"].fact_lines)
    assert any("expires in 11 days" in line for line in by_id["cert-expiring-soon"].fact_lines)
    # first time seen and how often
    assert by_id["conntrack-table-full"].log_count == 4 and by_id["conntrack-table-full"].first_seen


@pytest.mark.skipif(not (SAMPLES / "broken-windows-worker.tgz").exists(), reason="no Windows scenario module")
def test_broken_windows_worker_raises_windows_findings() -> None:
    findings = _findings("broken-windows-worker.tgz")
    assert {f.severity for f in findings} & {"critical", "warning"}
    assert all(f.rule_id.startswith(("win-", "bundle-", "parse-")) for f in findings if f.node == "win-worker-1")


def test_multi_node_bundle_keeps_findings_per_node() -> None:
    findings = _findings("multi-node.tgz")
    worker = {f.rule_id for f in findings if f.node == "worker-1"}
    assert {"ip-forward-disabled", "iptables-forward-policy-drop", "dns-upstream-forward-timeout"} <= worker
    assert not [f for f in findings if f.node == "cp-1" and f.severity in ("critical", "warning")]
