"""The triage view in real Chromium: what to fix first, links that land below the sticky
header, folding, search, copy buttons, the language switch; no console error, no request.

The report is samples/broken-kubeadm.tgz analysed by `k8s-bundle analyze` in a subprocess.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from browserkit import BROWSER_MARKS, Watched, browser, search  # noqa: F401 (browser: a fixture)

pytestmark = BROWSER_MARKS
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("triage") / "broken.html"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(ROOT / "samples" / "broken-kubeadm.tgz"),
                           "-o", str(out), "-q"], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    return out


def fully_below_header(page: Any, selector: str) -> None:
    """The element's top is below the sticky header and inside the viewport."""
    box = page.evaluate(
        """(sel) => { const el = document.querySelector(sel); const r = el.getBoundingClientRect();
                     const h = document.querySelector('header').getBoundingClientRect();
                     return {top: r.top, headerBottom: h.bottom, vh: window.innerHeight}; }""", selector)
    assert box["top"] >= box["headerBottom"] - 1, box
    assert box["top"] < box["vh"], box


def test_root_causes_come_first_and_symptoms_fold(browser: Any, report: Path) -> None:
    w = Watched(browser)
    page = w.open(report)
    entries = page.locator("ol.triage > li.problem")
    assert entries.count() >= 5
    titles = [entries.nth(i).locator(".problem-title .l-en").inner_text() for i in range(entries.count())]
    assert not any("NotReady" in t for t in titles)            # a symptom, folded
    assert any("Swap" in t for t in titles[:5])
    # the triage list is above the findings
    assert page.evaluate("document.getElementById('triage').getBoundingClientRect().top"
                         " < document.getElementById('findings').getBoundingClientRect().top")
    symptom = page.locator("li.symptom a", has_text="Nodes are NotReady").first
    assert not symptom.is_visible()                            # folded
    page.locator("li.problem", has=page.locator("a", has_text="client certificate has expired")).locator(
        "details.symptoms > summary").click()
    assert symptom.is_visible()
    w.assert_clean()


def test_links_land_below_the_sticky_header_and_keep_the_state(browser: Any, report: Path) -> None:
    w = Watched(browser)
    page = w.open(report, "#lang=en")
    page.set_viewport_size({"width": 1000, "height": 700})
    link = page.locator("ol.triage > li.problem a.problem-title").nth(3)
    target = link.get_attribute("href")
    link.click()
    page.wait_for_timeout(100)
    fully_below_header(page, target)
    assert page.evaluate("location.href").endswith("#lang=en")                       # the state hash is kept
    # a cross-reference inside a finding is a link to the other finding
    xref = page.locator(f"{target} a.xref").first
    href = xref.get_attribute("href")
    xref.click()
    page.wait_for_timeout(100)
    fully_below_header(page, href)
    w.assert_clean()


def test_a_link_to_a_filtered_or_folded_finding_reveals_it(browser: Any, report: Path) -> None:
    w = Watched(browser)
    page = w.open(report)
    page.select_option("#filter-severity", "critical")
    warning_id = page.locator(".finding[data-severity=warning]").first.get_attribute("id")
    assert not page.locator(f"#{warning_id}").is_visible()
    page.locator("#findings button.fold").click()              # fold the findings section
    assert not page.locator(".finding").first.is_visible()
    page.evaluate("(id) => K8SB.go(id)", warning_id)
    assert page.locator(f"#{warning_id}").is_visible()
    assert page.locator("#filter-severity").input_value() == ""
    fully_below_header(page, f"#{warning_id}")
    w.assert_clean()


def test_search_filters_findings_evidence_and_triage(browser: Any, report: Path) -> None:
    w = Watched(browser)
    page = w.open(report)
    total = page.locator(".finding").count()
    search(page, "swap")
    shown = page.locator(".finding:visible")
    assert 1 <= shown.count() < total
    for i in range(shown.count()):
        assert "swap" in shown.nth(i).inner_text().lower()
    assert page.locator("li.problem:visible").count() < page.locator("li.problem").count()
    assert "q=swap" in page.evaluate("location.href")
    # a match inside the evidence keeps only the matching lines of that finding
    search(page, "eviction_manager")
    rows = page.locator(".finding:visible .evidence tr:visible:has(td)")
    assert rows.count() >= 1
    for i in range(rows.count()):
        assert "eviction_manager" in rows.nth(i).inner_text()
    search(page, "")
    assert page.locator(".finding:visible").count() == total
    w.assert_clean()


def test_search_from_the_hash_and_no_match_message(browser: Any, report: Path) -> None:
    w = Watched(browser)
    page = w.open(report, "#q=zzzz-no-such-text")
    assert page.locator("#search").input_value() == "zzzz-no-such-text"
    assert page.locator(".finding:visible").count() == 0
    assert page.locator(".no-match").is_visible()
    w.assert_clean()


def test_copy_button_copies_the_fix_block(browser: Any, report: Path) -> None:
    browser.grant_permissions(["clipboard-read", "clipboard-write"])
    w = Watched(browser)
    page = w.open(report)
    block = page.locator(".finding div.code").first
    block.scroll_into_view_if_needed()
    expected = block.locator("pre").inner_text()
    block.locator("button.copy").click()
    page.wait_for_timeout(200)
    assert page.evaluate("navigator.clipboard.readText()") == expected
    assert "copied" in (block.locator("button.copy").get_attribute("class") or "")
    w.assert_clean()


def test_language_switch_reaches_the_triage_view(browser: Any, report: Path) -> None:
    w = Watched(browser)
    page = w.open(report)
    head = page.locator("#triage")
    assert head.locator(".l-en").is_visible() and not head.locator(".l-zh").is_visible()
    page.click("[data-set-lang=zh]")
    assert head.locator(".l-zh").is_visible()
    badge = page.locator("ol.triage > li.problem .badge.sev-critical").first
    assert badge.inner_text() == "严重"
    w.assert_clean()
