"""The one guard for tests that need something a developer's machine may lack (sshd, the seed
guides, the analyzer's libraries): skipped there, a failure in CI (environment variable CI
set), which installs everything, so a test can never pass in CI by silently checking nothing.

Test modules outside tests/ import it after `sys.path.insert(0, <tests/>)` (pytest puts only
the test file's own folder on sys.path).
"""
from __future__ import annotations

import os

import pytest


def require(missing: str | None, skip_reason: str | None = None) -> None:
    """`missing` says what is missing (None: nothing, go on). At a module's top level or in a
    test: skip it (with `skip_reason`, default `missing`), or fail it when CI is set."""
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{missing} (CI is set: there this test must run, not skip)", pytrace=False)
    pytest.skip(skip_reason or missing, allow_module_level=True)
