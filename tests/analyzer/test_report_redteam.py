"""Red-team regressions for the report views of issue 12: bundle text and hostile values that
once broke a view (an exit 5, a time that is not RFC 3339, a script reading the URL hash), each
through the real pipeline (`python -m k8s_bundle.cli` in a subprocess) on a bundle written with
BundleWriter. The browser checks share tests/analyzer/browserkit.py.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from k8s_bundle.bundle.writer import BundleWriter

TOP = "k8s-bundle-cp1-20261122T113000Z"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _pleg_line(stamp: str, node: str = "cp1", tail: str = "") -> str:
    return (f"{stamp} {node} kubelet[812]: E1231 23:59:59.000000 812 kubelet.go:2373] \"Skipping pod synchronization\" "
            f"err=\"PLEG is not healthy: pleg was last seen active 9m0s ago; threshold is 3m0s\"{tail}\n")


def write_bundle(path: Path, kubelet_log: str, created_at: str | None = "2026-11-22T11:30:00Z",
                 node: str = "cp1", node_facts: dict[str, Any] | None = None,
                 items: list[dict[str, Any]] | None = None, extra_files: dict[str, str] | None = None) -> Path:
    facts = {"name": node, "hostname": node, "os": "linux", "distro": "Ubuntu 22.04.4 LTS",
             "kernel": "5.15.0-105-generic", "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0,
             "roles": ["control-plane"], "versions": {"kubelet": "v1.29.3"}, "runtime": "containerd",
             **(node_facts or {})}
    with BundleWriter(path, TOP, overwrite=True) as w:
        w.add_json(f"nodes/{node}/node.json", facts)
        w.add_text(f"nodes/{node}/logs/journal/kubelet.log", kubelet_log)
        for p, text in (extra_files or {}).items():
            w.add_text(p, text)
        w.finish({"format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
                  "created_at": created_at, "finished_at": None, "partial": False, "partial_reason": None,
                  "collection": {"argv": ["collect"]},
                  "nodes": [{"name": node, "os": "linux", "transport": "local", "timezone": "UTC",
                             "utc_offset_seconds": 0}],
                  "items": items or []})
    return path


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", *argv], capture_output=True, text=True, timeout=300)


# (a log line's stamp, the manifest's created_at): each once exited 5 or wrote "1-01-01T..."
EDGE_TIMES = [
    ("9999-12-31T23:59:59.999999+00:00", "9999-12-31T23:59:59Z"),   # created_at + 2 days overflowed
    ("9999-12-31T23:59:59-12:00", "2026-01-01T00:00:00Z"),          # year 10000 in UTC
    ("0001-01-01T00:00:00+14:00", None),                            # year 0 in UTC
    ("0001-01-05T00:00:00+00:00", "2026-01-01T00:00:00Z"),          # year 1: '1-01-05T...' from strftime
    ("Dec 31 23:59:59", "0001-01-01T00:00:00Z"),                    # a yearless stamp in year 0
]


@pytest.mark.parametrize("stamp,created_at", EDGE_TIMES)
def test_times_at_the_edges_of_the_calendar_are_no_crash_and_stay_rfc3339(
        tmp_path: Path, stamp: str, created_at: str | None) -> None:
    bundle = write_bundle(tmp_path / "edge.tgz", _pleg_line(stamp) * 5 + "-- Reboot --\n" + _pleg_line(stamp),
                          created_at=created_at)
    out = tmp_path / "edge.json"
    proc = run_cli("analyze", str(bundle), "-o", str(out), "-q")
    assert proc.returncode in (0, 1, 3), proc.stderr
    doc = json.loads(out.read_text())
    times = [t for f in doc["findings"] for t in (f.get("first_seen"), f.get("last_seen")) if t]
    times += [ln.get("timestamp") for f in doc["findings"] for ln in f.get("log_lines") or [] if ln.get("timestamp")]
    assert all(RFC3339.match(t) for t in times), times
    if stamp.startswith("0001-01-05"):   # a representable year-1 time is kept, padded
        assert "0001-01-05T00:00:00Z" in times
    html = tmp_path / "edge.html"
    assert run_cli("analyze", str(bundle), "-o", str(html), "-q").returncode in (0, 1, 3)
    assert not re.search(r'data-(first|last)="\d{1,3}-', html.read_text())


def _many_nodes_bundle(path: Path, count: int) -> Path:
    names = [f"node-{i:03d}" for i in range(count)]
    with BundleWriter(path, TOP, overwrite=True) as w:
        for name in names:
            w.add_json(f"nodes/{name}/node.json", {"name": name, "hostname": name, "os": "linux", "timezone": "UTC",
                                                   "utc_offset_seconds": 0, "runtime": "containerd"})
            w.add_text(f"nodes/{name}/logs/journal/kubelet.log", _pleg_line("2026-11-22T10:00:00+00:00", name) * 2)
        w.finish({"format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
                  "created_at": "2026-11-22T11:30:00Z", "finished_at": "2026-11-22T11:30:05Z", "partial": False,
                  "partial_reason": None, "collection": {"argv": ["collect"]},
                  "nodes": [{"name": n, "os": "linux", "transport": "local", "timezone": "UTC", "utc_offset_seconds": 0}
                            for n in names], "items": []})
    return path


def test_triage_entries_of_many_nodes_name_each_node_once_and_stop_at_twelve(tmp_path: Path) -> None:
    # 30 nodes with the same problems: an entry named every node twice (a plain list, then one
    # link per finding); at 2,000 nodes each entry was a screen of names
    bundle = _many_nodes_bundle(tmp_path / "many.tgz", 30)
    out = tmp_path / "many.html"
    assert run_cli("analyze", str(bundle), "-o", str(out), "-q").returncode in (1, 3)
    html = out.read_text()
    triage = html[html.index('<ol class="triage">'):html.index("</ol>", html.index('<ol class="triage">'))]
    pleg = next(li for li in triage.split('<li class="problem') if "PLEG is not healthy" in li)
    shown = pleg.split("data-anchors")[1]          # data-nodes (the node filter) keeps all 30
    assert shown.count("node-005") == 1 and "node-029" not in shown and "node-029" in pleg
    assert pleg.count('class="node-link"') == 12
    assert "and 18 more" in pleg and "另有 18 个" in pleg
    # log-blind-spot reports two things per node (no containerd log, no kernel log) under one
    # rule id: each link says which, so the second is not hidden behind the first's title
    blind = next(li for li in triage.split('<li class="problem') if "No containerd log" in li)
    assert "node-000: No kernel log" in blind.replace("</span>", "").replace('<span class="l-en">', "")


def test_multi_overview_causes_of_many_nodes_stop_at_24_links(tmp_path: Path) -> None:
    many = _many_nodes_bundle(tmp_path / "many.tgz", 30)
    one = write_bundle(tmp_path / "one.tgz", _pleg_line("2026-11-22T10:00:00+00:00") * 2)
    out = tmp_path / "multi.html"
    assert run_cli("analyze", str(many), str(one), "-o", str(out), "-q").returncode in (1, 3)
    html = out.read_text()
    overview = html[html.index('id="page-0"'):html.index('id="page-1"')]
    pleg = next(li for li in overview.split('<li class="cause') if "PLEG is not healthy" in li)
    assert pleg.count('class="node-link"') == 24 and "and 7 more" in pleg and "另有 7 个" in pleg   # 31 nodes
    assert 'class="count">31<' in pleg


def test_diff_text_cuts_a_long_setting_key_at_a_part_boundary() -> None:
    samples = Path(__file__).resolve().parents[2] / "samples"
    proc = run_cli("diff", str(samples / "broken-kubeadm.tgz"), str(samples / "healthy-node.tgz"), "--format", "text", "-o", "-")
    assert proc.returncode == 0, proc.stderr
    cut = [ln.strip() for ln in proc.stdout.splitlines() if "SystemdCgroup" in ln]
    # it read '…lugins.io.containerd.grpc...' (cut mid-word from the left)
    assert cut == ["…io.containerd.grpc.v1.cri.containerd.runtimes.runc.options.SystemdCgroup: false -> true"]
