"""Faults a real node throws at the collector: interrupts, a full disk, an unprivileged user, a
dead root, files growing while read, a busy journal, bad command lines."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from collect_helpers import collect_cmd, read_bundle, run_collect

IS_ROOT = os.geteuid() == 0


def test_sigint_mid_run_leaves_a_valid_partial_bundle(sim, tmp_path):
    out = tmp_path / "b.tgz"
    env = sim.env(SIMNODE_HANG="docker-info,crictl-info,crictl-ps,crictl-pods,crictl-images")
    proc = subprocess.Popen(collect_cmd("--root", str(sim.root), "--live", "-o", str(out),
                                        "--timeout", "60", "--progress", "json"),
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    done = 0
    for line in proc.stderr:                      # wait until the run is well under way
        if line.startswith("{") and json.loads(line)["event"] == "item":
            done += 1
            if done >= 30:
                break
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    rc = proc.wait(timeout=60)
    assert rc == 130, rest
    assert time.monotonic() - t0 < 30              # the hung commands did not hold it
    assert [n for n in os.listdir(tmp_path) if n.endswith(".part")] == []
    b = read_bundle(out)
    m = b.manifest
    assert m["partial"] is True and m["partial_reason"] == "interrupted"
    hung = b.item("docker-info")
    assert hung["status"] == "skipped" and "interrupted" in hung["error"]
    assert len(b.items(status="ok")) >= 10         # what finished before the signal is kept
    assert b.item("node")["status"] == "ok"          # node facts even in a partial bundle
    assert b.json("nodes/cp1/node.json")["distro"] == "Ubuntu 22.04.4 LTS"
    finish = json.loads(rest.strip().splitlines()[-1])
    assert finish["event"] == "finish" and finish["partial"] is True


def test_sigterm_is_an_interrupt_too(sim, tmp_path):
    out = tmp_path / "b.tgz"
    proc = subprocess.Popen(collect_cmd("--root", str(sim.root), "--live", "-o", str(out),
                                        "--timeout", "60", "--progress", "json"),
                            env=sim.env(SIMNODE_HANG="docker-info"), stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if '"event": "start"' in line or '"event":"start"' in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    assert read_bundle(out).manifest["partial_reason"] == "sigterm"


@pytest.mark.root
@pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root (CI runs as root)")
def test_full_disk_removes_the_partial_file(sim, tmp_path):
    # Incompressible log content: the bundle cannot fit in 2 MB.
    (sim.root / "var/log/syslog").write_bytes(os.urandom(6 << 20).hex().encode()[: 6 << 20])
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], check=True)
    try:
        out = mnt / "b.tgz"
        proc = run_collect(["--root", str(sim.root), "--only", "logs", "-o", str(out)],
                           env=sim.env())
        assert proc.returncode == 6, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "no space left" in lines[0] and "Traceback" not in proc.stderr
        assert os.listdir(mnt) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.root
@pytest.mark.skipif(not IS_ROOT, reason="dropping to an unprivileged user needs root")
def test_not_root_collects_what_is_readable_and_says_what_needed_root(sim):
    # Python lives under /root here; the child imports everything as root, then drops to
    # nobody before collecting (a real unprivileged run). The tree must be traversable.
    work = Path(tempfile.mkdtemp(prefix="k8s-bundle-nonroot-"))
    try:
        os.chmod(work, 0o777)
        root = work / "root"
        shutil.copytree(sim.root, root, symlinks=True)
        out = work / "b.tgz"
        script = (
            "import os, sys\n"
            "import k8s_bundle.cli, k8s_bundle.collector.cli, k8s_bundle.collector.runner\n"
            "import k8s_bundle.collector.linux, k8s_bundle.collector.progress, k8s_bundle.redact\n"
            "import k8s_bundle.certinfo, psutil, yaml, orjson, zoneinfo, gzip, getpass\n"
            "zoneinfo.ZoneInfo('Asia/Shanghai')\n"
            "k8s_bundle.cli.build_parser()\n"
            "from k8s_bundle.redact import Redactor\n"
            "list(Redactor().redact_stream('x/a.conf', [b'a: b\\n']))\n"
            "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            "sys.exit(k8s_bundle.cli.main(sys.argv[1:]))\n")
        proc = subprocess.run([sys.executable, "-c", script, "collect", "--root", str(root),
                               "-o", str(out), "--skip", "cluster"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        b = read_bundle(out)
        assert b.manifest["collection"]["is_root"] is False
        admin = b.item("etc-kubernetes:/etc/kubernetes/admin.conf")
        assert admin["status"] == "permission_denied" and admin["needs_root"] is True
        assert admin["path"] is None
        assert b.item("os-release")["status"] == "ok"          # readable files still come
        certs = b.json("nodes/cp1/certs.json")["certificates"]
        assert any(c["path"] == "/etc/kubernetes/pki/apiserver.crt" and c["error"] is None for c in certs)
        assert "need root" in proc.stderr and "etc-kubernetes:/etc/kubernetes/admin.conf" in proc.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_dead_root_skips_commands_and_keeps_files(sim, tmp_path):
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(sim.root), "-o", str(out)], env=sim.env())
    assert proc.returncode == 0, proc.stderr
    b = read_bundle(out)
    assert b.manifest["collection"]["live"] is False
    for cmd in ("uname", "docker-info", "ip-addr", "iptables-save"):
        rec = b.item(cmd)
        assert rec["status"] == "skipped" and "--root" in rec["error"], rec
    assert b.item("journal-kubelet")["status"] == "skipped"      # no /var/log/journal there
    assert b.item("processes")["status"] == "skipped"
    assert "nameserver 127.0.0.53" in b.text("nodes/cp1/files/etc/resolv.conf")
    assert b.json("nodes/cp1/node.json")["roles"] == ["control-plane", "etcd"]
    assert b.json("nodes/cp1/commands/binaries.json")["kubelet"]["path"] is None


def test_growing_file_does_not_hold_the_run(sim, tmp_path):
    log = sim.root / "var/log/syslog"
    log.write_bytes(b"Nov 22 10:00:00 cp1 app: start\n" * 1000)
    writer = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        f"f = open({str(log)!r}, 'ab', buffering=0)\n"
        "while True:\n    f.write(b'Nov 22 10:00:01 cp1 app: more\\n' * 200); time.sleep(0.01)\n")])
    try:
        out = tmp_path / "b.tgz"
        proc = run_collect(["--root", str(sim.root), "--live", "--only", "logs", "-o", str(out)],
                           env=sim.env(), timeout=60)
    finally:
        writer.kill()
        writer.wait()
    assert proc.returncode == 0, proc.stderr
    b = read_bundle(out)
    rec = b.item("log-var-log-syslog")
    assert rec["status"] == "ok" and rec["bytes"] < log.stat().st_size
    data = b.members["nodes/cp1/logs/var/log/syslog"]
    assert data.startswith(b"Nov 22 10:00:00 cp1 app: start\n")


def test_caps_truncate_and_keep_the_newest_log_lines(sim, tmp_path):
    (sim.root / "var/log/syslog").write_text(
        "".join(f"Nov 22 10:{i // 60 % 60:02d}:{i % 60:02d} cp1 app: line {i:06d}\n" for i in range(20000)))
    out = tmp_path / "b.tgz"
    proc = run_collect(["--root", str(sim.root), "--live", "--only", "logs", "-o", str(out),
                        "--max-file-size", "4K"],
                       env=sim.env(SIMNODE_JOURNAL_BYTES=str(10 * 1024 ** 3)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    b = read_bundle(out)
    rec = b.item("log-var-log-syslog")
    assert rec["status"] == "truncated" and rec["bytes"] <= 4096
    text = b.text("nodes/cp1/logs/var/log/syslog")
    assert text.endswith("line 019999\n") and text.startswith("Nov 22 ")
    # A 10 GB journal per unit: journalctl -n and the byte cap keep each unit small.
    for unit in ("kubelet", "docker", "etcd"):
        j = b.item(f"journal-{unit}")
        assert j["status"] == "truncated" and 0 < j["bytes"] <= 4096, j


def test_refuses_to_overwrite_without_force(sim, tmp_path):
    out = tmp_path / "b.tgz"
    out.write_bytes(b"precious")
    proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", str(out)],
                       env=sim.env())
    assert proc.returncode == 4 and "--force" in proc.stderr
    assert out.read_bytes() == b"precious"
    proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", str(out),
                        "--force"], env=sim.env())
    assert proc.returncode == 0, proc.stderr
    assert read_bundle(out).item("certs")["status"] == "ok"


def test_default_output_name_in_the_current_directory(sim, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = run_collect(["--root", str(sim.root), "--only", "certificates"], env=sim.env(),
                       cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    made = os.listdir(cwd)
    assert len(made) == 1 and made[0].startswith("k8s-bundle-cp1-") and made[0].endswith("Z.tgz")
    assert f"written: {made[0]}" in proc.stderr
    # Not a terminal and no --progress: quiet until the summary.
    assert proc.stderr.startswith("k8s-bundle: bundle written:") and "{" not in proc.stderr


@pytest.mark.parametrize("args,needle", [
    (["--since", "yesterday"], "bad duration"),
    (["--max-file-size", "lots"], "bad size"),
    (["--only", "system,bogus"], "unknown area bogus"),
    (["--root", "/no/such/dir"], "not a directory"),
    (["--timeout", "0"], "bad --timeout"),
])
def test_bad_command_lines_are_one_line_errors(tmp_path, args, needle):
    proc = run_collect([*args, "-o", str(tmp_path / "b.tgz")])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr
    assert not (tmp_path / "b.tgz").exists()


def _one_line_error(proc: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("k8s-bundle: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert needle in proc.stderr


def test_sigkill_leaves_one_hidden_part_that_the_next_run_removes(sim, tmp_path):
    # docs/collector.md: a killed collect leaves `.<bundle>.k8s-bundle-<pid>-<random>.part`
    # beside the output and nothing else; the next run writing there removes it.
    where = tmp_path / "out"
    where.mkdir()
    out = where / "b.tgz"
    proc = subprocess.Popen(collect_cmd("--root", str(sim.root), "--live", "-o", str(out),
                                        "--timeout", "60", "--progress", "json"),
                            env=sim.env(SIMNODE_HANG="docker-info"), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    done = 0
    for line in proc.stderr:                      # well under way: members in the part
        if line.startswith("{") and json.loads(line)["event"] == "item":
            done += 1
            if done >= 20:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = os.listdir(where)
    assert len(left) == 1 and left[0].startswith(f".b.tgz.k8s-bundle-{proc.pid}-"), left
    assert left[0].endswith(".part") and (where / left[0]).is_file()
    again = run_collect(["--root", str(sim.root), "--only", "certificates", "-o",
                         str(where / "c.tgz")], env=sim.env())
    assert again.returncode == 0, again.stderr
    assert os.listdir(where) == ["c.tgz"]


def test_unusable_output_places_are_one_line_exit_4(sim, tmp_path):
    where = tmp_path / "out"
    (where / "adir").mkdir(parents=True)
    for out, needle in ((where / "no" / "b.tgz", "does not exist"),
                        (where / "adir", "it is a directory")):
        proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", str(out)],
                           env=sim.env())
        _one_line_error(proc, 4, needle)
    assert os.listdir(where) == ["adir"] and os.listdir(where / "adir") == []


@pytest.mark.root
@pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root (CI runs as root)")
def test_read_only_output_is_one_line_exit_4_and_leaves_nothing(sim, tmp_path):
    # Was exit 5: the writer's clean-up let the unlink error (EROFS) escape. A read-only bind
    # mount of a real directory, and the default name in a read-only current directory.
    real = tmp_path / "real"
    real.mkdir()
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "--bind", str(real), str(ro)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", str(ro / "b.tgz")],
                           env=sim.env())
        _one_line_error(proc, 4, "not writable")
        proc = run_collect(["--root", str(sim.root), "--only", "certificates"], env=sim.env(), cwd=ro)
        _one_line_error(proc, 4, "not writable")
        assert "Traceback" not in proc.stderr and os.listdir(real) == []
    finally:
        subprocess.run(["umount", str(ro)], check=True)
