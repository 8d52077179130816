from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import canaries  # noqa: E402


@pytest.fixture(scope="session")
def corpus() -> canaries.Corpus:
    return canaries.build()


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory, corpus: canaries.Corpus) -> Path:
    root = tmp_path_factory.mktemp("canary-node")
    corpus.write(root)
    return root


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
