"""What was checked (analyzer/coverage.py) and the reference time (analyzer/reference_time.py).

Real bundles written with BundleWriter (or a bundle directory, for a bundle without a manifest),
and the shipped samples, analysed by real `python -m k8s_bundle.cli analyze` runs; the JSON,
HTML and text outputs are read back."""
from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_bundle.analyzer.blindspots import log_reads
from k8s_bundle.analyzer.evaluate import load_rules
from k8s_bundle.bundle.writer import BundleWriter

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
TOP = "k8s-bundle-n1-20261122T113000Z"
CONTAINERD = ('2026-11-22T09:00:00.000001+00:00 n1 containerd[702]: time="2026-11-22T09:00:00.000001000Z" '
              'level=info msg="containerd successfully booted in 0.041510s"\n')
DOCKERD = ('2026-11-22T09:00:00.000001+00:00 n1 dockerd[702]: time="2026-11-22T09:00:00.000001000Z" '
           'level=info msg="Daemon has completed initialization"\n')
KERNEL = "2026-11-22T08:59:58.000001+00:00 n1 kernel: Linux version 5.15.0-105-generic (buildd@lcy02-amd64-007)\n"
KUBELET = ('2026-11-22T09:00:01.000001+00:00 n1 kubelet[812]: I1122 09:00:01.000001     812 '
           'kubelet.go:2430] "SyncLoop ADD" source="api" pods=["kube-system/kube-proxy-x7k2p"]\n')


def _node(**extra: Any) -> dict[str, Any]:
    return {"name": "n1", "hostname": "n1", "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
            "kernel": "5.15.0-105-generic", "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0,
            "roles": ["control-plane"], "versions": {"kubelet": "v1.29.3", "containerd": "1.7.13"},
            "runtime": "containerd", **extra}


def _item(item_id: str, status: str, path: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"node": "n1", "area": "runtime", "id": item_id, "path": path, "kind": "command", "source": item_id,
            "status": status, "exit_code": None, "error": None if status == "ok" else f"{item_id}: {status}", **extra}


def write_bundle(path: Path, files: dict[str, str], items: list[dict[str, Any]], node: dict[str, Any] | None = None) -> Path:
    with BundleWriter(path, TOP, overwrite=True) as w:
        w.add_json("nodes/n1/node.json", node or _node())
        for p, text in files.items():
            w.add_text(p, text)
        w.finish({
            "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
            "created_at": "2026-11-22T11:30:00Z", "finished_at": "2026-11-22T11:30:05Z", "partial": False,
            "partial_reason": None, "collection": {"argv": ["collect"]},
            "nodes": [{"name": "n1", "os": "linux", "transport": "local", "timezone": "UTC", "utc_offset_seconds": 0}],
            "items": items,
        })
    return path


def analyze(bundle: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "-o", str(out), *extra],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc


