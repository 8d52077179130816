"""The multi-bundle HTML report in a real headless Chromium: one page shown at a time, navigation
between the overview and the bundles' pages, links from shared root causes to the finding on
its node, the language switch, the drift toggle; no console error, no network request, and
bundle text that looks like markup stays text.

The report comes from the real pipeline: bundles written with BundleWriter (tests/analyzer/
test_multi.py's writer) and the broken sample, `k8s-bundle analyze A B C ...` as a subprocess.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from browserkit import BROWSER_MARKS, Watched, browser, search  # noqa: F401 (browser: a fixture)
from test_multi import SAMPLES, write_bundle

pytestmark = BROWSER_MARKS

INJECT = '<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned=2;alert(2)">'
EVIL_NAME = '"><img src=x onerror="window.__pwned=5;alert(5)">'


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    d = tmp_path_factory.mktemp("multi-browser")
    write_bundle(d / "n1.tgz", "n1")
    write_bundle(d / "n2.tgz", "n2", kubelet=INJECT)       # bundle text in the drift table and the page
    write_bundle(d / "n3.tgz", "n3", kubelet="v1.28.0", ip_forward="0", offset=2.5)
    evil = d / (EVIL_NAME + ".tgz")               # a bundle file name is bundle text too
    write_bundle(evil, "n1")                       # and its node name repeats n1's: labelled
    inputs = [str(d / "n1.tgz"), str(d / "n2.tgz"), str(d / "n3.tgz"), str(SAMPLES / "broken-kubeadm.tgz"), str(evil)]
    out = d / "multi.html"
    for target in (out, d / "multi.json"):
        proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", *inputs, "-o", str(target), "-q"],
                              capture_output=True, text=True)
        assert proc.returncode == 3, proc.stderr
    return out, json.loads((d / "multi.json").read_text())


def _visible_pages(page: Any) -> list[str]:
    return page.eval_on_selector_all(".mpage", "els => els.filter(e => e.offsetParent !== null).map(e => e.dataset.page)")


def _expect_pages(page: Any, expected: list[str], timeout: float = 5.0) -> None:
    """The pages shown become `expected`: multi.js switches on hashchange, which fires after
    the click returns (wait_for_function would need eval, which the page's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while _visible_pages(page) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert _visible_pages(page) == expected


def test_one_page_at_a_time_and_navigation(browser: Any, report: tuple[Path, dict[str, Any]]) -> None:
    w = Watched(browser)
    page = w.open(report[0])
    _expect_pages(page, ["0"])
    assert page.is_visible("#drift-table") and not page.is_visible("#p2-findings")
    page.click("nav.pages a[data-page-link='4']")          # the broken sample
    _expect_pages(page, ["4"])
    assert "page=4" in page.evaluate("location.hash")
    assert page.is_visible("#p4-triage") and page.is_visible("#p4-findings")
    page.click("#page-4 .page-nav a")                        # back to the overview
    _expect_pages(page, ["0"])
    page.click("table.drift a:text-is('n3')")               # a node's row opens its bundle's page
    _expect_pages(page, ["3"])
    page.go_back()
    _expect_pages(page, ["0"])
    w.assert_clean()


def test_shared_root_cause_link_lands_on_the_finding(browser: Any, report: tuple[Path, dict[str, Any]]) -> None:
    _, doc = report
    fwd = next(p for p in doc["shared_root_causes"] if p["key"] == "ip-forward-disabled")
    target = fwd["nodes"][0]["anchor"]
    assert target.startswith("p3-")
    w = Watched(browser)
    page = w.open(report[0])
    page.click(f"li.cause[data-key='ip-forward-disabled'] a[href='#{target}']")
    _expect_pages(page, ["3"])
    box = page.locator(f"#{target}").bounding_box()
    viewport = page.viewport_size
    assert box is not None and 0 <= box["y"] < viewport["height"] - 20
    assert "IPv4 forwarding" in page.inner_text(f"#{target} h3")
    # the same anchor opened from outside (a link in a ticket) shows the same page
    page2 = Watched(browser)
    p2 = page2.open(report[0], f"#{target}")
    assert _visible_pages(p2) == ["3"]
    page2.assert_clean()
    w.assert_clean()


def test_language_switch_keeps_the_page(browser: Any, report: tuple[Path, dict[str, Any]]) -> None:
    w = Watched(browser)
    page = w.open(report[0], "#page=2")
    _expect_pages(page, ["2"])
    page.click("button[data-set-lang='zh']")
    assert page.get_attribute("body", "data-lang") == "zh"
    _expect_pages(page, ["2"])
    assert page.is_visible("#page-0 h2#drift .l-zh") is False       # the overview is hidden, not the language
    page.click("nav.pages a[data-page-link='0']")
    _expect_pages(page, ["0"])                 # (inner_text of a hidden element is its whole text)
    assert page.inner_text("h2#drift").strip() == "节点间的差异"
    hash_ = page.evaluate("location.hash")
    assert "lang=zh" in hash_
    reopened = Watched(browser).open(report[0], hash_)
    assert reopened.get_attribute("body", "data-lang") == "zh"
    w.assert_clean()


def test_drift_marks_and_only_differing_columns(browser: Any, report: tuple[Path, dict[str, Any]]) -> None:
    w = Watched(browser)
    page = w.open(report[0])
    row = page.locator("tr.drift-row", has=page.locator("a:text-is('n3')"))
    assert "mark-odd" in (row.locator("td[data-field='net.ipv4.ip_forward']").get_attribute("class") or "")
    assert "mark-clock" in (row.locator("td[data-field='clock_offset_seconds']").get_attribute("class") or "")
    swappiness = page.locator("table.drift th[data-field='vm.swappiness']")
    assert swappiness.is_visible()
    page.check("#drift-only")
    assert not swappiness.is_visible()                     # the same on every node
    assert page.locator("table.drift th[data-field='net.ipv4.ip_forward']").is_visible()
    w.assert_clean()


def test_bundle_text_stays_text(browser: Any, report: tuple[Path, dict[str, Any]]) -> None:
    w = Watched(browser)
    page = w.open(report[0])
    cell = page.locator("tr.drift-row", has=page.locator("a:text-is('n2')")).locator("td[data-field='kubelet']")
    assert INJECT in cell.inner_text()
    page.click("nav.pages a[data-page-link='2']")
    assert page.evaluate("window.__pwned") is None
    assert page.inner_text("nav.pages a[data-page-link='5']") == EVIL_NAME
    assert page.locator("table.drift a", has_text=f"n1 ({EVIL_NAME})").count() == 1
    page.click("nav.pages a[data-page-link='5']")
    _expect_pages(page, ["5"])
    assert page.inner_text("#p5-top") == EVIL_NAME
    assert page.locator("img[src='x']").count() == 0
    csp = page.get_attribute("meta[http-equiv='Content-Security-Policy']", "content")
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp
    w.assert_clean()


def test_severity_filter_reaches_overview_and_pages(browser: Any, report: tuple[Path, dict[str, Any]]) -> None:
    w = Watched(browser)
    page = w.open(report[0])
    critical_cause = page.locator("li.cause[data-key='ip-forward-disabled']")
    assert critical_cause.is_visible()
    page.select_option("#filter-severity", "warning")
    assert not critical_cause.is_visible()
    assert page.locator("li.cause.filterable[data-severity='warning']").first.is_visible()
    assert "severity=warning" in page.evaluate("location.hash")
    page.click("nav.pages a[data-page-link='4']")
    _expect_pages(page, ["4"])
    shown = page.eval_on_selector_all("#page-4 .finding", "els => els.filter(e => e.offsetParent !== null).map(e => e.dataset.severity)")
    assert shown and set(shown) == {"warning"}
    w.assert_clean()


def test_search_filters_the_findings_of_the_page_and_keeps_it(browser: Any, report: tuple[Path, dict[str, Any]]) -> None:
    w = Watched(browser)
    page = w.open(report[0], "#page=4")                     # the broken sample's page
    total = page.locator("#page-4 .finding:visible").count()
    search(page, "swap")
    shown = page.locator("#page-4 .finding:visible")
    assert 1 <= shown.count() < total
    assert all("swap" in shown.nth(i).inner_text().lower() for i in range(shown.count()))
    _expect_pages(page, ["4"])                    # the page stays, and both are in the hash
    assert "page=4" in page.evaluate("location.hash") and "q=swap" in page.evaluate("location.hash")
    w.assert_clean()
