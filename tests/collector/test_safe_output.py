"""k8s_bundle/safe_output.py on real filesystems: planted links, parts of killed processes,
read-only and full mounts (tmpfs, root only), directory outputs."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from k8s_bundle import safe_output
from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_NO_SPACE, UserError
from k8s_bundle.safe_output import PartDir, PartFile, check_output, remove_stale_parts, write_file

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root (CI runs as root)")


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m", read_only: bool = False) -> Iterator[Path]:
    path.mkdir()
    opts = f"size={size}" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def parts(directory: Path) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".part"))


def test_a_link_at_the_final_name_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "out.html").symlink_to(victim)
    (tmp_path / "missing.html").symlink_to(tmp_path / "created-through-link")
    write_file(tmp_path / "out.html", b"report")
    write_file(tmp_path / "missing.html", b"report")
    assert victim.read_bytes() == b"keep"
    assert not (tmp_path / "created-through-link").exists()
    for name in ("out.html", "missing.html"):
        p = tmp_path / name
        assert not p.is_symlink() and p.read_bytes() == b"report"
    assert parts(tmp_path) == []


def test_a_link_planted_at_the_part_name_is_never_opened(tmp_path: Path, monkeypatch) -> None:
    # The part's random suffix made predictable, and a link planted at exactly that name:
    # O_EXCL|O_NOFOLLOW refuses it and the writer takes the next fresh name.
    tokens = iter(["deadbeef", "0badf00d"])
    monkeypatch.setattr(safe_output.secrets, "token_hex", lambda n: next(tokens))
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    planted = tmp_path / f".b.tgz.k8s-bundle-{os.getpid()}-deadbeef.part"
    planted.symlink_to(victim)
    with PartFile(tmp_path / "b.tgz") as part:
        assert part.path is not None and part.path.name.endswith("-0badf00d.part")
        part.write(b"bundle")
        part.commit()
    assert victim.read_bytes() == b"keep" and planted.is_symlink()
    assert (tmp_path / "b.tgz").read_bytes() == b"bundle"


def test_a_failed_part_is_removed_and_the_error_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with PartFile(tmp_path / "b.tgz") as part:
            part.write(b"half")
            raise RuntimeError("the run failed")
    assert os.listdir(tmp_path) == []
    with pytest.raises(UserError) as err:
        check_output(tmp_path / "no\nsuch" / "b.tgz", force=False)
    assert err.value.exit_code == EXIT_BAD_INPUT and "\n" not in str(err.value)
    assert "does not exist" in str(err.value) and "no\\x0asuch" in str(err.value)
    with pytest.raises(UserError, match="it is a directory"):
        check_output(tmp_path, force=True)


_PART_THEN = """
import os, sys, time
from pathlib import Path
from k8s_bundle.safe_output import PartDir, PartFile
kind, target = sys.argv[1], Path(sys.argv[2])
if kind == "file":
    part = PartFile(target)
    part.write(b"x" * 1000)
    part.file.flush()
else:
    part = PartDir(target)
    (part.path / "nodes").mkdir()
    (part.path / "nodes" / "a.log").write_bytes(b"y")
