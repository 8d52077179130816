"""The report's timeline data (analyzer/timeline.py) and its drawing, without a browser.

Bundles are real: written with BundleWriter (or the committed samples), read back by the real
pipeline (analyze_bundle with the shipped rules) or by `python -m k8s_bundle.cli analyze`.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from k8s_bundle.analyzer.analysis import analyze_bundle
from k8s_bundle.analyzer.rules_load import load_rules
from k8s_bundle.analyzer.timeline import MAX_BUCKETS, MAX_ROWS, build_timeline, choose_buckets
from k8s_bundle.bundle.writer import BundleWriter

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "broken-kubeadm.tgz"
COLLECTED = "2026-11-22T11:30:00Z"


@pytest.fixture(scope="module")
def rules() -> list[Any]:
    return load_rules()


def _journal(ts: dt.datetime, host: str, ident: str, text: str) -> str:
    return f"{ts.strftime('%Y-%m-%dT%H:%M:%S.%f')}+00:00 {host} {ident}[812]: {text}\n"


def _klog(level: str, ts: dt.datetime, text: str) -> str:
    return f"{level}{ts:%m%d %H:%M:%S.%f}     812 {text}"


def _at(hh: int, mm: int, ss: int = 0, day: int = 22, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, 11, day, hh, mm, ss)


def _bundle(path: Path, nodes: dict[str, dict[str, Any]], files: dict[str, str], created: str | None = COLLECTED) -> Path:
    manifest: dict[str, Any] = {
        "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
        "finished_at": "2026-11-22T11:30:05Z", "partial": False, "partial_reason": None,
        "collection": {"argv": ["collect"]},
        "nodes": [{"name": n, "os": "linux", "transport": "local", "timezone": "UTC", "utc_offset_seconds": 0} for n in nodes],
        "items": [],
    }
    if created:
        manifest["created_at"] = created
    with BundleWriter(path, "k8s-bundle-t-20261122T113000Z", overwrite=True) as w:
        for name, facts in nodes.items():
            w.add_json(f"nodes/{name}/node.json", {"name": name, "hostname": name, "os": "linux", "runtime": "containerd",
                                                     "roles": ["worker"], **facts})
        for p, text in files.items():
            w.add_text(p, text)
        w.finish(manifest)
    return path


def test_sample_counts_rows_marks_boot_and_collection(rules: list[Any]) -> None:
    a = analyze_bundle(str(SAMPLE), rules)
    tl = build_timeline(a.evidence, a.findings, a.unexplained)
    assert tl["collected_at"] == COLLECTED
    start, end = dt.datetime.fromisoformat(tl["start"]), dt.datetime.fromisoformat(tl["end"])
    assert start <= dt.datetime.fromisoformat(COLLECTED) < end
    assert 60 <= tl["buckets"] <= MAX_BUCKETS
    assert (end - start).total_seconds() == tl["buckets"] * tl["bucket_seconds"]
    # every kubelet warning/error line of the log index is counted on the kubelet row
    li = a.evidence.log_index
    kubelet = li.filter((pl.col("source") == "journal/kubelet.log") & (pl.col("ident") == "kubelet"))
    row = next(r for r in tl["rows"] if r["component"] == "kubelet")
    assert row["errors"] == kubelet.filter(pl.col("level").is_in(["E", "F"])).height > 0
    assert row["warnings"] == kubelet.filter(pl.col("level") == "W").height
    assert sum(e for _, _, e in row["counts"]) == row["errors"]
    assert all(0 <= b < tl["buckets"] for b, _, _ in row["counts"])
    assert tl["lines"]["counted"] == li.filter(pl.col("level").is_in(["W", "E", "F"])).height
    # one mark per finding with a time, pointing at it by index
    timed = [i for i, f in enumerate(a.findings) if f.first_seen]
    assert sorted(m["finding"] for m in tl["marks"]) == timed
    for m in tl["marks"]:
        f = a.findings[m["finding"]]
        assert m["rule_id"] == f.rule_id and m["first"] <= m["last"]
        assert m["first"] == f.first_seen[:19] + "Z"
    assert tl["boots"] == [{"node": "k8s-master-1", "time": "2026-11-22T10:35:00Z", "from": "node"}]


def test_a_stray_line_from_years_ago_does_not_stretch_the_span(tmp_path: Path, rules: list[Any]) -> None:
    lines = _journal(_at(9, 0, year=2019, day=1), "n1", "kubelet", _klog("E", _at(9, 0), 'kubelet.go:1] "stray"'))
    lines += "".join(_journal(_at(10, m), "n1", "kubelet", _klog("E" if m % 2 else "W", _at(10, m), f'kubelet.go:2] "x {m}"'))
                     for m in range(0, 60))
    b = _bundle(tmp_path / "stray.tgz", {"n1": {}}, {"nodes/n1/logs/journal/kubelet.log": lines})
    a = analyze_bundle(str(b), rules)
    tl = build_timeline(a.evidence, a.findings)
    assert tl["start"].startswith("2026-11-22T") and tl["end"] >= COLLECTED
    assert tl["lines"]["before"] == 1 and tl["lines"]["after"] == 0
    assert tl["lines"]["counted"] == 60
    assert 60 <= tl["buckets"] <= MAX_BUCKETS


def test_choose_buckets_keeps_between_60_and_150_for_real_spans() -> None:
    t0 = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)
    for span in (dt.timedelta(minutes=70), dt.timedelta(hours=3), dt.timedelta(hours=26), dt.timedelta(days=6),
                 dt.timedelta(days=29)):
        start, size, n = choose_buckets(t0 + dt.timedelta(seconds=7), t0 + span)
        assert start <= t0 + dt.timedelta(seconds=7) and start.timestamp() % size == 0
        assert n <= MAX_BUCKETS and start + dt.timedelta(seconds=size * n) >= t0 + span
        assert n >= 40, (span, size, n)   # the coarse steps (2 d -> 7 d) give the fewest


def test_syslog_lines_land_on_their_component_by_program(tmp_path: Path, rules: list[Any]) -> None:
    # (the log index sniffs one inner format per file: klog lines in one file, logrus in another)
    syslog = "".join(f"Nov 22 10:{m:02d}:00 n1 {ident}[9]: {_klog('E', _at(10, m), 'x.go:1] trouble ' + str(m))}\n"
                     for m in range(30) for ident in ("kubelet", "kube-proxy"))
    messages = "".join(f'Nov 22 10:{m:02d}:00 n1 containerd[7]: time="2026-11-22T10:{m:02d}:00.000000000Z" '
                       f'level=warning msg="trouble {m}"\n' for m in range(20))
    b = _bundle(tmp_path / "syslog.tgz", {"n1": {}}, {"nodes/n1/logs/var/log/syslog": syslog,
                                                       "nodes/n1/logs/var/log/messages": messages})
    a = analyze_bundle(str(b), rules)
    rows = {r["component"]: r for r in build_timeline(a.evidence, a.findings)["rows"]}
    assert (rows["kubelet"]["errors"], rows["kubelet"]["warnings"]) == (30, 0)
    assert (rows["runtime"]["errors"], rows["runtime"]["warnings"]) == (0, 20)
    # kube-proxy's own places are its unit and pod logs: in syslog it is "other"
    assert (rows["other"]["errors"], rows["other"]["warnings"]) == (30, 0)
    assert list(rows) == ["kubelet", "runtime", "other"]


def test_journal_boot_lines_are_boots_but_not_the_one_opening_a_file(tmp_path: Path, rules: list[Any]) -> None:
    log = ("-- Boot 1f2e3d4c5b6a --\n"
           + _journal(_at(9, 0), "n1", "kubelet", _klog("E", _at(9, 0), 'a.go:1] "a"'))
           + "-- Boot aaaabbbbcccc --\n"
           + _journal(_at(10, 0), "n1", "kubelet", _klog("E", _at(10, 0), 'a.go:1] "b"'))
           + "-- Reboot --\n"
           + _journal(_at(10, 30), "n1", "kubelet", _klog("E", _at(10, 30), 'a.go:1] "c"')))
    kern = "-- Boot aaaabbbbcccc --\n" + _journal(_at(10, 0, 1), "n1", "kernel", "Linux version 6.1")
    b = _bundle(tmp_path / "boots.tgz", {"n1": {"boot_time": "2026-11-22T10:30:20Z"}},
                {"nodes/n1/logs/journal/kubelet.log": log, "nodes/n1/logs/journal/kernel.log": kern})
    a = analyze_bundle(str(b), rules)
    boots = build_timeline(a.evidence, a.findings)["boots"]
    # 10:00 from the journal (kubelet's and kernel's markers are one boot); 10:30 from node.json,
    # the journal's 10:30 reboot is the same boot; the 09:00 marker opens the file: not a boot
    assert boots == [{"node": "n1", "time": "2026-11-22T10:00:00Z", "from": "journal"},
                     {"node": "n1", "time": "2026-11-22T10:30:20Z", "from": "node"}]


def test_rows_are_capped_worst_nodes_first(tmp_path: Path, rules: list[Any]) -> None:
    nodes = {f"n{i:02d}": {} for i in range(40)}
    files = {}
    for i, n in enumerate(nodes):
        errors = 3 + i   # the last nodes have the most error lines
        files[f"nodes/{n}/logs/journal/kubelet.log"] = "".join(
            _journal(_at(10, m), n, "kubelet", _klog("E", _at(10, m), f'a.go:1] "k {m}"')) for m in range(errors))
        files[f"nodes/{n}/logs/journal/containerd.log"] = "".join(
            _journal(_at(10, m), n, "containerd", f'time="2026-11-22T10:{m:02d}:00Z" level=warning msg="c {m}"')
            for m in range(3))
    b = _bundle(tmp_path / "many.tgz", nodes, files)
    a = analyze_bundle(str(b), rules)
    tl = build_timeline(a.evidence, a.findings)
    lanes = len({n for m in tl["marks"] for n in m["nodes"]}) + (1 if any(not m["nodes"] for m in tl["marks"]) else 0)
    assert len(tl["rows"]) + lanes <= MAX_ROWS
    assert tl["nodes_left_out"] > 0 and tl["rows_left_out"] > 0
    assert len(tl["nodes"]) + tl["nodes_left_out"] == 40
    assert "n39" in tl["nodes"] and "n00" not in tl["nodes"]
    assert tl["nodes"] == sorted(tl["nodes"])


def test_no_time_at_all_gives_an_empty_timeline_and_the_page_says_so(tmp_path: Path, rules: list[Any]) -> None:
    b = _bundle(tmp_path / "notime.tgz", {"n1": {}}, {"nodes/n1/logs/misc.log": "error: something\nplain words\n"}, created=None)
    a = analyze_bundle(str(b), rules)
    tl = build_timeline(a.evidence, a.findings)
    assert tl["start"] is None and tl["rows"] == [] and tl["buckets"] == 0
    out = tmp_path / "notime.html"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(b), "-o", str(out), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1, 3), proc.stderr
    page = out.read_text()
    assert 'class="timeline"' in page and "<svg" not in page.split('class="timeline"')[1].split("</section>")[0]
    assert "No time in this bundle" in page


def test_json_and_html_reports_carry_the_timeline(tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    for out in (out_json, out_html):
        proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(SAMPLE), "-o", str(out), "--quiet"],
                              capture_output=True, text=True)
        assert proc.returncode == 3, proc.stderr
    doc = json.loads(out_json.read_text())
    tl = doc["timeline"]
    assert tl["collected_at"] == COLLECTED and tl["rows"] and tl["marks"]
    assert all(doc["findings"][m["finding"]]["rule_id"] == m["rule_id"] for m in tl["marks"])
    page = out_html.read_text()
    section = page.split('<section class="timeline"')[1].split("</section>")[0]
    assert section.count('class="tl-mark') == len(tl["marks"])
    assert section.count('class="tl-row"') == len(tl["rows"])
    assert 'class="tl-collected"' in section and section.count('class="tl-boot"') == 1
    # every mark links to a finding that is on the page
    anchors = set(re.findall(r'data-anchor="([^"]+)"', section))
    assert anchors and all(f'id="{a}"' in page for a in anchors)


def test_bundle_text_in_the_timeline_is_escaped(tmp_path: Path) -> None:
    evil = 'n"><img src=x onerror=alert(1)><b>'
    log = "".join(_journal(_at(10, m), "h", "kubelet", _klog("E", _at(10, m), f'a.go:1] "x {m}"')) for m in range(5))
    b = _bundle(tmp_path / "evil.tgz", {evil: {}}, {f"nodes/{evil}/logs/journal/kubelet.log": log})
    out = tmp_path / "evil.html"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(b), "-o", str(out), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1, 3), proc.stderr
    section = out.read_text().split('<section class="timeline"')[1].split("</section>")[0]
    assert section.count('class="tl-row"') == 1          # the node's lines are drawn
    assert "<img" not in section and "<b>" not in section and "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;" in section


@pytest.mark.parametrize("created, stamp", [
    ("0001-01-01T00:00:00Z", "2026-11-22T10:00:00.000000+00:00"),     # a manifest from year 1
    ("9999-12-31T23:59:59Z", "2026-11-22T10:00:00.000000+00:00"),
    ("not a date", "2026-11-22T10:00:00.000000+00:00"),
    (COLLECTED, "1970-01-01T00:00:00.000000+00:00"),                   # a dead RTC's lines
    (COLLECTED, "9999-12-31T23:59:59.000000+00:00"),
])
def test_absurd_times_give_a_timeline_not_a_crash(tmp_path: Path, rules: list[Any], created: str, stamp: str) -> None:
    from k8s_bundle.analyzer.render import render_html

    log = "".join(f"{stamp} n1 kubelet[1]: E1122 10:00:00.000000 1 a.go:1] x\n" for _ in range(3))
    log += _journal(_at(10, 5), "n1", "kubelet", _klog("E", _at(10, 5), 'a.go:1] "y"'))
    b = _bundle(tmp_path / "absurd.tgz", {"n1": {"boot_time": "0001-01-01T00:00:00Z"}},
                {"nodes/n1/logs/journal/kubelet.log": log}, created=created)
    a = analyze_bundle(str(b), rules)
    tl = build_timeline(a.evidence, a.findings)
    start, end = dt.datetime.fromisoformat(tl["start"]), dt.datetime.fromisoformat(tl["end"])
    assert dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) <= start < end <= dt.datetime(2100, 1, 2, tzinfo=dt.timezone.utc)
    assert tl["buckets"] <= MAX_BUCKETS and tl["boots"] == []
    # every line is accounted for: drawn, before or after the span, or without a time (a stamp
    # in the last day of year 9999 is no time at all: analyzer/logindex.py _TS_MAX)
    assert sum(tl["lines"][k] for k in ("counted", "before", "after", "untimed")) == 4
    page = render_html(a.evidence, a.findings, "en", a.unexplained)
    section = page.split('<section class="timeline"')[1].split("</section>")[0]
    assert section.count('class="tl-row"') == 1 and section.count('class="tl-tick"') <= 16


def test_the_vectorised_component_test_agrees_with_claims() -> None:
    from k8s_bundle.analyzer.rules_load import component_sources, expand_sources
    from k8s_bundle.analyzer.timeline import component_expr, component_of

    paths = {"journal/unrelated.log", "x\nvar/log/pods/a/b/0.log", "var/log/podsx/a", "C/k/kubelet.err.log"}
    for name in component_sources():
        for g in expand_sources([f"@{name}"]):
            for star in ("x", "x-calico-flannel"):
                paths.add(g.replace("**", "a/b").replace("*", star).replace("?", "q"))
    idents = ["", "kubelet", "containerd", "dockerd", "kernel", "k3s", "Docker/1", "crio", "systemd"]
    keys = pl.DataFrame([(p, i) for p in sorted(paths) for i in idents], schema={"source": pl.String, "ident": pl.String}, orient="row")
    got = keys.with_columns(component_expr().alias("c"))
    mismatched = [(s, i, c, component_of(s, i or None)) for s, i, c in got.iter_rows() if c != component_of(s, i or None)]
    assert mismatched == []
    assert set(got["c"]) >= {"kubelet", "runtime", "kernel", "control-plane", "cni", "kube-proxy", "coredns", "pods", "windows", "other"}


def test_a_finding_of_no_node_or_many_is_drawn_on_the_whole_bundle_lane(rules: list[Any]) -> None:
    from k8s_bundle.analyzer.render.timeline_svg import timeline_view

    a = analyze_bundle(str(SAMPLE), rules)
    doc = json.loads(json.dumps(build_timeline(a.evidence, a.findings)))
    doc["marks"][0]["nodes"] = []          # as for a cluster finding, or one on more than 8 nodes
    view = timeline_view(doc, [f"f-{i}" for i in range(1, len(a.findings) + 1)], [f.title for f in a.findings])
    bundle = [g for g in view["groups"] if g["node"] is None]
    assert len(bundle) == 1 and bundle[0]["rows"][0]["label"]["en"] == "whole bundle"
    assert view["groups"][0] is bundle[0]                       # on top
    lane_marks = [m for m in view["marks"] if m["node"] is None]
    assert len(lane_marks) == 1 and lane_marks[0]["anchor"] == f"f-{doc['marks'][0]['finding'] + 1}"
    assert float(lane_marks[0]["y"]) < float(view["groups"][1]["y"])
