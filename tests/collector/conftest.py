"""Fixtures of the collector tests; the helpers live in collect_helpers.py."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from collect_helpers import Bundle, read_bundle, run_collect, simnode


@pytest.fixture
def sim(tmp_path: Path) -> simnode.SimNode:
    return simnode.build(tmp_path / "sim")


@pytest.fixture(scope="module")
def sim_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[simnode.SimNode, Bundle, subprocess.CompletedProcess[str]]:
    """One full collection of the simulated node with a hung docker daemon, shared by the
    end-to-end assertions (a collection costs seconds)."""
    base = tmp_path_factory.mktemp("simbundle")
    node = simnode.build(base / "sim", hang=("docker-info",))
    out = base / "bundle.tgz"
    proc = run_collect(["--root", str(node.root), "--live", "-o", str(out), "--timeout", "2",
                        "--progress", "json"], env=node.env())
    assert proc.returncode == 0, proc.stderr
    return node, read_bundle(out), proc
