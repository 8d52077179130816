"""`k8s-bundle analyze A.tgz B.tgz ...` and `analyze DIR/`: the multi-bundle report, run as a
user runs it (a subprocess of the CLI) on the samples and on bundles written with BundleWriter
whose versions, sysctls, clocks and certificates differ."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from k8s_bundle.bundle.writer import BundleWriter

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CHRONY = """Reference ID    : C0A80A01 (ntp.example)
Stratum         : 3
Ref time (UTC)  : Sun Nov 22 11:29:00 2026
System time     : {offset} seconds {way} of NTP time
Last offset     : +0.000001 seconds
Leap status     : Normal
"""


def _cert(path: str, not_after: str) -> dict[str, Any]:
    return {"error": None, "fingerprint_sha256": "00", "is_ca": False, "issuer": "CN=kubernetes", "key_algorithm": "RSA-2048",
            "kubeconfig": None, "not_after": not_after, "not_before": "2025-12-01T08:00:00Z", "path": path, "sans": [],
            "serial": "01", "source": "file", "subject": "CN=x"}


def write_bundle(path: Path, node: str, kubelet: str = "v1.29.3", ip_forward: str = "1", offset: float = 0.0,
                 cert_expiry: str = "2027-06-01T08:00:00Z") -> Path:
    top = f"k8s-bundle-{node}-20261122T113000Z"
    with BundleWriter(path, top, overwrite=True) as w:
        w.add_json(f"nodes/{node}/node.json", {
            "name": node, "hostname": node, "os": "linux", "distro": "Ubuntu 22.04.4 LTS", "kernel": "5.15.0-105-generic",
            "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0, "roles": ["worker"], "runtime": "containerd",
            "versions": {"kubelet": kubelet, "containerd": "1.7.13"}})
        w.add_text(f"nodes/{node}/commands/sysctl.txt",
                   f"net.ipv4.ip_forward = {ip_forward}\nvm.swappiness = 60\nnet.bridge.bridge-nf-call-iptables = 1\n")
        w.add_text(f"nodes/{node}/commands/timesync.txt",
                   CHRONY.format(offset=f"{abs(offset):.6f}", way="fast" if offset >= 0 else "slow"))
        w.add_json(f"nodes/{node}/certs.json", {"certificates": [_cert("/var/lib/kubelet/pki/kubelet.crt", cert_expiry)]})
        w.add_text(f"nodes/{node}/logs/journal/kubelet.log",
                   f"2026-11-22T11:00:00.000000+00:00 {node} kubelet[812]: I1122 11:00:00.000000     812 server.go:1] started\n")
        w.finish({
            "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
            "created_at": "2026-11-22T11:30:00Z", "finished_at": "2026-11-22T11:30:05Z", "partial": False,
            "partial_reason": None, "collection": {"argv": ["collect"]},
            "nodes": [{"name": node, "os": "linux", "transport": "local", "timezone": "UTC", "utc_offset_seconds": 0}],
            "items": [],
        })
    return path


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three nodes, one per bundle: n3 runs an older kubelet with forwarding off and a clock
    2.5 s fast; n2's certificate expires first."""
    d = tmp_path_factory.mktemp("three")
    write_bundle(d / "n1.tgz", "n1")
    write_bundle(d / "n2.tgz", "n2", cert_expiry="2026-12-24T08:00:00Z")
    write_bundle(d / "n3.tgz", "n3", kubelet="v1.28.0", ip_forward="0", offset=2.5)
    return d


@pytest.fixture(scope="module")
def three_json(three: Path) -> dict[str, Any]:
    out = three / "three.json"
    proc = analyze(str(three / "n1.tgz"), str(three / "n2.tgz"), str(three / "n3.tgz"), "-o", str(out), "-q")
    assert proc.returncode == 3, proc.stderr        # ip-forward-disabled on n3 is critical
    assert proc.stderr == ""
    return json.loads(out.read_text())


def test_three_bundles_drift_marks(three_json: dict[str, Any]) -> None:
    doc = three_json
    assert doc["kind"] == "multi" and doc["summary"]["bundles"] == 3 and doc["summary"]["exit_code"] == 3
    drift = doc["drift"]
    rows = {r["node"]: r for r in drift["rows"]}
    assert set(rows) == {"n1", "n2", "n3"}
    assert drift["majority"]["linux"]["kubelet"] == "v1.29.3"
    assert drift["majority"]["linux"]["net.ipv4.ip_forward"] == "1"
    assert rows["n3"]["marks"]["kubelet"] == "odd" and rows["n3"]["marks"]["net.ipv4.ip_forward"] == "odd"
    assert "kubelet" not in rows["n1"]["marks"] and "net.ipv4.ip_forward" not in rows["n2"]["marks"]
    assert rows["n3"]["marks"]["clock_offset_seconds"] == "clock"
    assert rows["n3"]["profile"]["clock_offset_seconds"] == pytest.approx(2.5)
    assert "clock_offset_seconds" not in rows["n1"]["marks"]          # 0 s: within 1 s
    assert rows["n2"]["marks"]["cert_expiry"] == "soonest"
    assert "cert_expiry" not in rows["n1"]["marks"]
    # the same value on every node is never marked
    assert not any("vm.swappiness" in r["marks"] for r in rows.values())


