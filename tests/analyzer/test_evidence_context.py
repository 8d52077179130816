"""Log evidence an engineer can read: every matching line reachable, with context.

A real bundle (BundleWriter) where one rule matches 300 lines in two files of a node whose
zone is +08:00, analysed by `python -m k8s_bundle.cli analyze` in a subprocess (JSON and HTML):
the count is exact, the kept lines respect the cap (first KEPT_HEAD and last KEPT_TAIL in
time), the per-file counts and ranges (also of the lines not kept) are right, the context
lines are the right neighbours (at the start and end of a file, across a blank line), times
are shown in UTC and in the node's zone, and nothing local is invented for a node whose zone
is unknown.
"""
from __future__ import annotations

import datetime as dt
import html
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from markupsafe import escape

from k8s_bundle.analyzer.evaluate_logs import KEPT_HEAD, KEPT_TAIL, MAX_KEPT_LINES
from k8s_bundle.analyzer.render.evidence_view import time_view
from k8s_bundle.bundle.writer import BundleWriter

TOP = "k8s-bundle-n8-20261122T113000Z"
NODE, PLAIN = "n8", "nz"            # +08:00 Asia/Shanghai; a node whose zone the bundle does not say
T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
KUBELET = f"nodes/{NODE}/logs/journal/kubelet.log"
CONTAINERD = f"nodes/{NODE}/logs/journal/containerd.log"
BLANK = 4                            # kubelet.log's line 4 is empty


def _local(t: dt.datetime) -> str:
    """A journal short-iso-precise stamp in the node's zone (+08:00)."""
    return t.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="microseconds")


def kubelet_lines() -> list[str]:
    """500 lines: the odd ones match (250), line 4 is blank, one minute apart."""
    out = []
    for i in range(1, 501):
        if i == BLANK:
            out.append("")
            continue
        word = "BOOM" if i % 2 else "calm"
        out.append(f"{_local(T0 + dt.timedelta(minutes=i))} {NODE} kubelet[812]: {word} k{i}")
    return out


def containerd_lines() -> list[str]:
    """50 matching lines, all after kubelet.log's."""
    return [f"{_local(T0 + dt.timedelta(hours=12, minutes=i))} {NODE} containerd[700]: BOOM c{i}" for i in range(1, 51)]


def write_rules(folder: Path) -> Path:
    base = {"severity": "warning", "platforms": ["linux"], "title": {"en": "T", "zh": "T"},
            "cause": {"en": "C", "zh": "C"}, "fix": {"en": "F", "zh": "F"}}
    folder.mkdir()
    rules = {
        "boom": {"log": {"sources": ["journal/*.log"], "regex": "BOOM"}},
        # two matchers, one per file: their hits are merged and capped again
        "boom-two": {"all": [{"log": {"sources": ["journal/kubelet.log"], "regex": "BOOM"}},
                             {"log": {"sources": ["journal/containerd.log"], "regex": "BOOM"}}]},
    }
    for rid, match in rules.items():
        (folder / f"{rid}.yaml").write_text(yaml.safe_dump({"id": rid, **base, "match": match}), encoding="utf-8")
    return folder