print(part.path.name, flush=True)
time.sleep(60)
"""


def _writer(kind: str, target: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", _PART_THEN, kind, str(target)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_parts_of_killed_processes_go_and_live_ones_stay(tmp_path: Path) -> None:
    killed_file, killed_file_part = _writer("file", tmp_path / "old.tgz")
    killed_dir, killed_dir_part = _writer("dir", tmp_path / "old-dir")
    for proc in (killed_file, killed_dir):
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    live, live_part = _writer("file", tmp_path / "busy.tgz")
    try:
        own = PartFile(tmp_path / "mine.tgz")                 # ours, alive and locked
        # Our own pid on an unlocked part: a container gives a rerun the pid of the killed run.
        reused = tmp_path / f".x.tgz.k8s-bundle-{os.getpid()}-12345678.part"
        reused.write_bytes(b"z")
        untagged = tmp_path / ".download.1234.part"            # another program's: not ours
        untagged.write_bytes(b"z")
        target = tmp_path / "target"
        target.write_bytes(b"keep")
        link = tmp_path / ".l.tgz.k8s-bundle-1-abcdef01.part"  # a link with our name: not ours
        link.symlink_to(target)

        # (Creating a part cleans its directory too: the killed writers' parts may be gone already.)
        remove_stale_parts(tmp_path)

        for gone in (killed_file_part, killed_dir_part, reused.name):
            assert not os.path.lexists(tmp_path / gone)
        assert (tmp_path / live_part).exists() and own.path is not None and own.path.exists()
        assert untagged.exists() and link.is_symlink() and target.read_bytes() == b"keep"
        own.discard()
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()
    assert remove_stale_parts(tmp_path) == [live_part]


def test_a_directory_output_moves_in_and_never_through_a_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    with PartDir(out) as staging:
        assert staging.path is not None
        (staging.path / "nodes").mkdir()
        (staging.path / "nodes" / "a.log").write_bytes(b"a")
        staging.commit()
    assert (out / "nodes" / "a.log").read_bytes() == b"a" and parts(tmp_path) == []
    # --force into an existing output whose `nodes` was replaced by a link elsewhere.
    os.rename(out / "nodes", tmp_path / "old-nodes")
    (out / "nodes").symlink_to(elsewhere)
    with pytest.raises(UserError) as err:
        with PartDir(out) as staging:
            assert staging.path is not None
            (staging.path / "nodes").mkdir()
            (staging.path / "nodes" / "b.log").write_bytes(b"b")
            staging.commit()
    assert err.value.exit_code == EXIT_BAD_INPUT and "links are not followed" in str(err.value)
    assert os.listdir(elsewhere) == [] and parts(tmp_path) == []


@pytest.mark.root
@needs_root
def test_read_only_mount_is_exit_4_and_cleanup_does_not_raise(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", read_only=True) as ro:
        for make in (lambda: PartFile(ro / "b.tgz"), lambda: PartDir(ro / "out"),
                     lambda: write_file(ro / "r.html", b"x")):
            with pytest.raises(UserError) as err:
                make()
            assert err.value.exit_code == EXIT_BAD_INPUT
            assert "Read-only file system" in str(err.value) and "\n" not in str(err.value)
        with pytest.raises(UserError, match="not writable"):
            check_output(ro / "b.tgz", force=False)
        assert os.listdir(ro) == []


@pytest.mark.root
@needs_root
def test_full_disk_is_exit_6_and_leaves_nothing(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", size="256k") as small:
        with pytest.raises(UserError) as err:
            write_file(small / "r.html", (b"x" * 65536 for _ in range(16)))
        assert err.value.exit_code == EXIT_NO_SPACE and "no space left" in str(err.value)
        assert os.listdir(small) == []


def test_a_file_output_ending_in_a_slash_is_refused_not_written_without_it(tmp_path: Path) -> None:
    # `-o out/` (a directory meant) wrote a file named `out`: Path() drops the slash.
    for target in (f"{tmp_path}/new/", f"{tmp_path}/"):
        with pytest.raises(UserError) as err:
            check_output(target, force=True)
        assert err.value.exit_code == EXIT_BAD_INPUT and "a file name is needed" in str(err.value)
    assert os.listdir(tmp_path) == []
    # a directory output (redact -o DIR/) keeps its slash
    assert check_output(f"{tmp_path}/out/", force=False, directory=True) == tmp_path / "out"


def test_the_input_is_never_the_output(tmp_path: Path) -> None:
    # `analyze b.tgz -o b.tgz` replaced the bundle with its report (analyze needs no --force).
    bundle = tmp_path / "b.tgz"
    bundle.write_bytes(b"bundle")
    os.link(bundle, tmp_path / "hard.tgz")
    for target in (bundle, tmp_path / "hard.tgz", f"{tmp_path}/./b.tgz"):
        with pytest.raises(UserError) as err:
            check_output(target, force=True, inputs=[str(bundle)])
        assert err.value.exit_code == EXIT_BAD_INPUT and "it is the input" in str(err.value)
    assert check_output(tmp_path / "b.html", force=True, inputs=[str(bundle)]) == tmp_path / "b.html"
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(bundle), "-o", str(bundle)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == EXIT_BAD_INPUT and "it is the input" in proc.stderr, proc.stderr
    assert bundle.read_bytes() == b"bundle"


def test_error_lines_never_carry_control_characters(tmp_path: Path) -> None:
    # A path on the command line (or in a bundle) is echoed in the one-line error: an ESC/OSC
    # sequence in it reached the terminal raw.
    name = str(tmp_path / "x\x1b]0;pwned\x07\x1b[2J\nsecond")
    for args in (["analyze", name], ["verify", name], ["redact", name, "-o", str(tmp_path / "o.tgz")]):
        proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", *args], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == EXIT_BAD_INPUT, proc.stderr
        assert "\x1b" not in proc.stderr and proc.stderr.count("\n") == 1, repr(proc.stderr)
        assert "x\\x1b]0;pwned" in proc.stderr


def test_standard_output_on_a_full_disk_is_exit_6_not_an_internal_error(tmp_path: Path) -> None:
    # `analyze b -o - > file` and `verify b > file` on a full disk ended in exit 5.
    bundle = tmp_path / "b"
    (bundle / "nodes" / "n1").mkdir(parents=True)
    (bundle / "nodes" / "n1" / "app.env").write_text("DB_PASSWORD=Hq7vR2pZ9wK4mDx8\n")
    (bundle / "manifest.json").write_text('{"format_version": "1.0", "nodes": [{"name": "n1", "os": "linux"}], "items": []}')
    for args in (["analyze", str(bundle), "-o", "-"], ["verify", str(bundle)]):
        with open("/dev/full", "wb") as full:
            proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", *args], stdout=full,
                                  stderr=subprocess.PIPE, text=True, timeout=120)
        assert proc.returncode == EXIT_NO_SPACE and "no space left" in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1


def test_device_nodes_fifos_and_dev_stdout_are_refused_not_replaced(tmp_path: Path) -> None:
    # `-o /dev/stdout` with stdout redirected to a file used to rename the report over the
    # system's /dev/stdout link (and `-o /dev/null` over the device node), as root.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target, needle in ((Path("/dev/stdout"), "not a place"), (Path("/dev/null"), "not a place"),
                           (Path("/proc/self/fd/1"), "not a place"), (fifo, "not a regular file")):
        before = os.lstat(target)
        with pytest.raises(UserError) as err:
            check_output(target, force=True)
        assert err.value.exit_code == EXIT_BAD_INPUT and needle in str(err.value)
        after = os.lstat(target)
        assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


_AS_NOBODY = """
import os, sys
import k8s_bundle.cli, k8s_bundle.collector.cli, k8s_bundle.collector.runner, k8s_bundle.redact.command
import k8s_bundle.analyzer.cli, k8s_bundle.analyzer.evidence, k8s_bundle.analyzer.evaluate
import k8s_bundle.analyzer.render, k8s_bundle.analyzer.unexplained, k8s_bundle.analyzer.blindspots
k8s_bundle.cli.build_parser()
os.setgroups([]); os.setgid(65534); os.setuid(65534)
sys.exit(k8s_bundle.cli.main(sys.argv[1:]))
"""


@pytest.mark.root
@pytest.mark.skipif(not IS_ROOT, reason="dropping to an unprivileged user needs root")
def test_no_permission_is_one_line_exit_4_for_every_command(tmp_path: Path) -> None:
    # Python lives under /root here: the child imports as root, then drops to nobody.
    from k8s_bundle.analyzer.fixtures import build_fixture_bundle

    work = Path(tempfile.mkdtemp(prefix="k8s-bundle-noperm-"))
    try:
        os.chmod(work, 0o777)
        (work / "locked").mkdir(mode=0o700)
        (work / "r-x").mkdir()
        os.chmod(work / "r-x", 0o555)
        bundle = build_fixture_bundle({"files": {"nodes/node1/logs/journal/kubelet.log": "x\n"}}, work / "b.tgz")
        os.chmod(bundle, 0o644)
        (work / "in.txt").write_text("hello\n")
        os.chmod(work / "in.txt", 0o644)
        root = work / "root"
        (root / "etc").mkdir(parents=True)
        (root / "etc/hostname").write_text("n1\n")
        os.chmod(root, 0o755)
        runs = [["analyze", str(bundle), "-q", "-o", str(work / "locked/r.html")],
                ["analyze", str(bundle), "-q", "-o", str(work / "r-x/r.html")],
                ["redact", str(work / "in.txt"), "-o", str(work / "r-x/out")],
                ["redact", str(work / "in.txt"), "-o", str(work / "locked/out.tgz")],
                ["collect", "--root", str(root), "--only", "system", "-o", str(work / "r-x/b.tgz")],
                ["collect", "--root", str(root), "--only", "system", "-o", str(work / "locked/b.tgz")]]
        for args in runs:
            proc = subprocess.run([sys.executable, "-c", _AS_NOBODY, *args], capture_output=True,
                                  text=True, timeout=120)
            assert proc.returncode == 4, (args, proc.stderr)
            assert proc.stderr.startswith("k8s-bundle: error: cannot write") and proc.stderr.count("\n") == 1
        assert os.listdir(work / "locked") == [] and os.listdir(work / "r-x") == []
    finally:
        shutil.rmtree(work, ignore_errors=True)
