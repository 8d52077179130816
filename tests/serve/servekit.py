"""Helpers of the `serve` tests: a real `python -m k8s_bundle.cli serve` subprocess, the real
kubectl against it, and real tarballs built with tarfile.

kubectl is in the machine image (CI installs Debian's kubernetes-client, listed in
scripts/apt-test-packages.txt): without it the tests are skipped, but in CI (env CI set) they
fail, so a missing package cannot pass unnoticed.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable


ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
sys.path.insert(0, str(ROOT / "tests"))
import ci_guard  # noqa: E402


def require_kubectl() -> str:
    """The kubectl to test with: $K8S_BUNDLE_TEST_KUBECTL (another version's binary) or PATH's."""
    path = os.environ.get("K8S_BUNDLE_TEST_KUBECTL") or shutil.which("kubectl")
    ci_guard.require(None if path else "kubectl is missing: CI installs Debian's kubernetes-client "
                     "(scripts/apt-test-packages.txt)", "kubectl is not installed")
    assert path is not None
    return path


def kubectl_minor() -> int:
    """The minor version of the kubectl under test (Debian 12's kubernetes-client is 1.20)."""
    out = subprocess.run([require_kubectl(), "version", "--client", "-o", "json"], capture_output=True,
                         text=True, timeout=30).stdout
    return int("".join(ch for ch in json.loads(out)["clientVersion"]["minor"] if ch.isdigit()))


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


class Server:
    """`k8s-bundle serve` running as a subprocess; `kubectl(...)` runs the real kubectl on it."""

    def __init__(self, bundles: Iterable[Path | str], kubeconfig: Path, *extra: str) -> None:
        self.kubeconfig = kubeconfig
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "k8s_bundle.cli", "serve", *map(str, bundles), "--kubeconfig", str(kubeconfig),
             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.proc.stdout.readline()      # printed once the server answers
        if not line.startswith("export KUBECONFIG="):
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"serve did not start: {line!r} {out!r} {err!r}")
        assert line.strip() == f"export KUBECONFIG={kubeconfig.resolve()}"
        self.url = next(s.split()[1] for s in kubeconfig.read_text().splitlines() if s.strip().startswith("server:"))
        self.kubectl_path = require_kubectl()

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.kubeconfig.parent)}
        res = subprocess.run([self.kubectl_path, *args], capture_output=True, text=True, env=env, timeout=60)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {res.returncode}: {res.stderr}")
        return res

    def request(self, method: str, path: str, body: bytes | None = None,
                accept: str = "application/json") -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method, headers={"Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as a service manager stops it; (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


def write_tar(path: Path, entries: Iterable[tuple[str, bytes] | tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
                continue
            name, data = entry
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1763811000
            tar.addfile(info, io.BytesIO(data))
    return path


def sample_members(name: str, drop: str | None = None) -> list[tuple[str, bytes]]:
    """The members of samples/<name> (minus those whose path contains `drop`), to rebuild from."""
    out = []
    with tarfile.open(SAMPLES / name) as tar:
        for info in tar:
            if info.isfile() and not (drop and drop in info.name):
                out.append((info.name, tar.extractfile(info).read()))
    return out
