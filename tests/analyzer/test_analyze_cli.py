"""`k8s-bundle analyze` end to end: real bundles (fixture builder -> BundleWriter), real subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml

from k8s_bundle.analyzer.output import default_output
from k8s_bundle.analyzer.fixtures import build_fixture_bundle

SWAP_LOG = (
    "2026-11-22T09:58:01.123456+00:00 node1 kubelet[1234]: E1122 09:58:01.123401    1234 run.go:74] "
    '"command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap!"\n'
)
PLEG_LOG = "".join(
    f"2026-11-22T09:{10 + i:02d}:00.100000+00:00 node1 kubelet[812]: E1122 09:{10 + i:02d}:00.100000     812 "
    f'kubelet.go:2373] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active {i}m0s ago"\n'
    for i in range(6)
)
QUIET_LOG = '2026-11-22T09:00:01.000001+00:00 node1 kubelet[812]: I1122 09:00:01.000001     812 kubelet.go:2430] "SyncLoop ADD"\n'


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", *args], capture_output=True, text=True)


# The fixture node runs containerd: without a line of it the report names that blind spot
# (log-blind-spot, a warning) and the exit code would say so.
CONTAINERD_LOG = ('2026-11-22T09:00:00.000001+00:00 node1 containerd[702]: time="2026-11-22T09:00:00.000001000Z" '
                  'level=info msg="containerd successfully booted in 0.041510s"\n')


def bundle(tmp_path: Path, name: str, log: str) -> Path:
    return build_fixture_bundle({"files": {"nodes/node1/logs/journal/kubelet.log": log,
                                           "nodes/node1/logs/journal/containerd.log": CONTAINERD_LOG}},
                                tmp_path / name)


def test_default_writes_html_beside_bundle_and_prints_summary(tmp_path: Path) -> None:
    b = bundle(tmp_path, "case-1234.tar.gz", SWAP_LOG)
    proc = analyze(str(b))
    assert proc.returncode == 3, proc.stderr
    report = tmp_path / "case-1234.html"
    assert report.exists() and "kubelet-swap-on" in report.read_text()
    assert "CRITICAL node1  kubelet-swap-on" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-2:] == [f"Report: {report}", "exit 3: critical findings"]


def test_exit_codes_follow_the_worst_severity(tmp_path: Path) -> None:
    quiet = analyze(str(bundle(tmp_path, "quiet.tgz", QUIET_LOG)), "-o", str(tmp_path / "q.html"))
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    warn = analyze(str(bundle(tmp_path, "warn.tgz", PLEG_LOG)), "-o", str(tmp_path / "w.html"))
    assert warn.returncode == 1 and "kubelet-pleg-not-healthy" in warn.stdout


def test_json_to_stdout_and_text_format(tmp_path: Path) -> None:
    b = bundle(tmp_path, "b.tgz", SWAP_LOG)
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(b), "--format", "json", "-o", "-"],
                          capture_output=True)
    doc = orjson.loads(proc.stdout)
    assert proc.returncode == 3 and doc["summary"]["exit_code"] == 3
    (f,) = [f for f in doc["findings"] if f["rule_id"] == "kubelet-swap-on"]
    line = f["evidence"]["log_lines"][0]
    assert line["file"].endswith("nodes/node1/logs/journal/kubelet.log") and line["line"] == 1
    assert line["timestamp"].startswith("2026-11-22T09:58:01")
    text = analyze(str(b), "--format", "text", "--lang", "zh")
    assert (tmp_path / "b.txt").exists() and "严重" in (tmp_path / "b.txt").read_text()


def test_custom_rules_dir_with_no_builtin_rules_replaces_the_shipped_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "hello.yaml").write_text(yaml.safe_dump({
        "id": "hello", "severity": "info", "platforms": ["any"],
        "title": {"en": "hi", "zh": "hi"}, "cause": {"en": "c", "zh": "c"}, "fix": {"en": "f", "zh": "f"},
        "match": {"log": {"sources": ["journal/*.log"], "regex": "SyncLoop ADD"}},
    }))
    proc = analyze(str(bundle(tmp_path, "b.tgz", SWAP_LOG + QUIET_LOG)), "--rules", str(rules), "--no-builtin-rules",
                   "--format", "json", "-o", "-")
    assert proc.returncode == 0
    assert [f["rule_id"] for f in orjson.loads(proc.stdout)["findings"]] == ["hello"]


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: p / "missing.tgz", "no such file or directory"),
        (lambda p: (p / "junk.tgz").write_bytes(b"\x1f\x8b\x08\x00garbage" * 10) and p / "junk.tgz", ""),
        (lambda p: (p / "text.tgz").write_text("not a bundle at all\n") and p / "text.tgz", ""),
    ],
)
def test_unusable_input_is_one_line_exit_4(tmp_path: Path, setup, message: str) -> None:
    proc = analyze(str(setup(tmp_path)))
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.startswith("k8s-bundle: error: ") and proc.stderr.count("\n") == 1
    assert message in proc.stderr


def test_bad_rule_file_is_exit_4(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("id: x\nseverity: nope\n")
    proc = analyze(str(bundle(tmp_path, "b.tgz", QUIET_LOG)), "--rules", str(rules))
    assert proc.returncode == 4 and "bad.yaml" in proc.stderr and proc.stderr.count("\n") == 1


def test_default_output_names() -> None:
    assert default_output("/x/case.tgz", "html") == Path("/x/case.html")
    assert default_output("/x/case.tar.gz", "json") == Path("/x/case.json")
    assert default_output("/x/extracted/", "html") == Path("/x/extracted.html")


def test_planted_links_beside_the_bundle_are_not_followed(tmp_path: Path) -> None:
    # The old writer opened `<report>.part` with open(path, "w"), which followed a link planted
    # there and wrote the report into its target.
    b = bundle(tmp_path, "b.tgz", QUIET_LOG)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (tmp_path / "b.html.part").symlink_to(victim)
    (tmp_path / "b.html").symlink_to(tmp_path / "made-through-link")
    proc = analyze(str(b), "-q")
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "keep" and not (tmp_path / "made-through-link").exists()
    report = tmp_path / "b.html"
    assert not report.is_symlink() and "<html" in report.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.html", "b.html.part", "b.tgz", "victim.txt"]


def test_unusable_report_places_are_one_line_exit_4_before_the_analysis(tmp_path: Path) -> None:
    b = bundle(tmp_path, "b.tgz", QUIET_LOG)
    (tmp_path / "adir").mkdir()
    for out, needle in ((tmp_path / "no" / "r.html", "does not exist"), (tmp_path / "adir", "it is a directory")):
        proc = analyze(str(b), "-o", str(out))
        assert proc.returncode == 4, proc.stderr
        assert proc.stderr.startswith("k8s-bundle: error: cannot write") and proc.stderr.count("\n") == 1
        assert needle in proc.stderr and proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "b.tgz"]


@pytest.mark.root
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_report_on_a_read_only_mount_is_one_line_exit_4(tmp_path: Path) -> None:
    b = bundle(tmp_path, "b.tgz", QUIET_LOG)
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(ro)], check=True)
    try:
        proc = analyze(str(b), "-o", str(ro / "r.html"))
        assert proc.returncode == 4, proc.stderr
        assert proc.stderr.count("\n") == 1 and "not writable" in proc.stderr
        assert os.listdir(ro) == []
    finally:
        subprocess.run(["umount", str(ro)], check=True)