def write_bundle(path: Path) -> Path:
    """The bundle of this module (the browser test, test_browser_evidence.py, reads it too)."""
    with BundleWriter(path, TOP, overwrite=True) as w:
        w.add_json(f"nodes/{NODE}/node.json", {"name": NODE, "hostname": NODE, "os": "linux"})
        w.add_json(f"nodes/{PLAIN}/node.json", {"name": PLAIN, "hostname": PLAIN, "os": "linux"})
        w.add_text(KUBELET, "\n".join(kubelet_lines()) + "\n")
        w.add_text(CONTAINERD, "\n".join(containerd_lines()) + "\n")
        w.add_text(f"nodes/{PLAIN}/logs/journal/kubelet.log",
                   "2026-11-22T10:00:00.000000+00:00 nz kubelet[1]: BOOM plain\n")
        w.finish({
            "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
            "created_at": "2026-11-23T11:30:00Z", "finished_at": "2026-11-23T11:30:05Z", "partial": False,
            "partial_reason": None, "collection": {"argv": ["collect"]},
            "nodes": [{"name": NODE, "os": "linux", "transport": "local", "timezone": "Asia/Shanghai",
                       "utc_offset_seconds": 8 * 3600},
                      {"name": PLAIN, "os": "linux", "transport": "local"}],
            "items": [],
        })
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("evidence")
    path = write_bundle(tmp / "b.tgz")
    rules = write_rules(tmp / "rules")
    out = {}
    for fmt in ("json", "html"):
        target = tmp / f"report.{fmt}"
        proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(path), "-o", str(target), "--quiet",
                               "--rules", str(rules), "--no-builtin-rules"], capture_output=True, text=True)
        assert proc.returncode == 1, proc.stderr     # warnings only
        out[fmt] = target.read_bytes()
    out["doc"] = orjson.loads(out["json"])
    return out


def finding(doc: dict[str, Any], rule_id: str, node: str = NODE) -> dict[str, Any]:
    (f,) = [f for f in doc["findings"] if f["rule_id"] == rule_id and f["node"] == node]
    return f