def test_three_bundles_shared_causes_and_pages(three_json: dict[str, Any]) -> None:
    doc = three_json
    problems = {p["key"]: p for p in doc["problems"]}
    fwd = problems["ip-forward-disabled"]
    assert fwd["root"] and fwd["severity"] == "critical"
    assert [(n["node"], n["page"]) for n in fwd["nodes"]] == [("n3", 3)]
    assert re.fullmatch(r"p3-f-\d+", fwd["nodes"][0]["anchor"])
    assert fwd in doc["shared_root_causes"]
    # each bundle's own report document, whole
    bundles = doc["bundles"]
    assert [b["name"] for b in bundles] == ["n1", "n2", "n3"] and [b["page"] for b in bundles] == [1, 2, 3]
    assert [b["exit_code"] for b in bundles] == [1, 1, 3]    # n1, n2: log blind spots (no runtime log)
    n3 = bundles[2]["report"]
    assert n3["summary"]["exit_code"] == 3
    assert any(f["rule_id"] == "ip-forward-disabled" for f in n3["findings"])
    assert n3["nodes"][0]["profile"]["kubelet"] == "v1.28.0"
    # the anchor names the finding's place in its bundle's list
    index = int(fwd["nodes"][0]["anchor"].rsplit("-", 1)[1]) - 1
    assert n3["findings"][index]["rule_id"] == "ip-forward-disabled"


def test_html_report_pages_ids_unique(three: Path) -> None:
    out = three / "three.html"
    proc = analyze(str(three / "n1.tgz"), str(three / "n2.tgz"), str(three / "n3.tgz"), "-o", str(out), "-q")
    assert proc.returncode == 3, proc.stderr
    page = out.read_text()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for n in (1, 2, 3):
        assert f'id="page-{n}"' in page and f'href="#page={n}"' in page
    # every in-page link points at an element of the page, or is a page route
    targets = set(re.findall(r'href="#([^"]+)"', page))
    missing = {t for t in targets if not t.startswith("page=") and t not in ids}
    assert missing == set()
    assert "mark-odd" in page and "mark-clock" in page and "mark-soonest" in page
    assert "<script>" in page and "http://" not in page.split("<main>")[0]


def test_directory_of_bundles(three: Path, tmp_path: Path) -> None:
    d = tmp_path / "bundles"
    d.mkdir()
    for n in ("n1", "n2"):
        shutil.copy(three / f"{n}.tgz", d / f"{n}.tgz")
    with tarfile.open(three / "n3.tgz") as tar:      # an extracted bundle among the tarballs
        tar.extractall(d / "n3-extracted", filter="data")
    (d / "notes.txt").write_text("not a bundle")
    proc = analyze(str(d))
    assert proc.returncode == 3, proc.stderr
    report = d / "multi-report.html"
    assert report.is_file()
    assert "3 bundles, 3 nodes" in proc.stdout and f"Report: {report}" in proc.stdout
    # run again: our own report in the directory is not taken for a bundle
    proc = analyze(str(d), "--format", "json", "-q")
    doc = json.loads((d / "multi-report.json").read_text())
    assert [b["name"] for b in doc["bundles"]] == ["n1", "n2", "n3-extracted"]
    # an extracted bundle given alone is still one bundle: the single report
    proc = analyze(str(d / "n3-extracted"), "-o", str(tmp_path / "one.json"), "-q")
    assert proc.returncode == 3 and "kind" not in json.loads((tmp_path / "one.json").read_text())


