"""Log evidence in a real Chromium: the first lines with their context, the toggle that reveals
the rest, dimmed context and the highlighted match, whole paths, and a clean console.

The bundle is test_evidence_context.py's (300 matching lines in two files of a +08:00 node),
analysed by `python -m k8s_bundle.cli analyze` in a subprocess.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from browserkit import BROWSER_MARKS, Watched, browser, search  # noqa: F401 (browser: a fixture)
from test_evidence_context import CONTAINERD, KUBELET, NODE, write_bundle, write_rules

from k8s_bundle.analyzer.evaluate_logs import MAX_KEPT_LINES, SHOWN_FIRST

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser-evidence")
    bundle = write_bundle(tmp / "b.tgz")
    out = tmp / "b.html"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "-o", str(out), "--quiet",
                           "--rules", str(write_rules(tmp / "rules")), "--no-builtin-rules"], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    return out


def _boom(page: Any) -> Any:
    """The `boom` finding of the +08:00 node."""
    return page.locator(f'section.finding[data-nodes="{NODE}"]', has=page.locator(".rule-id", has_text="boom")).first


def _visible_hits(section: Any) -> int:
    return sum(1 for i in range(section.locator("tr.hit").count()) if section.locator("tr.hit").nth(i).is_visible())


def test_toggle_reveals_the_rest_and_context_is_visible(browser: Any, report: Path) -> None:
    w = Watched(browser)
    page = w.open(report)
    section = _boom(page)
    section.scroll_into_view_if_needed()
    # the first SHOWN_FIRST matching lines are visible, each among its (dimmed) neighbours
    assert _visible_hits(section) == SHOWN_FIRST
    ctx = section.locator("tr.ctx").first
    assert ctx.is_visible() and ctx.locator("td.tx").inner_text() == "calm k2"
    summary = section.locator("details.ev-more > summary")
    assert summary.inner_text() == f"{MAX_KEPT_LINES - SHOWN_FIRST} more matching lines"
    assert not section.locator("details.ev-more tr.hit").first.is_visible()
    summary.click()
    assert section.locator("details.ev-more").get_attribute("open") is not None
    assert _visible_hits(section) == MAX_KEPT_LINES
    assert section.locator("details.ev-more tr.hit td.tx", has_text="BOOM c50").is_visible()
    # where the lines not kept are
    left = section.locator("p.ev-left .l-en")
    assert left.nth(0).inner_text() == f"30 more matching lines not kept in this report: see {CONTAINERD} lines 1–30"
    assert left.nth(1).inner_text() == f"170 more matching lines not kept in this report: see {KUBELET} lines 161–499"
    w.assert_clean()


def test_context_dimmed_match_highlighted_times_and_whole_paths(browser: Any, report: Path) -> None:
    w = Watched(browser)
    page = w.open(report)
    page.set_viewport_size({"width": 300, "height": 900})   # narrow: a long path must wrap, not be cut
    section = _boom(page)
    hit = section.locator("tr.hit").first
    ctx = section.locator("tr.ctx").first
    style = "e => { const s = getComputedStyle(e); return [s.color, s.backgroundColor, s.fontWeight]; }"
    hit_color, hit_bg, hit_weight = hit.locator("td.tx").evaluate(style)
    ctx_color, ctx_bg, _ = ctx.locator("td.tx").evaluate(style)
    assert hit_bg != ctx_bg and hit_bg not in ("rgba(0, 0, 0, 0)", "transparent")
    assert ctx_color != hit_color and int(hit_weight) >= 600
    # the UTC time and the node's local time beside the first match
    assert hit.locator(".ev-time").inner_text() == "2026-11-22 09:01:00 UTC"
    assert hit.locator(".ev-local").inner_text() == "2026-11-22 17:01:00"
    assert section.locator(".ev-where .ev-zone").first.inner_text() == "node time: UTC+08:00 Asia/Shanghai"
    path = section.locator(".ev-where .ev-file").first
    assert path.inner_text() == KUBELET
    where = section.locator(".ev-where").first
    width, room = where.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert width <= room + 1                            # nothing overflows its box (cut or hidden)
    assert path.evaluate("e => e.getClientRects().length") > 1   # the path wraps over lines instead
    assert where.evaluate("e => getComputedStyle(e).textOverflow") != "ellipsis"
    page.click("[data-set-lang=zh]")
    assert section.locator("details.ev-more > summary .l-zh").inner_text() == f"另外 {MAX_KEPT_LINES - SHOWN_FIRST} 条匹配日志"
    w.assert_clean()


def test_search_finds_a_line_behind_the_toggle(browser: Any, report: Path) -> None:
    """The search box (search.js) filters evidence rows and opens the toggle that holds a match."""
    w = Watched(browser)
    page = w.open(report)
    section = _boom(page)
    assert section.locator("details.ev-more").get_attribute("open") is None
    search(page, "BOOM c50")
    assert section.locator("details.ev-more").get_attribute("open") is not None
    assert section.locator("tr.hit td.tx", has_text="BOOM c50").is_visible()
    assert not section.locator("tr.hit td.tx", has_text="BOOM k1").first.is_visible()
    w.assert_clean()