def utc(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("rule_id", ["boom", "boom-two"])
def test_count_exact_cap_respected_and_per_file_ranges(reports: dict[str, Any], rule_id: str) -> None:
    ev = finding(reports["doc"], rule_id)["evidence"]
    assert ev["log_count"] == 300
    kept = [(line["file"], line["line"]) for line in ev["log_lines"]]
    assert len(kept) == MAX_KEPT_LINES == KEPT_HEAD + KEPT_TAIL
    # the first KEPT_HEAD in time (kubelet's odd lines 1..159), then the last KEPT_TAIL (containerd 31..50)
    assert kept == [(KUBELET, i) for i in range(1, 2 * KEPT_HEAD, 2)] + [(CONTAINERD, i) for i in range(31, 51)]
    assert ev["log_files"] == [
        {"node": NODE, "file": CONTAINERD, "count": 50, "first_line": 1, "last_line": 50,
         "left_out": 30, "left_out_first": 1, "left_out_last": 30},
        {"node": NODE, "file": KUBELET, "count": 250, "first_line": 1, "last_line": 499,
         "left_out": 170, "left_out_first": 161, "left_out_last": 499},
    ]
    # kept + left out = every matching line
    assert sum(c["count"] - c["left_out"] for c in ev["log_files"]) == len(kept)


def test_context_lines_are_the_right_neighbours(reports: dict[str, Any]) -> None:
    lines = {(x["file"], x["line"]): x for x in finding(reports["doc"], "boom")["evidence"]["log_lines"]}
    ctx = lambda x, side: [(c["line"], c["message"]) for c in x[side]]  # noqa: E731
    first = lines[(KUBELET, 1)]                       # the file's first line: nothing before
    assert first["message"] == "BOOM k1" and first["has_context"] is True
    assert ctx(first, "before") == []
    assert ctx(first, "after") == [(2, "calm k2"), (3, "BOOM k3")]        # line 4 is blank: not indexed
    third = lines[(KUBELET, 3)]
    assert ctx(third, "before") == [(1, "BOOM k1"), (2, "calm k2")]
    assert ctx(third, "after") == [(5, "BOOM k5"), (6, "calm k6")]        # across the blank line, numbers kept
    fifth = lines[(KUBELET, 5)]
    assert ctx(fifth, "before") == [(2, "calm k2"), (3, "BOOM k3")]
    last = lines[(CONTAINERD, 50)]                     # the file's last line: nothing after
    assert ctx(last, "before") == [(47, "BOOM c47"), (48, "BOOM c48"), (49, "BOOM c49")]
    assert ctx(last, "after") == []
    # context never crosses into another file
    assert all(c["message"].startswith("BOOM c") for c in lines[(CONTAINERD, 31)]["before"])


def test_times_are_utc_and_the_node_zone_is_shown_not_invented(reports: dict[str, Any]) -> None:
    first = finding(reports["doc"], "boom")["evidence"]["log_lines"][0]
    assert first["timestamp"] == utc(1) == "2026-11-22T09:01:00Z"      # written as 17:01 +08:00
    page = reports["html"].decode()
    assert '<span class="ev-time">2026-11-22 09:01:00 UTC</span><br><span class="ev-local">2026-11-22 17:01:00</span>' in page
    assert '<span class="l-en">node time: UTC+08:00 Asia/Shanghai</span>' in page
    plain = finding(reports["doc"], "boom", PLAIN)["evidence"]["log_lines"][0]
    assert plain["timestamp"] == "2026-11-22T10:00:00Z"
    # the zone-less node: its UTC time, and no local time next to it
    i = page.index("BOOM plain")
    block = page[page.rindex('<div class="ev-block">', 0, i):i]
    assert "2026-11-22 10:00:00 UTC" in block and "ev-local" not in block and "ev-zone" not in block


def test_page_shows_the_toggle_the_counts_and_where_the_rest_is(reports: dict[str, Any]) -> None:
    page = reports["html"].decode()
    sections = [p.split("</section>")[0] for p in page.split('<section class="finding')[1:]]
    (section,) = [x for x in sections if f'data-nodes="{NODE}"' in x and '<span class="rule-id">boom</span>' in x]
    assert '<details class="ev-more"><summary><span class="l-en">95 more matching lines</span>' in section
    assert html.escape(f"170 more matching lines not kept in this report: see {KUBELET} lines 161–499") in section
    assert html.escape(f"30 more matching lines not kept in this report: see {CONTAINERD} lines 1–30") in section
    assert "另有 170 条匹配日志未保留在报告中" in section
    # the matching line highlighted, its neighbours dimmed, paths whole
    assert '<tr class="hit"><td class="ln">1</td>' in section and '<tr class="ctx"><td class="ln">2</td>' in section
    assert f'<span class="ev-file">{KUBELET}</span>' in section


@pytest.mark.parametrize("stamp, zone, want", [
    ("2026-11-22T09:10:00Z", (28800, "Asia/Shanghai"),
     {"utc": "2026-11-22 09:10:00 UTC", "local": "2026-11-22 17:10:00", "zone": "+08:00 Asia/Shanghai"}),
    ("2026-11-22T23:30:00.250000Z", (-16200, ""),
     {"utc": "2026-11-22 23:30:00.250 UTC", "local": "2026-11-22 19:00:00.250", "zone": "-04:30"}),
    ("2026-11-22T09:10:00Z", (0, "Europe/London"),
     {"utc": "2026-11-22 09:10:00 UTC", "local": "2026-11-22 09:10:00", "zone": "+00:00 Europe/London"}),
    ("2026-11-22T09:10:00Z", (0, "Etc/UTC"), {"utc": "2026-11-22 09:10:00 UTC", "local": "", "zone": ""}),
    ("2026-11-22T09:10:00Z", None, {"utc": "2026-11-22 09:10:00 UTC", "local": "", "zone": ""}),
])
def test_time_view(stamp: str, zone: tuple[int, str] | None, want: dict[str, str]) -> None:
    assert time_view(stamp, zone) == want
    assert time_view(None, zone) is None


def test_bundle_text_in_the_evidence_stays_text(tmp_path: Path) -> None:
    """A node name (so a path) and log lines with markup, past the cap so that the path is also
    in the 'not kept' note the template fills in: all escaped."""
    evil = 'e"><img src=x onerror=alert(1)>'
    path = tmp_path / "evil.tgz"
    lines = "".join(f"{_local(T0 + dt.timedelta(minutes=i))} {NODE} kubelet[1]: BOOM <script>alert({i})</script>\n"
                    for i in range(1, MAX_KEPT_LINES + 11))
    with BundleWriter(path, TOP, overwrite=True) as w:
        w.add_json(f"nodes/{evil}/node.json", {"name": evil, "hostname": "x", "os": "linux"})
        w.add_text(f"nodes/{evil}/logs/journal/kubelet.log", lines)
        w.finish({"format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
                  "created_at": "2026-11-23T11:30:00Z", "finished_at": "2026-11-23T11:30:05Z", "partial": False,
                  "partial_reason": None, "collection": {"argv": ["collect"]},
                  "nodes": [{"name": evil, "os": "linux", "timezone": '<b>"zone"</b>', "utc_offset_seconds": 3600}],
                  "items": []})
    out = tmp_path / "evil.html"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(path), "-o", str(out), "--quiet",
                           "--rules", str(write_rules(tmp_path / "rules")), "--no-builtin-rules"], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert "<img src=x" not in page and "<script>alert(" not in page and "<b>" not in page
    assert str(escape(f"10 more matching lines not kept in this report: see nodes/{evil}/logs/journal/kubelet.log")) in page
    assert str(escape('node time: UTC+01:00 <b>"zone"</b>')) in page


