"""Red team of the issue-12 views in a real Chromium: one bundle whose every text (node name,
log lines, file names, distro, kernel, versions, zone name, collection item ids and errors)
holds markup, attribute breakers, `</textarea>`, `]]>`, `javascript:`, U+2028/U+2029 and
terminal escapes; its single report, a multi report of it under a file name of markup, and a
diff of it against a plain bundle are opened under hostile URL hashes (the search `q=`, the
timeline's `time=`, `page=`, `node=`, `severity=`, bad %-escapes, element ids of markup) and
every in-page link is clicked. No script may run, no dialog open, no request leave the page,
no page error; the CSP meta stays. The text outputs carry no ESC or BEL.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from browserkit import BROWSER_MARKS, Watched, browser  # noqa: F401 (browser: a fixture)
from test_report_redteam import _pleg_line, run_cli, write_bundle

pytestmark = BROWSER_MARKS

EVIL = ('<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'
        '</textarea><svg onload="window.__pwned=3">]]><!-- javascript:window.__pwned=4 '
        '\u2028\u2029\x1b[31mRED\x07\x1b]0;title\x07')
# a node name is a directory name: no '/', and no space (the syslog header would not parse)
NODE = 'ev"><b>]]>&amp;<i>\'x'
HASHES = ["", "#q=%3Cimg%20src%3Dx%20onerror%3Dwindow.__pwned%3D5%3E", "#q=%zz%E0%A4%A", "#time=javascript:alert(1)/x",
          "#time=0001-01-01T00:00:00Z/9999-12-31T23:59:59Z", "#node=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E",
          "#severity=%3Cscript%3E", "#page=99999999999999999999", "#page=1%22onerror", "#%3Cimg%20src=x%20onerror=alert(3)%3E",
          "#f-1%zz", "#lang=zh&lang=%3Cb%3E", "#__proto__=x&constructor=1", "#javascript:alert(4)", "#p1-f-1"]


def _evil_bundle(path: Path) -> Path:
    log = "".join(_pleg_line(f"2026-11-22T09:{10 + i:02d}:00.100000+00:00", NODE, EVIL) for i in range(6))
    log += f"2026-11-22T09:30:00.000000+00:00 {NODE} kubelet[812]: E1122 09:30:00.000000 812 foo.go:1] weird {EVIL}\n" * 3
    return write_bundle(
        path, log, node=NODE,
        node_facts={"distro": EVIL, "kernel": EVIL, "timezone": EVIL, "utc_offset_seconds": 28800,
                    "versions": {"kubelet": EVIL, "containerd": EVIL}},
        items=[{"node": NODE, "area": "runtime", "id": EVIL, "path": None, "kind": "command", "source": EVIL,
                "status": "timeout", "exit_code": None, "error": EVIL},
               {"node": NODE, "area": "runtime", "id": "docker-info", "path": None, "kind": "command",
                "source": "docker info", "status": "timeout", "exit_code": None, "error": EVIL}],
        extra_files={f"nodes/{NODE}/commands/swaps.txt": "Filename Type Size Used Priority\n/dev/x" + EVIL.replace(" ", "")
                     + " partition 100 0 -2\n",
                     f"nodes/{NODE}/logs/journal/" + EVIL.replace("/", "_") + ".log": log})


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("redteam")
    evil = _evil_bundle(d / "evil.tgz")
    plain = write_bundle(d / "plain.tgz", _pleg_line("2026-11-22T09:10:00+00:00") * 3)
    named = d / '"><img src=x onerror="window.__pwned=7">]]>.tgz'
    shutil.copy(evil, named)
    out = {"single": d / "single.html", "multi": d / "multi.html", "diff": d / "diff.html"}
    runs = [("analyze", str(evil), "-o", str(out["single"])),
            ("analyze", str(named), str(plain), "-o", str(out["multi"])),
            ("diff", str(plain), str(evil), "-o", str(out["diff"]))]
    for argv in runs:
        proc = run_cli(*argv, "--lang", "zh")
        assert proc.returncode in (0, 1, 3), proc.stderr
        assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout + proc.stderr
    for argv in runs:                                  # the text reports too
        proc = run_cli(*argv[:-2], "--format", "text", "-o", "-")
        assert proc.returncode in (0, 1, 3), proc.stderr
        assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "\u2028" not in proc.stdout
    return out


@pytest.mark.parametrize("view", ["single", "multi", "diff"])
def test_hostile_bundle_text_and_url_hashes_run_nothing(browser: Any, pages: dict[str, Path], view: str) -> None:
    for hash_ in HASHES:
        w = Watched(browser)
        page = w.open(pages[view], hash_)
        # every in-page link (the references to the web are the user's own navigation)
        clicked = page.eval_on_selector_all("a[href^='#']", "els => { els.forEach(e => e.click()); return els.length; }")
        assert clicked > 0 or view == "diff"      # the diff page has no in-page link
        if page.locator("#search").count():
            page.fill("#search", '"><img src=x onerror="window.__pwned=6">')
            page.wait_for_timeout(200)           # the search box's debounce
        page.wait_for_timeout(100)               # any injected handler gets its chance
        assert page.evaluate("typeof window.__pwned") == "undefined", hash_
        assert page.locator("img[src='x'], svg[onload], script:not(:first-of-type)").count() == 0, hash_
        csp = page.get_attribute("meta[http-equiv='Content-Security-Policy']", "content")
        assert csp.startswith("default-src 'none';") and "script-src 'sha256-" in csp, hash_
        w.assert_clean()
        page.close()


def test_folding_what_to_fix_first_leaves_the_timeline_below_it(browser: Any, pages: dict[str, Path]) -> None:
    # navigate.js moved every sibling up to the next h2 into the fold, and the timeline's
    # <section> (its h2 inside) was among them (the multi report has no folds: no navigate.js)
    w = Watched(browser)
    page = w.open(pages["single"])
    chart = page.locator("section.timeline svg.tl-chart")
    assert chart.is_visible()
    page.click("#triage button.fold")
    assert page.locator("#triage + .section-body").get_attribute("class") == "section-body folded"
    assert not page.locator("ol.triage").is_visible() and chart.is_visible()
    page.click("#triage button.fold")
    assert page.locator("ol.triage").is_visible()
    w.assert_clean()


def test_node_filter_keeps_the_findings_of_a_node_whose_name_holds_a_newline(
        browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    # data-nodes joins names with "\n": the node "a\nb" read as "a" and "b", and choosing it
    # in the node filter hid every one of its findings ("no finding matches")
    d = tmp_path_factory.mktemp("newline-node")
    bundle = write_bundle(d / "nl.tgz", _pleg_line("2026-11-22T10:00:00+00:00", "a") * 3, node="a\nb")
    out = d / "nl.html"
    assert run_cli("analyze", str(bundle), "-o", str(out), "-q").returncode in (1, 3)
    w = Watched(browser)
    page = w.open(out)
    on_node = page.locator(".finding:not([data-nodes='']):visible").count()   # not the bundle's parse-error
    assert on_node >= 2
    page.select_option("#filter-node", "a\nb")
    assert page.locator(".finding:visible").count() == on_node and not page.locator(".no-match").is_visible()
    assert "node=a%0Ab" in page.evaluate("location.hash")
    w.assert_clean()
