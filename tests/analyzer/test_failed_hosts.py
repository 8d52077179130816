"""Hosts a fan-out collection did not collect whole reach the report.

Real bundles written by BundleWriter with a manifest shaped as collector/fanout.py writes it
(`failed_hosts`, `nodes[].complete: false` with `incomplete_reason`, the cut host's items
`skipped` "not run: ..."), analysed by a subprocess `python -m k8s_bundle.cli analyze`: the
JSON report, the HTML report and the terminal summary name the hosts and the node, and the
rules bundle-hosts-failed and bundle-node-incomplete fire. Hostile manifests (wrong types)
give a parse-error problem and no traceback.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from k8s_bundle.bundle.writer import BundleWriter

UNAME = "Linux {n} 5.15.0-105-generic #115-Ubuntu SMP x86_64 GNU/Linux\n"
DEADLINE = "host deadline passed (--host-timeout 20s)"
REFUSED = "--ssh root@10.77.0.3: authentication failed (root@10.77.0.3: Permission denied (publickey).)"


def _item(node: str, item_id: str, status: str, error: str | None = None) -> dict[str, Any]:
    return {"node": node, "area": "system", "id": item_id, "path": f"commands/{item_id}.txt" if status == "ok" else None,
            "kind": "command", "source": item_id, "status": status, "exit_code": 0 if status == "ok" else None,
            "duration_ms": None, "bytes": 10, "sha256": None, "redactions": 0, "error": error, "needs_root": False}


def fanout_manifest() -> dict[str, Any]:
    """Three hosts of a `collect --hosts` run: node1 whole, node7 cut at its deadline after
    storing uname, 10.77.0.3 refused the key (no node)."""
    return {
        "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
        "created_at": "2026-11-22T11:30:00Z", "finished_at": "2026-11-22T11:31:00Z",
        "partial": False, "partial_reason": None,
        "collection": {"argv": ["collect", "--hosts", "hosts.txt"], "since": "24h"},
        "nodes": [
            {"name": "node1", "os": "linux", "transport": "ssh", "timezone": "UTC", "utc_offset_seconds": 0},
            {"name": "node7", "os": "linux", "transport": "ssh", "timezone": "UTC", "utc_offset_seconds": 0,
             "complete": False, "incomplete_reason": DEADLINE},
        ],
        "items": [_item("node1", "uname", "ok"), _item("node7", "uname", "ok"),
                  _item("node7", "journal-kubelet", "skipped", f"not run: {DEADLINE}")],
        "failed_hosts": [
            {"host": "root@10.77.0.3", "transport": "ssh", "state": "failed", "node": None, "partial": False,
             "error": REFUSED},
            {"host": "root@10.77.0.7", "transport": "ssh", "state": "timed_out", "node": "node7", "partial": True,
             "error": DEADLINE},
        ],
    }


def write_bundle(path: Path, manifest: dict[str, Any]) -> Path:
    writer = BundleWriter(path, top_dir="k8s-bundle-multi-test")
    for node in ("node1", "node7"):
        writer.add_text(f"nodes/{node}/commands/uname.txt", UNAME.format(n=node))
    return writer.finish(manifest)


def analyze(bundle: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), *args],
                          capture_output=True, text=True, timeout=120)


def test_failed_hosts_and_incomplete_node_reach_every_report(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "multi.tgz", fanout_manifest())
    proc = analyze(bundle, "--format", "json", "-o", "-")
    assert proc.returncode == 1, proc.stderr          # warnings
    doc = json.loads(proc.stdout)
    assert [(h["host"], h["transport"], h["state"], h["node"], h["partial"]) for h in doc["failed_hosts"]] == [
        ("root@10.77.0.3", "ssh", "failed", None, False), ("root@10.77.0.7", "ssh", "timed_out", "node7", True)]
    assert doc["failed_hosts"][0]["error"] == REFUSED
    assert doc["incomplete_nodes"] == [{"node": "node7", "reason": DEADLINE}]

    hosts = [f for f in doc["findings"] if f["rule_id"] == "bundle-hosts-failed"]
    assert len(hosts) == 1 and hosts[0]["severity"] == "warning"
    msg = hosts[0]["message"]["en"]
    assert msg.startswith("2 host(s) not collected whole: ")
    assert f"root@10.77.0.3 (ssh, failed: {REFUSED})" in msg and "root@10.77.0.7 (ssh, timed_out: " in msg
    assert "node7" in hosts[0]["nodes"]
    cut = [f for f in doc["findings"] if f["rule_id"] == "bundle-node-incomplete"]
    assert [(f["node"], f["message"]["en"]) for f in cut] == [("node7", f"Collection cut short: {DEADLINE}")]
    # the node cut short is one of the hosts: folded under the bundle finding
    assert cut[0]["explained_by"] == ["bundle-hosts-failed"] and hosts[0]["root_cause"] is True

    html = tmp_path / "r.html"
    text = analyze(bundle, "-o", str(html), "--lang", "en")
    assert text.returncode == 1, text.stderr
    page = html.read_text()
    assert "Hosts not collected whole" in page and "未采集完整的主机" in page
    assert "root@10.77.0.3" in page and "timed_out" in page and "Permission denied (publickey)" in page
    assert "Nodes collected in part" in page and DEADLINE in page
    assert "Every item was collected." not in page
    # the terminal summary counts them and names the hosts
    assert "2 host(s) not collected whole, 1 node(s) collected in part:" in text.stdout
    assert "  root@10.77.0.3 (ssh): failed  --ssh root@10.77.0.3: authentication failed" in text.stdout


def test_a_collection_without_failed_hosts_says_so(tmp_path: Path) -> None:
    manifest = fanout_manifest()
    del manifest["failed_hosts"]
    manifest["nodes"][1] = {k: v for k, v in manifest["nodes"][1].items() if "complete" not in k}
    manifest["items"] = manifest["items"][:2]
    bundle = write_bundle(tmp_path / "whole.tgz", manifest)
    proc = analyze(bundle, "--format", "json", "-o", "-")
    doc = json.loads(proc.stdout)
    assert doc["failed_hosts"] == [] and doc["incomplete_nodes"] == []
    assert not {f["rule_id"] for f in doc["findings"]} & {"bundle-hosts-failed", "bundle-node-incomplete"}
    text = analyze(bundle, "--format", "text")
    assert "not collected whole" not in text.stdout


def test_hostile_failed_hosts_and_completeness_are_ignored_with_a_problem(tmp_path: Path) -> None:
    manifest = fanout_manifest()
    manifest["failed_hosts"] = [{"host": 7}, "x", {"host": "h1", "error": {"a": 1}, "partial": "yes", "state": None}]
    manifest["nodes"][1]["complete"] = "no"
    bundle = write_bundle(tmp_path / "hostile.tgz", manifest)
    proc = analyze(bundle, "--format", "json", "-o", "-")
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    notes = [p["message"] for p in doc["input_problems"] if p["kind"] == "parse-error"]
    assert any("2 of 3 failed_hosts entries are not an object with a text host" in n for n in notes), notes
    assert any("failed_hosts entries have fields of the wrong type" in n for n in notes), notes
    assert any("nodes entries have fields of the wrong type" in n for n in notes), notes
    # the one usable entry stays, its object error shown as its JSON text; node7's "no" is no false
    assert doc["failed_hosts"] == [{"host": "h1", "transport": "", "state": "", "error": '{"a":1}', "node": None,
                                    "partial": False}]
    assert doc["incomplete_nodes"] == []

    manifest["failed_hosts"] = "three hosts failed"
    bundle = write_bundle(tmp_path / "hostile2.tgz", manifest)
    doc = json.loads(analyze(bundle, "--format", "json", "-o", "-").stdout)
    assert any("failed_hosts is text, not a list; ignored" in p["message"] for p in doc["input_problems"])
    assert doc["failed_hosts"] == []


def test_ten_thousand_failed_hosts_are_capped_and_counted(tmp_path: Path) -> None:
    manifest = fanout_manifest()
    manifest["failed_hosts"] = [{"host": f"root@10.1.{i // 250}.{i % 250}", "transport": "ssh", "state": "failed",
                                 "node": None, "partial": False, "error": "unreachable"} for i in range(10_005)]
    bundle = write_bundle(tmp_path / "many.tgz", manifest)
    html = tmp_path / "r.html"
    proc = analyze(bundle, "--format", "json", "-o", "-")
    doc = json.loads(proc.stdout)
    assert len(doc["failed_hosts"]) == 10_000
    assert any(p["kind"] == "limit" and "5 failed_hosts entries left out past 10,000" in p["message"]
               for p in doc["input_problems"])
    (f,) = [f for f in doc["findings"] if f["rule_id"] == "bundle-hosts-failed"]
    assert f["message"]["en"].startswith("10000 host(s) not collected whole: root@10.1.0.0 (ssh, failed: unreachable); ")
    assert f["message"]["en"].endswith("root@10.1.0.4 (ssh, failed: unreachable); …")
    assert analyze(bundle, "-o", str(html)).returncode == 1
    page = html.read_text()
    assert page.count('<td class="node-name">root@10.1.') == 200
    assert "… and 9,800 more hosts, not listed (the report lists the first 200" in page