def coverage_json(bundle: Path, tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / (bundle.name.split(".")[0] + ".json")
    analyze(bundle, out, *extra)
    return json.loads(out.read_text(encoding="utf-8"))["coverage"]


def groups(cov: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["reason"]: g for g in cov["could_not_evaluate_by"]}


def assert_adds_up(cov: dict[str, Any]) -> None:
    """Every rule x node visited has one outcome: fired + passed + could not + not applicable
    = node rules x nodes + cluster rules."""
    parts = cov["fired"] + cov["passed"] + cov["could_not_evaluate"] + cov["not_applicable"]
    assert parts == cov["evaluated"] == cov["node_rules"] * cov["nodes"] + cov["cluster_rules"]
    assert cov["node_rules"] + cov["cluster_rules"] == cov["rules"]
    assert cov["could_not_evaluate"] == sum(g["count"] for g in cov["could_not_evaluate_by"])
    assert cov["not_applicable"] == sum(cov["not_applicable_by"].values())


def _site_rule(folder: Path, rule_id: str, fact: str) -> None:
    """A rule that needs a kubelet line AND a fact: without a kubelet log it could have fired
    only if the fact holds."""
    folder.mkdir(exist_ok=True)
    (folder / f"{rule_id}.yaml").write_text(yaml.safe_dump({
        "id": rule_id, "severity": "warning", "platforms": ["linux"],
        "title": {"en": rule_id, "zh": rule_id}, "cause": {"en": "c", "zh": "c"}, "fix": {"en": "f", "zh": "f"},
        "match": {"all": [{"log": {"sources": ["@kubelet"], "regex": "site says no"}}, {"fact": fact}]},
    }))


def test_missing_kubelet_log_is_a_reason_not_a_pass(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "nokubelet.tgz",
                          {"nodes/n1/logs/journal/containerd.log": CONTAINERD, "nodes/n1/logs/kernel.log": KERNEL},
                          [_item("journal-kubelet", "ok", None, kind="journal")])
    _site_rule(tmp_path / "site", "site-kubelet-and-name", 'node.name == "n1"')      # could have fired
    _site_rule(tmp_path / "site", "site-kubelet-and-nothing", 'node.name == "nope"')  # could not have fired
    cov = coverage_json(bundle, tmp_path, "--rules", str(tmp_path / "site"))
    assert_adds_up(cov)
    g = groups(cov)["no-log:kubelet"]
    assert g["label"]["en"] == "no kubelet log on this node" and g["label"]["zh"]
    assert g["nodes"] == ["n1"]
    assert "kubelet-pleg-not-healthy" in g["rules"] and "site-kubelet-and-name" in g["rules"]
    # three-valued: a rule whose other condition is false passed whatever the kubelet log holds
    assert all("site-kubelet-and-nothing" not in x["rules"] for x in cov["could_not_evaluate_by"])
    # every rule in the group reads the kubelet's log
    rules = {r.id: r for r in load_rules()}
    for rid in g["rules"]:
        if rid in rules:
            assert any(log_reads(rules[rid], c, "kubelet") for c in rules[rid].log_conditions()), rid
    # the runtime and kernel logs are there: no such reason
    assert "no-log:containerd" not in groups(cov) and "no-log:kernel" not in groups(cov)


def test_same_node_with_a_kubelet_log_passes_those_rules(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "full.tgz",
                          {"nodes/n1/logs/journal/kubelet.log": KUBELET,
                           "nodes/n1/logs/journal/containerd.log": CONTAINERD, "nodes/n1/logs/kernel.log": KERNEL},
                          [])
    cov = coverage_json(bundle, tmp_path)
    assert_adds_up(cov)
    assert "no-log:kubelet" not in groups(cov)
    assert all("kubelet-pleg-not-healthy" not in g["rules"] for g in cov["could_not_evaluate_by"])


def test_docker_info_timed_out_groups_the_docker_rules(tmp_path: Path) -> None:
    node = _node(runtime="docker", versions={"kubelet": "v1.23.17", "docker": "20.10.21"})
    logs = {"nodes/n1/logs/journal/kubelet.log": KUBELET, "nodes/n1/logs/journal/docker.log": DOCKERD,
            "nodes/n1/logs/kernel.log": KERNEL}
    timed_out = write_bundle(tmp_path / "docker-timeout.tgz", logs, [_item("docker-info", "timeout")], node)
    cov = coverage_json(timed_out, tmp_path)
    assert_adds_up(cov)
    g = groups(cov)["item:docker-info:timeout"]
    assert "kubelet-cgroup-driver-mismatch" in g["rules"] and g["nodes"] == ["n1"]
    assert g["label"]["en"] == "no docker info: docker-info timed out"
    assert g["label"]["zh"] == "没有 docker info：docker-info 超时"
    # `not_found`: docker info does not exist there, the fact is rightly absent: the rules pass
    absent = write_bundle(tmp_path / "docker-absent.tgz", logs, [_item("docker-info", "not_found")], node)
    cov = coverage_json(absent, tmp_path)
    assert_adds_up(cov)
    assert not any(r.startswith("item:docker-info") for r in groups(cov))


def test_broken_sample_counts_add_up_in_json_html_and_text(tmp_path: Path) -> None:
    cov = coverage_json(SAMPLES / "broken-kubeadm.tgz", tmp_path)
    assert_adds_up(cov)
    assert cov["nodes"] == 1 and cov["fired"] == 22 and cov["not_applicable_by"] == {"platform": 39}
    assert cov["reference_time"] == "2026-11-22T11:30:00Z" and cov["reference_time_source"] == "manifest"
    html_out = tmp_path / "broken.html"
    proc = analyze(SAMPLES / "broken-kubeadm.tgz", html_out)
    page = html_out.read_text(encoding="utf-8")
    assert 'id="coverage"' in page and 'href="#coverage"' in page
    n = cov["rules"]   # the shipped pack's size (it grows with new rules)
    assert n >= 235 and f"{n} rules ran on 1 node: {n} checks" in page
    assert f'<span class="cov-passed">{cov["passed"]} <span class="l-en">passed</span>' in page
    assert "39 <span class=\"l-en\">for another platform</span>" in page
    assert "judged the bundle as of 2026-11-22T11:30:00Z, the collection time" in page
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("checked: ")]
    assert len(line) == 1
    assert line[0].startswith(f"checked: {n} rules on 1 node: {cov['passed']} passed, 22 found a problem, "
                              f"{cov['could_not_evaluate']} could not evaluate (")
    top = cov["could_not_evaluate_by"][0]
    assert f"{top['label']['en']} {top['count']}" in line[0]
    assert line[0].endswith("39 not applicable; reference time 2026-11-22T11:30:00Z (collection time)")


