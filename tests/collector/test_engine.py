"""The engine in-process, on small real trees: caps across globs, item failures, key files,
items a transport cannot run."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from collect_helpers import read_bundle
from k8s_bundle.collector.runner import CollectOptions, Engine
from k8s_bundle.collector.items import CommandItem, DerivedItem, FileItem, GlobItem, PowerShellItem
from k8s_bundle.collector.transports.local import LocalTransport


def _run(tmp_path: Path, items, root: Path | None = None, live: bool = False, **opts):
    out = tmp_path / "b.tgz"
    engine = Engine(CollectOptions(output=str(out), root=str(root or tmp_path), **opts),
                    LocalTransport(str(root or tmp_path), live=live))
    return engine.run(items), read_bundle(out)


def test_glob_total_cap_keeps_newest_files_whole(tmp_path):
    root = tmp_path / "root"
    now = time.time()
    for i in range(10):
        d = root / f"var/log/pods/ns_p{i}_uid/c"
        d.mkdir(parents=True)
        (d / "0.log").write_bytes(f"pod {i}\n".encode() * 100)      # 600 bytes each
        os.utime(d / "0.log", (now - i * 60, now - i * 60))            # p0 newest
    result, b = _run(tmp_path, [GlobItem("pods", "logs", dest="logs", tail=True,
                                         patterns=("/var/log/pods/*/*/*.log",), total_cap=2000)],
                     root=root)
    head = b.item("pods")
    assert head["status"] == "truncated" and head["files"] == 3 and "7 of 10" in head["error"]
    kept = sorted(p for p in b.members if p.startswith("nodes/"))
    assert [p.split("/")[6] for p in kept] == ["ns_p0_uid", "ns_p1_uid", "ns_p2_uid"]
    assert all(len(b.members[p]) == 600 for p in kept)


def test_failing_derived_item_is_recorded_and_the_run_goes_on(tmp_path):
    def broken(ctx):
        raise RuntimeError("cannot compute")

    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text("127.0.0.1 localhost\n")
    _, b = _run(tmp_path, [DerivedItem("broken", "system", path="commands/broken.json", func=broken),
                           FileItem("hosts", "network", path="/etc/hosts")])
    rec = b.item("broken")
    assert rec["status"] == "failed" and "RuntimeError: cannot compute" in rec["error"]
    assert b.item("hosts")["status"] == "ok"


def test_key_files_are_never_opened(tmp_path):
    (tmp_path / "pki").mkdir()
    key = tmp_path / "pki/apiserver.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    key.chmod(0)        # even root would read it; the name alone must stop the collector
    pem = tmp_path / "pki/front.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
                   "-----BEGIN RSA PRIVATE KEY-----\nBBBB\n-----END RSA PRIVATE KEY-----\n")
    _, b = _run(tmp_path, [FileItem("key", "kubernetes", path="/pki/apiserver.key"),
                           FileItem("pem", "kubernetes", path="/pki/front.pem")])
    assert b.item("key")["status"] == "skipped" and "never collected" in b.item("key")["error"]
    assert b.item("pem")["status"] == "skipped" and "private key" in b.item("pem")["error"]
    assert not [p for p in b.members if p.startswith("nodes/")]


def test_powershell_item_is_skipped_on_linux(tmp_path):
    _, b = _run(tmp_path, [PowerShellItem("hns", "windows", script="Get-HnsNetwork",
                                          path="windows/hns-networks.json")])
    rec = b.item("hns")
    assert rec["status"] == "skipped" and "not on this OS" in rec["error"]


def test_command_fallback_when_the_binary_is_missing(tmp_path):
    _, b = _run(tmp_path, [CommandItem("mounts", "system", argv=("no-such-findmnt-tool",),
                                       fallbacks=(("cat", "/proc/self/mounts"),))], live=True)
    rec = b.item("mounts")
    assert rec["status"] == "ok" and rec["source"] == "cat /proc/self/mounts"
    assert b"proc" in b.members[rec["path"]]


def test_duplicate_ids_are_a_catalogue_bug(tmp_path):
    with pytest.raises(ValueError, match="duplicate item id"):
        _run(tmp_path, [FileItem("x", "a", path="/a"), FileItem("x", "b", path="/b")])
    assert not (tmp_path / "b.tgz").exists() and not (tmp_path / "b.tgz.part").exists()


def test_lower_priority_sets_nice_and_idle_io():
    import subprocess
    import sys

    code = ("from k8s_bundle.collector.runner import lower_priority\n"
            "import os, psutil\n"
            "before = os.nice(0)\n"
            "lower_priority()\n"
            "print(os.nice(0) - before, int(psutil.Process().ionice().ioclass))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    delta, ioclass = map(int, out.stdout.split())
    import psutil
    assert delta == 10
    assert ioclass in (int(psutil.IOPRIO_CLASS_IDLE), int(psutil.IOPRIO_CLASS_BE))


def test_stderr_in_the_manifest_is_redacted(tmp_path):
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06YWRtaW4ifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
    (tmp_path / "answer").write_text(f"error: Authorization: Bearer {jwt}\n")
    _, b = _run(tmp_path, [CommandItem("leaky", "system", argv=(
        "sh", "-c", f"cat {tmp_path}/answer >&2; exit 1"))], live=True)
    rec = b.item("leaky")
    assert rec["status"] == "failed" and "Bearer <redacted:" in rec["error"]
    assert jwt not in b.members["manifest.json"].decode()
