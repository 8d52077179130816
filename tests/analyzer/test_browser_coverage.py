""""What was checked" in real Chromium: reachable from the contents and from the header's
reference time, both languages, the could-not-evaluate reasons shown; a bundle without a
manifest says today's date was used; no console error, no request.

Bundles are written with BundleWriter (and tarfile, for the one cut before its manifest) and
analysed by `k8s-bundle analyze` in a subprocess.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from browserkit import BROWSER_MARKS, Watched, browser  # noqa: F401 (browser: a fixture)

from k8s_bundle.bundle.writer import BundleWriter

pytestmark = BROWSER_MARKS
TOP = "k8s-bundle-n1-20261122T113000Z"
NODE = {"name": "n1", "hostname": "n1", "os": "linux", "distro": "Ubuntu 22.04.4 LTS", "kernel": "5.15.0-105-generic",
        "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0, "roles": ["control-plane"],
        "versions": {"kubelet": "v1.29.3"}, "runtime": "containerd"}
CONTAINERD = ('2026-11-22T09:00:00.000001+00:00 n1 containerd[702]: time="2026-11-22T09:00:00.000001000Z" '
              'level=error msg="failed to load cni during init"\n')
KERNEL = "2026-11-22T08:59:58.000001+00:00 n1 kernel: Linux version 5.15.0-105-generic (buildd@lcy02-amd64-007)\n"


def _analyze(bundle: Path) -> Path:
    out = bundle.with_suffix(".html")
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "-o", str(out), "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1, 3), proc.stderr
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("coverage")
    gaps = tmp / "gaps.tgz"       # no kubelet log, no cluster/ objects
    with BundleWriter(gaps, TOP, overwrite=True) as w:
        w.add_json("nodes/n1/node.json", NODE)
        w.add_text("nodes/n1/logs/journal/containerd.log", CONTAINERD)
        w.add_text("nodes/n1/logs/kernel.log", KERNEL)
        w.finish({"format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
                  "created_at": "2026-11-22T11:30:00Z", "nodes": [{"name": "n1", "os": "linux"}], "items": []})
    cut = tmp / "cut.tgz"         # cut before manifest.json: no collection time
    with tarfile.open(cut, "w:gz") as tar:
        for name, text in {"nodes/n1/node.json": json.dumps(NODE), "nodes/n1/logs/kernel.log": KERNEL}.items():
            info = tarfile.TarInfo(f"{TOP}/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return {"gaps": _analyze(gaps), "cut": _analyze(cut)}


def test_what_was_checked_is_reachable_from_the_top_in_both_languages(browser: Any, reports: dict[str, Path]) -> None:
    w = Watched(browser)
    page = w.open(reports["gaps"], "#lang=en")
    page.set_viewport_size({"width": 1000, "height": 700})
    link = page.locator("nav.toc a[href='#coverage']")
    assert "could not evaluate" in link.inner_text()
    link.click()
    page.wait_for_timeout(150)
    top = page.evaluate("document.getElementById('coverage').getBoundingClientRect().top")
    header = page.evaluate("document.querySelector('header').getBoundingClientRect().bottom")
    assert header - 1 <= top < 700
    row = page.locator("table.coverage-gaps tr[data-reason='no-log:kubelet']")
    assert row.is_visible() and "no kubelet log on this node" in row.inner_text()
    assert "kubelet-pleg-not-healthy" in row.inner_text() and "n1" in row.inner_text()
    assert page.locator("table.coverage-gaps tr[data-reason='no-cluster-data']").is_visible()
    assert "rules ran on 1 node" in page.locator("section.coverage p").first.inner_text()
    assert "could not evaluate" in page.locator("section.coverage .cov-could-not").inner_text()
    page.click("[data-set-lang=zh]")
    assert "该节点没有 kubelet 日志" in row.inner_text()
    assert "无法评估" in page.locator("section.coverage .cov-could-not").inner_text()
    w.assert_clean()


def test_header_reference_time_links_to_the_sentence(browser: Any, reports: dict[str, Path]) -> None:
    w = Watched(browser)
    page = w.open(reports["gaps"], "#lang=en")
    note = page.locator("header a.reference-note")
    assert "2026-11-22T11:30:00Z (collection time)" in note.inner_text()
    note.click()
    page.wait_for_timeout(150)
    sentence = page.locator("#reference-time")
    assert sentence.is_visible() and "the collection time" in sentence.inner_text()
    w.assert_clean()


def test_without_manifest_the_page_says_today_was_used(browser: Any, reports: dict[str, Path]) -> None:
    w = Watched(browser)
    page = w.open(reports["cut"], "#lang=en")
    note = page.locator("header a.reference-note.reference-today")
    assert "today's date: the bundle has no manifest.json" in note.inner_text()
    assert page.locator("#reference-time.reference-today").inner_text().startswith("Today's date was used")
    page.click("[data-set-lang=zh]")
    assert "今天的日期" in note.inner_text()
    w.assert_clean()
