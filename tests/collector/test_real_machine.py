"""A real collection of the machine the tests run on (no Kubernetes here: most items are
not_found) must produce a bundle the bundle reader accepts without a single problem, and that
the analyzer's evidence loader loads without parse errors."""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from collect_helpers import read_bundle, run_collect
from k8s_bundle.bundle.layout import node_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ci_guard  # noqa: E402


@pytest.fixture(scope="module")
def real_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "real.tgz"
    proc = run_collect(["-o", str(out), "--timeout", "5"])
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_real_collection_reads_back(real_bundle):
    from k8s_bundle.bundle.reader import open_bundle

    out, proc = real_bundle
    with open_bundle(out) as reader:
        names = [m.path for m in reader]
        assert reader.problems == [] and not reader.truncated
    node = node_name(socket.gethostname())
    assert f"nodes/{node}/node.json" in names and "manifest.json" in names
    b = read_bundle(out)
    m = b.manifest
    assert m["partial"] is False and m["collection"]["root"] == "/" and m["collection"]["live"]
    # The machine's own facts came through commands that really ran.
    assert b.item("uname")["status"] == "ok", b.item("uname")
    assert b.text(f"nodes/{node}/commands/uname.txt").startswith("Linux ")
    assert "MemTotal:" in b.text(f"nodes/{node}/commands/meminfo.txt")
    rec = b.item("processes")
    assert rec["status"] == "ok", rec
    procs = json.loads(b.members[rec["path"]])
    summary = b.text(f"nodes/{node}/commands/process-summary.json")
    assert any(p["pid"] == 1 for p in procs), summary
    assert all("rss" in p and "inotify" in p for p in procs)
    assert f"bundle written: {out}" in proc.stderr


def test_real_collection_loads_into_evidence(real_bundle):
    try:
        import k8s_bundle.analyzer.evidence as evidence_mod
    except ImportError as exc:   # a collector-only install (no polars): CI has the analyzer
        ci_guard.require(f"the analyzer cannot be imported ({exc})")
    out, _ = real_bundle
    evidence = evidence_mod.load_evidence(out)
    node = node_name(socket.gethostname())
    assert node in evidence.nodes
    parse_errors = [p for p in evidence.problems if p.kind == "parse-error"]
    assert parse_errors == []
