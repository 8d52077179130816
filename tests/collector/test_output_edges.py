"""Round-two output edges of collect, redact, analyze and verify, on real files, devices, FIFOs,
pipes and tmpfs mounts: paths printed on success are escaped, the obfuscation map and its
output are written all or nothing, a reader that goes away does not turn the exit code into 0,
a closed stdout is one line, and devices or FIFOs given as rule files, maps or inputs are
refused instead of read forever."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from collect_helpers import run_collect

IS_ROOT = os.geteuid() == 0
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "broken-kubeadm.tgz"
ESC_NAME = "b\x1b]0;owned\x07\x1b[31m"      # an OSC title and a colour in a file name


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "k8s_bundle.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


def one_line(proc: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("k8s-bundle: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def secrets_dir(tmp_path: Path, lines: int = 3000) -> Path:
    """A directory verify flags: `lines` findings, more than a pipe buffer (64 KiB) of output."""
    d = tmp_path / "secrets"
    d.mkdir()
    (d / "app.conf").write_text("".join(f"password=Zx9kQ2mV7pL4sT8w{i}\n" for i in range(lines)))
    return d


# -- 1. paths printed on success are escaped ---------------------------------------------------
def test_success_lines_escape_the_output_path(sim, tmp_path):
    out = tmp_path / f"{ESC_NAME}.tgz"
    proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", str(out)], env=sim.env())
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert "written: " in proc.stderr and "b\\x1b]0;owned\\x07\\x1b[31m.tgz" in proc.stderr

    red = tmp_path / f"r{ESC_NAME}.tgz"
    proc = cli("redact", str(secrets_dir(tmp_path, 3)), "-o", str(red), "--obfuscate", "hostnames",
               "--hostname", "node-a")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr and "redacted 1 files into " in proc.stderr
    assert proc.stderr.count("rb\\x1b]0;owned\\x07\\x1b[31m.tgz") == 2   # the output and its map

    report = tmp_path / f"{ESC_NAME}.txt"
    proc = cli("analyze", str(SAMPLE), "--format", "text", "-o", str(report))
    assert proc.returncode == 3, proc.stderr
    assert "\x1b]" not in proc.stdout and "b\\x1b]0;owned\\x07\\x1b[31m.txt" in proc.stdout


# -- 2. the obfuscation map and its output: all or nothing -------------------------------------
def test_a_map_name_too_long_is_refused_before_collecting_or_redacting(sim, tmp_path):
    # 240 + ".tgz" fits NAME_MAX (255); + ".obfuscation-map.json" does not. Was: the bundle was
    # written, then the map failed (exit 4) and the bundle was left without it.
    name = "y" * 240 + ".tgz"
    where = tmp_path / "out"
    where.mkdir()
    proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", str(where / name),
                        "--obfuscate", "hostnames"], env=sim.env())
    one_line(proc, 4, "longer than the 255 bytes")
    proc = cli("redact", str(secrets_dir(tmp_path, 3)), "-o", str(where / name), "--obfuscate", "hostnames")
    one_line(proc, 4, "longer than the 255 bytes")
    # and a plain output name past NAME_MAX: refused up front as well, not after the work
    proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", str(where / ("z" * 300))],
                       env=sim.env())
    one_line(proc, 4, "longer than the 255 bytes")
    assert os.listdir(where) == []


@pytest.fixture
def two_inodes(tmp_path):
    """A tmpfs with room for one file only (nr_inodes=2: its root and one file): the bundle
    fits, the map beside it does not (ENOSPC)."""
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mnt = tmp_path / "two-inodes"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,nr_inodes=2", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.root
def test_collect_whose_map_cannot_be_written_leaves_no_bundle(sim, two_inodes):
    proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", str(two_inodes / "b.tgz"),
                        "--obfuscate", "hostnames"], env=sim.env())
    one_line(proc, 6, "no space left")
    assert os.listdir(two_inodes) == []


@pytest.mark.root
def test_redact_whose_map_cannot_be_written_leaves_no_output(tmp_path, two_inodes):
    proc = cli("redact", str(secrets_dir(tmp_path, 3)), "-o", str(two_inodes / "r.tgz"),
               "--obfuscate", "hostnames", "--hostname", "node-a")
    one_line(proc, 6, "no space left")
    assert os.listdir(two_inodes) == []


def test_redact_writes_the_map_with_its_output(tmp_path):
    out = tmp_path / "r.tgz"
    proc = cli("redact", str(secrets_dir(tmp_path, 3)), "-o", str(out), "--obfuscate", "hostnames",
               "--hostname", "node-a")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tgz", "r.tgz.obfuscation-map.json", "secrets"]
    assert (tmp_path / "r.tgz.obfuscation-map.json").stat().st_mode & 0o777 == 0o600


# -- 3. a reader that goes away keeps the real exit code -------------------------------------
def _read_a_little_then_close(args: list[str]) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "k8s_bundle.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)              # `| head -c 10`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=120), err


def test_verify_into_a_closed_pipe_still_exits_1_when_secrets_were_found(tmp_path):
    # Was 0 (BrokenPipeError was success): `verify x | head -1` read as clean in a script.
    code, err = _read_a_little_then_close(["verify", str(secrets_dir(tmp_path))])
    assert code == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err
    assert "do not attach this bundle" in err


def test_analyze_into_a_closed_pipe_still_exits_3(tmp_path):
    code, err = _read_a_little_then_close(["analyze", str(SAMPLE), "-o", "-", "--format", "html"])
    assert code == 3, err
    assert "Traceback" not in err and "Exception ignored" not in err


# -- 4. stdout closed (`>&-`) ------------------------------------------------------------------
def test_analyze_to_a_closed_stdout_is_one_line_exit_4(tmp_path):
    # Was exit 5 (AttributeError: sys.stdout is None).
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(SAMPLE), "-o", "-"],
                          stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120,
                          preexec_fn=lambda: os.close(1))
    one_line(proc, 4, "standard output")
    # to a file, with stdout closed: the report is written, the summary is not (no error)
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "analyze", str(SAMPLE), "-o",
                           str(tmp_path / "r.json"), "--format", "json"], stderr=subprocess.PIPE,
                          text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert proc.returncode == 3 and proc.stderr == "", proc.stderr
    assert (tmp_path / "r.json").stat().st_size > 0


# -- 5. devices and FIFOs as rule files, maps and inputs -------------------------------------
@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("option", ["--redact-rules", "--obfuscation-map"])
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_device_or_fifo_as_rules_or_map_is_refused(tmp_path, fifo, option, kind):
    # Was: /dev/zero read until MemoryError (exit 5); a FIFO hung until killed.
    path = "/dev/zero" if kind == "/dev/zero" else str(fifo)
    src = secrets_dir(tmp_path, 3)
    one_line(cli("redact", str(src), "-o", str(tmp_path / "r.tgz"), option, path, timeout=30),
             4, "not a regular file")
    if option == "--redact-rules":
        one_line(cli("verify", str(src), option, path, timeout=30), 4, "not a regular file")
    assert not (tmp_path / "r.tgz").exists()


def test_a_device_as_collect_rules_is_refused_before_collecting(sim, tmp_path):
    proc = run_collect(["--root", str(sim.root), "-o", str(tmp_path / "b.tgz"), "--redact-rules", "/dev/zero"],
                       env=sim.env(), timeout=30)
    one_line(proc, 4, "not a regular file")
    assert os.listdir(tmp_path) == ["sim"]


def test_rules_and_map_files_past_their_cap_are_refused(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:            # sparse: 5 MiB of nothing, past the 4 MiB rules cap
        fh.truncate(5 << 20)
    src = secrets_dir(tmp_path, 3)
    one_line(cli("redact", str(src), "-o", str(tmp_path / "r.tgz"), "--redact-rules", str(big)), 4, "MiB cap")
    huge = tmp_path / "map.json"
    with open(huge, "wb") as fh:
        fh.truncate(65 << 20)              # past the 64 MiB map cap
    one_line(cli("redact", str(src), "-o", str(tmp_path / "r.tgz"), "--obfuscation-map", str(huge)), 4, "MiB cap")


def test_redact_refuses_a_device_as_input_and_reads_a_pipe(tmp_path):
    # Was: `redact /dev/zero -o z.tgz` never ended. A pipe (`redact <(kubectl logs ...)`) ends
    # with its writer and stays allowed.
    one_line(cli("redact", "/dev/zero", "-o", str(tmp_path / "z.tgz"), timeout=30), 4, "a device or socket")
    assert not (tmp_path / "z.tgz").exists()
    read_end, write_end = os.pipe()
    os.write(write_end, b"password=Zx9kQ2mV7pL4sT8w\n")
    os.close(write_end)
    proc = subprocess.run([sys.executable, "-m", "k8s_bundle.cli", "redact", f"/dev/fd/{read_end}", "-o",
                           str(tmp_path / "p.tgz")], capture_output=True, text=True, timeout=60,
                          pass_fds=(read_end,))
    os.close(read_end)
    assert proc.returncode == 0 and "1 values replaced" in proc.stderr, proc.stderr


# -- 6. -o - and -o out.tgz/ -----------------------------------------------------------------
def test_standard_output_and_an_archive_name_with_a_slash_are_refused(sim, tmp_path):
    proc = run_collect(["--root", str(sim.root), "--only", "certificates", "-o", "-"], env=sim.env(),
                       cwd=tmp_path)
    one_line(proc, 4, "standard output")
    src = secrets_dir(tmp_path, 3)
    one_line(cli("redact", str(src), "-o", "-", cwd=tmp_path), 4, "standard output")
    one_line(cli("redact", str(src), "-o", "out.tgz/", cwd=tmp_path), 4, "an archive name ending in /")
    assert sorted(os.listdir(tmp_path)) == ["secrets", "sim"]
    # a directory name with a slash is still a directory output
    assert cli("redact", str(src), "-o", "outdir/", cwd=tmp_path).returncode == 0
    assert (tmp_path / "outdir" / "manifest.json").is_file()
