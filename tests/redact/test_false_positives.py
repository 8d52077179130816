"""False-positive corpus: ordinary evidence must come out (almost) unchanged, and the analyzer
must find the same problems before and after redaction."""
from __future__ import annotations

import json
from pathlib import Path

import fp_corpus
from redact_helpers import run_cli

from k8s_bundle.redact import Redactor

# Kubelet/containerd/kube-proxy/etcd/coredns/kernel lines, digests, fingerprints, UUIDs, pod
# names, non-secret base64, the simulated node's recorded outputs, kubeconfig file references,
# apiserver key-file flags, Kubernetes events (names <object>.<UnixNano hex>), etcd's settings
# (auth-token modes, initial-cluster-token, key files) and changelogs (`auth: fix ...`): not
# one line may change (issue 11).
MAX_CHANGED_LINES = 0


def test_changed_line_count_is_small() -> None:
    redactor = Redactor()
    changed = []
    total = 0
    for path, data in fp_corpus.build().items():
        out = redactor.redact_bytes(path, data)
        total += data.count(b"\n")
        changed += [(path, a, b) for a, b in fp_corpus.changed_lines(data, out)]
    assert total > 4000
    assert len(changed) <= MAX_CHANGED_LINES, "\n".join(f"{p}\n- {a}\n+ {b}" for p, a, b in changed)
    assert redactor.report()["total"] <= MAX_CHANGED_LINES


def test_messages_the_rules_match_on_survive() -> None:
    text = Redactor().redact_bytes("nodes/cp1/logs/journal/mixed.log",
                                   fp_corpus.build()["nodes/cp1/logs/journal/mixed.log"]).decode()
    for needle in ("failed to sync secret cache: timed out waiting for the condition",
                   "invalid bearer token, Token has been invalidated",
                   "Unable to retrieve pull secret, the image pull may not succeed.",
                   "x509: certificate signed by unknown authority", "sha256:", "SHA256 Fingerprint=",
                   "MountVolume.SetUp succeeded for volume \\\"default-token-"):
        assert needle in text, needle


def _write_bundle(root: Path) -> Path:
    top = root / "k8s-bundle-cp1-20261122T090000Z"
    for rel, data in fp_corpus.build().items():
        target = top / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (top / "nodes/cp1/logs/journal/kubelet.log").write_text(
        "2026-11-22T09:00:02.331204+0000 cp1 kubelet[1201]: E1122 09:00:02.331204    1201 run.go:74] "
        "\"command failed\" err=\"failed to run Kubelet: running with swap on is not supported, please disable "
        "swap! or set --fail-swap-on flag to false.\"\n")
    (top / "manifest.json").write_text(json.dumps({
        "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
        "created_at": "2026-11-22T11:30:00Z", "finished_at": "2026-11-22T11:30:21Z", "partial": False,
        "partial_reason": None, "collection": {"argv": ["collect"]},
        "nodes": [{"name": "cp1", "os": "linux", "transport": "local", "timezone": "UTC", "utc_offset_seconds": 0}],
        "items": []}))
    return root


def _findings(report: Path) -> list[tuple[str, str | None, str | None]]:
    doc = json.loads(report.read_text())
    return sorted((f["rule_id"], f["node"], f["first_seen"]) for f in doc["findings"])


def test_analyzer_findings_are_the_same_before_and_after(tmp_path: Path) -> None:
    bundle = _write_bundle(tmp_path / "raw")
    before = run_cli("analyze", str(bundle), "--format", "json", "-o", str(tmp_path / "a.json"), "-q")
    assert before.returncode in (0, 1, 3), before.stderr
    redacted = tmp_path / "redacted.tgz"
    assert run_cli("redact", str(bundle), "-o", str(redacted)).returncode == 0
    after = run_cli("analyze", str(redacted), "--format", "json", "-o", str(tmp_path / "b.json"), "-q")
    assert after.returncode == before.returncode, after.stderr
    findings = _findings(tmp_path / "a.json")
    assert findings, "the corpus should trigger findings, or this comparison proves nothing"
    assert _findings(tmp_path / "b.json") == findings
