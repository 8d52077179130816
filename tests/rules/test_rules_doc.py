"""docs/rules.md is generated; this fails when a rule changed and the doc was not regenerated."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_docs_rules_md_is_current() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "k8s_bundle.cli", "rules", "list", "--format", "markdown"],
        capture_output=True, text=True, check=True,
    ).stdout
    doc = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert doc == out, "docs/rules.md is stale: run `k8s-bundle rules list --format markdown > docs/rules.md`"
    assert "## Seed catalogue" in out and "| kubelet-swap-on |" in out
