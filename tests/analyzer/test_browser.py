"""The HTML report in a real headless Chromium (Debian's chromium, driven by playwright).

Reports come from the real pipeline: a bundle written with BundleWriter, `k8s-bundle analyze`
run as a subprocess. One browser serves the whole module (start-up is the slow part).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from k8s_bundle.bundle.writer import BundleWriter
from browserkit import BROWSER_MARKS, Watched, browser  # noqa: F401 (browser: a fixture)

pytestmark = BROWSER_MARKS

INJECT = '<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned=2;alert(2)">'
EVIL_NODE = 'evil"><img src=x onerror=alert(3)>'
TOP = "k8s-bundle-multi-20261122T113000Z"


def _node(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "hostname": name, "os": "linux", "distro": "Ubuntu 22.04.4 LTS", "kernel": "5.15.0-105-generic",
            "arch": "x86_64", "timezone": "UTC", "utc_offset_seconds": 0, "roles": ["control-plane"],
            "versions": {"kubelet": "v1.29.3"}, "runtime": "containerd", **extra}


def _pleg(node: str, n: int, tail: str = "") -> str:
    return "".join(
        f"2026-11-22T09:{10 + i:02d}:00.100000+00:00 {node} kubelet[812]: E1122 09:{10 + i:02d}:00.100000     812 "
        f'kubelet.go:2373] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active {i}m0s ago; '
        f'threshold is 3m0s"{tail}\n'
        for i in range(n)
    )


def _bundle(path: Path, nodes: dict[str, dict[str, Any]], files: dict[str, str], items: list[dict[str, Any]]) -> Path:
    with BundleWriter(path, TOP, overwrite=True) as w:
        for name, facts in nodes.items():
            w.add_json(f"nodes/{name}/node.json", facts)
        for p, text in files.items():
            w.add_text(p, text)
        w.finish({
            "format_version": "1.0", "tool": {"name": "k8s-bundle", "version": "0.1.0"},
            "created_at": "2026-11-22T11:30:00Z", "finished_at": "2026-11-22T11:30:05Z", "partial": False,
            "partial_reason": None, "collection": {"argv": ["collect"]},
            "nodes": [{"name": n, "os": "linux", "transport": "local", "timezone": "UTC", "utc_offset_seconds": 0} for n in nodes],
            "items": items,
        })
    return path


def _analyze(bundle: Path, *extra: str) -> Path:
    out = bundle.with_suffix(".html")
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "-o", str(out), "--quiet", *extra],
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1, 3), proc.stderr
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("browser")
    normal = _bundle(
        tmp / "normal.tgz",
        {"cp1": _node("cp1")},
        {"nodes/cp1/logs/journal/kubelet.log": _pleg("cp1", 6)},
        [{"node": "cp1", "area": "runtime", "id": "docker-info", "path": None, "kind": "command",
          "source": "docker info", "status": "timeout", "exit_code": None, "error": "timed out after 10s"}],
    )
    evil = _bundle(
        tmp / "evil.tgz",
        {EVIL_NODE: _node(EVIL_NODE, distro=INJECT, kernel=INJECT)},
        {f"nodes/{EVIL_NODE}/logs/journal/kubelet.log": _pleg(EVIL_NODE, 6, INJECT),
         f"nodes/{EVIL_NODE}/commands/swaps.txt": "Filename Type Size Used Priority\n/dev/x" + INJECT.replace(" ", "") + " partition 100 0 -2\n"},
        [{"node": EVIL_NODE, "area": "runtime", "id": INJECT, "path": None, "kind": "command",
          "source": INJECT, "status": "failed", "exit_code": 1, "error": INJECT}],
    )
    return {"normal": _analyze(normal), "evil": _analyze(evil, "--lang", "zh")}


def test_report_renders_and_language_switch_works(browser: Any, reports: dict[str, Path]) -> None:
    w = Watched(browser)
    page = w.open(reports["normal"])
    assert page.locator(".finding").count() >= 2
    assert page.locator(".finding h3 .l-en", has_text="PLEG is not healthy").first.is_visible()
    assert page.locator(".badge.root").count() >= 1  # runtime timeout explains PLEG
    assert page.locator("#nodes + .section-body table td.node-name", has_text="cp1").first.is_visible()
    assert page.locator("#collection + .section-body table", has_text="timed out after 10s").is_visible()
    page.click("[data-set-lang=zh]")
    assert page.locator("body").get_attribute("data-lang") == "zh"
    assert page.evaluate("location.href").endswith("#lang=zh")
    assert page.locator("h1 .l-zh").is_visible() and not page.locator("h1 .l-en").is_visible()
    page.click("[data-set-lang=en]")
    assert page.locator("h1 .l-en").is_visible() and not page.locator("h1 .l-zh").is_visible()
    page.select_option("#filter-severity", "critical")
    assert page.locator(".finding:visible").count() == page.locator(".finding[data-severity=critical]").count() >= 1
    # the triage list follows the filter: only entries of the chosen severity stay
    assert page.locator(".problem:visible").count() >= 1
    assert page.locator(".problem:visible").count() == page.locator(".problem[data-severity=critical]").count()
    assert page.locator(".finding[data-severity=warning]:visible").count() == 0
    w.assert_clean()


def test_language_choice_is_read_from_the_url_hash(browser: Any, reports: dict[str, Path]) -> None:
    w = Watched(browser)
    page = w.open(reports["normal"], "#lang=zh")
    assert page.locator("body").get_attribute("data-lang") == "zh"
    assert page.locator("h1 .l-zh").is_visible()
    w.assert_clean()


def test_injection_bundle_runs_no_script(browser: Any, reports: dict[str, Path]) -> None:
    w = Watched(browser)
    page = w.open(reports["evil"])
    page.wait_for_timeout(200)  # give any injected handler (onerror) the chance to run
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    assert page.locator("body").get_attribute("data-lang") == "zh"  # --lang zh
    text = page.locator("main").inner_text()
    assert "<script>window.__pwned = 1</script>" in text  # shown as text
    assert EVIL_NODE in text
    page.select_option("#filter-node", EVIL_NODE)
    assert page.locator(".finding:visible").count() >= 1
    w.assert_clean()
