"""The manifest as typed records (k8s_bundle/bundle/manifest.py): written, read back, hostile input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from k8s_bundle.bundle.layout import FORMAT_VERSION, MANIFEST_NAME
from k8s_bundle.bundle.manifest import FailedHost, ItemRecord, Manifest, NodeEntry
from k8s_bundle.bundle.reader import open_bundle
from k8s_bundle.bundle.writer import BundleWriter

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("*.tgz"))
# The order docs/bundle-format.md shows; redact writes a directory's manifest.json unsorted.
TOP_ORDER = ["format_version", "tool", "created_at", "finished_at", "partial", "partial_reason",
             "collection", "nodes", "items"]
ITEM_ORDER = ["node", "area", "id", "path", "kind", "source", "status", "exit_code", "duration_ms", "bytes",
              "sha256", "redactions", "error", "needs_root"]


def _full() -> Manifest:
    return Manifest(
        created_at="2026-11-22T11:30:00Z", finished_at="2026-11-22T11:30:21Z", partial_reason="interrupted",
        collection={"argv": ["collect", "--ssh", "n2"], "since": "72h", "root": "/", "user": "root", "is_root": True},
        nodes=[NodeEntry(name="n1", os="linux", transport="local", timezone="UTC", utc_offset_seconds=0),
               NodeEntry(name="n2", os="linux", transport="ssh", complete=False, incomplete_reason="host timeout")],
        items=[ItemRecord(node="n1", area="logs", id="journal-kernel", path="nodes/n1/logs/kernel.log", kind="journal",
                          source="journalctl -k", bytes=12, sha256="ab" * 32,
                          extra={"fallback": {"from": "journalctl -k: no entries", "to": ["dmesg -T"]}}),
               ItemRecord(node="n2", area="runtime", id="docker-info", kind="command", source="docker info",
                          status="timeout", duration_ms=10003, error="timed out after 10s")],
        failed_hosts=[FailedHost(host="root@n3", transport="ssh", state="failed", error="unreachable")],
        extra={"redacted_again": {"at": "2026-11-23T00:00:00Z"}},
    )


def test_written_fields_keep_the_documented_order_and_read_back_equal() -> None:
    doc = _full().to_dict()
    assert list(doc) == TOP_ORDER + ["failed_hosts", "redacted_again"]
    assert doc["format_version"] == FORMAT_VERSION and doc["partial"] is True
    assert list(doc["items"][0]) == ITEM_ORDER + ["fallback"]
    assert doc["nodes"][0] == {"name": "n1", "os": "linux", "transport": "local", "timezone": "UTC",
                               "utc_offset_seconds": 0}
    assert doc["nodes"][1]["complete"] is False and doc["nodes"][1]["incomplete_reason"] == "host timeout"
    assert doc["failed_hosts"] == [{"host": "root@n3", "transport": "ssh", "state": "failed", "node": None,
                                    "error": "unreachable", "partial": False}]
    back, notes, limits = Manifest.from_dict(orjson.loads(orjson.dumps(doc)))
    assert (notes, limits) == ([], [])
    full = _full()
    assert (back.nodes, back.items, back.failed_hosts, back.extra) == (full.nodes, full.items, full.failed_hosts,
                                                                       full.extra)
    assert back.partial is True and back.partial_reason == "interrupted"
    assert orjson.dumps(back.to_dict()) == orjson.dumps(doc)      # same keys in the same order


def test_failed_hosts_is_written_only_when_a_host_failed() -> None:
    m = _full()
    m.failed_hosts = []
    assert "failed_hosts" not in m.to_dict()
    m.failed_hosts = None
    assert "failed_hosts" not in m.to_dict()


def test_hostile_manifest_is_read_with_wrong_types_dropped_and_noted() -> None:
    hostile = {
        "format_version": ["1.0"], "tool": {"name": "k8s-bundle", "version": {"x": 1}}, "created_at": 7,
        "partial": "yes", "collection": [], "nodes": [{"name": "n1", "utc_offset_seconds": "3600", "complete": 1},
                                                      {"os": "linux"}, "n3"],
        "items": [{"node": "n1", "id": 5, "bytes": "12", "status": None}, "not an item", {}],
        "failed_hosts": [{"host": "h1", "partial": "no", "error": ["x"]}, {"host": ""}],
        "comment": "a field a newer tool wrote",
    }
    m, notes, limits = Manifest.from_dict(hostile)
    assert limits == []
    assert m.format_version == FORMAT_VERSION and m.created_at is None and m.partial is False
    assert m.collection == {} and m.tool == {"name": "k8s-bundle"}
    assert [n.name for n in m.nodes] == ["n1"]
    assert m.nodes[0].utc_offset_seconds is None and m.nodes[0].complete is True
    assert [(i.node, i.id, i.bytes) for i in m.items] == [("n1", "5", None), (None, "", 0)]
    assert m.failed_hosts == [FailedHost(host="h1", error='["x"]')]
    assert m.extra == {"comment": "a field a newer tool wrote"}
    joined = "\n".join(notes)
    for field in ("format_version is a list", "created_at is a number", "partial is text", "collection is a list",
                  "2 of 3 nodes entries", "1 of 3 items are not objects", "1 of 2 failed_hosts entries"):
        assert field in joined
    m.to_dict()      # what was read can be written again


@pytest.mark.skipif(not SAMPLES, reason="samples/*.tgz not built")
@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_the_samples_manifests_read_back_equal(sample: Path) -> None:
    raw = next(m.read() for m in open_bundle(sample) if m.path == MANIFEST_NAME)
    doc = orjson.loads(raw)
    m, notes, limits = Manifest.from_dict(doc)
    assert (notes, limits) == ([], [])
    assert m.items and m.nodes
    assert m.to_dict() == doc
    # the bytes too, as the writer serialises them
    assert orjson.dumps(m.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) == raw


def test_writer_finishes_with_a_manifest_and_analyze_reads_hostile_items_without_a_traceback(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tgz"
    with BundleWriter(bundle, top_dir="k8s-bundle-n1-x") as w:
        stored = w.add_text("nodes/n1/commands/uname.txt", "Linux n1 6.1.0 #1 SMP x86_64 GNU/Linux\n")
        m = Manifest(created_at="2026-11-22T11:30:00Z", finished_at="2026-11-22T11:30:01Z",
                     collection={"argv": ["collect"]}, nodes=[NodeEntry(name="n1", os="linux")],
                     items=[ItemRecord(node="n1", area="system", id="uname", path=stored.path, kind="command",
                                       bytes=stored.bytes, sha256=stored.sha256),
                            ItemRecord(node="n1", area="system", id="bad", status={"x": 1},   # type: ignore[arg-type]
                                       exit_code="zero")])                                  # type: ignore[arg-type]
        w.finish(m)
    raw = next(x.read() for x in open_bundle(bundle) if x.path == MANIFEST_NAME)
    assert orjson.loads(raw) == m.to_dict()
    run = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "--format", "json",
                          "-o", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, 1, 3), run.stderr
    assert "Traceback" not in run.stderr
    report = (tmp_path / "r.json").read_text()
    assert "items have text or number fields of another JSON type" in report
