"""Helpers of the redaction tests (imported by name: `from redact_helpers import ...`; not from
conftest, whose module name is shared by every test folder)."""
from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def tar_members(path: Path) -> dict[str, bytes]:
    out = {}
    with tarfile.open(path, "r:gz") as tf:
        for m in tf:
            assert m.isfile(), m.name
            f = tf.extractfile(m)
            assert f is not None
            out[m.name.split("/", 1)[1]] = f.read()
    return out
