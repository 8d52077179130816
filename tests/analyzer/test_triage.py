"""What to fix first (analyzer/triage.py): problems grouped by root cause.

The graph tests build findings the way engine.correlate links them (explains / explained_by,
same node or cluster); the sample test runs the whole pipeline on samples/broken-kubeadm.tgz.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_bundle.analyzer.analysis import analyze_bundle
from k8s_bundle.analyzer.evaluate import correlate
from k8s_bundle.analyzer.model import Finding
from k8s_bundle.analyzer.rules_load import load_rules
from k8s_bundle.analyzer.triage import triage

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "samples" / "broken-kubeadm.tgz"


def finding(rule: str, severity: str = "warning", node: str | None = "n1", nodes: list[str] | None = None,
            **kw: object) -> Finding:
    t = {"en": rule, "zh": rule}
    return Finding(rule_id=rule, severity=severity, node=node, title=t, cause=t, fix=t,
                   nodes=nodes if nodes is not None else ([node] if node else []), **kw)  # type: ignore[arg-type]


def linked(findings: list[Finding], explains: dict[str, list[str]]) -> dict[str, object]:
    correlate(findings, explains)
    return {p.key: p for p in triage(findings)}


def test_explains_is_transitive_and_roots_come_first() -> None:
    fs = [finding("symptom", "critical"), finding("middle", "warning"), finding("cause", "warning")]
    got = linked(fs, {"cause": ["middle"], "middle": ["symptom"]})
    order = [p.key for p in triage(fs)]
    assert order[0] == "cause" and got["cause"].root
    assert [q.key for q in got["cause"].explains] == ["middle", "symptom"]
    assert not got["middle"].root and not got["symptom"].root
    # a warning root explaining a critical symptom counts as critical for the order
    assert got["cause"].effective_severity == "critical"


def test_a_cycle_keeps_one_root() -> None:
    fs = [finding("a", "warning"), finding("b", "critical")]
    got = linked(fs, {"a": ["b"], "b": ["a"]})
    roots = [k for k, p in got.items() if p.root]
    assert roots == ["b"]          # the critical one stays above
    assert [q.key for q in got["b"].explains] == ["a"]
    assert got["a"].explains == []


def test_more_explained_ranks_first_at_equal_severity() -> None:
    fs = [finding("small", "critical"), finding("big", "critical"), finding("x", "warning"),
          finding("y", "warning"), finding("z", "warning")]
    order = [p.key for p in triage(fs) if p.root]
    correlate(fs, {"big": ["x", "y"], "small": ["z"]})
    order = [p.key for p in triage(fs) if p.root]
    assert order == ["big", "small"]


def test_same_rule_on_several_nodes_is_one_entry_and_stays_a_root_where_unexplained() -> None:
    fs = [finding("disk-full", "critical", "n1"), finding("evicting", "warning", "n1"),
          finding("evicting", "warning", "n2")]
    got = linked(fs, {"disk-full": ["evicting"]})
    assert got["evicting"].nodes == ["n1", "n2"]
    assert len(got["evicting"].findings) == 2
    # explained on n1, not on n2: still a root, and listed under disk-full too
    assert got["evicting"].root
    assert [q.key for q in got["disk-full"].explains] == ["evicting"]


def test_cluster_twin_merges_and_names_its_nodes() -> None:
    node_level = finding("image-pull-failing", "warning", "n1")
    cluster = finding("pods-image-pull-backoff", "warning", None, nodes=["n1"], same_as=["image-pull-failing"])
    got = linked([cluster, node_level], {})
    assert list(got) == ["image-pull-failing"]
    entry = got["image-pull-failing"]
    assert [f.rule_id for f in entry.findings] == ["image-pull-failing", "pods-image-pull-backoff"]
    assert entry.nodes == ["n1"]


def test_cluster_twin_alone_is_its_own_entry() -> None:
    cluster = finding("pods-image-pull-backoff", "warning", None, nodes=["n1"], same_as=["image-pull-failing"])
    assert [p.key for p in triage([cluster])] == ["pods-image-pull-backoff"]


def test_node_finding_explains_the_cluster_finding_on_its_node_only() -> None:
    down = finding("kubelet-down", "critical", "n2")
    not_ready = finding("node-not-ready", "critical", None, nodes=["n1"])
    got = linked([down, not_ready], {"kubelet-down": ["node-not-ready"]})
    assert got["node-not-ready"].root and got["kubelet-down"].explains == []
    not_ready2 = finding("node-not-ready", "critical", None, nodes=["n1", "n2"])
    got = linked([finding("kubelet-down", "critical", "n2"), not_ready2], {"kubelet-down": ["node-not-ready"]})
    assert not got["node-not-ready"].root
    assert [q.key for q in got["kubelet-down"].explains] == ["node-not-ready"]


def test_a_demoted_finding_explains_nothing() -> None:
    weak = finding("cause", "info", below_threshold=True)
    got = linked([weak, finding("symptom", "warning")], {"cause": ["symptom"]})
    assert got["symptom"].root and got["cause"].explains == []


@pytest.fixture(scope="module")
def broken() -> object:
    return analyze_bundle(str(BROKEN), load_rules())


def test_broken_sample_root_causes_first(broken: object) -> None:
    problems = triage(broken.findings)  # type: ignore[attr-defined]
    roots = [p.key for p in problems if p.root]
    by_key = {p.key: p for p in problems}
    # the symptom the issue found on top is folded under the causes the bundle shows
    assert "node-not-ready" not in roots
    assert {"kubelet-swap-on", "kubelet-client-cert-expired"} <= {q.key for q in by_key["node-not-ready"].explained_by}
    # explained by disk-full, itself a root: eviction-threshold-crossed is no second root
    assert "eviction-threshold-crossed" not in roots and "disk-full" in roots
    assert "kubelet-swap-on" in roots[:5]
    # cluster and node views of one problem are one entry
    assert "pods-evicted" not in by_key and "pods-image-pull-backoff" not in by_key
    assert "pods-evicted" in [f.rule_id for f in by_key["kubelet-evicting-pods"].findings]
    # every finding is in exactly one entry
    assert sorted(id(f) for p in problems for f in p.findings) == sorted(id(f) for f in broken.findings)  # type: ignore[attr-defined]
    assert len(roots) < len(broken.findings) / 2  # type: ignore[attr-defined]


def test_cluster_findings_name_their_nodes(broken: object) -> None:
    cluster = {f.rule_id: f for f in broken.findings if f.node is None}  # type: ignore[attr-defined]
    for rid in ("node-not-ready", "pods-evicted", "pods-image-pull-backoff", "pods-crashloopbackoff"):
        assert cluster[rid].nodes == ["k8s-master-1"], rid


def test_json_and_text_reports_lead_with_the_root_causes(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(BROKEN), "-o", str(out), "-q"], check=False)
    doc = json.loads(out.read_text())
    keys = [p["key"] for p in doc["triage"]]
    assert len(keys) == len(set(keys))
    first_symptom = next(i for i, p in enumerate(doc["triage"]) if not p["root"])
    assert all(p["root"] for p in doc["triage"][:first_symptom])
    assert not any(p["root"] for p in doc["triage"][first_symptom:])
    text = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(BROKEN), "-o", str(tmp_path / "r.html")],
                          capture_output=True, text=True).stdout
    lines = [ln for ln in text.splitlines() if "node-not-ready" in ln]
    assert lines and lines[0].startswith("  └ ")   # folded under the cause that explains it
    assert len(lines) == 1                          # each finding once
    assert text.index("[root cause]") < text.index("node-not-ready")
