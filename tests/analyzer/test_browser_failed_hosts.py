"""The hosts a fan-out collection did not collect whole, in the HTML report in a real headless
Chromium: the collection section shows them in both languages, and a hostile host name or
error (a manifest is input like any other) is text, never markup."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from browserkit import BROWSER_MARKS, Watched, browser  # noqa: F401 (browser: a fixture)
from test_failed_hosts import fanout_manifest, write_bundle

pytestmark = BROWSER_MARKS

EVIL_HOST = 'root@<img src=x onerror="window.__pwned=1">'
EVIL_ERROR = '<script>window.__pwned = 2</script> unreachable'


def test_failed_hosts_table_in_both_languages_and_hostile_text_is_text(browser: Any, tmp_path: Path) -> None:
    manifest = fanout_manifest()
    manifest["failed_hosts"].append({"host": EVIL_HOST, "transport": "winrm", "state": "failed", "node": None,
                                     "partial": False, "error": EVIL_ERROR})
    bundle = write_bundle(tmp_path / "multi.tgz", manifest)
    report = tmp_path / "r.html"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "-o", str(report)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    w = Watched(browser)
    page = w.open(report)
    page.wait_for_timeout(200)           # any injected handler gets its chance to run
    hosts = page.locator("table.failed-hosts")
    assert hosts.is_visible()
    assert hosts.locator("tr").count() == 4                     # header + three hosts
    assert hosts.locator("tr", has_text="root@10.77.0.7").locator("td").nth(2).inner_text() == "timed_out"
    assert page.locator("table.incomplete-nodes td.node-name", has_text="node7").is_visible()
    assert page.locator("h3 .l-en", has_text="Hosts not collected whole").is_visible()
    page.click("[data-set-lang=zh]")
    assert page.locator("h3 .l-zh", has_text="未采集完整的主机").is_visible()
    text = hosts.inner_text()
    assert EVIL_HOST in text and EVIL_ERROR in text
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    w.assert_clean()
