from __future__ import annotations

import sys
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