def test_context_budget_first_lines_of_every_finding_first(tmp_path: Path) -> None:
    """12 nodes x 100 kept lines = 1,200 lines, over the report's budget of 1,000: every
    finding's first 5 lines have context, the budget is spent exactly, and the page says which
    finding's lines are shown without it."""
    from k8s_bundle.analyzer.evaluate_logs import MAX_CONTEXT_ANCHORS, SHOWN_FIRST

    nodes = [f"w{i:02d}" for i in range(12)]
    path = tmp_path / "many.tgz"
    with BundleWriter(path, TOP, overwrite=True) as w:
        for n in nodes:
            w.add_json(f"nodes/{n}/node.json", {"name": n, "hostname": n, "os": "linux"})
            w.add_text(f"nodes/{n}/logs/journal/kubelet.log", "".join(
                f"{(T0 + dt.timedelta(minutes=i)).isoformat(timespec='microseconds')} {n} kubelet[1]: BOOM {i}\n"
                for i in range(1, MAX_KEPT_LINES + 1)))
        w.finish({"format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
                  "created_at": "2026-11-23T11:30:00Z", "finished_at": "2026-11-23T11:30:05Z", "partial": False,
                  "partial_reason": None, "collection": {"argv": ["collect"]},
                  "nodes": [{"name": n, "os": "linux"} for n in nodes], "items": []})
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "boom.yaml").write_text(yaml.safe_dump({
        "id": "boom", "severity": "warning", "platforms": ["linux"], "title": {"en": "T", "zh": "T"},
        "cause": {"en": "C", "zh": "C"}, "fix": {"en": "F", "zh": "F"},
        "match": {"log": {"sources": ["journal/*.log"], "regex": "BOOM"}}}))
    outs = {}
    for fmt in ("json", "html"):
        outs[fmt] = tmp_path / f"many.{fmt}"
        proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(path), "-o", str(outs[fmt]),
                               "--quiet", "--rules", str(rules), "--no-builtin-rules"], capture_output=True, text=True)
        assert proc.returncode == 1, proc.stderr
    doc = orjson.loads(outs["json"].read_bytes())
    found = [f for f in doc["findings"] if f["rule_id"] == "boom"]
    assert [f["node"] for f in found] == nodes
    with_ctx = [[ln["has_context"] for ln in f["evidence"]["log_lines"]] for f in found]
    assert all(all(flags[:SHOWN_FIRST]) for flags in with_ctx)
    assert sum(map(sum, with_ctx)) == MAX_CONTEXT_ANCHORS
    # report order: the first findings have all their lines with context, the last only their first 5
    assert all(with_ctx[0]) and sum(with_ctx[-1]) == SHOWN_FIRST
    bare_line = next(ln for ln in found[-1]["evidence"]["log_lines"] if not ln["has_context"])
    assert bare_line["before"] == [] and bare_line["after"] == []
    page = outs["html"].read_text(encoding="utf-8")
    assert f"{MAX_KEPT_LINES - SHOWN_FIRST} of these lines are shown without context: a report shows the context of 1,000 lines" in page
