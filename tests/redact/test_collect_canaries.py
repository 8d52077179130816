"""Canary corpus on the simulated node -> real `k8s-bundle collect` -> not one canary stored.

The corpus files are laid over the simulated node's root at their node paths; the collector
picks up those its catalogue covers (kubeconfigs, manifests, cloud configs, containerd config,
syslog, pod and docker logs) and passes every byte through the redactor.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import canaries
from redact_helpers import tar_members

SIMNODE_DIR = Path(__file__).resolve().parents[1] / "simnode"
sys.path.insert(0, str(SIMNODE_DIR))

simnode = pytest.importorskip("simnode")


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory: pytest.TempPathFactory, corpus: canaries.Corpus) -> Path:
    base = tmp_path_factory.mktemp("collect-canaries")
    node = simnode.build(base / "sim")
    corpus.write(node.root)
    out = base / "bundle.tgz"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "collect", "--root", str(node.root), "--live",
                           "-o", str(out), "--timeout", "5", "--progress", "none"],
                          env=node.env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def collected(bundle_path: Path) -> dict[str, bytes]:
    return tar_members(bundle_path)


def test_collected_bundle_holds_no_canary(collected: dict[str, bytes], corpus: canaries.Corpus) -> None:
    stored = [p for p in corpus.files if any(k.endswith(p) for k in collected)]
    # the collector really picked up the corpus: kubeconfigs, manifests, cloud configs, logs
    assert len(stored) >= 12, stored
    assert canaries.leaks(corpus, collected) == []


def test_collected_kubeconfig_keeps_certificate_metadata(collected: dict[str, bytes]) -> None:
    admin = next(v for k, v in collected.items() if k.endswith("files/etc/kubernetes/admin.conf")).decode()
    assert "<redacted:cert subject=\"CN=kubernetes\"" in admin
    assert "client-key-data: '<redacted:private-key:" in admin


def test_verify_finds_the_collected_bundle_clean(bundle_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "verify", str(bundle_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
    assert "clean" in proc.stderr


def test_redacting_a_bundle_again_keeps_layout_and_replaces_nothing(bundle_path: Path, tmp_path: Path,
                                                                     collected: dict[str, bytes]) -> None:
    out = tmp_path / "again.tgz"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "redact", str(bundle_path), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    again = tar_members(out)
    assert set(again) == set(collected)
    report = json.loads(again["redaction.json"])
    assert report["total"] == 0, report["by_file"]          # placeholders are never re-redacted
    for rel, data in collected.items():
        if rel not in ("manifest.json", "redaction.json"):
            assert again[rel] == data, rel
    manifest = json.loads(again["manifest.json"])
    assert manifest["redacted_again"]["argv"][0] == "redact"
    assert len(manifest["items"]) == len(json.loads(collected["manifest.json"])["items"])


def test_obfuscating_a_collected_bundle_leaves_no_hostname(bundle_path: Path, tmp_path: Path,
                                                           collected: dict[str, bytes]) -> None:
    assert any("cp1" in k for k in collected) and b"kube-apiserver-cp1_" in b"".join(collected.values())
    out = tmp_path / "obf.tgz"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "redact", str(bundle_path), "-o", str(out),
                           "--obfuscate", "hostnames"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    members = tar_members(out)
    leftovers = [k for k, v in members.items() if "cp1" in k or b"cp1" in v.lower()]
    assert leftovers == []
    mapping = json.loads((tmp_path / "obf.tgz.obfuscation-map.json").read_text())
    assert mapping["hostnames"]["cp1"].startswith("host-")