def test_bad_bundle_among_good_ones(three: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.tgz"
    bad.write_bytes(b"this is no tarball")
    out = tmp_path / "r.json"
    proc = analyze(str(three / "n1.tgz"), str(bad), str(tmp_path / "missing.tgz"), str(three / "n2.tgz"), "-o", str(out))
    assert proc.returncode == 1, proc.stderr         # the worst of the usable bundles (warnings)
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and all(ln.startswith("k8s-bundle: warning: skipped ") for ln in lines)
    assert "broken.tgz: not a bundle" in lines[0] and "missing.tgz: no such file or directory" in lines[1]
    assert "Traceback" not in proc.stderr
    doc = json.loads(out.read_text())
    assert doc["summary"]["unusable"] == 2 and doc["summary"]["exit_code"] == 1
    rows = {b["name"]: b for b in doc["bundles"]}
    assert rows["broken"]["error"] and rows["broken"]["report"] is None and rows["broken"]["exit_code"] is None
    assert rows["n1"]["error"] is None and rows["n1"]["report"]["summary"]["exit_code"] == 1
    assert "Unusable inputs" in proc.stdout
    # the HTML report has the row and a crossed-out link to it, not a page
    html = tmp_path / "r.html"
    proc = analyze(str(three / "n1.tgz"), str(bad), "-o", str(html), "-q")
    assert proc.returncode == 1
    page = html.read_text()
    assert 'id="unusable-2"' in page and 'href="#unusable-2" class="unusable"' in page and 'id="page-2"' not in page


def test_standard_output_and_chinese_summary(three: Path) -> None:
    proc = analyze(str(three / "n1.tgz"), str(three / "n3.tgz"), "--format", "json", "-o", "-")
    assert proc.returncode == 3, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "multi" and [b["name"] for b in doc["bundles"]] == ["n1", "n3"]
    proc = analyze(str(three / "n1.tgz"), str(three / "n3.tgz"), "--format", "text", "-o", "-", "--lang", "zh")
    assert proc.returncode == 3
    assert "2 个诊断包，2 个节点" in proc.stdout and "退出码 3" in proc.stdout


def test_all_unusable_is_exit_4(tmp_path: Path) -> None:
    for name in ("a.tgz", "b.tgz"):
        (tmp_path / name).write_bytes(b"\x1f\x8b garbage")
    proc = analyze(str(tmp_path / "a.tgz"), str(tmp_path / "b.tgz"))
    assert proc.returncode == 4
    assert proc.stderr.splitlines()[-1] == "k8s-bundle: error: none of the 2 inputs is a usable bundle"
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "multi-report.html").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = analyze(str(empty))
    assert proc.returncode == 4 and len(proc.stderr.splitlines()) == 1 and "neither an extracted bundle" in proc.stderr


def test_same_node_name_in_two_bundles_and_text(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    proc = analyze(str(SAMPLES / "healthy-node.tgz"), str(SAMPLES / "multi-node.tgz"), "-o", str(out), "-q")
    assert proc.returncode == 3, proc.stderr
    text = out.read_text()
    assert "cp-1 (healthy-node)" in text and "cp-1 (multi-node)" in text
    assert "Bundle 1 of 2: healthy-node" in text and "Bundle 2 of 2: multi-node" in text
    assert "worker-1  net.ipv4.ip_forward = 0 (most nodes: 1)" in text
    # a Windows node is compared with Windows nodes only: its kernel is no drift
    assert "win-worker-1 (multi-node)  kernel" not in text


def test_one_bundle_keeps_the_single_report(tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    proc = analyze(str(SAMPLES / "healthy-node.tgz"), "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert "kind" not in doc and doc["bundle"]["node_names"] == ["cp-1"]


def test_no_bundle_evidence_is_kept(three: Path) -> None:
    """Each bundle's evidence (log index, facts) is dropped once its page is rendered: after the
    run no Evidence object is alive, only the pages and the small per-node profiles."""
    import gc

    from k8s_bundle.analyzer.evaluate import load_rules
    from k8s_bundle.analyzer.model import Evidence
    from k8s_bundle.analyzer.multi import analyze_many

    gc.collect()
    before = sum(isinstance(o, Evidence) for o in gc.get_objects())
    results = analyze_many([str(three / f"n{i}.tgz") for i in (1, 2, 3)], load_rules(None), "html", "en",
                           lambda path, reason: None)
    gc.collect()
    assert sum(isinstance(o, Evidence) for o in gc.get_objects()) == before
    assert [r.error for r in results] == [None, None, None]
    assert all(isinstance(r.html, str) and 'id="p%d-findings"' % r.page in r.html for r in results)


def test_roots_in_the_single_reports_triage_order(tmp_path: Path) -> None:
    """With one broken bundle and a healthy one, the overview lists the broken bundle's root
    causes in the order its own report's 'what to fix first' gives them."""
    out = tmp_path / "r.json"
    proc = analyze(str(SAMPLES / "broken-kubeadm.tgz"), str(SAMPLES / "healthy-node.tgz"), "-o", str(out), "-q")
    assert proc.returncode == 3, proc.stderr
    doc = json.loads(out.read_text())
    single = [t["key"] for t in doc["bundles"][0]["report"]["triage"] if t["root"]]
    assert [p["key"] for p in doc["shared_root_causes"]] == single
    assert single.index("containerd-cgroup-driver-mismatch") < single.index("conntrack-table-full")
