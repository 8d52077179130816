"""The timeline in a real headless Chromium: the SVG's rows and marks, a drag or the two UTC
inputs selecting a time range that hides findings and unexplained rows outside it, the reset,
the range kept in the URL hash across a reload; no console error, no request, CSP intact.

The report is the real pipeline's: `python -m k8s_bundle.cli analyze samples/broken-kubeadm.tgz`
(its findings' times: the kubelet's swap/certificate failures 11:20-11:28, the apiserver and
control-plane crash loop 10:42-10:55, CoreDNS 10:57; several findings from facts have no time).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from browserkit import BROWSER_MARKS, Watched, browser  # noqa: F401 (browser: a fixture)

pytestmark = BROWSER_MARKS

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "broken-kubeadm.tgz"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("timeline")
    out = {}
    for name in ("r.html", "r.json"):
        proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(SAMPLE), "-o", str(tmp / name), "--quiet"],
                              capture_output=True, text=True)
        assert proc.returncode == 3, proc.stderr
    doc = json.loads((tmp / "r.json").read_text())
    out = {"html": tmp / "r.html", "doc": doc}
    return out


def _client_x(page: Any, iso: str) -> float:
    """The viewport x of a time on the chart (the SVG's own mapping: data-* of the section)."""
    return page.evaluate("""(iso) => {
        const s = document.querySelector("section.timeline"), svg = s.querySelector("svg.tl-chart");
        const t0 = +s.dataset.startMs, t1 = +s.dataset.endMs, px = +s.dataset.plotX, pw = +s.dataset.plotW;
        const x = px + (Date.parse(iso) - t0) / (t1 - t0) * pw;
        const p = svg.createSVGPoint(); p.x = x; p.y = 0;
        return p.matrixTransform(svg.getScreenCTM()).x;
    }""", iso)


def _drag(page: Any, a: str, b: str) -> None:
    svg = page.locator("svg.tl-chart")
    svg.scroll_into_view_if_needed()
    page.evaluate("document.querySelector('svg.tl-chart').scrollIntoView({block: 'center'})")
    box = svg.bounding_box()
    y = box["y"] + box["height"] * 0.6
    page.mouse.move(_client_x(page, a), y)
    page.mouse.down()
    page.mouse.move((_client_x(page, a) + _client_x(page, b)) / 2, y, steps=3)
    page.mouse.move(_client_x(page, b), y, steps=3)
    page.mouse.up()


def _finding(page: Any, rule_id: str) -> Any:
    return page.locator(f".finding:has(> div > span.rule-id:text-is('{rule_id}'))")


def test_svg_has_the_rows_marks_boot_and_collection_line(browser: Any, report: dict[str, Any]) -> None:
    w = Watched(browser)
    page = w.open(report["html"])
    tl = report["doc"]["timeline"]
    svg = page.locator("section.timeline svg.tl-chart")
    assert svg.is_visible()
    assert page.locator("svg.tl-chart .tl-row").count() == len(tl["rows"]) >= 1
    components = page.eval_on_selector_all("svg.tl-chart .tl-row", "els => els.map(e => e.dataset.component)")
    assert components == [r["component"] for r in tl["rows"]]
    assert page.locator("svg.tl-chart .tl-mark").count() == len(tl["marks"]) >= 5
    assert page.locator("svg.tl-chart .tl-mark.sev-critical").count() >= 1
    assert page.locator("svg.tl-chart .tl-boot").count() == 1
    assert page.locator("svg.tl-chart .tl-collected").count() == 1
    # still one inline script, allowed by its hash, and nothing else may load
    csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert csp.startswith("default-src 'none';") and "script-src 'sha256-" in csp and "img-src data:" in csp
    assert page.locator("script").count() == 1 and page.locator("script[src], link[href], img[src]:not([src^='data:'])").count() == 0
    assert page.locator("svg.tl-chart text.tl-node", has_text="k8s-master-1").count() == 1
    # axis labels in UTC, the legend in the page's language
    assert page.locator("svg.tl-chart text.tl-tick", has_text="11:00").count() == 1
    assert page.locator("section.timeline .tl-legend .l-en", has_text="errors").is_visible()
    page.click("[data-set-lang=zh]")
    assert page.locator("section.timeline .tl-legend .l-zh", has_text="错误").is_visible()
    assert page.locator("svg.tl-chart tspan.l-zh", has_text="其他").count() + page.locator("svg.tl-chart tspan.l-zh", has_text="控制平面").count() >= 1
    w.assert_clean()


def test_drag_selects_a_range_and_hides_what_is_outside(browser: Any, report: dict[str, Any]) -> None:
    w = Watched(browser)
    page = w.open(report["html"])
    n_findings = page.locator(".finding.filterable").count()
    assert page.locator(".finding.hide-time").count() == 0
    _drag(page, "2026-11-22T11:15:10Z", "2026-11-22T11:28:50Z")   # snapped to the 30 s buckets
    assert "time=2026-11-22T11%3A15%3A00Z%2F2026-11-22T11%3A29%3A00Z" in page.evaluate("location.href")
    assert page.locator("svg.tl-chart .tl-sel").get_attribute("visibility") == "visible"
    # the kubelet's swap failure (11:20-11:28) stays, the crash loop (10:42-10:55) goes
    assert _finding(page, "kubelet-swap-on").is_visible()
    assert not _finding(page, "apiserver-connection-refused").is_visible()
    assert "hide-time" in _finding(page, "apiserver-connection-refused").get_attribute("class")
    # a finding read from facts (no time) stays, dimmed
    nt = _finding(page, "containerd-cgroup-driver-mismatch")
    assert nt.is_visible() and "time-unknown" in nt.get_attribute("class")
    assert page.locator("section.timeline .tl-note").is_visible()
    # the unexplained CoreDNS crash-loop lines (10:58-10:59) are outside the range
    assert page.locator(".unexplained-row").count() >= 1
    assert page.locator(".unexplained-row:visible").count() == 0
    # the marks outside are faded, the inputs show the range, the counter says how many
    assert page.locator("svg.tl-chart .tl-mark.tl-out").count() >= 3
    assert page.locator(".tl-from").input_value() == "2026-11-22T11:15"
    assert page.locator(".tl-to").input_value() == "2026-11-22T11:29"
    hidden = page.locator(".finding.hide-time").count()
    assert 0 < hidden < n_findings
    # the bucket under the pointer is named (UTC)
    box = page.locator("svg.tl-chart").bounding_box()
    page.mouse.move(_client_x(page, "2026-11-22T10:45:10Z"), box["y"] + box["height"] * 0.6)
    assert page.locator(".tl-hover").text_content() == "2026-11-22 10:45:00 – 10:45:30 UTC"
    w.assert_clean()


def test_the_range_survives_a_reload_and_the_reset_clears_it(browser: Any, report: dict[str, Any]) -> None:
    w = Watched(browser)
    page = w.open(report["html"], "#lang=zh&time=2026-11-22T10%3A40%3A00Z%2F2026-11-22T10%3A56%3A00Z")
    assert page.locator("body").get_attribute("data-lang") == "zh"
    assert _finding(page, "apiserver-connection-refused").is_visible()
    assert not _finding(page, "kubelet-swap-on").is_visible()
    assert page.locator(".tl-from").input_value() == "2026-11-22T10:40"
    page.reload()
    page.wait_for_load_state("load")
    assert not _finding(page, "kubelet-swap-on").is_visible()
    assert "time=" in page.evaluate("location.href") and "lang=zh" in page.evaluate("location.href")
    page.click("section.timeline .tl-clear")
    assert page.locator(".finding.hide-time").count() == 0
    assert page.locator(".time-unknown").count() == 0
    assert _finding(page, "kubelet-swap-on").is_visible()
    assert "time=" not in page.evaluate("location.href") and "lang=zh" in page.evaluate("location.href")
    assert page.locator("svg.tl-chart .tl-sel").get_attribute("visibility") == "hidden"
    assert page.locator("section.timeline .tl-clear").is_disabled()
    w.assert_clean()


def test_the_keyboard_inputs_select_a_range(browser: Any, report: dict[str, Any]) -> None:
    w = Watched(browser)
    page = w.open(report["html"])
    page.locator(".tl-from").fill("2026-11-22T10:57")
    page.locator(".tl-to").fill("2026-11-22T10:59")
    page.locator(".tl-to").dispatch_event("change")
    assert _finding(page, "coredns-loop-detected").is_visible()
    assert not _finding(page, "kubelet-swap-on").is_visible()
    assert page.locator(".unexplained-row:visible").count() >= 1      # 10:58-10:59
    assert "time=2026-11-22T10%3A57%3A00Z%2F2026-11-22T10%3A59%3A59Z" in page.evaluate("location.href")
    # the time filter composes with the severity filter (each its own class)
    page.select_option("#filter-severity", "warning")
    assert not _finding(page, "coredns-loop-detected").is_visible()
    page.select_option("#filter-severity", "")
    assert _finding(page, "coredns-loop-detected").is_visible()
    w.assert_clean()


def test_a_click_on_a_mark_leads_to_its_finding(browser: Any, report: dict[str, Any]) -> None:
    w = Watched(browser)
    page = w.open(report["html"])
    mark = page.locator("svg.tl-chart .tl-mark.sev-critical").first
    anchor = mark.get_attribute("data-anchor")
    page.evaluate("document.querySelector('svg.tl-chart').scrollIntoView({block: 'center'})")
    mark.locator("circle").first.click(force=True)
    page.wait_for_timeout(100)
    top = page.evaluate("(id) => document.getElementById(id).getBoundingClientRect().top", anchor)
    assert 0 <= top < page.viewport_size["height"]
    assert page.locator(".finding.hide-time").count() == 0     # a click is not a range
    w.assert_clean()
