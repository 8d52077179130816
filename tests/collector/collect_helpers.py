"""Helpers of the collector tests (imported by name: `from collect_helpers import ...`;
not from conftest, whose module name is shared by every test folder): build the simulated node, run `k8s-bundle collect` as a real
subprocess (signals, exit codes and the unprivileged user need a real process), read the
bundle back from the real tarball."""
from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIMNODE_DIR = Path(__file__).resolve().parents[1] / "simnode"
sys.path.insert(0, str(SIMNODE_DIR))

import simnode  # noqa: E402  (tests/simnode is not a package)


@dataclass
class Bundle:
    path: Path
    top: str
    members: dict[str, bytes]        # path below the top directory -> bytes

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.members["manifest.json"])

    def items(self, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.manifest["items"] if all(r.get(k) == v for k, v in match.items())]

    def item(self, item_id: str) -> dict[str, Any]:
        found = self.items(id=item_id)
        assert len(found) == 1, f"{item_id}: {len(found)} records"
        return found[0]

    def text(self, rel: str) -> str:
        return self.members[rel].decode("utf-8")

    def json(self, rel: str) -> Any:
        return json.loads(self.members[rel])


def read_bundle(path: Path) -> Bundle:
    members: dict[str, bytes] = {}
    tops = set()
    with tarfile.open(path, "r:gz") as tar:
        for info in tar:
            assert info.isfile(), f"{info.name}: not a regular file"
            top, _, rel = info.name.partition("/")
            tops.add(top)
            f = tar.extractfile(info)
            assert f is not None
            members[rel] = f.read()
    assert len(tops) == 1, tops
    return Bundle(path, tops.pop(), members)


def collect_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "k8s_bundle.cli", "collect", *args]


def run_collect(args: list[str], env: dict[str, str] | None = None, timeout: float = 120,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(collect_cmd(*args), env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)
