"""`k8s-bundle redact` outputs on real filesystems: a full or read-only tmpfs (root), a killed
run, planted links; nothing half-written is left and every failure is one line."""
from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from redact_helpers import run_cli, tar_members

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root (CI runs as root)")


@contextlib.contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}" + (",ro" if read_only else ""),
                    "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def one_line(proc: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("k8s-bundle: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def logs(tmp_path: Path, count: int, size: int) -> Path:
    src = tmp_path / "logs"
    src.mkdir()
    for i in range(count):
        # Incompressible text lines: neither the directory nor the .tgz output fits the tmpfs.
        lines = (os.urandom(size // 2).hex()[:size - 1] + "\n").encode()
        (src / f"app{i}.log").write_bytes(lines)
    return src


@pytest.mark.root
@needs_root
@pytest.mark.parametrize("name", ["out", "out.tgz"])
def test_full_disk_removes_what_was_written(tmp_path: Path, name: str) -> None:
    # Was: `-o DIR` on a full disk left the files already written.
    src = logs(tmp_path, 6, 512 * 1024)
    with tmpfs(tmp_path / "small", "1m") as small:
        proc = run_cli("redact", str(src), "-o", str(small / name))
        one_line(proc, 6, "no space left")
        assert os.listdir(small) == []


@pytest.mark.root
@needs_root
def test_read_only_output_is_one_line_exit_4(tmp_path: Path) -> None:
    src = logs(tmp_path, 1, 100)
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as ro:
        for name in ("out", "out.tgz"):
            one_line(run_cli("redact", str(src), "-o", str(ro / name)), 4, "not writable")
        assert os.listdir(ro) == []


def test_missing_directory_and_wrong_kinds_are_one_line_exit_4(tmp_path: Path) -> None:
    src = logs(tmp_path, 1, 100)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.tgz").mkdir()
    one_line(run_cli("redact", str(src), "-o", str(tmp_path / "no" / "out")), 4, "does not exist")
    one_line(run_cli("redact", str(src), "-o", str(tmp_path / "no" / "o.tgz")), 4, "does not exist")
    one_line(run_cli("redact", str(src), "-o", str(tmp_path / "afile"), "--force"), 4, "not a directory")
    one_line(run_cli("redact", str(src), "-o", str(tmp_path / "adir.tgz"), "--force"), 4, "is a directory")
    assert sorted(os.listdir(tmp_path)) == ["adir.tgz", "afile", "logs"]


def test_killed_run_leaves_a_hidden_part_the_next_run_removes(tmp_path: Path) -> None:
    src = logs(tmp_path, 2, 100)
    fifo = tmp_path / "stuck"
    os.mkfifo(fifo)                   # its read blocks: the run is caught mid-way, files written
    where = tmp_path / "where"
    where.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "k8s_bundle.cli", "redact", str(src), str(fifo),
                             "-o", str(where / "out")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        left = os.listdir(where)
        if left and any(os.scandir(where / left[0])):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = os.listdir(where)
    assert len(left) == 1 and left[0].startswith(f".out.k8s-bundle-{proc.pid}-") and left[0].endswith(".part")
    assert not (where / "out").exists()
    again = run_cli("redact", str(src), "-o", str(where / "clean.tgz"))
    assert again.returncode == 0, again.stderr
    assert os.listdir(where) == ["clean.tgz"]


def test_force_into_an_existing_directory_keeps_its_files_and_follows_no_link(tmp_path: Path) -> None:
    src = logs(tmp_path, 1, 100)
    out = tmp_path / "out"
    assert run_cli("redact", str(src), "-o", str(out)).returncode == 0
    (out / "notes.txt").write_text("mine")
    again = run_cli("redact", str(src), "-o", str(out), "--force")
    assert again.returncode == 0, again.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / "input/logs/app0.log").is_file()
    # A link planted inside the output: the move stops, nothing goes through it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.rename(out / "input", tmp_path / "old-input")
    (out / "input").symlink_to(elsewhere)
    one_line(run_cli("redact", str(src), "-o", str(out), "--force"), 4, "links are not followed")
    assert os.listdir(elsewhere) == []
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".part")]


def test_obfuscation_map_is_not_written_through_a_planted_link(tmp_path: Path) -> None:
    src = tmp_path / "app.log"
    src.write_text("Nov 22 10:00:00 node1 kubelet[1]: started on node1.example.com\n")
    victim = tmp_path / "victim"
    victim.write_text("keep")
    out = tmp_path / "o.tgz"
    planted = tmp_path / "o.tgz.obfuscation-map.json"
    planted.symlink_to(victim)
    proc = run_cli("redact", str(src), "-o", str(out), "--obfuscate", "hostnames",
                   "--hostname", "node1.example.com")
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "keep"
    assert not planted.is_symlink() and stat.S_IMODE(planted.stat().st_mode) == 0o600
    assert "node1.example.com" in planted.read_text()
    assert "node1.example.com" not in tar_members(out)["input/app.log"].decode()


@pytest.mark.parametrize("name", ["out", "out.tgz"])
def test_repeated_member_names_in_an_archive_are_skipped_not_an_internal_error(tmp_path: Path, name: str) -> None:
    # tar allows a name twice (and `a.log` beside `a.log/b`); the .tgz output ended in exit 5
    # (duplicate bundle member), the directory output dropped them as "unreadable".
    import io
    import json
    import tarfile

    src = tmp_path / "d.tgz"
    with tarfile.open(src, "w:gz") as tf:
        for member, data in (("x/a.log", b"first\n"), ("x/a.log", b"second\n"), ("x/a.log/b", b"c\n")):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    out = tmp_path / name
    proc = run_cli("redact", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    if name == "out":
        assert (out / "input/d.tgz/x/a.log").read_bytes() == b"first\n"
        manifest = json.loads((out / "manifest.json").read_bytes())
    else:
        members = tar_members(out)
        assert members["input/d.tgz/x/a.log"] == b"first\n"
        manifest = json.loads(members["manifest.json"])
    skipped = [i for i in manifest["items"] if i["status"] == "skipped"]
    assert len(skipped) == (2 if name == "out" else 1)
    assert all("already holds this name" in i["error"] for i in skipped)


@pytest.mark.parametrize("sig, name", [(signal.SIGTERM, "out"), (signal.SIGINT, "out.tgz")])
def test_sigterm_and_sigint_remove_the_part(tmp_path: Path, sig: int, name: str) -> None:
    src = logs(tmp_path, 1, 100)
    fifo = tmp_path / "stuck"
    os.mkfifo(fifo)
    where = tmp_path / "where"
    where.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "k8s_bundle.cli", "redact", str(src), str(fifo),
                             "-o", str(where / name)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not os.listdir(where) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)                   # into the blocking read of the FIFO
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 130
    assert proc.stderr is not None and proc.stderr.read() == "k8s-bundle: interrupted\n"
    assert os.listdir(where) == []