def test_multi_node_sample_adds_up_per_node(tmp_path: Path) -> None:
    cov = coverage_json(SAMPLES / "multi-node.tgz", tmp_path)
    assert_adds_up(cov)
    assert cov["nodes"] == 3


def test_cluster_rules_without_cluster_data(tmp_path: Path) -> None:
    cov = coverage_json(SAMPLES / "broken-windows-worker.tgz", tmp_path)
    assert_adds_up(cov)
    g = groups(cov)["no-cluster-data"]
    assert "node-not-ready" in g["rules"] and "pods-crashloopbackoff" in g["rules"]
    assert g["nodes"] == []     # cluster rules: no node


def _no_manifest_bundle(path: Path, not_before: str, not_after: str) -> Path:
    """A bundle cut before manifest.json was written (BundleWriter always writes one, so the
    tarball is written with tarfile): the collection time is unknown."""
    cert = {"path": "/etc/kubernetes/pki/apiserver.crt", "source": "file", "kubeconfig": None,
            "subject": "CN=kube-apiserver", "issuer": "CN=kubernetes", "sans": [], "not_before": not_before,
            "not_after": not_after, "is_ca": False, "serial": "3c", "key_algorithm": "RSA-2048",
            "fingerprint_sha256": "CC:33", "error": None}
    members = {
        "nodes/n1/node.json": json.dumps(_node()),
        "nodes/n1/logs/journal/kubelet.log": KUBELET + (
            "2026-11-22T09:00:02.000001+00:00 n1 kubelet[812]: E1122 09:00:02.000001     812 "
            "reflector.go:147] failed to list: x509: certificate has expired or is not yet valid\n"),
        "nodes/n1/certs.json": json.dumps({"certificates": [cert]}),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{TOP}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_without_manifest_todays_date_is_the_reference(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    # expired two days ago (judged as of today), and not valid until ten days from now
    bundle = _no_manifest_bundle(tmp_path / "nomanifest.tgz", stamp(now - dt.timedelta(days=400)), stamp(now - dt.timedelta(days=2)))
    out = tmp_path / "nomanifest.json"
    analyze(bundle, out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    cov = doc["coverage"]
    assert_adds_up(cov)
    assert cov["reference_time_source"] == "today" and cov["reference_time_why"] == "no-manifest"
    ref = dt.datetime.fromisoformat(cov["reference_time"].replace("Z", "+00:00"))
    assert abs((ref - now).total_seconds()) < 600
    expired = [f for f in doc["findings"] if f["rule_id"] == "cert-expired"]
    assert expired and "2 days ago" in expired[0]["message"]["en"]
    # the page and the terminal say so
    html_out = tmp_path / "nomanifest.html"
    proc = analyze(bundle, html_out)
    page = html_out.read_text(encoding="utf-8")
    assert "Today&#39;s date was used as the reference time" in page and "今天的日期" in page
    assert "the bundle has no manifest.json" in page
    assert "(today&#39;s date: the bundle has no manifest.json)" in page    # the header's meta line
    assert any(ln.startswith("checked: ") and "today's date: the bundle has no manifest.json" in ln
               for ln in proc.stdout.splitlines())


def test_without_manifest_clock_rule_compares_with_today(tmp_path: Path) -> None:
    """certificate-not-yet-valid-clock-skew compares not_before with the reference time: with no
    manifest it read a null created_at and could never fire."""
    now = dt.datetime.now(dt.timezone.utc)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    bundle = _no_manifest_bundle(tmp_path / "nomanifest.tgz", stamp(now + dt.timedelta(days=10)), stamp(now + dt.timedelta(days=400)))
    out = tmp_path / "skew.json"
    analyze(bundle, out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "certificate-not-yet-valid-clock-skew" in {f["rule_id"] for f in doc["findings"]}


@pytest.mark.parametrize("created_at", ["yesterday", ""])
def test_unusable_created_at_falls_back_to_today(tmp_path: Path, created_at: str) -> None:
    bundle = tmp_path / "b.tgz"
    with BundleWriter(bundle, TOP, overwrite=True) as w:
        w.add_json("nodes/n1/node.json", _node())
        w.finish({"format_version": "1.0", "created_at": created_at, "nodes": [{"name": "n1", "os": "linux"}], "items": []})
    cov = coverage_json(bundle, tmp_path)
    assert cov["reference_time_source"] == "today" and cov["reference_time_why"] == "no-created-at"


def test_plain_host_kubelet_log_rules_are_not_applicable(tmp_path: Path) -> None:
    """A host with no sign of Kubernetes: its missing kubelet log is no gap (not-a-kubernetes-node
    says what it is), so the kubelet-log rules are not applicable there, not 'could not evaluate'."""
    bundle = write_bundle(tmp_path / "plain.tgz", {"nodes/n1/commands/binaries.json": "{}", "nodes/n1/logs/kernel.log": KERNEL},
                          [], {"name": "n1", "os": "linux", "versions": {"kubelet": None}, "runtime": None})
    cov = coverage_json(bundle, tmp_path)
    assert_adds_up(cov)
    assert cov["not_applicable_by"]["not-kubernetes"] > 0
    assert not any(r.startswith("no-log:") for r in groups(cov))


ETCD_MANIFEST = """apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.12-0
    command: [etcd, --data-dir=/var/lib/etcd]
"""
ETCD_LOG = '2026-11-22T09:00:00.000001Z stderr F {"level":"info","msg":"serving client traffic securely"}\n'


def test_static_pod_without_its_log_is_a_reason(tmp_path: Path) -> None:
    """The node runs etcd as a static pod (kubeadm) and the bundle holds no etcd log: the etcd
    rules could not check it; a rule that sweeps every control-plane log for an apiserver
    message is not held up by the missing etcd log."""
    files = {"nodes/n1/logs/journal/kubelet.log": KUBELET, "nodes/n1/logs/journal/containerd.log": CONTAINERD,
             "nodes/n1/logs/kernel.log": KERNEL, "nodes/n1/files/etc/kubernetes/manifests/etcd.yaml": ETCD_MANIFEST}
    cov = coverage_json(write_bundle(tmp_path / "noetcd.tgz", files, []), tmp_path)
    assert_adds_up(cov)
    g = groups(cov)["no-log:etcd"]
    assert "etcd-no-quorum" in g["rules"] and g["nodes"] == ["n1"] and g["label"]["en"] == "no etcd log on this node"
    assert "dns-label-too-long" not in g["rules"]
    files["nodes/n1/logs/var/log/pods/kube-system_etcd-n1_0123/etcd/0.log"] = ETCD_LOG
    cov = coverage_json(write_bundle(tmp_path / "etcd.tgz", files, []), tmp_path)
    assert "no-log:etcd" not in groups(cov)
