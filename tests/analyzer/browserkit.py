"""What every browser test of the report shares: Debian's chromium driven by playwright, and a
page that records console errors, dialogs, page errors and every request.

A test module uses it with `from browserkit import BROWSER_MARKS, Watched, browser` (pytest puts tests/analyzer on sys.path)
and `pytestmark = BROWSER_MARKS` (the `browser` fixture is module-scoped: start-up is the slow part).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ci_guard  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# CI installs chromium (scripts/apt-test-packages.txt): there a missing browser is a failure,
# elsewhere a skip with the reason.
if not os.path.exists(CHROMIUM) and os.environ.get("CI"):
    pytest.fail(f"{CHROMIUM} not installed (scripts/apt-test-packages.txt)", pytrace=False)
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
]

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        import playwright.sync_api as playwright_api
    except ImportError as exc:   # CI installs the test extras (pyproject.toml): a skip would hide that
        ci_guard.require(f"playwright is not installed ({exc})")
    with tempfile.TemporaryDirectory(prefix="k8s-bundle-chromium-") as profile, playwright_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield ctx
        ctx.close()


class Watched:
    """A page whose console errors, dialogs, page errors and every request are recorded."""

    def __init__(self, ctx: Any) -> None:
        self.page = ctx.new_page()
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def route(r: Any) -> None:
            self.requests.append(r.request.url)
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                r.abort()

        self.page.route("**/*", route)

    def open(self, path: Path, hash_: str = "") -> Any:
        self.page.goto(path.as_uri() + hash_)
        self.page.wait_for_load_state("load")
        return self.page

    def assert_clean(self) -> None:
        assert self.console_errors == [] and self.page_errors == [] and self.dialogs == []
        assert [u for u in self.requests if not u.startswith("file://")] == []




def search(page: Any, query: str, timeout: float = 10.0) -> None:
    """Type into the report's search box and wait until search.js has applied the query (it
    waits for 120 ms of quiet; under load that can take longer than any fixed sleep)."""
    import time

    page.fill("#search", query)
    deadline = time.monotonic() + timeout
    while page.get_attribute("body", "data-searched") != query and time.monotonic() < deadline:
        page.wait_for_timeout(30)
    assert page.get_attribute("body", "data-searched") == query
